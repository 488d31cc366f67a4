//! `orch volume snapshot create|list|delete`: volume snapshots through the volume's
//! controller plugin, one file per verb.

mod create;
mod delete;
mod list;

use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::cli::flags::Parsed;

const USAGE: &str = "Usage: orch volume snapshot <subcommand> [options] [args]

  This command groups subcommands for interacting with CSI volume snapshots.

  Create a snapshot of an external storage volume:

      $ orch volume snapshot create <volume id>

  Display a list of CSI volume snapshots along with their source volume ID as
  known to the external storage provider:

      $ orch volume snapshot list -plugin <plugin id>

  Delete a snapshot of an external storage volume:

      $ orch volume snapshot delete <plugin id> <snapshot id>

  Please see the individual subcommand help for detailed usage information.

Subcommands:
    create    Snapshot a volume
    delete    Delete a snapshot
    list      List volume snapshots";

/// Dispatches `orch volume snapshot <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[crate::cli::Verb] = &[
        ("create", create::run),
        ("list", list::run),
        ("delete", delete::run),
    ];
    crate::cli::dispatch("volume snapshot", args, verbs, USAGE)
}

/// The `-<flag> key=value` pairs given (repeatable), as the map the API takes; a pair
/// without `=` is an error naming the flag.
fn pairs(p: &Parsed, flag: &str) -> Result<BTreeMap<String, String>, String> {
    p.all(flag)
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("-{flag} {kv:?}: expected key=value"))
        })
        .collect()
}

/// The `-secret` pairs as the `X-Nomad-CSI-Secrets` header value (`k=v,k=v`).
fn secrets_header(p: &Parsed) -> Result<String, String> {
    let secrets = pairs(p, "secret")?;
    Ok(secrets
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(","))
}
