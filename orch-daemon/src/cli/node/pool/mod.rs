//! `orch node pool <verb>`: node pools (Nomad 1.6's `nomad node pool`), one file per
//! verb, and what the list verbs share: the `-filter`/`-per-page`/`-page-token` query
//! and Nomad's "Results have been paginated" hint.

mod apply;
mod delete;
pub(crate) mod info;
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

/// The flags of the list verbs (`-json` and `-t` come with `flags::OUTPUT`).
const LIST_FLAGS: &[FlagSpec] = crate::cli::flags::PAGING;

/// `?filter=&per_page=&next_token=` from the list flags (`sep` starts it), or an error
/// naming a bad `-per-page`.
fn list_query(p: &Parsed, sep: char) -> Result<String, String> {
    let q = crate::cli::api::list_query(p)?;
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
