//! End-to-end tests over real TCP on 127.0.0.1 with on-disk storage in temp dirs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use orch_core::model::{Node, node_status};
use orch_core::state::{Command, JobScale, NodeRegister, StateError};

use super::*;
use crate::server::{ReplicateError, Replicator, StateHandle};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "orch-raft-{name}-{}-{nanos}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(node_id: NodeId, dir: &Path) -> RaftConfig {
    let mut c = RaftConfig::new(node_id, "127.0.0.1:0", dir);
    c.heartbeat_ms = 50;
    c.election_timeout_min_ms = 150;
    c.election_timeout_max_ms = 300;
    c
}

fn register(i: usize) -> Command {
    Command::NodeRegister(NodeRegister {
        node: Node {
            id: format!("node-{i:04}"),
            name: format!("host-{i}"),
            status: node_status::READY.into(),
            ..Node::default()
        },
        now: 1_700_000_000_000_000_000 + i as i64,
    })
}

fn scale_unknown_job() -> Command {
    Command::JobScale(JobScale {
        namespace: "default".into(),
        job_id: "nope".into(),
        group: "web".into(),
        count: 3,
        message: String::new(),
        error: false,
        meta: Default::default(),
        eval: None,
        now: 1,
    })
}

fn snapshot_bytes(state: &StateHandle) -> Vec<u8> {
    state.read().snapshot().unwrap()
}

/// Polls `cond` every 20 ms until it holds or `timeout` passes.
async fn eventually(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_leader(nodes: &[&RaftNode], timeout: Duration) -> NodeId {
    let deadline = Instant::now() + timeout;
    loop {
        for n in nodes {
            if n.replicator().is_leader() {
                return n.node_id();
            }
        }
        assert!(Instant::now() < deadline, "no leader elected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_node_writes_rejects_and_restarts_from_log_and_snapshot() {
    let dir = TempDir::new("single");
    let mut cfg = config(1, dir.path());
    cfg.logs_to_keep = 0;

    let state = StateHandle::default();
    let node = RaftNode::start(cfg.clone(), state.clone()).await.unwrap();
    assert_ne!(node.local_addr().port(), 0);
    node.bootstrap().await.unwrap();
    wait_leader(&[&node], Duration::from_secs(5)).await;
    let repl = node.replicator();
    assert_eq!(repl.peers(), vec![node.advertise_addr().to_string()]);
    assert_eq!(repl.leader_addr().as_deref(), Some(node.advertise_addr()));

    for i in 0..10 {
        let resp = repl.propose(register(i)).await.unwrap();
        assert_eq!(resp.index, state.latest_index());
    }
    assert_eq!(state.read().nodes().count(), 10);
    assert!(state.read().node("node-0003").is_some());

    // A refusal is returned typed and changes nothing.
    let before = snapshot_bytes(&state);
    let err = repl.propose(scale_unknown_job()).await.unwrap_err();
    assert!(
        matches!(
            err,
            ReplicateError::Rejected(StateError::JobNotFound { .. })
        ),
        "{err}"
    );
    assert_eq!(snapshot_bytes(&state), before);
    // ...and later writes still apply (the refused entry's index is skipped).
    repl.propose(register(10)).await.unwrap();
    let expected = snapshot_bytes(&state);
    node.shutdown().await.unwrap();

    // Restart: no snapshot yet, so the state comes back from the log alone.
    let state = StateHandle::default();
    let node = RaftNode::start(cfg.clone(), state.clone()).await.unwrap();
    node.bootstrap().await.unwrap(); // harmless when already initialized
    eventually("log replay", Duration::from_secs(5), || {
        snapshot_bytes(&state) == expected
    })
    .await;
    wait_leader(&[&node], Duration::from_secs(5)).await;
    let repl = node.replicator();
    repl.propose(register(11)).await.unwrap();

    // Snapshot (and purge the log before it), then restart from the snapshot.
    node.raft().trigger().snapshot().await.unwrap();
    node.raft()
        .wait(Some(Duration::from_secs(5)))
        .metrics(
            |m| m.snapshot.is_some() && m.snapshot == m.last_applied && m.purged == m.snapshot,
            "snapshot built and log purged",
        )
        .await
        .unwrap();
    assert!(dir.path().join("raft/snapshot.bin").exists());
    let expected = snapshot_bytes(&state);
    node.shutdown().await.unwrap();

    let state = StateHandle::default();
    let node = RaftNode::start(cfg, state.clone()).await.unwrap();
    assert_eq!(
        snapshot_bytes(&state),
        expected,
        "the snapshot is loaded at start"
    );
    wait_leader(&[&node], Duration::from_secs(5)).await;
    node.replicator().propose(register(12)).await.unwrap();
    assert_eq!(state.read().nodes().count(), 13);
    node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_id_of_a_data_dir_cannot_change() {
    let dir = TempDir::new("nodeid");
    let node = RaftNode::start(config(7, dir.path()), StateHandle::default())
        .await
        .unwrap();
    node.shutdown().await.unwrap();
    let err = RaftNode::start(config(8, dir.path()), StateHandle::default())
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("belongs to raft node 7"), "{err}");
    assert_eq!(node_id_from_name("server-1"), node_id_from_name("server-1"));
    assert_ne!(node_id_from_name("server-1"), node_id_from_name("server-2"));
}

/// Three servers in temp dirs named `name0..2`, each config adjusted by `tweak`, started,
/// bootstrapped by the first and joined by the others.
struct ThreeServers {
    dirs: Vec<TempDir>,
    cfgs: Vec<RaftConfig>,
    states: Vec<StateHandle>,
    nodes: Vec<RaftNode>,
}

async fn start_three(name: &str, tweak: impl Fn(&mut RaftConfig)) -> ThreeServers {
    let dirs: Vec<TempDir> = (0..3)
        .map(|i| TempDir::new(&format!("{name}{i}")))
        .collect();
    let cfgs: Vec<RaftConfig> = (0..3)
        .map(|i| {
            let mut c = config(i as u64 + 1, dirs[i].path());
            tweak(&mut c);
            c
        })
        .collect();
    let states: Vec<StateHandle> = (0..3).map(|_| StateHandle::default()).collect();
    let mut nodes = Vec::new();
    for i in 0..3 {
        nodes.push(
            RaftNode::start(cfgs[i].clone(), states[i].clone())
                .await
                .unwrap(),
        );
    }
    nodes[0].bootstrap().await.unwrap();
    wait_leader(&[&nodes[0]], Duration::from_secs(5)).await;
    // Joined servers vote once autopilot promotes them: at once, not after Nomad's 10 s.
    let quick = orch_core::model::AutopilotConfiguration {
        server_stabilization_time_nanos: 0,
        ..Default::default()
    };
    let set = orch_core::state::AutopilotConfigSet {
        config: quick,
        cas: None,
    };
    nodes[0]
        .replicator()
        .propose(Command::AutopilotConfigSet(set))
        .await
        .unwrap();
    let seed = nodes[0].advertise_addr().to_string();
    nodes[1].join(&seed, Duration::from_secs(10)).await.unwrap();
    nodes[2].join(&seed, Duration::from_secs(10)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while nodes[0].replicator().peers().len() < 3 {
        assert!(
            Instant::now() < deadline,
            "the joined servers were never promoted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ThreeServers {
        dirs,
        cfgs,
        states,
        nodes,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_replicate_fail_over_and_catch_up() {
    let ThreeServers {
        dirs: _dirs,
        cfgs,
        states,
        mut nodes,
    } = start_three("three", |c| {
        // Small snapshots so the restarted server must catch up from a snapshot.
        c.snapshot_every = 64;
        c.logs_to_keep = 0;
    })
    .await;
    let voters: BTreeSet<String> = nodes[0].replicator().peers().into_iter().collect();
    assert_eq!(voters.len(), 3, "{voters:?}");

    let leader_id = wait_leader(&[&nodes[0], &nodes[1], &nodes[2]], Duration::from_secs(5)).await;
    let leader = nodes.iter().position(|n| n.node_id() == leader_id).unwrap();
    let follower = (leader + 1) % 3;
    assert!(!nodes[follower].replicator().is_leader());

    // 200 writes, half forwarded by a follower.
    let mut acked = Vec::new();
    for i in 0..200 {
        let via = if i % 2 == 0 { follower } else { leader };
        let resp = nodes[via].replicator().propose(register(i)).await.unwrap();
        // Read-your-writes on the server that took the write, forwarded or not.
        assert!(states[via].latest_index() >= resp.index);
        assert!(states[via].read().node(&format!("node-{i:04}")).is_some());
        acked.push(i);
    }
    // A refusal travels back through forwarding as the same typed error.
    let err = nodes[follower]
        .replicator()
        .propose(scale_unknown_job())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ReplicateError::Rejected(StateError::JobNotFound { .. })
        ),
        "{err}"
    );
    let leader_index = states[leader].latest_index();
    eventually("replication", Duration::from_secs(10), || {
        states.iter().all(|s| s.latest_index() == leader_index)
    })
    .await;
    let reference = snapshot_bytes(&states[leader]);
    for s in &states {
        assert_eq!(snapshot_bytes(s), reference, "replicas diverged");
    }

    // Kill the leader: a survivor takes over within a few seconds.
    nodes[leader].shutdown().await.unwrap();
    let survivors: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    let started = Instant::now();
    let new_leader_id = wait_leader(
        &[&nodes[survivors[0]], &nodes[survivors[1]]],
        Duration::from_secs(5),
    )
    .await;
    assert_ne!(new_leader_id, leader_id);
    assert!(started.elapsed() < Duration::from_secs(5));
    for &i in &survivors {
        for n in &acked {
            assert!(
                states[i].read().node(&format!("node-{n:04}")).is_some(),
                "acknowledged write {n} lost on server {i}"
            );
        }
    }
    // Writes continue, through both survivors; enough to snapshot and purge the log.
    for i in 200..300 {
        let via = survivors[i % 2];
        nodes[via].replicator().propose(register(i)).await.unwrap();
    }

    // The old leader restarts from its data dir and catches up (by snapshot).
    // Peers know it by address, so it comes back on the same one.
    let old = leader;
    let mut old_cfg = cfgs[old].clone();
    old_cfg.rpc_addr = nodes[old].local_addr().to_string();
    let restarted_state = StateHandle::default();
    nodes[old] = RaftNode::start(old_cfg, restarted_state.clone())
        .await
        .unwrap();
    let target = states[survivors[0]].latest_index();
    let deadline = Instant::now() + Duration::from_secs(15);
    while restarted_state.latest_index() < target {
        if Instant::now() > deadline {
            for n in &nodes {
                eprintln!("{:?}", n.raft().metrics().borrow());
            }
            panic!(
                "old leader did not catch up to {target}: {}",
                restarted_state.latest_index()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let survivor_bytes = snapshot_bytes(&states[survivors[0]]);
    eventually("identical replicas", Duration::from_secs(5), || {
        snapshot_bytes(&restarted_state) == survivor_bytes
            && snapshot_bytes(&states[survivors[1]]) == survivor_bytes
    })
    .await;
    assert_eq!(restarted_state.read().nodes().count(), 300);
    let installed = nodes[old].raft().metrics().borrow().snapshot;
    assert!(
        installed.is_some_and(|s| s.index > 200),
        "expected catch-up through a snapshot, got {installed:?}"
    );

    for n in &nodes {
        n.shutdown().await.unwrap();
    }
}

/// A leader cut off from every other server (here: they stopped) lets a waiting write go
/// once no quorum answered for the lease, and refuses the next at once, naming why;
/// linearizable reads too. Without it both waited for a quorum that never came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_without_a_quorum_lets_requests_go_and_refuses_new_ones() {
    let ThreeServers {
        dirs: _dirs, nodes, ..
    } = start_three("cutoff", |_| {}).await;
    let leader_id = wait_leader(&[&nodes[0], &nodes[1], &nodes[2]], Duration::from_secs(5)).await;
    let leader = nodes.iter().position(|n| n.node_id() == leader_id).unwrap();
    let replicator = nodes[leader].replicator();
    replicator.propose(register(1)).await.unwrap();
    for (i, n) in nodes.iter().enumerate() {
        if i != leader {
            n.shutdown().await.unwrap();
        }
    }
    // The outer timeout only keeps a regression from hanging the test.
    let patience = Duration::from_secs(60);
    let first = tokio::time::timeout(patience, replicator.propose(register(2)))
        .await
        .expect("the write was held instead of let go");
    let why = |e: &ReplicateError| e.to_string().contains("has not heard from a quorum");
    match &first {
        Err(e @ (ReplicateError::Failed(_) | ReplicateError::NoLeader(_))) if why(e) => {}
        other => panic!("expected the write let go for want of a quorum, got {other:?}"),
    }
    let next = tokio::time::timeout(patience, replicator.propose(register(3)))
        .await
        .expect("the write was held");
    assert!(
        matches!(&next, Err(e @ ReplicateError::NoLeader(_)) if why(e)),
        "{next:?}"
    );
    let read = tokio::time::timeout(patience, replicator.read_barrier())
        .await
        .expect("the read was held");
    assert!(
        matches!(&read, Err(e @ ReplicateError::NoLeader(_)) if why(e)),
        "{read:?}"
    );
    nodes[leader].shutdown().await.unwrap();
}

/// A node whose metadata makes its registration entry about `kib` KiB.
fn register_big(i: usize, kib: usize) -> Command {
    let Command::NodeRegister(mut r) = register(i) else {
        unreachable!("register builds a NodeRegister")
    };
    r.node.meta.insert("blob".into(), "x".repeat(kib * 1024));
    Command::NodeRegister(r)
}

/// A follower that missed more than one request's worth of log
/// ([`log_store::MAX_APPEND_BYTES`]) catches up from the log. openraft gives each
/// AppendEntries only the heartbeat interval: sent whole, the backlog timed out on every
/// retry and the follower never caught up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_catches_up_on_a_backlog_bigger_than_one_request() {
    let ThreeServers {
        dirs: _dirs,
        cfgs,
        states,
        mut nodes,
    } = start_three("backlog", |c| {
        c.heartbeat_ms = 150;
        c.election_timeout_min_ms = 1000;
        c.election_timeout_max_ms = 2000;
    })
    .await;
    let leader_id = wait_leader(&[&nodes[0], &nodes[1], &nodes[2]], Duration::from_secs(5)).await;
    let leader = nodes.iter().position(|n| n.node_id() == leader_id).unwrap();
    let lagging = (leader + 1) % 3;
    let lagging_addr = nodes[lagging].local_addr().to_string();
    nodes[lagging].shutdown().await.unwrap();

    // 48 entries of 256 KiB: 12 MiB the stopped follower misses.
    for i in 0..48 {
        nodes[leader]
            .replicator()
            .propose(register_big(i, 256))
            .await
            .unwrap();
    }
    let target = states[leader].latest_index();

    let mut cfg = cfgs[lagging].clone();
    cfg.rpc_addr = lagging_addr;
    let restarted = StateHandle::default();
    nodes[lagging] = RaftNode::start(cfg, restarted.clone()).await.unwrap();
    eventually("the follower caught up", Duration::from_secs(30), || {
        restarted.latest_index() >= target
    })
    .await;
    assert_eq!(restarted.read().nodes().count(), 48);
    assert_eq!(snapshot_bytes(&restarted), snapshot_bytes(&states[leader]));
    for n in &nodes {
        n.shutdown().await.unwrap();
    }
}
