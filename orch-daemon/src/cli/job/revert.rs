//! `orch job revert`: reverts a job to a prior version and monitors the evaluation.

use std::process::ExitCode;

use serde_json::json;

use super::{follow, job_path};
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch job revert [options] <job> <version>

  Reverts the job to a prior version and monitors the evaluation.

Revert Options:

  -detach
    Return right after the revert, printing the evaluation ID";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("detach"), FlagSpec::switch("verbose")];

/// Runs `orch job revert`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let [job, version] = p.positional.as_slice() else {
        return Err(format!(
            "this command takes two arguments: <job> <version>\n\n{USAGE}"
        ));
    };
    let version: u64 = version
        .parse()
        .map_err(|_| format!("version {version:?} is not a number; see `orch job history`"))?;
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", job)?;
    let reply = client.put(
        &format!("{}/revert", job_path(&id)),
        &json!({"JobID": id, "JobVersion": version}),
    )?;
    follow(&client, &reply, p.has("detach"))
}
