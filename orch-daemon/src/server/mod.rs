//! The server side of the agent: the replicated state, the write path into it, and (on
//! the leader) the evaluation broker, scheduler workers and plan applier.
//!
//! Layering, so each piece can be tested alone:
//! - [`StateHandle`]: the state machine's current value, readable by anyone, writable only
//!   by a replicator applying committed log entries; wakes blocking queries.
//! - [`Replicator`]: how a `Command` becomes committed: [`LocalReplicator`] applies at once
//!   (tests, single node); the Raft replicator replicates through openraft first.
//! - The leader loops only ever talk to these two; so does the HTTP API, apart from the
//!   few calls into [`Leader`] (heartbeat timers, forced GC, broker and autoscaler status).
//!
//! Modules:
//! - `state_handle`: [`StateHandle`]; `replicator`: [`Replicator`], [`LocalReplicator`]
//!   and the replication health types.
//! - [`events`]: the event stream's source, fed by every applied entry.
//! - [`leader`]: [`Leader`]: feeder, scheduler workers, plan applier, heartbeat timers.
//! - [`deployment_watcher`]: drives deployments forward, fails and reverts them.
//! - [`release_watcher`]: orch's releases: their verdicts and rollbacks.
//! - `drainer`: moves allocations off draining nodes (decisions in `orch_core::drain`).
//! - [`periodic`]: launches the children of periodic jobs.
//! - [`autoscaler`]: the horizontal autoscaler.
//! - [`gc`]: the failed-evaluation reaper and core GC.

pub mod acl_view;
pub mod autoscaler;
pub mod deployment_watcher;
mod drainer;
pub mod events;
pub mod gc;
pub mod identity;
pub mod keyring;
pub mod leader;
pub mod periodic;
pub mod release_watcher;
mod replicator;
mod state_handle;
pub mod workers;

pub use leader::{Leader, LeaderConfig};
pub use replicator::{
    JoinFuture, LocalReplicator, Member, PeerAgent, PeerAgentsFuture, PeerTarget, RaftHealth,
    ReadBarrierFuture, RemovePeerError, RemovePeerFuture, ReplicateError, Replicator,
    ServerProgress, TransferError, TransferFuture,
};
pub use state_handle::StateHandle;
