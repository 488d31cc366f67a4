//! `orch node drain` without `-detach` (and `-monitor`): follows a drain until the node
//! is done and its allocations have stopped, printing Nomad's monitor lines
//! (`Alloc "…" marked for migration`, `… draining`, `… status running -> complete`,
//! `Drain complete for node …`, `All allocations on node "…" have stopped`).
//!
//! Polls the node and its allocations with blocking queries, so it follows any drain,
//! whoever started it; stopping the monitor never cancels the drain.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use orch_core::model::Timestamp;
use serde_json::Value;

use crate::cli::api::ApiClient;
use crate::cli::table::text;

/// How long the monitor follows a drain before it gives up (the drain goes on).
const GIVE_UP: Duration = Duration::from_secs(24 * 3600);

/// What was already printed about one allocation.
#[derive(Debug, Default)]
struct Seen {
    marked: bool,
    draining: bool,
    status: String,
}

/// One monitor line, with Nomad's RFC 3339 time prefix (shared by the CLI's other
/// progress output, such as `operator snapshot restore`).
pub(crate) fn say(msg: &str) {
    let stamp = serde_json::to_value(Timestamp(crate::clock::now_nanos()))
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    println!("{stamp}: {msg}");
}

fn client_terminal(a: &Value) -> bool {
    matches!(
        a["ClientStatus"].as_str(),
        Some("complete" | "failed" | "lost")
    )
}

/// Whether the allocation has to stop before the drain is over (system allocations are
/// left running with `IgnoreSystemJobs`).
fn must_stop(a: &Value, ignore_system: bool) -> bool {
    !(ignore_system && a["Job"]["Type"].as_str() == Some("system"))
}

/// Marked for migration or stopped by the servers: part of the drain. Allocations a
/// cancelled drain left alone are not waited for.
fn moving(a: &Value) -> bool {
    a["DesiredTransition"]["Migrate"].as_bool() == Some(true) || text(&a["DesiredStatus"]) != "run"
}

/// Follows the drain of `node_id` until it is complete and every allocation it moves
/// has stopped on the client. `just_set`: the drain was set by this command (announced
/// after the Ctrl-C hint, as Nomad does).
pub fn monitor_drain(
    client: &ApiClient,
    node_id: &str,
    ignore_system: bool,
    just_set: bool,
) -> Result<(), String> {
    say("Ctrl-C to stop monitoring: will not cancel the node drain");
    if just_set {
        say(&format!("Node {node_id:?} drain strategy set"));
    }
    let node_path = format!("/v1/node/{}", crate::cli::api::encode(node_id));
    let allocs_path = format!("{node_path}/allocations");
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let mut first = true;
    let mut complete = false;
    let mut index = 0u64;
    let started = Instant::now();
    loop {
        let node = client.get(&node_path)?;
        let (allocs, next) = client.get_blocking(&allocs_path, index, "1s")?;
        index = next;
        report_allocs(&mut seen, &allocs, first);
        first = false;
        if !complete && node["DrainStrategy"].is_null() {
            complete = true;
            say(&format!("Drain complete for node {node_id}"));
        }
        let stopped = allocs
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|a| must_stop(a, ignore_system) && moving(a))
            .all(|a| {
                client_terminal(a)
                    || (text(&a["DesiredStatus"]) != "run" && text(&a["ClientStatus"]) == "pending")
            });
        if complete && stopped {
            say(&format!("All allocations on node {node_id:?} have stopped"));
            return Ok(());
        }
        if started.elapsed() > GIVE_UP {
            return Err(format!(
                "stopped monitoring node {node_id:?} after a day; the drain goes on: follow it with `orch node status {node_id}`"
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Prints what changed for each allocation since the last look: marked for migration,
/// draining, a new client status. On the `first` look, allocations already stopped are
/// remembered silently (they stopped before the drain).
fn report_allocs(seen: &mut BTreeMap<String, Seen>, allocs: &Value, first: bool) {
    for a in allocs.as_array().map(Vec::as_slice).unwrap_or_default() {
        let id = text(&a["ID"]);
        let status = text(&a["ClientStatus"]);
        if first && client_terminal(a) {
            // Stopped before the drain: not part of it.
            seen.insert(
                id,
                Seen {
                    marked: true,
                    draining: true,
                    status,
                },
            );
            continue;
        }
        let s = seen.entry(id.clone()).or_insert_with(|| Seen {
            status: status.clone(),
            ..Seen::default()
        });
        if !s.marked && a["DesiredTransition"]["Migrate"].as_bool() == Some(true) {
            s.marked = true;
            say(&format!("Alloc {id:?} marked for migration"));
        }
        if !s.draining && text(&a["DesiredStatus"]) != "run" {
            s.draining = true;
            s.marked = true;
            say(&format!("Alloc {id:?} draining"));
        }
        if s.status != status {
            say(&format!("Alloc {id:?} status {} -> {status}", s.status));
            s.status = status;
        }
    }
}
