//! Raft replication of the server state with openraft: the log and vote live in a redb
//! file, the state machine is the daemon's [`StateHandle`](crate::server::StateHandle),
//! and servers talk to each other over HTTP (postcard bodies).
//!
//! Layout:
//! - [`types`]: the openraft type configuration and the wire form of apply results.
//! - [`command_batch`]: a log entry's commands, shared and encoded once.
//! - [`log_store`]: durable log, vote and committed index (`<data_dir>/raft/raft.redb`).
//! - [`state_machine`]: applies committed entries, builds and installs snapshots
//!   (`<data_dir>/raft/snapshot.bin`).
//! - [`network`]: the client side of the peer RPCs (reqwest).
//! - [`http`]: the server side of the peer RPCs, forwarding and joining (axum).
//! - [`membership`]: removing a server from the membership (leader-side, forwarded).
//! - [`node`]: starting, bootstrapping, joining and stopping a server.
//! - [`batcher`]: groups concurrent writes into one entry (bounded by count and bytes).
//! - [`forwarder`]: a follower's writes travel to the leader in batches.
//! - [`log_writer`]: the group-commit thread that makes appends durable.
//! - [`health`]: whether each server keeps up with the log, and why not.
//! - [`read_index`]: linearizable default reads (the leader's confirmed read index).
//! - [`election`]: a server that refuses a vote to a candidate with a shorter log
//!   campaigns at once (openraft's slow path after a leader loss).
//! - [`lease`]: whether this server is cut off from the cluster (a leader without a
//!   quorum, a follower without its leader), so requests to it fail fast.
//! - [`replicator`]: [`RaftReplicator`], the [`Replicator`](crate::server::Replicator)
//!   the rest of the daemon writes through.
//! - [`error`]: [`RaftError`], why a server could not start, join or stop.
//! - `tests`: three-server clusters over real TCP with on-disk storage.

mod autopilot;
mod batcher;
mod command_batch;
mod election;
mod error;
mod forwarder;
mod health;
mod http;
mod lease;
mod log_store;
mod log_writer;
mod membership;
mod network;
mod node;
mod read_index;
mod replicator;
mod state_machine;
mod transfer;
mod types;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

pub use batcher::MAX_ENTRY_BYTES;
pub use command_batch::CommandBatch;
pub use error::RaftError;
pub use health::MAX_TRAILING_ENTRIES;
pub use http::{HTTP_ADDR_PATH, HttpAddrSlot, RpcState, raft_router};
pub use log_store::LogStore;
pub use network::{HttpNetwork, NetworkConfig};
pub use node::{RaftConfig, RaftNode, node_id_from_name};
pub use replicator::{LOCAL_APPLY_WAIT, RaftReplicator};
pub use state_machine::StateMachine;
pub use types::{ApplyResult, NodeId, OrchRaft, TypeConfig, WireStateError};
