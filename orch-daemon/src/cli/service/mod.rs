//! `orch service <verb>`: dispatches the verbs of orch's own service catalog
//! (`provider = "nomad"`), one file each.

mod info;
mod list;

use std::process::ExitCode;

const USAGE: &str = "Usage: orch service <subcommand> [options]

Subcommands:
    list   List the services in the catalog
    info   Display where a service's instances answer";

/// Dispatches `orch service <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[super::Verb] = &[("list", list::run), ("info", info::run)];
    super::dispatch("service", args, verbs, USAGE)
}

/// A service's tags as Nomad prints them, `[a,b]`.
fn tags(v: &serde_json::Value) -> String {
    let tags: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(super::table::text)
        .collect();
    format!("[{}]", tags.join(","))
}
