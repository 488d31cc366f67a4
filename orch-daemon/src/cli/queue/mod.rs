//! `orch queue <verb>` (an orch extension): the work waiting for capacity.

mod status;

use std::process::ExitCode;

const USAGE: &str = "Usage: orch queue <subcommand> [options]

Subcommands:
    status   Display the waiting work in the order it gets capacity";

/// Dispatches `orch queue <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[super::Verb] = &[("status", status::run)];
    super::dispatch("queue", args, verbs, USAGE)
}
