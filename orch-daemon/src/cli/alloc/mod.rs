//! `orch alloc <verb>`: dispatches the allocation verbs, one file each.

mod checks;
mod fs;
mod logs;
mod restart;
mod signal;
pub(crate) mod status;
mod stop;

use std::process::ExitCode;

use super::flags::Parsed;

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

/// The `<allocation> [<task>]` arguments of a verb; a `-task` flag names the task in
/// preference to the second argument, as in Nomad.
fn alloc_and_task(p: &Parsed, usage: &str) -> Result<(String, Option<String>), String> {
    let (id, task_arg) = match p.positional.as_slice() {
        [id] => (id.clone(), None),
        [id, task] => (id.clone(), Some(task.clone())),
        _ => {
            return Err(format!(
                "This command takes one or two arguments: <allocation> <task>\n\n{usage}"
            ));
        }
    };
    Ok((id, p.all("task").last().cloned().or(task_arg)))
}
