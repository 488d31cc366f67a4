//! `orch node <verb>`: dispatches the node verbs, one file each, and holds what several
//! of them share: the node's API path, the one `<node>` argument, `-enable`/`-disable`.

mod config;
mod drain;
pub(crate) mod drain_monitor;
mod eligibility;
mod meta;
pub(crate) mod pool;
pub(crate) mod status;

use std::process::ExitCode;

use super::api::{ApiClient, encode};
use super::flags::Parsed;

const USAGE: &str = "Usage: orch node <subcommand> [options] [args]

Subcommands:
    config       View or modify a client node's configuration (its servers)
    drain        Toggle drain mode on a node
    eligibility  Toggle scheduling eligibility of a node
    meta         Interact with node metadata
    pool         Interact with node pools
    status       Display status information about nodes";

/// Dispatches `orch node <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[super::Verb] = &[
        ("status", status::run),
        ("drain", drain::run),
        ("eligibility", eligibility::run),
        ("meta", meta::run),
        ("pool", pool::run),
        ("config", config::run),
    ];
    super::dispatch("node", args, verbs, USAGE)
}

/// `/v1/node/<id>`.
fn node_path(id: &str) -> String {
    format!("/v1/node/{}", encode(id))
}

/// The one positional argument (a node ID or prefix), resolved to a full ID.
/// `-self` names the node of the agent the CLI talks to (its `/v1/agent/self`), as in
/// Nomad; then no `<node>` argument may be given.
fn one_node(client: &ApiClient, p: &Parsed, help: &str) -> Result<String, String> {
    if !p.has("self") {
        return client.resolve("/v1/nodes", "node", p.one_arg("node", help)?);
    }
    if !p.positional.is_empty() {
        return Err(format!(
            "-self takes no <node> argument: it is the agent's own node\n\n{help}"
        ));
    }
    let agent = client.get("/v1/agent/self")?;
    agent["stats"]["client"]["node_id"]
        .as_str()
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .ok_or_else(|| "Failed to determine local node ID: the agent runs no client".into())
}

/// `-enable` (true) or `-disable` (false): exactly one of them.
fn enable_disable(p: &Parsed, help: &str) -> Result<bool, String> {
    match (p.has("enable"), p.has("disable")) {
        (true, false) => Ok(true),
        (false, true) => Ok(false),
        _ => Err(format!("give exactly one of -enable or -disable\n\n{help}")),
    }
}
