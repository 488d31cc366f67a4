//! `orch operator raft <verb>`: dispatches the Raft operator verbs, one file each.

mod raft_list_peers;
mod raft_remove_peer;

use std::process::ExitCode;

use super::flags::{is_help, print_usage};

/// The usage of `orch operator`, also `operator raft list-peers`'s help.
const USAGE: &str = "Usage: orch operator raft <list-peers|remove-peer> [options]

  list-peers   Lists the Raft peers (servers), which one leads, and how each keeps up:
               last contact with the leader, entries it trails by, healthy.
  remove-peer  Removes a server from the Raft configuration.

Options:
  -json  Print the raw API JSON (list-peers)";

/// Dispatches `orch operator raft <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let words: Vec<&str> = args.iter().take(2).map(String::as_str).collect();
    let rest = args.get(2..).unwrap_or_default();
    match words.as_slice() {
        ["raft", "list-peers"] => raft_list_peers::run(rest),
        ["raft", "remove-peer"] => raft_remove_peer::run(rest),
        [] | ["raft"] => print_usage(USAGE),
        [first, ..] if is_help(first) || *first == "help" => print_usage(USAGE),
        _ => Err(format!(
            "unknown command `orch operator {}`: only `operator raft list-peers` and `operator raft remove-peer` are supported\n\n{USAGE}",
            args.join(" ")
        )),
    }
}
