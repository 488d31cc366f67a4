//! `orch server <verb>`: dispatches the server membership verbs, one file each.

mod force_leave;
mod join;
mod members;

use std::process::ExitCode;

const USAGE: &str = "Usage: orch server <subcommand> [options] [args]

Subcommands:
    members      Display the cluster's server members
    join         Join server nodes together
    force-leave  Remove a server (by name) from the Raft configuration";

/// Dispatches `orch server <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[super::Verb] = &[
        ("members", members::run),
        ("join", join::run),
        ("force-leave", force_leave::run),
    ];
    super::dispatch("server", args, verbs, USAGE)
}
