//! The server side of the agent: the replicated state, the write path into it, and (on
//! the leader) the evaluation broker, scheduler workers and plan applier.
//!
//! Layering, so each piece can be tested alone:
//! - [`StateHandle`]: the state machine's current value, readable by anyone, writable only
//!   by a replicator applying committed log entries; wakes blocking queries.
//! - [`Replicator`]: how a `Command` becomes committed: [`LocalReplicator`] applies at once
//!   (tests, single node); the Raft replicator replicates through openraft first.
//! - The HTTP API and the leader loop only ever talk to these two.

pub mod autoscaler;
pub mod deployment_watcher;
mod drainer;
pub mod events;
pub mod gc;
pub mod leader;
pub mod periodic;
mod replicator;
mod state_handle;

pub use leader::{Leader, LeaderConfig, new_uuid, now_nanos};
pub use replicator::{
    LocalReplicator, Member, PeerTarget, RaftHealth, RemovePeerError, RemovePeerFuture,
    ReplicateError, Replicator, ServerProgress,
};
pub use state_handle::StateHandle;
