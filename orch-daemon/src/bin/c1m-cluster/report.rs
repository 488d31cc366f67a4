//! What a c1m-cluster run prints: one JSON line (fields in benches/README.md,
//! "c1m-cluster").

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use orch_core::model::{eval_status, node_status};
use serde_json::{Value, json};

use super::Args;
use super::cluster::Server;
use super::fleet::FleetStats;

/// The timed phases of a run.
pub struct Phases {
    /// Jobs registered.
    pub jobs: usize,
    /// Seconds to register every node.
    pub nodes_secs: f64,
    /// Seconds to register every job (each answered once committed).
    pub jobs_secs: f64,
    /// Per server, when its state held every allocation, from the first job's
    /// registration (`None`: never).
    pub done: Vec<Option<Duration>>,
    /// When the last allocation seen anywhere was applied, from the same start.
    pub last_commit: Duration,
    /// [`timings`] when the jobs began to be registered.
    pub timings_before: BTreeMap<&'static str, (u64, f64)>,
}

/// The figures of one run.
pub struct Report {
    value: Value,
    complete: bool,
}

/// The process's peak resident set (`VmHWM`), in MB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The size of `path` (0 when absent).
fn file_bytes(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The leader loop's and Raft's timings recorded so far (`crate::telemetry`, every
/// server of this process together): per metric name, samples and their sum in ms.
pub fn timings() -> BTreeMap<&'static str, (u64, f64)> {
    let (_, samples, _) = orch_daemon::telemetry::snapshot();
    let mut out: BTreeMap<&'static str, (u64, f64)> = BTreeMap::new();
    for s in samples {
        if s.name.starts_with("nomad.nomad.") || s.name.starts_with("nomad.raft.") {
            let e = out.entry(s.name).or_default();
            e.0 += s.value.count;
            e.1 += s.value.sum;
        }
    }
    out
}

/// What `timings` recorded since `before`: per name, samples, total and mean ms.
fn timings_since(before: &BTreeMap<&'static str, (u64, f64)>) -> Value {
    let mut out = serde_json::Map::new();
    for (name, (count, sum)) in timings() {
        let (c0, s0) = before.get(name).copied().unwrap_or_default();
        let (count, sum) = (count - c0.min(count), sum - s0);
        let mean = if count == 0 { 0.0 } else { sum / count as f64 };
        out.insert(
            name.to_string(),
            json!({"count": count, "total_ms": sum.round(), "mean_ms": mean}),
        );
    }
    Value::Object(out)
}

/// Evaluations by status, and the placements blocked evaluations still wait to make.
fn eval_summary(s: &orch_core::state::StateStore) -> (BTreeMap<String, u64>, u64) {
    let mut by_status = BTreeMap::new();
    let mut unplaced = 0;
    for e in s.evals() {
        *by_status.entry(e.status.clone()).or_insert(0) += 1;
        if e.status == eval_status::BLOCKED {
            unplaced += e.queued_allocations.values().sum::<u64>();
        }
    }
    (by_status, unplaced)
}

impl Report {
    /// Reads the servers' states, the fleet's counters and the data dirs.
    pub fn gather(
        a: &Args,
        servers: &[Server],
        fleet: &FleetStats,
        dir: &std::path::Path,
        phases: &Phases,
    ) -> Report {
        let committed = phases.done.iter().flatten().min().copied();
        let all_applied = phases.done.iter().copied().collect::<Option<Vec<_>>>();
        let all_applied = all_applied.and_then(|d| d.into_iter().max());
        let secs = committed.map(|d| d.as_secs_f64());
        let counts: Vec<usize> = servers
            .iter()
            .map(|s| s.state.read().alloc_count())
            .collect();
        let (ready, down) = {
            let leader = servers
                .iter()
                .max_by_key(|s| s.state.read().alloc_count())
                .map(|s| s.state.read());
            leader.map_or((0, 0), |s| {
                let ready = s.nodes().filter(|n| n.status == node_status::READY).count();
                let down = s.nodes().filter(|n| n.status == node_status::DOWN).count();
                (ready, down)
            })
        };
        let raft_log: Vec<u64> = (0..servers.len())
            .map(|i| file_bytes(&dir.join(format!("s{i}/raft/raft.redb"))))
            .collect();
        let snapshots: Vec<u64> = (0..servers.len())
            .map(|i| file_bytes(&dir.join(format!("s{i}/raft/snapshot.bin"))))
            .collect();
        let last_index: Vec<u64> = servers
            .iter()
            .map(|s| s.node.raft().metrics().borrow().last_log_index.unwrap_or(0))
            .collect();
        let (evals, unplaced) = servers
            .iter()
            .max_by_key(|s| s.state.read().alloc_count())
            .map(|s| eval_summary(&s.state.read()))
            .unwrap_or_default();
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let value = json!({
            "nodes": a.nodes, "allocs": a.allocs, "jobs": phases.jobs, "servers": servers.len(),
            "workers": a.workers, "full_plans": a.full_plans,
            "nodes_registered": fleet.registered.load(Ordering::Relaxed),
            "node_register_seconds": phases.nodes_secs,
            "node_register_errors": fleet.register_errors.load(Ordering::Relaxed),
            "heartbeats": fleet.heartbeats.load(Ordering::Relaxed),
            "heartbeat_errors": fleet.heartbeat_errors.load(Ordering::Relaxed),
            "max_heartbeat_ttl_ms": fleet.max_ttl_ms.load(Ordering::Relaxed),
            "nodes_ready": ready, "nodes_down": down,
            "job_register_seconds": phases.jobs_secs,
            "allocs_per_server": counts,
            "evals_by_status": evals, "unplaced_in_blocked_evals": unplaced,
            "last_commit_seconds": phases.last_commit.as_secs_f64(),
            "timings_during_jobs": timings_since(&phases.timings_before),
            "seconds": secs,
            "allocs_per_sec": secs.map(|s| a.allocs as f64 / s.max(1e-9)),
            "all_applied_seconds": all_applied.map(|d| d.as_secs_f64()),
            "peak_rss_mb": peak_rss_mb(),
            "raft_log_bytes": raft_log, "snapshot_bytes": snapshots,
            "raft_last_index": last_index,
            "loadavg": load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
            "fsync": "redb durable commit per append",
        });
        Report {
            value,
            complete: all_applied.is_some() && down == 0,
        }
    }

    /// The JSON line.
    pub fn json(&self) -> String {
        self.value.to_string()
    }

    /// Whether every server applied every allocation and no node went down.
    pub fn complete(&self) -> bool {
        self.complete
    }
}
