//! CSI, the Container Storage Interface (spec v1.9): gRPC over a unix socket between
//! orch (the CO) and storage plugins. This module is only the wire layer, shared by
//! both sides and by nothing else:
//!
//! - [`proto`]: the CSI v1 messages, hand-written for prost with the spec's field
//!   numbers (no protoc, no build script).
//! - [`client`]: [`CsiClient`], the CO's calls with deadlines and size bounds.
//! - [`server`]: the [`IdentityService`], [`ControllerService`] and [`NodeService`]
//!   traits a plugin implements, and [`serve`] (the host-path plugin in
//!   `examples/csi-hostpath/` is built on it).
//! - [`error`]: [`CsiError`], which keeps the gRPC code the caller's next step needs.
//!
//! It knows nothing of orch's state, servers, HTTP API or CLI: what orch does with a
//! plugin (health, claims, mounts into tasks) lives with the client and the servers.

pub mod client;
pub mod error;
pub mod methods;
pub mod proto;
pub mod server;

pub use client::{CsiClient, PluginCapabilities};
pub use error::CsiError;
pub use proto::{
    AccessMode, ControllerRpc, NodeRpc, PluginServiceType, StringMap, VolumeCapability,
};
pub use server::{ControllerService, CsiResult, IdentityService, NodeService, serve};

/// The largest gRPC message either side sends or accepts (4 MiB, gRPC's usual default):
/// CSI messages are small, and a peer cannot make the other buffer more.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

#[cfg(test)]
mod tests;
