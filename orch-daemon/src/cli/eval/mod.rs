//! `orch eval <verb>`: dispatches the evaluation verbs, one file each.

mod delete;
mod list;
pub(crate) mod status;

use std::process::ExitCode;

const USAGE: &str = "Usage: orch eval <subcommand> [options] [args]

Subcommands:
    delete  Delete evaluations (the eval broker must be paused)
    list    List evaluations
    status  Display an evaluation's status and placement failures";

/// Dispatches `orch eval <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[super::Verb] = &[
        ("delete", delete::run),
        ("list", list::run),
        ("status", status::run),
    ];
    super::dispatch("eval", args, verbs, USAGE)
}
