//! `orch operator autopilot|raft|root keyring|scheduler|snapshot <verb>`: dispatches the
//! operator verbs, one file each. Each noun prints its own usage for `-help` (or alone,
//! exit 1), as Nomad's `operator <noun>` commands do.

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

use crate::cli::{Verb, dispatch};

const USAGE: &str = "Usage: orch operator <subcommand> [options]

  Provides cluster-level tools for orch operators, such as interacting with
  the Raft subsystem. NOTE: Use this command with extreme caution, as improper
  use could lead to an outage and even loss of data.

  Run orch operator <subcommand> with no arguments for help on that subcommand.

Subcommands:
    autopilot    Provides tools for modifying Autopilot configuration
    raft         Provides access to the Raft subsystem
    root         Provides access to the root keyring (root keyring list|rotate|remove)
    scheduler    Provides access to the scheduler configuration
    snapshot     Saves, restores and inspects snapshots of the servers' state";

const AUTOPILOT_USAGE: &str = "Usage: orch operator autopilot <subcommand> [options]

  This command groups subcommands for interacting with the Autopilot subsystem.
  Autopilot provides automatic, operator-friendly management of the servers:
  dead-server cleanup and the thresholds that say whether a server is healthy.

  Get the current Autopilot configuration:

      $ orch operator autopilot get-config

  Set a new Autopilot configuration, enabling automatic dead server cleanup:

      $ orch operator autopilot set-config -cleanup-dead-servers=true

  Please see the individual subcommand help for detailed usage information.

Subcommands:
    get-config    Display the current Autopilot configuration
    health        Display the overall Autopilot health
    set-config    Modify the current Autopilot configuration";

const RAFT_USAGE: &str = "Usage: orch operator raft <subcommand> [options]

  The Raft operator command is used to interact with the servers' Raft
  subsystem. The command can be used to verify Raft peers, to move the
  leadership, or in rare cases to recover quorum by removing invalid peers.

  List Raft peers:

      $ orch operator raft list-peers

  Remove a Raft peer:

      $ orch operator raft remove-peer -peer-address \"IP:Port\"

  Please see the individual subcommand help for detailed usage information.

Subcommands:
    list-peers             Display the current Raft peer configuration
    remove-peer            Remove a server from the Raft configuration
    transfer-leadership    Transfer leadership to a specified server";

const KEYRING_USAGE: &str = "Usage: orch operator root keyring <subcommand> [options]

  Manages the root keys that encrypt variables and sign workload identities.

Subcommands:
    list      Lists the root keys
    remove    Removes an inactive root key
    rotate    Rotates the root key";

const SCHEDULER_USAGE: &str = "Usage: orch operator scheduler <subcommand> [options]

  This command groups subcommands for interacting with the servers' scheduler
  configuration: the algorithm, preemption per scheduler type, memory
  oversubscription, job registration and the evaluation broker.

  Get the scheduler configuration:

      $ orch operator scheduler get-config

  Set the scheduler to spread allocations:

      $ orch operator scheduler set-config -scheduler-algorithm=spread

  Please see the individual subcommand help for detailed usage information.

Subcommands:
    get-config    Display the current scheduler configuration
    set-config    Modify the scheduler configuration";

const SNAPSHOT_USAGE: &str = "Usage: orch operator snapshot <subcommand> [options]

  This command has subcommands for saving, restoring and inspecting the state of
  the orch servers for disaster recovery. These are atomic, point-in-time
  snapshots which include jobs, nodes, allocations, periodic jobs, and ACLs.

  If ACLs are enabled, a management token must be supplied in order to perform
  snapshot operations.

  Create a snapshot:

      $ orch operator snapshot save backup.snap

  Restore a snapshot:

      $ orch operator snapshot restore backup.snap

  Inspect a snapshot:

      $ orch operator snapshot inspect backup.snap

  Please see the individual subcommand help for detailed usage information.

Subcommands:
    inspect    Displays information about a snapshot file
    restore    Restore snapshot of the servers' state
    save       Saves snapshot of the servers' state";

/// Dispatches `orch operator <noun> <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let nouns: &[Verb] = &[
        ("autopilot", autopilot),
        ("raft", raft),
        ("root", root),
        ("scheduler", scheduler),
        ("snapshot", snapshot),
    ];
    dispatch("operator", args, nouns, USAGE)
}

fn autopilot(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[Verb] = &[
        ("get-config", autopilot_get_config::run),
        ("set-config", autopilot_set_config::run),
        ("health", autopilot_health::run),
    ];
    dispatch("operator autopilot", args, verbs, AUTOPILOT_USAGE)
}

fn raft(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[Verb] = &[
        ("list-peers", raft_list_peers::run),
        ("remove-peer", raft_remove_peer::run),
        ("transfer-leadership", raft_transfer_leadership::run),
    ];
    dispatch("operator raft", args, verbs, RAFT_USAGE)
}

/// `orch operator root keyring <verb>` (`root` has the one noun).
fn root(args: &[String]) -> Result<ExitCode, String> {
    let nouns: &[Verb] = &[("keyring", keyring)];
    dispatch("operator root", args, nouns, KEYRING_USAGE)
}

fn keyring(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[Verb] = &[
        ("list", root_keyring_list::run),
        ("rotate", root_keyring_rotate::run),
        ("remove", root_keyring_remove::run),
    ];
    dispatch("operator root keyring", args, verbs, KEYRING_USAGE)
}

fn scheduler(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[Verb] = &[
        ("get-config", scheduler_get_config::run),
        ("set-config", scheduler_set_config::run),
    ];
    dispatch("operator scheduler", args, verbs, SCHEDULER_USAGE)
}

fn snapshot(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[Verb] = &[
        ("save", snapshot_save::run),
        ("restore", snapshot_restore::run),
        ("inspect", snapshot_inspect::run),
    ];
    dispatch("operator snapshot", args, verbs, SNAPSHOT_USAGE)
}
