//! The simulated cluster: real openraft nodes over orch's `LogStore` and `StateMachine`
//! on temp dirs, a workload of writes, and crash/restart of nodes (the `Raft` dropped,
//! the same dirs reopened).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::{BasicNode, Config, RaftMetrics, ServerState, SnapshotPolicy};
use orch_core::model::{Node, node_status};
use orch_core::state::{Command, NodeRegister, StateStore};

use super::check::Checker;
use super::disk::SimDisk;
use super::net::{SimNet, SimPeer};
use super::rng::{SplitMix64, TraceHash};
use crate::disk::DiskReserve;
use crate::raft::election::Campaigner;
use crate::raft::health::Contacts;
use crate::raft::transfer::ElectionSwitch;
use crate::raft::{CommandBatch, LogStore, NodeId, OrchRaft, StateMachine};
use crate::server::StateHandle;

/// One server: its dirs survive crashes, its state handle and Raft do not.
struct SimNode {
    id: NodeId,
    dir: PathBuf,
    state: StateHandle,
    raft: Option<OrchRaft>,
    /// A clone of the node's log store, for the checker.
    log: Option<LogStore>,
    /// The disk its log lives on: what was fsynced survives a crash.
    disk: SimDisk,
    /// Its election timeout: fixed per node by the seed (see the module doc).
    election_ms: u64,
}

/// A run's cluster.
pub(super) struct Cluster {
    pub net: SimNet,
    pub rng: SplitMix64,
    pub checker: Checker,
    pub trace: TraceHash,
    nodes: Vec<SimNode>,
    acked: Arc<Mutex<Vec<String>>>,
    writes: u64,
    pub crashes: u64,
    /// Writes the crashes took before they reached the platter.
    pub unsynced_lost: u64,
    snapshot_every: u64,
    /// The injected bug: every log acknowledges appends before their fsync.
    ack_before_fsync: bool,
    _root: tempfile::TempDir,
}

fn temp_root() -> tempfile::TempDir {
    let builder = tempfile::Builder::new()
        .prefix("orch-sim-")
        .tempdir_in("/dev/shm");
    builder.or_else(|_| tempfile::tempdir()).unwrap()
}

/// The write of number `i`: a node registration, checked by id at the end.
fn write(i: u64) -> (String, Command) {
    let id = format!("sim-node-{i:05}");
    let cmd = Command::NodeRegister(NodeRegister {
        node: Node {
            id: id.clone(),
            name: format!("host-{i}"),
            status: node_status::READY.into(),
            ..Node::default()
        },
        now: 1_700_000_000_000_000_000 + i as i64,
    });
    (id, cmd)
}

impl Cluster {
    /// Starts `n` nodes (IDs 1..=n) and initializes them as one cluster.
    /// With `ack_before_fsync`, every log has the injected bug
    /// ([`LogStore::ack_before_fsync`]).
    pub async fn start(
        seed: u64,
        n: usize,
        net: SimNet,
        snapshot_every: u64,
        ack_before_fsync: bool,
    ) -> Cluster {
        let root = temp_root();
        let mut rng = SplitMix64::new(seed ^ 0x5eed_c1a5_7e2a_0001);
        let nodes = (1..=n as u64)
            .map(|id| SimNode {
                id,
                dir: root.path().join(format!("n{id}")),
                state: StateHandle::new(StateStore::new()),
                raft: None,
                log: None,
                disk: SimDisk::default(),
                election_ms: 150 + rng.below(150) + id * 3,
            })
            .collect();
        let mut c = Cluster {
            net,
            rng,
            checker: Checker::default(),
            trace: TraceHash::default(),
            nodes,
            acked: Arc::default(),
            writes: 0,
            crashes: 0,
            unsynced_lost: 0,
            snapshot_every,
            ack_before_fsync,
            _root: root,
        };
        for i in 0..n {
            c.boot(i).await;
        }
        let members: BTreeMap<NodeId, BasicNode> = (1..=n as u64)
            .map(|id| (id, BasicNode::new(format!("sim-{id}"))))
            .collect();
        c.raft(0).unwrap().initialize(members).await.unwrap();
        c
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    fn raft(&self, i: usize) -> Option<&OrchRaft> {
        self.nodes[i].raft.as_ref()
    }

    fn config(&self, i: usize) -> Config {
        let min = self.nodes[i].election_ms;
        Config {
            cluster_name: "orch-sim".into(),
            heartbeat_interval: 50,
            election_timeout_min: min,
            // One value only: openraft draws from [min, max) with its own RNG.
            election_timeout_max: min + 1,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(self.snapshot_every),
            max_in_snapshot_log_to_keep: 4,
            ..Config::default()
        }
        .validate()
        .unwrap()
    }

    /// Opens node `i`'s storage and starts its Raft (first start or restart).
    async fn boot(&mut self, i: usize) {
        let dir = self.nodes[i].dir.clone();
        std::fs::create_dir_all(&dir).unwrap();
        let file = self.nodes[i].disk.open();
        let mut log = LogStore::open_simulated(file, DiskReserve::none())
            .unwrap_or_else(|e| panic!("node {} reopening its log: {e}", self.nodes[i].id));
        if self.ack_before_fsync {
            log.ack_before_fsync();
        }
        // A fresh state, as in a new process: the snapshot and the log rebuild it.
        let state = StateHandle::new(StateStore::new());
        let sm = StateMachine::open(&dir, state.clone(), DiskReserve::none())
            .unwrap()
            .with_inline_snapshot_io();
        let id = self.nodes[i].id;
        let config = Arc::new(self.config(i));
        let raft = OrchRaft::new(id, config, self.net.factory(id), log.clone(), sm)
            .await
            .unwrap();
        let contacts = Arc::new(Contacts::default());
        let election_ms = self.nodes[i].election_ms;
        let campaigner = Campaigner::new(
            raft.clone(),
            contacts.clone(),
            ElectionSwitch::default(),
            Duration::from_millis(election_ms + 1),
            Duration::from_millis(election_ms),
        );
        let peer = SimPeer {
            raft: raft.clone(),
            contacts,
            campaigner,
        };
        self.net.register(id, peer);
        let node = &mut self.nodes[i];
        node.state = state;
        node.raft = Some(raft);
        node.log = Some(log);
        self.checker.restarted(id);
    }

    /// Crashes node `i` as a power cut does: unreachable at once, its disk keeping only
    /// what was fsynced (and a seeded part of the rest), its Raft shut down and dropped.
    pub async fn crash(&mut self, i: usize) {
        let id = self.nodes[i].id;
        self.net.unregister(id);
        let lost = self.nodes[i].disk.crash(&mut self.rng);
        self.nodes[i].log = None;
        if let Some(raft) = self.nodes[i].raft.take() {
            let _ = raft.shutdown().await;
        }
        self.crashes += 1;
        self.unsynced_lost += lost as u64;
        self.trace.add(&[0xc0, id, lost as u64]);
    }

    /// Restarts node `i` if it is down.
    pub async fn restart(&mut self, i: usize) {
        if self.nodes[i].raft.is_none() {
            self.boot(i).await;
            self.trace.add(&[0x5e, self.nodes[i].id]);
        }
    }

    /// Indexes of the running and crashed nodes.
    pub fn up_down(&self) -> (Vec<usize>, Vec<usize>) {
        (0..self.len()).partition(|&i| self.nodes[i].raft.is_some())
    }

    /// Node `i`'s Raft ID and election timeout (ms).
    pub fn id_and_timeout(&self, i: usize) -> (NodeId, u64) {
        (self.nodes[i].id, self.nodes[i].election_ms)
    }

    /// Node `i`'s metrics, if it runs.
    pub fn metrics_of(&self, i: usize) -> Option<RaftMetrics<NodeId, BasicNode>> {
        self.raft(i).map(|r| r.metrics().borrow().clone())
    }

    fn metrics(&self) -> Vec<RaftMetrics<NodeId, BasicNode>> {
        self.nodes
            .iter()
            .filter_map(|n| n.raft.as_ref())
            .map(|r| r.metrics().borrow().clone())
            .collect()
    }

    /// Sends the next write to whichever running node believes it leads; an
    /// acknowledgement is recorded when its command applied.
    pub fn client_write(&mut self) {
        let leader = self
            .metrics()
            .into_iter()
            .find(|m| m.state == ServerState::Leader);
        let Some(raft) = leader
            .and_then(|m| self.nodes.iter().find(|n| n.id == m.id))
            .and_then(|n| n.raft.clone())
        else {
            return;
        };
        self.writes += 1;
        let (id, cmd) = write(self.writes);
        let acked = Arc::clone(&self.acked);
        tokio::spawn(async move {
            if let Ok(resp) = raft.client_write(CommandBatch::new(vec![cmd])).await
                && resp.data.0.first().is_some_and(|r| r.0.is_ok())
            {
                acked.lock().unwrap().push(id);
            }
        });
    }

    /// Checks the invariants on every running node and records its view in the trace.
    pub async fn check(&mut self) -> Result<(), String> {
        for i in 0..self.len() {
            let Some(raft) = self.nodes[i].raft.clone() else {
                continue;
            };
            let m = raft.metrics().borrow().clone();
            let applied = m.last_applied.map_or(0, |id| id.index);
            let state = m.state as u64;
            self.trace.add(&[
                m.id,
                m.current_term,
                state,
                m.last_log_index.unwrap_or(0),
                applied,
            ]);
            if super::verbose() {
                eprintln!(
                    "node {} term {} {:?} leader {:?} log {:?} applied {applied}",
                    m.id, m.current_term, m.state, m.current_leader, m.last_log_index
                );
            }
            let log = self.nodes[i].log.as_mut().unwrap();
            self.checker.committed(m.id, log, applied).await?;
            self.checker.leader(&m, log).await?;
        }
        Ok(())
    }

    /// Whether every node runs and has applied the whole log of one leader.
    pub fn converged(&self) -> bool {
        let ms = self.metrics();
        if ms.len() != self.len() {
            return false;
        }
        let Some(leader) = ms.iter().find(|m| m.state == ServerState::Leader) else {
            return false;
        };
        let last = leader.last_log_index;
        ms.iter().all(|m| {
            m.current_leader == Some(leader.id) && m.last_applied.map(|id| id.index) == last
        })
    }

    /// The end of a run: every state machine the same, every acknowledged write in it.
    pub fn final_check(&self) -> Result<(), String> {
        let first = self.nodes[0]
            .state
            .read()
            .snapshot()
            .map_err(|e| e.to_string())?;
        for n in &self.nodes[1..] {
            let bytes = n.state.read().snapshot().map_err(|e| e.to_string())?;
            if bytes != first {
                return Err(format!("node {} state differs from node 1's", n.id));
            }
        }
        let acked = self.acked.lock().unwrap().clone();
        for n in &self.nodes {
            let state = n.state.read();
            if let Some(lost) = acked.iter().find(|id| state.node(id).is_none()) {
                return Err(format!(
                    "acknowledged write {lost} missing on node {}",
                    n.id
                ));
            }
        }
        Ok(())
    }

    /// Writes sent and acknowledged.
    pub fn write_counts(&self) -> (u64, usize) {
        (self.writes, self.acked.lock().unwrap().len())
    }

    /// Shuts every node down (their writer threads end with them).
    pub async fn stop(&mut self) {
        for i in 0..self.len() {
            self.net.unregister(self.nodes[i].id);
            self.nodes[i].log = None;
            if let Some(raft) = self.nodes[i].raft.take() {
                let _ = raft.shutdown().await;
            }
        }
    }
}

/// Waits `ms` of virtual time.
pub(super) async fn tick(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}
