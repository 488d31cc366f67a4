//! The client agent: fingerprints the node, registers and heartbeats with the servers,
//! runs the allocations placed on this node through task drivers and reports their state.

pub mod artifact;
pub mod driver;
pub mod template;
