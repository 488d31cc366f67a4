//! The write path: turning a `Command` into a committed, applied log entry.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use orch_core::state::{Command, Response, StateError};

use super::StateHandle;

/// Why a write did not commit.
#[derive(Debug, thiserror::Error)]
pub enum ReplicateError {
    /// The state machine refused the command (validation); nothing changed.
    #[error(transparent)]
    Rejected(#[from] StateError),
    /// This server is not the leader and could not forward the write.
    #[error("no cluster leader: {0}; retry once a leader is elected")]
    NoLeader(String),
    /// Replication or storage failed; the write may or may not commit later.
    #[error("replication failed: {0}")]
    Failed(String),
}

/// A boxed future, so replicators can be trait objects.
pub type ProposeFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Response, ReplicateError>> + Send + 'a>>;

/// Commits commands to the replicated log and applies them to the [`StateHandle`].
/// When `propose` returns `Ok`, the entry is committed; it is applied locally too, except
/// on a follower whose state did not catch up within
/// [`LOCAL_APPLY_WAIT`](crate::raft::LOCAL_APPLY_WAIT) (logged as a warning): the write
/// stands, but a read here right after may not show it yet.
pub trait Replicator: Send + Sync + 'static {
    /// Replicates and applies one command.
    fn propose(&self, cmd: Command) -> ProposeFuture<'_>;
    /// Whether this server is the leader now.
    fn is_leader(&self) -> bool;
    /// Address of the current leader's RPC endpoint, if known.
    fn leader_addr(&self) -> Option<String>;
    /// Addresses of all voters.
    fn peers(&self) -> Vec<String>;
    /// Every member of the Raft configuration (voters and learners), for
    /// `/v1/operator/raft/configuration`.
    fn members(&self) -> Vec<Member>;
    /// Removes a server from the Raft configuration (on the leader, forwarding if
    /// needed); returns the removed member's ID and address.
    fn remove_peer(&self, target: PeerTarget) -> RemovePeerFuture<'_>;
    /// How well this server (and, as the leader sees them, every server) keeps up with
    /// the log. A replicator without peers is always healthy.
    fn health(&self) -> RaftHealth {
        RaftHealth::alone()
    }

    /// Joins this server to the cluster of the server at `addr` (`orch server join`);
    /// a replicator without Raft cannot.
    fn join(&self, addr: String) -> JoinFuture<'_> {
        Box::pin(async move {
            Err(format!(
                "cannot join {addr}: this agent runs no Raft server (start it with -server)"
            ))
        })
    }

    /// Makes the server `target` the leader (`operator raft transfer-leadership`); its
    /// Raft ID and address. A replicator without Raft cannot.
    fn transfer_leadership(&self, target: PeerTarget) -> TransferFuture<'_> {
        let _ = target;
        Box::pin(async {
            Err(TransferError::Refused(
                "this agent runs no Raft cluster to transfer leadership in".into(),
            ))
        })
    }

    /// Every other Raft member and who it says it is (asked over the RPC port, a
    /// second at most); none for a replicator without peers.
    fn peer_agents(&self) -> PeerAgentsFuture<'_> {
        Box::pin(async { Vec::new() })
    }

    /// Waits until this server's state holds every write committed before the call
    /// (Raft's read index, with the leader's leadership confirmed by a quorum), so the
    /// read that follows is linearizable; `?stale` reads skip it. A replicator
    /// without peers is always current.
    fn read_barrier(&self) -> ReadBarrierFuture<'_> {
        Box::pin(async { Ok(()) })
    }

    /// The Raft term of the last applied entry, recorded in operator snapshots (0 for
    /// a replicator without Raft).
    fn last_applied_term(&self) -> u64 {
        0
    }
}

/// Replication health as one server sees it, refreshed about once a second: what
/// `/v1/agent/health`, the metrics and `/v1/operator/raft/configuration` report, in the
/// spirit of Nomad's autopilot health.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RaftHealth {
    /// This server keeps up: it knows a leader, heard from it recently and trails it by
    /// few entries (always true on the leader while a quorum answers it).
    pub healthy: bool,
    /// Why not, for operators; empty when healthy.
    pub reason: String,
    /// Entries this server trails the leader's last log entry by.
    pub lag: u64,
    /// Since this server last heard from the leader, in milliseconds (0 on the leader,
    /// `None` when it never has).
    pub leader_contact_ms: Option<u64>,
    /// Every server's progress by Raft ID, as the leader sees it (a follower shows the
    /// leader's latest report; empty until it has one).
    pub servers: std::collections::BTreeMap<u64, ServerProgress>,
    /// Why this server cannot write its data dir (its disk is under the reserve; see
    /// `crate::disk`); empty when it can.
    #[serde(default)]
    pub storage: String,
}

impl RaftHealth {
    /// The health of a server with no peers: nothing to trail.
    pub fn alone() -> RaftHealth {
        RaftHealth {
            healthy: true,
            leader_contact_ms: Some(0),
            ..RaftHealth::default()
        }
    }
}

/// One server's replication progress, as the leader sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServerProgress {
    /// Since the leader last had an answer from it, in milliseconds (`None`: never).
    pub last_contact_ms: Option<u64>,
    /// The last log index it is known to hold.
    pub last_index: u64,
    /// Entries it trails the leader by.
    pub lag: u64,
    /// It answers and keeps up (Nomad's autopilot `Healthy`).
    pub healthy: bool,
    /// The last error replicating to it, while it is unhealthy; empty otherwise.
    pub last_error: String,
    /// The Raft term of the last entry it is known to hold (autopilot's `LastTerm`).
    #[serde(default)]
    pub last_term: u64,
    /// Since when (Unix nanoseconds, wall clock) `healthy` has had its current value
    /// (autopilot's `StableSince`); 0 when not known.
    #[serde(default)]
    pub stable_since_nanos: i64,
}

/// One server of the Raft configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Raft ID (derived from the server's name), as operators pass it to `-peer-id`.
    pub id: String,
    /// RPC address peers dial.
    pub addr: String,
    /// Whether it votes (learners do not).
    pub voter: bool,
}

/// Who a server is, as its RPC listener tells peers (`/raft/member`): what
/// `/v1/agent/members` lists for every server, not only the one asked.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PeerAgent {
    /// The server's HTTP API address (`host:port`).
    pub http_addr: String,
    /// Its node name (`-node`, `name`).
    pub name: String,
    /// Its region.
    pub region: String,
    /// Its datacenter.
    pub datacenter: String,
    /// The orch version it runs.
    pub version: String,
}

/// Every Raft member with what it answered about itself (`None`: it did not answer).
pub type PeerAgentsFuture<'a> =
    Pin<Box<dyn Future<Output = Vec<(Member, Option<PeerAgent>)>> + Send + 'a>>;

/// Which server to remove: Nomad's `remove-peer` takes either its ID or its address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PeerTarget {
    /// The Raft ID.
    Id(u64),
    /// The RPC address (`host:port`).
    Address(String),
}

impl std::fmt::Display for PeerTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerTarget::Id(id) => write!(f, "ID {id}"),
            PeerTarget::Address(addr) => write!(f, "address {addr}"),
        }
    }
}

/// Why a peer was not removed.
#[derive(Debug, thiserror::Error)]
pub enum RemovePeerError {
    /// No member matches.
    #[error(
        "no Raft peer with {0}; run `orch operator raft list-peers` to see the IDs and addresses"
    )]
    Unknown(String),
    /// Removing it would leave the cluster without voters.
    #[error(
        "{0} is the last voter; removing it would leave the cluster without a quorum, so it is refused"
    )]
    LastVoter(String),
    /// No leader could be reached to make the change.
    #[error("no cluster leader to change the membership: {0}; retry once a leader is elected")]
    NoLeader(String),
    /// The membership change failed.
    #[error("changing the Raft membership failed: {0}; retry (only one change runs at a time)")]
    Failed(String),
}

/// What [`Replicator::transfer_leadership`] returns.
pub type TransferFuture<'a> =
    Pin<Box<dyn Future<Output = Result<(u64, String), TransferError>> + Send + 'a>>;

/// Why a leadership transfer did not happen.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransferError {
    /// The request cannot be carried out (unknown target, the leader itself).
    #[error("{0}")]
    Refused(String),
    /// It was tried and did not work.
    #[error("leadership transfer failed: {0}")]
    Failed(String),
}

/// What [`Replicator::read_barrier`] returns.
pub type ReadBarrierFuture<'a> =
    Pin<Box<dyn Future<Output = Result<(), ReplicateError>> + Send + 'a>>;

/// What [`Replicator::join`] returns.
pub type JoinFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// The future of [`Replicator::remove_peer`].
pub type RemovePeerFuture<'a> =
    Pin<Box<dyn Future<Output = Result<(u64, String), RemovePeerError>> + Send + 'a>>;

/// A single-server replicator with no log: commands apply immediately. For tests and
/// for embedding; it has no durability of its own.
pub struct LocalReplicator {
    state: StateHandle,
    lock: Mutex<()>,
    addr: String,
}

impl LocalReplicator {
    /// A replicator applying to `state`; `addr` is what it reports as leader address.
    pub fn new(state: StateHandle, addr: impl Into<String>) -> Self {
        LocalReplicator {
            state,
            lock: Mutex::new(()),
            addr: addr.into(),
        }
    }
}

impl Replicator for LocalReplicator {
    fn propose(&self, cmd: Command) -> ProposeFuture<'_> {
        let result = {
            let _serial = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            // The log index whose state index follows the latest (restores add an
            // offset, `orch_core::state::restore`).
            let index = {
                let s = self.state.read();
                (s.latest_index() + 1).saturating_sub(s.state_index(0))
            };
            self.state.apply(index, cmd).map_err(ReplicateError::from)
        };
        Box::pin(async move { result })
    }

    fn is_leader(&self) -> bool {
        true
    }

    fn leader_addr(&self) -> Option<String> {
        Some(self.addr.clone())
    }

    fn peers(&self) -> Vec<String> {
        vec![self.addr.clone()]
    }

    fn members(&self) -> Vec<Member> {
        vec![Member {
            id: self.addr.clone(),
            addr: self.addr.clone(),
            voter: true,
        }]
    }

    /// The local replicator is its own only voter: removing it is refused, and no other
    /// peer exists.
    fn remove_peer(&self, target: PeerTarget) -> RemovePeerFuture<'_> {
        let result = match &target {
            PeerTarget::Address(a) if *a == self.addr => {
                Err(RemovePeerError::LastVoter(self.addr.clone()))
            }
            _ => Err(RemovePeerError::Unknown(target.to_string())),
        };
        Box::pin(async move { result })
    }
}
