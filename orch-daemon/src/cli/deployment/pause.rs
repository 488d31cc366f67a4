//! `orch deployment pause`: pauses a deployment; no further allocations are placed
//! until it is resumed.

use std::process::ExitCode;

const USAGE: &str = "Usage: orch deployment pause [options] <deployment id>

  Pauses a deployment: no further allocations are placed until it is resumed.";

/// Runs `orch deployment pause`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    super::set_paused(args, true, USAGE)
}
