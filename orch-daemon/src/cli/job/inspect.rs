//! `orch job inspect`: prints a submitted job (or one of its versions) as JSON.

use std::process::ExitCode;

use serde_json::json;

use super::job_path;
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};
use crate::cli::output::print_json;

const USAGE: &str = "Usage: orch job inspect [options] <job>

  Prints the job as submitted to the agent, as JSON ({\"Job\": ...}).";

const FLAGS: &[FlagSpec] = &[FlagSpec::value("version")];

/// Runs `orch job inspect`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", p.one_arg("job", USAGE)?)?;
    let job = match p.all("version").last() {
        None => client.get(&job_path(&id))?,
        Some(v) => {
            let want: u64 = v
                .parse()
                .map_err(|_| format!("-version {v:?}: expected a version number"))?;
            let versions = client.get(&format!("{}/versions", job_path(&id)))?;
            versions["Versions"]
                .as_array()
                .and_then(|a| a.iter().find(|j| j["Version"].as_u64() == Some(want)))
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "job {id:?} has no version {want}; list them with `orch job history {id}`"
                    )
                })?
        }
    };
    print_json(&json!({ "Job": job }))
}
