//! A server that misses part of the log catches up, whatever the size of the state: three
//! real `orch` servers snapshot every few entries and keep only a short log behind each
//! snapshot, so a server that was down or paused while tens of megabytes were written
//! can only catch up through a snapshot far bigger than one HTTP request body. It must
//! get it, know the leader again, hold every acknowledged job and report itself healthy.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::*;

/// Jobs of about 64 KiB each (their meta), so a few hundred make tens of megabytes.
const BIG_META_KEYS: usize = 16;
const BIG_META_VALUE: usize = 4096;

fn big_job(i: usize) -> serde_json::Value {
    let meta: serde_json::Map<String, serde_json::Value> = (0..BIG_META_KEYS)
        .map(|k| {
            let value = format!("{i:08}-{k:02}-").repeat(BIG_META_VALUE / 12);
            (format!("k{k}"), serde_json::Value::String(value))
        })
        .collect();
    serde_json::json!({"Job": {
        "ID": format!("big-{i}"),
        "Type": "batch",
        "Datacenters": ["dc1"],
        "Meta": meta,
        "TaskGroups": [{"Name": "g", "Count": 1, "Tasks": [{"Name": "t", "Driver": "raw_exec",
            "Config": {"command": "/bin/true"}, "Resources": {"CPU": 20, "MemoryMB": 16}}]}]
    }})
}

/// A server config with a fixed RPC port (the membership names it, so a restarted server
/// must come back on it) and a snapshot every 16 entries that keeps 4 behind it.
fn server_config(dir: &Path, name: &str) -> String {
    let path = dir.join(format!("{name}.hcl"));
    let body = format!(
        "ports {{\n  rpc = {}\n}}\nserver {{\n  raft_snapshot_threshold = 16\n  raft_trailing_logs = 4\n}}\n",
        free_port()
    );
    std::fs::write(&path, body).unwrap();
    path.to_str().unwrap().to_string()
}

struct Cluster {
    agents: Vec<Agent>,
    /// Each server's full command line, to restart it as it was started.
    args: Vec<Vec<String>>,
    acked: BTreeSet<String>,
}

impl Cluster {
    fn start(dir: &Path) -> Cluster {
        let configs: Vec<String> = ["a", "b", "c"]
            .iter()
            .map(|n| server_config(dir, n))
            .collect();
        let extra: Vec<[&str; 2]> = configs.iter().map(|c| ["-config", c.as_str()]).collect();
        let agents = three_servers(dir, [&extra[0], &extra[1], &extra[2]]);
        let data = |n: &str| dir.join(n).to_str().unwrap().to_string();
        let mut args = vec![vec![
            "-server".to_string(),
            "-bootstrap-expect".into(),
            "1".into(),
        ]];
        for _ in 1..3 {
            args.push(vec![
                "-server".into(),
                "-retry-join".into(),
                agents[0].serf.clone(),
            ]);
        }
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            args[i].extend([
                "-data-dir".into(),
                data(name),
                "-node".into(),
                name.to_string(),
                "-config".into(),
                configs[i].clone(),
            ]);
        }
        Cluster {
            agents,
            args,
            acked: BTreeSet::new(),
        }
    }

    fn leader(&self) -> usize {
        wait_for(Duration::from_secs(60), "a leader", || {
            let rpc = (0..3).find_map(|i| leader_rpc(&self.agents[i]))?;
            self.agents.iter().position(|a| a.rpc == rpc)
        })
    }

    /// Registers big jobs `range` through the servers in `through`, in turn.
    fn write(&mut self, range: std::ops::Range<usize>, through: &[usize]) {
        for i in range {
            let target = &self.agents[through[i % through.len()]];
            let (code, body) = wait_for(Duration::from_secs(120), "a registration", || {
                let (code, body) = send(target, "PUT", "/v1/jobs", big_job(i));
                (code == 200).then_some((code, body))
            });
            assert_eq!(code, 200, "big-{i}: {body}");
            self.acked.insert(format!("big-{i}"));
        }
    }

    /// Waits until server `i` knows the leader, holds every acknowledged job in its own
    /// state (a stale read answers from it) and reports itself healthy.
    fn wait_caught_up(&self, i: usize, what: &str) {
        let agent = &self.agents[i];
        // A wait, not a timing assertion: alone, the restarted follower holds every job
        // about 25 s after its restart; beside the other test of this file on 2 cores,
        // 155 s. Before snapshot chunks refreshed its election timer it called an
        // election mid-transfer, deposed the leader and never caught up.
        wait_for(Duration::from_secs(600), what, || {
            leader_rpc(agent)?;
            let (code, jobs) = get(agent, "/v1/jobs?stale=true");
            let held: BTreeSet<String> = (code == 200)
                .then(|| jobs.as_array().cloned())
                .flatten()?
                .iter()
                .filter_map(|j| j["ID"].as_str().map(str::to_string))
                .collect();
            if !self.acked.is_subset(&held) {
                return None;
            }
            (get(agent, "/v1/agent/health").0 == 200).then_some(())
        });
    }

    fn restart(&mut self, i: usize, dir: &Path) {
        let args: Vec<&str> = self.args[i].iter().map(String::as_str).collect();
        self.agents[i] = start(dir, &args);
    }
}

fn snapshot_size(dir: &Path, name: &str) -> u64 {
    std::fs::metadata(dir.join(name).join("raft").join("snapshot.bin")).map_or(0, |m| m.len())
}

fn signal(agent: &Agent, sig: i32) {
    // SAFETY: kill has no memory preconditions; the pid is our (unreaped) child's.
    unsafe {
        libc::kill(agent.child.id() as i32, sig);
    }
}

const NAMES: [&str; 3] = ["a", "b", "c"];

#[test]
fn a_restarted_follower_catches_up_through_a_snapshot_bigger_than_a_request() {
    let dir = temp_dir("catchup-restart");
    let mut cluster = Cluster::start(&dir);
    cluster.write(0..10, &[0, 1, 2]);
    let leader = cluster.leader();
    let follower = (0..3).find(|&i| i != leader).unwrap();
    let other = 3 - leader - follower;
    let _ = cluster.agents[follower].child.kill();
    let _ = cluster.agents[follower].child.wait();
    // About 16 MiB while it is down: many snapshots, the log it needs purged.
    cluster.write(10..260, &[leader, other]);
    let size = snapshot_size(&dir, NAMES[leader]);
    assert!(
        size > 8 << 20,
        "the leader's snapshot ({size} bytes) should be far above one request body"
    );
    let restarted = std::time::Instant::now();
    cluster.restart(follower, &dir);
    wait_for(
        Duration::from_secs(120),
        "the restarted follower to know the leader",
        || leader_rpc(&cluster.agents[follower]),
    );
    let knew_leader = restarted.elapsed();
    cluster.wait_caught_up(follower, "the restarted follower to catch up");
    eprintln!(
        "restarted follower: knew the leader {knew_leader:?} and held every job {:?} after its restart",
        restarted.elapsed()
    );
    assert!(snapshot_size(&dir, NAMES[follower]) > 8 << 20);
    // It is a working member again: a write through it commits everywhere, and so does
    // one job bigger than axum's default 2 MiB body (it used to wedge every later write).
    cluster.write(260..262, &[follower]);
    let mut three_mib = big_job(262);
    three_mib["Job"]["Meta"]["k0"] = serde_json::Value::String("z".repeat(3 << 20));
    let (code, body) = send(&cluster.agents[follower], "PUT", "/v1/jobs", three_mib);
    assert_eq!(code, 200, "{body}");
    cluster.acked.insert("big-262".into());
    cluster.write(263..265, &[follower]);
    for i in 0..3 {
        cluster.wait_caught_up(i, "every server to hold every job");
    }
    drop(cluster);
    let _ = std::fs::remove_dir_all(dir);
}

/// A follower paused (SIGSTOP) past its election timeout, and meanwhile the leader paused
/// long enough for another to take over: both resume behind a purged log, learn the new
/// leader and converge.
#[test]
fn paused_servers_catch_up_after_an_election() {
    let dir = temp_dir("catchup-pause");
    let mut cluster = Cluster::start(&dir);
    cluster.write(0..10, &[0, 1, 2]);
    let leader = cluster.leader();
    // The paused follower is silent for as long as 100 big writes take, which on a
    // loaded machine is longer than autopilot's 30 s before it removes a dead server.
    // This test is about catching up, not cleanup (tests/autopilot.rs has that).
    let (_, mut autopilot) = get(
        &cluster.agents[leader],
        "/v1/operator/autopilot/configuration",
    );
    autopilot["CleanupDeadServers"] = serde_json::Value::Bool(false);
    let (code, body) = send(
        &cluster.agents[leader],
        "PUT",
        "/v1/operator/autopilot/configuration",
        autopilot,
    );
    assert_eq!(code, 200, "{body}");
    let follower = (0..3).find(|&i| i != leader).unwrap();
    let other = 3 - leader - follower;
    signal(&cluster.agents[follower], libc::SIGSTOP);
    cluster.write(10..110, &[leader, other]);
    // The leader says that the paused server does not keep up: in the raft
    // configuration, list-peers, autopilot health and the metrics.
    let stopped_id = wait_for(
        Duration::from_secs(120),
        "the paused server reported",
        || {
            let (_, conf) = get(&cluster.agents[leader], "/v1/operator/raft/configuration");
            let row = conf["Servers"]
                .as_array()?
                .iter()
                .find(|s| s["Address"] == cluster.agents[follower].rpc.as_str())?
                .clone();
            (row["Healthy"] == false && row["TrailingLogs"].as_u64()? > 0)
                .then_some(row["ID"].clone())
        },
    );
    let (code, autopilot) = get(&cluster.agents[leader], "/v1/operator/autopilot/health");
    assert_eq!(code, 429, "{autopilot}");
    assert_eq!(autopilot["Healthy"], false, "{autopilot}");
    let peers = orch_cli(&cluster.agents[leader], &["operator", "raft", "list-peers"]);
    let peers = String::from_utf8_lossy(&peers.stdout).to_string();
    let row = peers
        .lines()
        .find(|l| l.contains(&cluster.agents[follower].rpc))
        .unwrap_or_else(|| panic!("no row for the paused server: {peers}"));
    assert!(row.trim_end().ends_with("false"), "{peers}");
    assert!(
        peers.lines().next().unwrap().contains("TrailingLogs"),
        "{peers}"
    );
    let (_, metrics) = get_text(&cluster.agents[leader], "/v1/metrics?format=prometheus");
    let id = stopped_id.as_str().unwrap().to_string();
    assert!(
        metrics.contains(&format!("nomad_raft_peer_healthy{{peer_id=\"{id}\"}} 0")),
        "{metrics}"
    );
    // Pause the leader too: `other` cannot win alone (one of three), so resume the
    // follower as soon as the leader stops; `other` or the follower is elected.
    signal(&cluster.agents[leader], libc::SIGSTOP);
    signal(&cluster.agents[follower], libc::SIGCONT);
    wait_for(Duration::from_secs(120), "a new leader", || {
        let rpc = leader_rpc(&cluster.agents[other])?;
        (rpc != cluster.agents[leader].rpc).then_some(())
    });
    let through: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    cluster.write(110..230, &through);
    signal(&cluster.agents[leader], libc::SIGCONT);
    for i in 0..3 {
        cluster.wait_caught_up(i, "every server to converge after the pauses");
    }
    wait_one_leader(&cluster.agents, 3);
    // Once converged, the leader reports every server healthy again.
    let leader = cluster.leader();
    wait_for(Duration::from_secs(120), "every server healthy", || {
        let (code, _) = get(&cluster.agents[leader], "/v1/operator/autopilot/health");
        (code == 200).then_some(())
    });
    drop(cluster);
    let _ = std::fs::remove_dir_all(dir);
}
