//! What a c1m-cluster run prints: one JSON line (fields in benches/README.md,
//! "c1m-cluster").

use std::sync::atomic::Ordering;
use std::time::Duration;

use orch_core::model::node_status;
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
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let value = json!({
            "nodes": a.nodes, "allocs": a.allocs, "jobs": phases.jobs, "servers": servers.len(),
            "workers": a.workers,
            "nodes_registered": fleet.registered.load(Ordering::Relaxed),
            "node_register_seconds": phases.nodes_secs,
            "node_register_errors": fleet.register_errors.load(Ordering::Relaxed),
            "heartbeats": fleet.heartbeats.load(Ordering::Relaxed),
            "heartbeat_errors": fleet.heartbeat_errors.load(Ordering::Relaxed),
            "max_heartbeat_ttl_ms": fleet.max_ttl_ms.load(Ordering::Relaxed),
            "nodes_ready": ready, "nodes_down": down,
            "job_register_seconds": phases.jobs_secs,
            "allocs_per_server": counts,
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
