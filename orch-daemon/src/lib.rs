//! The orch daemon as a library: the `orch` binary is a thin `main` over it, and the
//! integration tests and benches reach the same code.
//!
//! - [`agent`]: `orch agent` (config, flags, wiring of everything below).
//! - [`server`]: the state handle, the replicator interface and the leader loop.
//! - [`raft`]: openraft replication of orch-core `Command`s with redb storage.
//! - [`http`]: Nomad's `/v1` HTTP API.
//! - [`cli`]: the `orch` command line.

pub mod agent;
pub mod cli;
pub mod client;
pub mod http;
pub mod raft;
pub mod server;
