//! `orch node meta <verb>`: a node's dynamic metadata (`read`, `apply`).

mod apply;
mod read;

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::Parsed;

const USAGE: &str = "Usage: orch node meta [subcommand]

  Interact with a node's metadata. The apply subcommand changes dynamic metadata
  on a node, and the read subcommand shows the node's metadata.

Subcommands:
    apply  Modify node metadata
    read   Read node metadata";

/// Dispatches `orch node meta <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[crate::cli::Verb] = &[("apply", apply::run), ("read", read::run)];
    crate::cli::dispatch("node meta", args, verbs, USAGE)
}

/// The full node ID for `-node-id` (a prefix is resolved), or nothing: the agent asked
/// answers for its own node.
fn node_query(client: &ApiClient, p: &Parsed) -> Result<Option<String>, String> {
    p.all("node-id")
        .last()
        .map(|n| client.resolve("/v1/nodes", "node", n))
        .transpose()
}
