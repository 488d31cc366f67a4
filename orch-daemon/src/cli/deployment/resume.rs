//! `orch deployment resume`: resumes a paused deployment.

use std::process::ExitCode;

const USAGE: &str = "Usage: orch deployment resume [options] <deployment id>

  Resumes a paused deployment.

Resume Options:

  -detach
    Return right after resuming, printing the evaluation ID";

/// Runs `orch deployment resume`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    super::set_paused(args, false, USAGE)
}
