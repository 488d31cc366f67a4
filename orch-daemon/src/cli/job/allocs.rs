//! `orch job allocs`: the allocations of a job.

use std::process::ExitCode;

use super::job_path;
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};

const USAGE: &str = "Usage: orch job allocs [options] <job>

  Display allocations for a particular job.

Allocs Options:

  -all
    Display all allocations matching the job ID, even those from an older
    instance of the job.

  -json
    Output the allocations in a JSON format.

  -verbose
    Display full information.";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("all"), FlagSpec::switch("verbose")];

/// Runs `orch job allocs`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", p.one_arg("job", USAGE)?)?;
    let all = if p.has("all") { "?all=true" } else { "" };
    let allocs = client.get(&format!("{}/allocations{all}", job_path(&id)))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &allocs);
    }
    super::status::print_allocations(&allocs);
    Ok(ExitCode::SUCCESS)
}
