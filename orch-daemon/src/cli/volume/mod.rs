//! `orch volume <verb>`: Nomad's CSI volume commands, one file each.

mod create;
mod delete;
mod deregister;
mod detach;
mod register;
mod snapshot;
mod spec;
pub(crate) mod status;

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

/// Flags of `volume create` and `register`: `-policy-override` (no Sentinel in orch:
/// no effect, as in Nomad's community edition) and `-id` (updating a dynamic host
/// volume, which orch does not have).
const SPEC_FLAGS: &[super::flags::FlagSpec] = &[
    super::flags::FlagSpec::switch("policy-override"),
    super::flags::FlagSpec::refused_value("id", "it has CSI volumes only, no dynamic host volumes"),
];

/// `-type`: `csi` (the default) is the only kind of volume orch has.
fn csi_only(p: &super::flags::Parsed) -> Result<(), String> {
    match p.last("type") {
        None | Some("csi") => Ok(()),
        Some(other) => Err(format!(
            "-type {other:?} is not supported by orch: it has CSI volumes only (-type csi), no host volumes"
        )),
    }
}
