//! The CSI v1 messages (spec v1.9, `csi.proto`, package `csi.v1`), hand-written as
//! `prost` messages with the spec's field numbers and types, so no `protoc` and no
//! build script is needed. Only what orch calls or serves is here; alpha fields and
//! RPCs (group snapshots, modify, volume conditions) are left out, and a peer that sends
//! them is still understood (protobuf skips unknown fields).
//!
//! Layout as in the spec: the shared messages in this file, then one file per service.
//! Nested messages live in a module named after their parent in snake case, as prost's
//! generated code would put them (`volume_capability::AccessMode`).

pub mod controller;
pub mod identity;
pub mod node;

pub use controller::*;
pub use identity::*;
pub use node::*;

use std::collections::BTreeMap;

/// A string map, as every `map<string, string>` field of the spec (sorted, so what we
/// encode is deterministic).
pub type StringMap = BTreeMap<String, String>;

/// `google.protobuf.BoolValue`: a bool whose absence means something (`Probe.ready`).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct BoolValue {
    /// The wrapped value.
    #[prost(bool, tag = "1")]
    pub value: bool,
}

/// `google.protobuf.Timestamp`: a snapshot's creation time.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds within the second, 0..=999_999_999.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// How a volume is to be used: block or mount access, and the access mode. Every
/// create, validate, publish and stage call carries one or more.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct VolumeCapability {
    /// Block device or mounted filesystem (REQUIRED: one of them).
    #[prost(oneof = "volume_capability::AccessType", tags = "1, 2")]
    pub access_type: Option<volume_capability::AccessType>,
    /// Who may read and write (REQUIRED).
    #[prost(message, optional, tag = "3")]
    pub access_mode: Option<volume_capability::AccessMode>,
}

impl VolumeCapability {
    /// A mounted-filesystem capability with `mode`: what orch asks for, as Nomad's
    /// `attachment_mode = "file-system"` does.
    pub fn mount(mode: AccessMode, fs_type: &str, mount_flags: Vec<String>) -> Self {
        VolumeCapability {
            access_type: Some(volume_capability::AccessType::Mount(
                volume_capability::MountVolume {
                    fs_type: fs_type.to_string(),
                    mount_flags,
                    volume_mount_group: String::new(),
                },
            )),
            access_mode: Some(volume_capability::AccessMode { mode: mode as i32 }),
        }
    }

    /// A block-device capability with `mode` (`attachment_mode = "block-device"`).
    pub fn block(mode: AccessMode) -> Self {
        VolumeCapability {
            access_type: Some(volume_capability::AccessType::Block(
                volume_capability::BlockVolume {},
            )),
            access_mode: Some(volume_capability::AccessMode { mode: mode as i32 }),
        }
    }

    /// The access mode, `Unknown` when absent or not one the spec names.
    pub fn mode(&self) -> AccessMode {
        self.access_mode
            .as_ref()
            .and_then(|m| AccessMode::try_from(m.mode).ok())
            .unwrap_or(AccessMode::Unknown)
    }
}

/// The access modes of `VolumeCapability.AccessMode.Mode`.
pub use volume_capability::access_mode::Mode as AccessMode;

/// Nested messages of [`VolumeCapability`].
pub mod volume_capability {
    /// Block or mount access.
    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum AccessType {
        /// Accessed through the block device API.
        #[prost(message, tag = "1")]
        Block(BlockVolume),
        /// Accessed through a mounted filesystem.
        #[prost(message, tag = "2")]
        Mount(MountVolume),
    }

    /// Block access (no fields yet in the spec).
    #[derive(Clone, Copy, PartialEq, ::prost::Message)]
    pub struct BlockVolume {}

    /// Mount access: filesystem type and mount flags.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct MountVolume {
        /// The filesystem type; empty means unspecified.
        #[prost(string, tag = "1")]
        pub fs_type: String,
        /// Mount options (may be sensitive; never logged).
        #[prost(string, repeated, tag = "2")]
        pub mount_flags: Vec<String>,
        /// The group the volume is mounted for (VOLUME_MOUNT_GROUP).
        #[prost(string, tag = "3")]
        pub volume_mount_group: String,
    }

    /// The access mode wrapper message.
    #[derive(Clone, Copy, PartialEq, ::prost::Message)]
    pub struct AccessMode {
        /// A [`access_mode::Mode`] value.
        #[prost(enumeration = "access_mode::Mode", tag = "1")]
        pub mode: i32,
    }

    /// The enum of [`AccessMode`].
    pub mod access_mode {
        /// Who may read and write a published volume.
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration,
        )]
        #[repr(i32)]
        pub enum Mode {
            /// Not set: refused by every call that needs a mode.
            Unknown = 0,
            /// Read/write on one node at a time.
            SingleNodeWriter = 1,
            /// Read-only on one node at a time.
            SingleNodeReaderOnly = 2,
            /// Read-only on many nodes.
            MultiNodeReaderOnly = 3,
            /// Many nodes, one of them read/write.
            MultiNodeSingleWriter = 4,
            /// Read/write on many nodes.
            MultiNodeMultiWriter = 5,
            /// One writer workload on one node (alpha).
            SingleNodeSingleWriter = 6,
            /// Many writer workloads on one node (alpha).
            SingleNodeMultiWriter = 7,
        }
    }
}

/// The capacity asked for, in bytes; 0 means unspecified.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct CapacityRange {
    /// At least this big.
    #[prost(int64, tag = "1")]
    pub required_bytes: i64,
    /// At most this big.
    #[prost(int64, tag = "2")]
    pub limit_bytes: i64,
}

/// A provisioned volume, as CreateVolume and ListVolumes answer.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Volume {
    /// Capacity in bytes; 0 means unknown.
    #[prost(int64, tag = "1")]
    pub capacity_bytes: i64,
    /// The plugin's ID of the volume, used in every later call.
    #[prost(string, tag = "2")]
    pub volume_id: String,
    /// Opaque attributes passed back in publish and stage calls.
    #[prost(btree_map = "string, string", tag = "3")]
    pub volume_context: StringMap,
    /// What the volume was pre-populated from.
    #[prost(message, optional, tag = "4")]
    pub content_source: Option<VolumeContentSource>,
    /// Where the volume can be reached from.
    #[prost(message, repeated, tag = "5")]
    pub accessible_topology: Vec<Topology>,
}

/// A volume's pre-populated content: a snapshot or another volume.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct VolumeContentSource {
    /// The source (REQUIRED: one of them).
    #[prost(oneof = "volume_content_source::Type", tags = "1, 2")]
    pub r#type: Option<volume_content_source::Type>,
}

impl VolumeContentSource {
    /// Content from the snapshot `snapshot_id`.
    pub fn snapshot(snapshot_id: &str) -> Self {
        VolumeContentSource {
            r#type: Some(volume_content_source::Type::Snapshot(
                volume_content_source::SnapshotSource {
                    snapshot_id: snapshot_id.to_string(),
                },
            )),
        }
    }
}

/// Nested messages of [`VolumeContentSource`].
pub mod volume_content_source {
    /// The kinds of source.
    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum Type {
        /// From a snapshot (CREATE_DELETE_SNAPSHOT).
        #[prost(message, tag = "1")]
        Snapshot(SnapshotSource),
        /// A clone of a volume (CLONE_VOLUME).
        #[prost(message, tag = "2")]
        Volume(VolumeSource),
    }

    /// A snapshot source.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct SnapshotSource {
        /// The snapshot's ID.
        #[prost(string, tag = "1")]
        pub snapshot_id: String,
    }

    /// A volume source.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct VolumeSource {
        /// The source volume's ID.
        #[prost(string, tag = "1")]
        pub volume_id: String,
    }
}

/// Where a volume must (requisite) or should (preferred) be reachable from.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct TopologyRequirement {
    /// The volume must be reachable from at least one of these.
    #[prost(message, repeated, tag = "1")]
    pub requisite: Vec<Topology>,
    /// In order of preference.
    #[prost(message, repeated, tag = "2")]
    pub preferred: Vec<Topology>,
}

/// One topology segment set, e.g. `{"topology.orch.hostpath/node": "n1"}`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Topology {
    /// Segment keys to values.
    #[prost(btree_map = "string, string", tag = "1")]
    pub segments: StringMap,
}

/// A snapshot of a volume.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Snapshot {
    /// Size in bytes; 0 means unknown.
    #[prost(int64, tag = "1")]
    pub size_bytes: i64,
    /// The plugin's ID of the snapshot.
    #[prost(string, tag = "2")]
    pub snapshot_id: String,
    /// The volume it was taken of.
    #[prost(string, tag = "3")]
    pub source_volume_id: String,
    /// When it was cut.
    #[prost(message, optional, tag = "4")]
    pub creation_time: Option<Timestamp>,
    /// Whether a volume can be created from it now.
    #[prost(bool, tag = "5")]
    pub ready_to_use: bool,
    /// The group snapshot it belongs to (alpha).
    #[prost(string, tag = "6")]
    pub group_snapshot_id: String,
}

#[cfg(test)]
mod tests;
