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
/// When `propose` returns `Ok`, the entry is committed and applied locally.
pub trait Replicator: Send + Sync + 'static {
    /// Replicates and applies one command.
    fn propose(&self, cmd: Command) -> ProposeFuture<'_>;
    /// Whether this server is the leader now.
    fn is_leader(&self) -> bool;
    /// Address of the current leader's RPC endpoint, if known.
    fn leader_addr(&self) -> Option<String>;
    /// Addresses of all voters.
    fn peers(&self) -> Vec<String>;
}

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
            let index = self.state.latest_index() + 1;
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
}
