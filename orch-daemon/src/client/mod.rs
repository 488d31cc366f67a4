//! The client agent: fingerprints the node, registers and heartbeats with the servers,
//! runs the allocations placed on this node through task drivers and reports their state.

pub mod alloc_dir;
pub mod driver;
pub mod fingerprint;
pub mod server_conn;
pub mod state;
