//! `orch job inspect`: prints a submitted job (or one of its versions) as JSON.

use std::process::ExitCode;

use serde_json::json;

use super::job_path;
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};

const USAGE: &str = "Usage: orch job inspect [options] <job>

  Inspect is used to see the specification of a submitted job, printed as
  JSON ({\"Job\": ...}).

Inspect Options:

  -version <job version>
    Display the job at the given job version.

  -json
    Output the job in its JSON format (the job alone, without the outer
    Job object).

  -t
    Format and display job using a Go template.

  -hcl
    Output the original HCL submitted (not supported by orch yet).

  -with-vars
    Include the variables submitted with -hcl (not supported by orch yet).";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("version"),
    FlagSpec::refused_switch(
        "hcl",
        "orch keeps no job submission source yet; inspect the JSON form",
    ),
    FlagSpec::refused_switch(
        "with-vars",
        "orch keeps no job submission source yet; inspect the JSON form",
    ),
];

/// Runs `orch job inspect`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
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
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &job);
    }
    crate::cli::output::print_json(&json!({ "Job": job }))
}
