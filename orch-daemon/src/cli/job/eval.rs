//! `orch job eval`: forces a new evaluation of a job and monitors it.

use std::process::ExitCode;

use serde_json::json;

use super::job_path;
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};
use crate::cli::table::text;

const USAGE: &str = "Usage: orch job eval [options] <job_id>

  Force an evaluation of the provided job ID. Forcing an evaluation will trigger
  the scheduler to re-evaluate the job. The force flags allow operators to force
  the scheduler to create new allocations under certain scenarios.

Eval Options:

  -force-reschedule
    Force reschedule failed allocations even if they are not currently eligible
    for rescheduling.

  -detach
    Return immediately instead of entering monitor mode. The ID of the
    evaluation created will be printed to the screen, which can be used to
    examine the evaluation using the eval status command.

  -verbose
    Display full information.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("force-reschedule"),
    FlagSpec::switch("detach"),
    FlagSpec::switch("verbose"),
];

/// Runs `orch job eval`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", p.one_arg("job", USAGE)?)?;
    let body = json!({
        "JobID": id,
        "EvalOptions": {"ForceReschedule": p.has("force-reschedule")},
    });
    let reply = client.put(&format!("{}/evaluate", job_path(&id)), &body)?;
    if p.has("detach") {
        println!("Created eval ID: {:?} ", text(&reply["EvalID"]));
        return Ok(ExitCode::SUCCESS);
    }
    super::follow(&client, &reply, false)
}
