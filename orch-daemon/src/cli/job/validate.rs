//! `orch job validate`: checks a jobspec locally, without an agent.

use std::process::ExitCode;

use super::jobspec;
use crate::cli::flags::{COMMON, parse_verb};

const USAGE: &str = "Usage: orch job validate [options] <path>

  Parses and checks the jobspec (HCL or JSON, - for standard input) and reports every
  problem. Needs no agent.

Validate Options:

  -var 'k=v'
    Set an HCL variable (repeatable)

  -var-file=<f>
    Read HCL variables from a file (repeatable)";

/// Runs `orch job validate`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(parsed) = parse_verb(args, &[COMMON, jobspec::FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let job = jobspec::load(&parsed)?;
    println!(
        "Job validation successful ({} task group(s) in job {:?})",
        job.task_groups.len(),
        job.id
    );
    Ok(ExitCode::SUCCESS)
}
