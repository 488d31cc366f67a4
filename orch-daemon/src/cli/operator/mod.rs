//! `orch operator autopilot|raft|root keyring|scheduler|snapshot <verb>`: dispatches the operator verbs, one
//! file each.

mod autopilot_get_config;
mod autopilot_health;
mod autopilot_set_config;
mod raft_list_peers;
mod raft_remove_peer;
mod raft_transfer_leadership;
mod root_keyring_list;
mod root_keyring_remove;
mod root_keyring_rotate;
mod scheduler_get_config;
mod scheduler_set_config;
mod snapshot_inspect;
mod snapshot_restore;
mod snapshot_save;

use std::process::ExitCode;

use super::flags::{is_help, print_usage};

/// The usage of `orch operator`, also `operator raft list-peers`'s help.
const USAGE: &str = "Usage: orch operator autopilot <get-config|set-config|health> [options]
       orch operator raft <list-peers|remove-peer|transfer-leadership> [options]
       orch operator root keyring <list|rotate|remove> [options]
       orch operator scheduler <get-config|set-config> [options]
       orch operator snapshot <save|restore|inspect> [options] <file>

  autopilot get-config  Displays the current autopilot configuration.
  autopilot set-config  Modifies the current autopilot configuration.
  autopilot health      Displays the health of the servers as autopilot sees it.
  raft list-peers       Lists the Raft peers (servers), which one leads, and how each
                        keeps up: last contact with the leader, entries it trails by,
                        healthy.
  raft remove-peer      Removes a server from the Raft configuration.
  raft transfer-leadership
                        Makes another server the Raft leader.
  root keyring list     Lists the root keys (variables' encryption, identities'
                        signatures).
  root keyring rotate   Makes a new active root key (-full re-encrypts variables).
  root keyring remove   Removes an inactive root key.
  scheduler get-config  Displays the current scheduler configuration.
  scheduler set-config  Modifies the current scheduler configuration.
  snapshot save         Saves the servers' whole state to a file (backups).
  snapshot restore      Replaces the servers' whole state with a saved file.
  snapshot inspect      Shows what a saved snapshot file holds.

Autopilot Options:

  -json
    Print the raw API JSON (list-peers)";

/// Dispatches `orch operator raft|snapshot <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let words: Vec<&str> = args.iter().take(2).map(String::as_str).collect();
    let rest = args.get(2..).unwrap_or_default();
    match words.as_slice() {
        ["autopilot", "get-config"] => autopilot_get_config::run(rest),
        ["autopilot", "set-config"] => autopilot_set_config::run(rest),
        ["autopilot", "health"] => autopilot_health::run(rest),
        ["raft", "list-peers"] => raft_list_peers::run(rest),
        ["raft", "remove-peer"] => raft_remove_peer::run(rest),
        ["raft", "transfer-leadership"] => raft_transfer_leadership::run(rest),
        ["root", "keyring"] => root_keyring(rest),
        ["scheduler", "get-config"] => scheduler_get_config::run(rest),
        ["scheduler", "set-config"] => scheduler_set_config::run(rest),
        ["snapshot", "save"] => snapshot_save::run(rest),
        ["snapshot", "restore"] => snapshot_restore::run(rest),
        ["snapshot", "inspect"] => snapshot_inspect::run(rest),
        [] | ["autopilot"] | ["raft"] | ["root"] | ["scheduler"] | ["snapshot"] => {
            super::flags::usage_exit(USAGE)
        }
        [first, ..] if is_help(first) || *first == "help" => print_usage(USAGE),
        _ => Err(format!(
            "unknown command `orch operator {}`: the operator verbs are `autopilot get-config|set-config|health`, `raft list-peers`, `raft remove-peer`, `raft transfer-leadership`, `root keyring list|rotate|remove`, `scheduler get-config|set-config` and `snapshot save|restore|inspect`\n\n{USAGE}",
            args.join(" ")
        )),
    }
}

/// Dispatches `orch operator root keyring <verb>`.
fn root_keyring(args: &[String]) -> Result<ExitCode, String> {
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("list") => root_keyring_list::run(rest),
        Some("rotate") => root_keyring_rotate::run(rest),
        Some("remove") => root_keyring_remove::run(rest),
        None => super::flags::usage_exit(USAGE),
        Some(other) => Err(format!(
            "unknown command `orch operator root keyring {other}`: the keyring verbs are `list`, `rotate` and `remove`"
        )),
    }
}
