//! `orch system gc`: asks the leader to garbage-collect terminal jobs, evaluations,
//! allocations, deployments and down nodes now instead of at their thresholds.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, parse_verb};

const USAGE: &str = "Usage: orch system gc [options]

  Initializes a garbage collection of jobs, evaluations, allocations, and nodes.";

/// Runs `orch system gc`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if !p.positional.is_empty() {
        return Err(format!("This command takes no arguments\n\n{USAGE}"));
    }
    ApiClient::from_flags(&p)?.put("/v1/system/gc", &json!({}))?;
    Ok(ExitCode::SUCCESS)
}
