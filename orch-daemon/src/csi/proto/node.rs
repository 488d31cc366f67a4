//! The messages of the CSI `Node` service: mounting a volume on the node where a
//! workload runs (stage once per node, publish once per workload).

use super::{StringMap, Topology, VolumeCapability};

/// Mount a volume at a node-wide staging path.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct NodeStageVolumeRequest {
    /// The volume (REQUIRED).
    #[prost(string, tag = "1")]
    pub volume_id: String,
    /// From ControllerPublishVolume.
    #[prost(btree_map = "string, string", tag = "2")]
    pub publish_context: StringMap,
    /// Absolute path to stage at (REQUIRED).
    #[prost(string, tag = "3")]
    pub staging_target_path: String,
    /// How it will be used (REQUIRED).
    #[prost(message, optional, tag = "4")]
    pub volume_capability: Option<VolumeCapability>,
    /// Secrets for the storage system.
    #[prost(btree_map = "string, string", tag = "5")]
    pub secrets: StringMap,
    /// The volume's context from CreateVolume.
    #[prost(btree_map = "string, string", tag = "6")]
    pub volume_context: StringMap,
}

/// `NodeStageVolume` answers nothing.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct NodeStageVolumeResponse {}

/// Undo NodeStageVolume (idempotent).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct NodeUnstageVolumeRequest {
    /// The volume (REQUIRED).
    #[prost(string, tag = "1")]
    pub volume_id: String,
    /// The staging path (REQUIRED).
    #[prost(string, tag = "2")]
    pub staging_target_path: String,
}

/// `NodeUnstageVolume` answers nothing.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct NodeUnstageVolumeResponse {}

/// Mount a staged volume at a workload's target path.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct NodePublishVolumeRequest {
    /// The volume (REQUIRED).
    #[prost(string, tag = "1")]
    pub volume_id: String,
    /// From ControllerPublishVolume.
    #[prost(btree_map = "string, string", tag = "2")]
    pub publish_context: StringMap,
    /// Where it was staged (REQUIRED with STAGE_UNSTAGE_VOLUME).
    #[prost(string, tag = "3")]
    pub staging_target_path: String,
    /// Absolute path to publish at (REQUIRED).
    #[prost(string, tag = "4")]
    pub target_path: String,
    /// How it will be used (REQUIRED).
    #[prost(message, optional, tag = "5")]
    pub volume_capability: Option<VolumeCapability>,
    /// Publish read-only.
    #[prost(bool, tag = "6")]
    pub readonly: bool,
    /// Secrets for the storage system.
    #[prost(btree_map = "string, string", tag = "7")]
    pub secrets: StringMap,
    /// The volume's context from CreateVolume.
    #[prost(btree_map = "string, string", tag = "8")]
    pub volume_context: StringMap,
}

/// `NodePublishVolume` answers nothing.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct NodePublishVolumeResponse {}

/// Undo NodePublishVolume (idempotent).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct NodeUnpublishVolumeRequest {
    /// The volume (REQUIRED).
    #[prost(string, tag = "1")]
    pub volume_id: String,
    /// The target path (REQUIRED).
    #[prost(string, tag = "2")]
    pub target_path: String,
}

/// `NodeUnpublishVolume` answers nothing.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct NodeUnpublishVolumeResponse {}

/// `NodeGetCapabilities` takes nothing.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct NodeGetCapabilitiesRequest {}

/// The node RPCs the plugin offers.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct NodeGetCapabilitiesResponse {
    /// The capabilities.
    #[prost(message, repeated, tag = "1")]
    pub capabilities: Vec<NodeServiceCapability>,
}

/// One node capability.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct NodeServiceCapability {
    /// The capability.
    #[prost(oneof = "node_service_capability::Type", tags = "1")]
    pub r#type: Option<node_service_capability::Type>,
}

impl NodeServiceCapability {
    /// The RPC capability `t`.
    pub fn rpc(t: NodeRpc) -> Self {
        NodeServiceCapability {
            r#type: Some(node_service_capability::Type::Rpc(
                node_service_capability::Rpc { r#type: t as i32 },
            )),
        }
    }
}

/// `NodeServiceCapability.RPC.Type`.
pub use node_service_capability::rpc::Type as NodeRpc;

/// Nested messages of [`NodeServiceCapability`].
pub mod node_service_capability {
    /// The kinds of node capability.
    #[derive(Clone, Copy, PartialEq, ::prost::Oneof)]
    pub enum Type {
        /// An RPC the node service serves.
        #[prost(message, tag = "1")]
        Rpc(Rpc),
    }

    /// An RPC capability (`RPC` in the spec).
    #[derive(Clone, Copy, PartialEq, ::prost::Message)]
    pub struct Rpc {
        /// A [`rpc::Type`] value.
        #[prost(enumeration = "rpc::Type", tag = "1")]
        pub r#type: i32,
    }

    /// The enum of [`Rpc`].
    pub mod rpc {
        /// The node RPCs.
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration,
        )]
        #[repr(i32)]
        pub enum Type {
            /// Not set.
            Unknown = 0,
            /// NodeStageVolume and NodeUnstageVolume.
            StageUnstageVolume = 1,
            /// NodeGetVolumeStats.
            GetVolumeStats = 2,
            /// NodeExpandVolume.
            ExpandVolume = 3,
            /// Volume conditions (alpha).
            VolumeCondition = 4,
            /// The single-node multi-writer modes (alpha).
            SingleNodeMultiWriter = 5,
            /// `volume_mount_group`.
            VolumeMountGroup = 6,
        }
    }
}

/// `NodeGetInfo` takes nothing.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct NodeGetInfoRequest {}

/// The node as the plugin names it: what ControllerPublishVolume is given.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct NodeGetInfoResponse {
    /// The plugin's node ID (REQUIRED).
    #[prost(string, tag = "1")]
    pub node_id: String,
    /// How many volumes this node can take; 0 means no limit given.
    #[prost(int64, tag = "2")]
    pub max_volumes_per_node: i64,
    /// Where the node is.
    #[prost(message, optional, tag = "3")]
    pub accessible_topology: Option<Topology>,
}
