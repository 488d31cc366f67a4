//! `orch volume <verb>`: Nomad's CSI volume commands, one file each.

mod create;
mod delete;
mod deregister;
mod detach;
mod register;
mod snapshot;
mod spec;
mod status;

use std::process::ExitCode;

const USAGE: &str = "Usage: orch volume <subcommand> [options]

Subcommands:
    create      Create a volume through its CSI controller plugin
    delete      Delete a volume in the storage system and deregister it
    deregister  Forget a registered volume (the storage is untouched)
    detach      Unmount what is left of a volume on a node
    register    Register a volume that exists in the storage system
    snapshot    Create, list and delete volume snapshots
    status      Display volumes, or one volume";

/// Dispatches `orch volume <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[super::Verb] = &[
        ("create", create::run),
        ("delete", delete::run),
        ("deregister", deregister::run),
        ("detach", detach::run),
        ("register", register::run),
        ("snapshot", snapshot::run),
        ("status", status::run),
    ];
    super::dispatch("volume", args, verbs, USAGE)
}
