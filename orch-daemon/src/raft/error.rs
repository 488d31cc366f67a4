//! Errors of starting, joining and stopping a Raft server.

use std::path::PathBuf;

/// Why a Raft server could not start, join or stop. Each message names the file,
/// address or peer involved and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum RaftError {
    /// The data directory or a file in it could not be created, opened or read.
    #[error(
        "raft storage at {path}: {message}; check that the data dir exists, is writable and is not used by another orch process"
    )]
    Storage {
        /// The file or directory involved.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The Raft directory was written in a format this build does not read.
    #[error(transparent)]
    Format(#[from] crate::data_format::FormatError),
    /// The RPC listener could not bind.
    #[error(
        "could not listen for raft RPCs on {addr}: {source}; pick a free port or stop the process using it"
    )]
    Bind {
        /// Address asked for.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The Raft configuration is invalid (timeouts).
    #[error(
        "invalid raft configuration: {0}; the election timeout must exceed the heartbeat interval and min < max"
    )]
    Config(String),
    /// openraft refused to start or failed fatally.
    #[error("raft failed: {0}; check the server log and the data dir")]
    Raft(String),
    /// Joining an existing cluster did not succeed in time.
    #[error(
        "could not join the cluster via {leader}: {message}; check that the address is a server's RPC address and that it can reach this server's address"
    )]
    Join {
        /// The server address asked to add us.
        leader: String,
        /// The last error seen.
        message: String,
    },
}
