//! `orch job run`: submits a jobspec and monitors its evaluation, or prints it as API
//! JSON (`-output`).

use std::process::ExitCode;

use super::jobspec;
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};
use crate::cli::table::text;

const USAGE: &str = "Usage: orch job run [options] <path>

  Submits the jobspec (HCL or JSON, - for standard input) to the agent and monitors the
  evaluation it creates. Exit codes: 0 success, 2 when allocations could not be placed,
  1 on any other error.

Options:
  -address=<url>   Agent address (default: ORCH_ADDR, NOMAD_ADDR, http://127.0.0.1:4646)
  -namespace=<ns>  Namespace of the job
  -detach          Return right after submitting, printing the evaluation ID
  -check-index=<i> Only submit if the job's modify index is still <i> (0: job must be new)
  -output          Print the job as API JSON instead of submitting it
  -var 'k=v'       Set an HCL variable (repeatable)
  -var-file=<f>    Read HCL variables from a file (repeatable)";

/// Flags of `job run` besides the common and jobspec ones.
const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("detach"),
    FlagSpec::switch("verbose"),
    FlagSpec::value("check-index"),
];

/// Runs `orch job run`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(parsed) = parse_verb(args, &[COMMON, jobspec::FLAGS, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let job = jobspec::load(&parsed)?;
    let mut body = serde_json::json!({ "Job": job });
    if let Some(i) = parsed.all("check-index").last() {
        let index: u64 = i.parse().map_err(|_| {
            format!("-check-index {i:?}: expected the job modify index from `orch job plan`")
        })?;
        body["EnforceIndex"] = true.into();
        body["JobModifyIndex"] = index.into();
    }
    if parsed.has("output") {
        let text = serde_json::to_string_pretty(&body)
            .map_err(|e| format!("cannot encode job as JSON: {e}"))?;
        println!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    let client = ApiClient::from_flags(&parsed)?;
    let reply = client.put("/v1/jobs", &body)?;
    let warnings = text(&reply["Warnings"]);
    if !warnings.is_empty() {
        println!("Job Warnings:\n{warnings}\n");
    }
    let eval_id = text(&reply["EvalID"]);
    if eval_id.is_empty() {
        println!("Job registration successful");
        return Ok(ExitCode::SUCCESS);
    }
    if parsed.has("detach") {
        println!("Job registration successful");
        println!("Evaluation ID: {eval_id}");
        return Ok(ExitCode::SUCCESS);
    }
    Ok(ExitCode::from(crate::cli::monitor::monitor(
        &client, &eval_id,
    )?))
}
