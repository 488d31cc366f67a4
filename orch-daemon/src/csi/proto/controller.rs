//! The messages of the CSI `Controller` service: volumes and snapshots on the storage
//! system, and making a volume available to a node.

use super::VolumeContentSource;
use super::{CapacityRange, Snapshot, StringMap, TopologyRequirement, Volume, VolumeCapability};

/// Provision a volume named `name` (idempotent by name).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct CreateVolumeRequest {
    /// The CO's name for the volume; the idempotency key (REQUIRED).
    #[prost(string, tag = "1")]
    pub name: String,
    /// The size wanted.
    #[prost(message, optional, tag = "2")]
    pub capacity_range: Option<CapacityRange>,
    /// Every way the volume may be used (REQUIRED).
    #[prost(message, repeated, tag = "3")]
    pub volume_capabilities: Vec<VolumeCapability>,
    /// Plugin-specific parameters.
    #[prost(btree_map = "string, string", tag = "4")]
    pub parameters: StringMap,
    /// Secrets for the storage system (never logged).
    #[prost(btree_map = "string, string", tag = "5")]
    pub secrets: StringMap,
    /// Content to pre-populate the volume with.
    #[prost(message, optional, tag = "6")]
    pub volume_content_source: Option<VolumeContentSource>,
    /// Where the volume must be reachable from.
    #[prost(message, optional, tag = "7")]
    pub accessibility_requirements: Option<TopologyRequirement>,
    /// Mutable parameters (alpha).
    #[prost(btree_map = "string, string", tag = "8")]
    pub mutable_parameters: StringMap,
}

/// The volume made (or found).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct CreateVolumeResponse {
    /// The volume (REQUIRED).
    #[prost(message, optional, tag = "1")]
    pub volume: Option<Volume>,
}

/// Delete a volume (idempotent).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct DeleteVolumeRequest {
    /// The volume (REQUIRED).
    #[prost(string, tag = "1")]
    pub volume_id: String,
    /// Secrets for the storage system.
    #[prost(btree_map = "string, string", tag = "2")]
    pub secrets: StringMap,
}

/// `DeleteVolume` answers nothing.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct DeleteVolumeResponse {}

/// Make a volume available to a node (attach).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ControllerPublishVolumeRequest {
    /// The volume (REQUIRED).
    #[prost(string, tag = "1")]
    pub volume_id: String,
    /// The node, as its plugin's `NodeGetInfo` named it (REQUIRED).
    #[prost(string, tag = "2")]
    pub node_id: String,
    /// How it will be used (REQUIRED).
    #[prost(message, optional, tag = "3")]
    pub volume_capability: Option<VolumeCapability>,
    /// Read-only publication.
    #[prost(bool, tag = "4")]
    pub readonly: bool,
    /// Secrets for the storage system.
    #[prost(btree_map = "string, string", tag = "5")]
    pub secrets: StringMap,
    /// The volume's context from CreateVolume.
    #[prost(btree_map = "string, string", tag = "6")]
    pub volume_context: StringMap,
}

/// What the node plugin needs to stage the volume.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ControllerPublishVolumeResponse {
    /// Passed to NodeStageVolume and NodePublishVolume.
    #[prost(btree_map = "string, string", tag = "1")]
    pub publish_context: StringMap,
}

/// Undo ControllerPublishVolume (detach; idempotent).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ControllerUnpublishVolumeRequest {
    /// The volume (REQUIRED).
    #[prost(string, tag = "1")]
    pub volume_id: String,
    /// The node; empty means every node.
    #[prost(string, tag = "2")]
    pub node_id: String,
    /// Secrets for the storage system.
    #[prost(btree_map = "string, string", tag = "3")]
    pub secrets: StringMap,
}

/// `ControllerUnpublishVolume` answers nothing.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct ControllerUnpublishVolumeResponse {}

/// Check a pre-existing volume supports the capabilities (`volume register`).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ValidateVolumeCapabilitiesRequest {
    /// The volume (REQUIRED).
    #[prost(string, tag = "1")]
    pub volume_id: String,
    /// Its context.
    #[prost(btree_map = "string, string", tag = "2")]
    pub volume_context: StringMap,
    /// What to check (REQUIRED).
    #[prost(message, repeated, tag = "3")]
    pub volume_capabilities: Vec<VolumeCapability>,
    /// The parameters it was created with.
    #[prost(btree_map = "string, string", tag = "4")]
    pub parameters: StringMap,
    /// Secrets for the storage system.
    #[prost(btree_map = "string, string", tag = "5")]
    pub secrets: StringMap,
    /// Mutable parameters (alpha).
    #[prost(btree_map = "string, string", tag = "6")]
    pub mutable_parameters: StringMap,
}

/// `confirmed` is set only when every capability is supported; `message` says why not.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ValidateVolumeCapabilitiesResponse {
    /// What was confirmed.
    #[prost(message, optional, tag = "1")]
    pub confirmed: Option<validate_volume_capabilities_response::Confirmed>,
    /// Why not, when not confirmed.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// Nested messages of [`ValidateVolumeCapabilitiesResponse`].
pub mod validate_volume_capabilities_response {
    use super::{StringMap, VolumeCapability};

    /// The confirmed context, capabilities and parameters.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Confirmed {
        /// The context confirmed.
        #[prost(btree_map = "string, string", tag = "1")]
        pub volume_context: StringMap,
        /// The capabilities confirmed (REQUIRED).
        #[prost(message, repeated, tag = "2")]
        pub volume_capabilities: Vec<VolumeCapability>,
        /// The parameters confirmed.
        #[prost(btree_map = "string, string", tag = "3")]
        pub parameters: StringMap,
        /// Mutable parameters (alpha).
        #[prost(btree_map = "string, string", tag = "4")]
        pub mutable_parameters: StringMap,
    }
}

/// List volumes, a page at a time.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ListVolumesRequest {
    /// Page size; 0 means all.
    #[prost(int32, tag = "1")]
    pub max_entries: i32,
    /// The previous answer's `next_token`.
    #[prost(string, tag = "2")]
    pub starting_token: String,
}

/// One page of volumes.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ListVolumesResponse {
    /// The volumes.
    #[prost(message, repeated, tag = "1")]
    pub entries: Vec<list_volumes_response::Entry>,
    /// Pass back for the next page; empty at the end.
    #[prost(string, tag = "2")]
    pub next_token: String,
}

/// Nested messages of [`ListVolumesResponse`].
pub mod list_volumes_response {
    use super::Volume;

    /// A volume's publication status (LIST_VOLUMES_PUBLISHED_NODES).
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct VolumeStatus {
        /// The nodes it is published to.
        #[prost(string, repeated, tag = "1")]
        pub published_node_ids: Vec<String>,
    }

    /// One volume.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Entry {
        /// The volume (REQUIRED).
        #[prost(message, optional, tag = "1")]
        pub volume: Option<Volume>,
        /// Its status.
        #[prost(message, optional, tag = "2")]
        pub status: Option<VolumeStatus>,
    }
}

/// `ControllerGetCapabilities` takes nothing.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct ControllerGetCapabilitiesRequest {}

/// The controller RPCs the plugin offers.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ControllerGetCapabilitiesResponse {
    /// The capabilities.
    #[prost(message, repeated, tag = "1")]
    pub capabilities: Vec<ControllerServiceCapability>,
}

/// One controller capability.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct ControllerServiceCapability {
    /// The capability.
    #[prost(oneof = "controller_service_capability::Type", tags = "1")]
    pub r#type: Option<controller_service_capability::Type>,
}

impl ControllerServiceCapability {
    /// The RPC capability `t`.
    pub fn rpc(t: ControllerRpc) -> Self {
        ControllerServiceCapability {
            r#type: Some(controller_service_capability::Type::Rpc(
                controller_service_capability::Rpc { r#type: t as i32 },
            )),
        }
    }
}

/// `ControllerServiceCapability.RPC.Type`.
pub use controller_service_capability::rpc::Type as ControllerRpc;

/// Nested messages of [`ControllerServiceCapability`].
pub mod controller_service_capability {
    /// The kinds of controller capability.
    #[derive(Clone, Copy, PartialEq, ::prost::Oneof)]
    pub enum Type {
        /// An RPC the controller serves.
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
        /// The controller RPCs.
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration,
        )]
        #[repr(i32)]
        pub enum Type {
            /// Not set.
            Unknown = 0,
            /// CreateVolume and DeleteVolume.
            CreateDeleteVolume = 1,
            /// ControllerPublishVolume and ControllerUnpublishVolume.
            PublishUnpublishVolume = 2,
            /// ListVolumes.
            ListVolumes = 3,
            /// GetCapacity.
            GetCapacity = 4,
            /// CreateSnapshot and DeleteSnapshot.
            CreateDeleteSnapshot = 5,
            /// ListSnapshots.
            ListSnapshots = 6,
            /// Volumes from volumes.
            CloneVolume = 7,
            /// Read-only ControllerPublishVolume.
            PublishReadonly = 8,
            /// ControllerExpandVolume.
            ExpandVolume = 9,
            /// ListVolumes reports published nodes.
            ListVolumesPublishedNodes = 10,
            /// Volume conditions (alpha).
            VolumeCondition = 11,
            /// ControllerGetVolume (alpha).
            GetVolume = 12,
            /// The single-node multi-writer modes (alpha).
            SingleNodeMultiWriter = 13,
            /// ControllerModifyVolume (alpha).
            ModifyVolume = 14,
        }
    }
}

/// Cut a snapshot `name` of a volume (idempotent by name).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct CreateSnapshotRequest {
    /// The volume (REQUIRED).
    #[prost(string, tag = "1")]
    pub source_volume_id: String,
    /// The CO's name for the snapshot; the idempotency key (REQUIRED).
    #[prost(string, tag = "2")]
    pub name: String,
    /// Secrets for the storage system.
    #[prost(btree_map = "string, string", tag = "3")]
    pub secrets: StringMap,
    /// Plugin-specific parameters.
    #[prost(btree_map = "string, string", tag = "4")]
    pub parameters: StringMap,
}

/// The snapshot made (or found).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct CreateSnapshotResponse {
    /// The snapshot (REQUIRED).
    #[prost(message, optional, tag = "1")]
    pub snapshot: Option<Snapshot>,
}

/// Delete a snapshot (idempotent).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct DeleteSnapshotRequest {
    /// The snapshot (REQUIRED).
    #[prost(string, tag = "1")]
    pub snapshot_id: String,
    /// Secrets for the storage system.
    #[prost(btree_map = "string, string", tag = "2")]
    pub secrets: StringMap,
}

/// `DeleteSnapshot` answers nothing.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct DeleteSnapshotResponse {}

/// List snapshots, optionally of one volume or one ID, a page at a time.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ListSnapshotsRequest {
    /// Page size; 0 means all.
    #[prost(int32, tag = "1")]
    pub max_entries: i32,
    /// The previous answer's `next_token`.
    #[prost(string, tag = "2")]
    pub starting_token: String,
    /// Only snapshots of this volume.
    #[prost(string, tag = "3")]
    pub source_volume_id: String,
    /// Only this snapshot.
    #[prost(string, tag = "4")]
    pub snapshot_id: String,
    /// Secrets for the storage system.
    #[prost(btree_map = "string, string", tag = "5")]
    pub secrets: StringMap,
}

/// One page of snapshots.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ListSnapshotsResponse {
    /// The snapshots.
    #[prost(message, repeated, tag = "1")]
    pub entries: Vec<list_snapshots_response::Entry>,
    /// Pass back for the next page; empty at the end.
    #[prost(string, tag = "2")]
    pub next_token: String,
}

/// Nested messages of [`ListSnapshotsResponse`].
pub mod list_snapshots_response {
    use super::Snapshot;

    /// One snapshot.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Entry {
        /// The snapshot.
        #[prost(message, optional, tag = "1")]
        pub snapshot: Option<Snapshot>,
    }
}

/// Grow a volume (EXPAND_VOLUME).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ControllerExpandVolumeRequest {
    /// The volume (REQUIRED).
    #[prost(string, tag = "1")]
    pub volume_id: String,
    /// The new size (REQUIRED).
    #[prost(message, optional, tag = "2")]
    pub capacity_range: Option<CapacityRange>,
    /// Secrets for the storage system.
    #[prost(btree_map = "string, string", tag = "3")]
    pub secrets: StringMap,
    /// How the volume is used.
    #[prost(message, optional, tag = "4")]
    pub volume_capability: Option<VolumeCapability>,
}

/// The new size and whether the node must expand too.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct ControllerExpandVolumeResponse {
    /// The capacity now (REQUIRED).
    #[prost(int64, tag = "1")]
    pub capacity_bytes: i64,
    /// Whether NodeExpandVolume must follow.
    #[prost(bool, tag = "2")]
    pub node_expansion_required: bool,
}
