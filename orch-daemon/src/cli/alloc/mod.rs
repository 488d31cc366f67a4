//! `orch alloc <verb>`: dispatches the allocation verbs, one file each.

mod checks;
mod fs;
mod logs;
mod restart;
mod signal;
pub(crate) mod status;
mod stop;

use std::process::ExitCode;

const USAGE: &str = "Usage: orch alloc <subcommand> [options] [args]

Subcommands:
    checks   Outputs service health check status information
    fs       Inspect the contents of an allocation directory
    logs     Streams the logs of a task
    restart  Restart a running allocation
    signal   Signal a running allocation
    status   Display allocation status information and metadata
    stop     Stop and reschedule a running allocation";

/// Dispatches `orch alloc <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[super::Verb] = &[
        ("checks", checks::run),
        ("fs", fs::run),
        ("logs", logs::run),
        ("restart", restart::run),
        ("signal", signal::run),
        ("status", status::run),
        ("stop", stop::run),
    ];
    super::dispatch("alloc", args, verbs, USAGE)
}
