//! `orch system reconcile summaries`: asks the leader to recompute every job summary
//! from the allocations.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, parse_verb};

const USAGE: &str = "Usage: orch system reconcile summaries [options]

  Reconciles the summaries of all registered jobs.";

/// Runs `orch system reconcile summaries`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    match p.positional.as_slice() {
        [what] if what == "summaries" => {}
        _ => {
            return Err(format!(
                "This command takes one argument: summaries\n\n{USAGE}"
            ));
        }
    }
    ApiClient::from_flags(&p)?.put("/v1/system/reconcile/summaries", &json!({}))?;
    Ok(ExitCode::SUCCESS)
}
