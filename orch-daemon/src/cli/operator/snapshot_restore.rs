//! `orch operator snapshot restore <file>`: replaces the servers' whole state with a
//! saved snapshot (`PUT /v1/operator/snapshot`), for disaster recovery.
//!
//! A restore of a big state onto several servers takes a while, so the command says
//! what it does as it goes (time-stamped lines, as `node drain` prints): the file read,
//! the upload, the index the servers restored at, then each server as it holds the
//! restore's log entry (from the leader's replication progress,
//! `/v1/operator/raft/configuration`), and Nomad's `Snapshot Restored` last.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use orch_core::state::archive;
use serde_json::Value;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, parse_verb};
use crate::cli::node::drain_monitor::say;
use crate::cli::table::text;

/// How long the command follows the servers after the restore committed (they go on
/// catching up after it gives up).
const FOLLOW_FOR: Duration = Duration::from_secs(120);

/// Between two looks at the servers' progress.
const POLL_EVERY: Duration = Duration::from_millis(250);

const USAGE: &str = "Usage: orch operator snapshot restore [options] <file>

  Restores an atomic, point-in-time snapshot of the state of the orch servers
  which includes jobs, nodes, allocations, periodic jobs, and ACLs.

  Restores replace the whole state through Raft, so every server converges on
  it. This command is primarily intended to be used when recovering from a
  disaster, restoring into a fresh cluster of orch servers.

  If ACLs are enabled, a management token must be supplied in order to perform
  snapshot operations.

  To restore a snapshot from the file \"backup.snap\":

    $ orch operator snapshot restore backup.snap";

/// Runs `orch operator snapshot restore`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let file = p.one_arg("file", USAGE)?;
    let bytes = super::snapshot_inspect::read_archive_file(file)?;
    let client = ApiClient::from_flags(&p)?;
    match archive::decode(&bytes) {
        Ok(a) => say(&format!(
            "Read snapshot {file:?}: {} bytes, saved at index {} (term {})",
            bytes.len(),
            a.index,
            a.term
        )),
        // The servers check it too and say why they refuse it.
        Err(e) => say(&format!("Read {file:?} ({} bytes): {e}", bytes.len())),
    }
    let before = leader_last_index(&client);
    say(&format!(
        "Sending the snapshot to {} ({} bytes)",
        client.addr,
        bytes.len()
    ));
    let reply = client.put_bytes("/v1/operator/snapshot", bytes)?;
    say(&format!(
        "The servers committed the restore at index {}",
        text(&reply["Index"])
    ));
    follow_servers(&client, before);
    println!("Snapshot Restored");
    Ok(ExitCode::SUCCESS)
}

/// The servers of the Raft configuration (`ID`, `Address`, `Leader`, `LastIndex`), or
/// why they cannot be read.
fn servers(client: &ApiClient) -> Result<Vec<Value>, crate::cli::api::ApiFailure> {
    let v = client.get("/v1/operator/raft/configuration")?;
    Ok(v["Servers"].as_array().cloned().unwrap_or_default())
}

/// The leader's last log index as the configuration reports it (0 when unknown).
fn leader_last_index(client: &ApiClient) -> u64 {
    servers(client)
        .ok()
        .and_then(|s| s.into_iter().find(|s| s["Leader"] == true))
        .and_then(|s| s["LastIndex"].as_u64())
        .unwrap_or(0)
}

/// Prints each server as it holds the restore: its last log index at or past the
/// leader's once the leader's moved past `before` (the restore is a new entry). Gives
/// up quietly on servers that cannot be read: the restore is committed either way.
fn follow_servers(client: &ApiClient, before: u64) {
    let deadline = Instant::now() + FOLLOW_FOR;
    let mut target = None;
    let mut done = BTreeSet::new();
    loop {
        let list = match servers(client) {
            Ok(list) => list,
            Err(e) if e.status == 403 => {
                say(
                    "The restored state holds other ACL tokens than the one this command used; follow the servers with one of the snapshot's (orch operator raft list-peers)",
                );
                return;
            }
            Err(e) => {
                say(&format!(
                    "Cannot follow the servers' progress: {}",
                    e.message
                ));
                return;
            }
        };
        let leader = list
            .iter()
            .find(|s| s["Leader"] == true)
            .and_then(|s| s["LastIndex"].as_u64());
        if target.is_none() {
            target = leader.filter(|l| *l > before);
        }
        if let Some(target) = target {
            for s in &list {
                let id = text(&s["Address"]);
                if s["LastIndex"].as_u64().unwrap_or(0) >= target && done.insert(id.clone()) {
                    say(&format!(
                        "Server {id} holds the restore ({} of {} servers)",
                        done.len(),
                        list.len()
                    ));
                }
            }
            if !list.is_empty() && done.len() >= list.len() {
                return;
            }
        }
        if Instant::now() >= deadline {
            say(&format!(
                "{} of {} servers hold the restore so far; the others apply it as they catch up",
                done.len(),
                list.len()
            ));
            return;
        }
        std::thread::sleep(POLL_EVERY);
    }
}
