//! `orch namespace <verb>`: Nomad's namespace commands, one file each.

mod apply;
mod delete;
mod list;
pub(crate) mod status;

use std::process::ExitCode;

const USAGE: &str = "Usage: orch namespace <subcommand> [options] [args]

Subcommands:
    apply    Create or update a namespace (flags or a specification file)
    delete   Delete a namespace
    list     List namespaces
    status   Display a namespace's settings and quota usage";

/// Dispatches `orch namespace <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[super::Verb] = &[
        ("apply", apply::run),
        ("delete", delete::run),
        ("list", list::run),
        ("status", status::run),
        ("inspect", status::inspect),
    ];
    super::dispatch("namespace", args, verbs, USAGE)
}
