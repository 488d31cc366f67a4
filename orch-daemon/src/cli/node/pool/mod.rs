//! `orch node pool <verb>`: node pools (Nomad 1.6's `nomad node pool`), one file per
//! verb, and what the list verbs share: the `-filter`/`-per-page`/`-page-token` query
//! and Nomad's "Results have been paginated" hint.

mod apply;
mod delete;
mod info;
mod init;
mod jobs;
mod list;
mod nodes;

use std::process::ExitCode;

use crate::cli::api::encode;
use crate::cli::flags::{FlagSpec, Parsed};

const USAGE: &str = "Usage: orch node pool <subcommand> [options] [args]

  This command groups subcommands for interacting with node pools.

Subcommands:
    apply    Create or update a node pool
    delete   Delete a node pool
    info     Fetch information on an existing node pool
    init     Create an example node pool specification file
    jobs     Retrieve a list of jobs in a node pool
    list     List node pools
    nodes    Retrieve a list of nodes in a node pool";

/// Dispatches `orch node pool <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[crate::cli::Verb] = &[
        ("apply", apply::run),
        ("delete", delete::run),
        ("info", info::run),
        ("init", init::run),
        ("jobs", jobs::run),
        ("list", list::run),
        ("nodes", nodes::run),
    ];
    crate::cli::dispatch("node pool", args, verbs, USAGE)
}

/// `/v1/node/pool/<name>`.
fn pool_path(name: &str) -> String {
    format!("/v1/node/pool/{}", encode(name))
}

/// The flags of the list verbs.
const LIST_FLAGS: &[FlagSpec] = &[
    FlagSpec::value("filter"),
    FlagSpec::value("per-page"),
    FlagSpec::value("page-token"),
    FlagSpec::value("t"),
];

/// `?filter=&per_page=&next_token=` from the list flags (`sep` starts it), or an error
/// naming a bad `-per-page`. `-t` (Go templates) is refused by name: orch's CLI does
/// not render them yet, and printing something else would mislead a script.
fn list_query(p: &Parsed, sep: char) -> Result<String, String> {
    if p.has("t") {
        return Err(
            "-t (Go template output) is not supported by orch yet; use -json and a JSON tool such as jq"
                .into(),
        );
    }
    let mut q = Vec::new();
    if let Some(f) = p.all("filter").last() {
        q.push(format!("filter={}", encode(f)));
    }
    if let Some(n) = p.all("per-page").last() {
        n.parse::<u32>()
            .map_err(|_| format!("-per-page {n:?}: expected a non-negative number"))?;
        q.push(format!("per_page={n}"));
    }
    if let Some(t) = p.all("page-token").last() {
        q.push(format!("next_token={}", encode(t)));
    }
    Ok(if q.is_empty() {
        String::new()
    } else {
        format!("{sep}{}", q.join("&"))
    })
}

/// Nomad's hint after a page that is not the last.
fn print_next_page_hint(command: &str, p: &Parsed, next: Option<&str>) {
    let Some(token) = next else { return };
    let per_page = p.all("per-page").last().cloned().unwrap_or_default();
    println!(
        "\nResults have been paginated. To get the next page run:\n\norch {command} -per-page {per_page} -page-token {token}"
    );
}
