//! `orch operator raft|scheduler <verb>`: dispatches the operator verbs, one file each.

mod raft_list_peers;
mod raft_remove_peer;
mod scheduler_get_config;
mod scheduler_set_config;

use std::process::ExitCode;

use super::flags::{is_help, print_usage};

/// The usage of `orch operator`, also `operator raft list-peers`'s help.
const USAGE: &str = "Usage: orch operator raft <list-peers|remove-peer> [options]
       orch operator scheduler <get-config|set-config> [options]

  raft list-peers       Lists the Raft peers (servers), which one leads, and how each
                        keeps up: last contact with the leader, entries it trails by,
                        healthy.
  raft remove-peer      Removes a server from the Raft configuration.
  scheduler get-config  Displays the current scheduler configuration.
  scheduler set-config  Modifies the current scheduler configuration.

Options:
  -json  Print the raw API JSON (list-peers)";

/// Dispatches `orch operator raft <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let words: Vec<&str> = args.iter().take(2).map(String::as_str).collect();
    let rest = args.get(2..).unwrap_or_default();
    match words.as_slice() {
        ["raft", "list-peers"] => raft_list_peers::run(rest),
        ["raft", "remove-peer"] => raft_remove_peer::run(rest),
        ["scheduler", "get-config"] => scheduler_get_config::run(rest),
        ["scheduler", "set-config"] => scheduler_set_config::run(rest),
        [] | ["raft"] | ["scheduler"] => print_usage(USAGE),
        [first, ..] if is_help(first) || *first == "help" => print_usage(USAGE),
        _ => Err(format!(
            "unknown command `orch operator {}`: the operator verbs are `raft list-peers`, `raft remove-peer`, `scheduler get-config` and `scheduler set-config`\n\n{USAGE}",
            args.join(" ")
        )),
    }
}
