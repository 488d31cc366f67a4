//! `orch alloc <verb>`: dispatches the allocation verbs, one file each.

mod logs;
mod status;

use std::process::ExitCode;

const USAGE: &str = "Usage: orch alloc <subcommand> [options] [args]

Subcommands:
    status  Display an allocation's status
    logs    Stream the logs of a task";

/// Dispatches `orch alloc <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[super::Verb] = &[("status", status::run), ("logs", logs::run)];
    super::dispatch("alloc", args, verbs, USAGE)
}
