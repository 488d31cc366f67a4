//! The orch daemon as a library: the `orch` binary is a thin `main` over it, and the
//! integration tests and benches reach the same code.
//!
//! In the order a request travels:
//! - [`cli`]: the `orch` command line (`main` calls [`cli::run`]).
//! - [`agent`]: `orch agent` (config, flags, wiring of everything below).
//! - [`http`]: Nomad's `/v1` HTTP API.
//! - [`raft`]: openraft replication of orch-core `Command`s with redb storage.
//! - [`server`]: the state handle, the replicator interface and the leader's loops.
//! - [`client`]: the client agent: fingerprinting, allocations, tasks through drivers.
//! - [`clock`]: the wall clock and fresh IDs, for every layer.
//! - [`data_format`]: the version markers of the agent's data directories, for every layer.
//! - [`disk`]: free space on the agent's filesystems and the server's disk reserve, for every layer.
//! - [`log_monitor`]: the agent's log lines for `/v1/agent/monitor`, for every layer.
//! - [`ws`]: websocket connections and the `alloc exec` frames, for every layer.

pub mod agent;
pub mod cli;
pub mod client;
pub mod clock;
pub mod csi;
pub mod data_format;
pub mod disk;
pub mod http;
pub mod log_monitor;
pub mod raft;
pub mod server;
pub mod telemetry;
pub mod tls;
pub mod ws;
