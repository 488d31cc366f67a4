//! CSI (Container Storage Interface) volumes and plugins in Nomad's JSON shape.
//!
//! Plugins are not registered by anyone: a client reports which plugins run on it and
//! how healthy they are ([`NodeCsiPlugins`]), and the servers derive the plugin view
//! from those reports. Volumes are registered (or created through a controller plugin)
//! by operators. Claims are not stored: an allocation that is not client-terminal and
//! whose group asks for a volume holds a claim on it, so a claim can never outlive its
//! allocation and the scheduler, the plan verifier and the API all count the same thing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::group::CsiMountOptions;

/// Access modes of the CSI spec, spelled as Nomad's jobspecs and volume specs spell them.
pub mod access_mode {
    /// One node, read-only; one reader.
    pub const SINGLE_NODE_READER: &str = "single-node-reader-only";
    /// One node, one claim in all.
    pub const SINGLE_NODE_WRITER: &str = "single-node-writer";
    /// Many nodes, read-only.
    pub const MULTI_NODE_READER: &str = "multi-node-reader-only";
    /// Many readers, one writer.
    pub const MULTI_NODE_SINGLE_WRITER: &str = "multi-node-single-writer";
    /// Many readers and writers.
    pub const MULTI_NODE_MULTI_WRITER: &str = "multi-node-multi-writer";
    /// Every access mode orch knows.
    pub const ALL: [&str; 5] = [
        SINGLE_NODE_READER,
        SINGLE_NODE_WRITER,
        MULTI_NODE_READER,
        MULTI_NODE_SINGLE_WRITER,
        MULTI_NODE_MULTI_WRITER,
    ];
}

/// Attachment modes: a file system mount, or a raw block device.
pub mod attachment_mode {
    /// Mounted as a file system.
    pub const FILE_SYSTEM: &str = "file-system";
    /// Exposed as a block device.
    pub const BLOCK_DEVICE: &str = "block-device";
    /// Every attachment mode orch knows.
    pub const ALL: [&str; 2] = [FILE_SYSTEM, BLOCK_DEVICE];
}

/// How many claims an access mode allows, so every place that counts claims applies one
/// rule (Nomad's `HasFreeReadClaims` / `HasFreeWriteClaims`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimLimits {
    /// Writers at most (`None`: unlimited); 0 means the mode is read-only.
    pub max_writers: Option<usize>,
    /// Readers at most (`None`: unlimited).
    pub max_readers: Option<usize>,
    /// Readers and writers together at most (`None`: unlimited).
    pub max_total: Option<usize>,
}

impl ClaimLimits {
    /// The limits of `mode`; `None` for a mode orch does not know.
    pub fn of(mode: &str) -> Option<ClaimLimits> {
        let (w, r, t) = match mode {
            access_mode::SINGLE_NODE_READER => (Some(0), Some(1), Some(1)),
            access_mode::SINGLE_NODE_WRITER => (Some(1), Some(1), Some(1)),
            access_mode::MULTI_NODE_READER => (Some(0), None, None),
            access_mode::MULTI_NODE_SINGLE_WRITER => (Some(1), None, None),
            access_mode::MULTI_NODE_MULTI_WRITER => (None, None, None),
            _ => return None,
        };
        Some(ClaimLimits {
            max_writers: w,
            max_readers: r,
            max_total: t,
        })
    }

    /// Whether one more claim fits next to `readers` and `writers` held already.
    pub fn admits(&self, write: bool, readers: usize, writers: usize) -> bool {
        let under = |limit: Option<usize>, n: usize| limit.is_none_or(|l| n < l);
        let side = if write {
            under(self.max_writers, writers)
        } else {
            under(self.max_readers, readers)
        };
        side && under(self.max_total, readers + writers)
    }
}

/// The ID a group's volume request claims for one allocation: `source`, or
/// `source[i]` for `per_alloc` requests, `i` being the allocation's index in its
/// name (`job.group[i]`), as Nomad's `AllocSuffix`.
pub fn claimed_volume_id(source: &str, per_alloc: bool, alloc_name: &str) -> String {
    if !per_alloc {
        return source.to_string();
    }
    let suffix = alloc_name.rfind('[').map_or("", |i| &alloc_name[i..]);
    format!("{source}{suffix}")
}

/// A topology segment set: the keys and values a node (or volume) is reachable in.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CsiTopology {
    /// Segment key → value, e.g. `topology.orch.hostpath/node` → node ID.
    #[serde(rename = "Segments")]
    pub segments: BTreeMap<String, String>,
}

impl CsiTopology {
    /// Whether every segment of `self` is also in `node`: a volume reachable in
    /// `self` can be used by a node in `node`.
    pub fn is_within(&self, node: &CsiTopology) -> bool {
        self.segments
            .iter()
            .all(|(k, v)| node.segments.get(k) == Some(v))
    }
}

/// Where a new volume must (`required`) or should (`preferred`) be reachable.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CsiTopologyRequest {
    /// The volume must be reachable from one of these.
    #[serde(rename = "Required")]
    pub required: Vec<CsiTopology>,
    /// Hints for the plugin.
    #[serde(rename = "Preferred")]
    pub preferred: Vec<CsiTopology>,
}

/// One access/attachment pair a volume supports.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CsiCapability {
    /// An [`access_mode`].
    #[serde(rename = "AccessMode")]
    pub access_mode: String,
    /// An [`attachment_mode`].
    #[serde(rename = "AttachmentMode")]
    pub attachment_mode: String,
}

/// What a controller plugin can do (from `ControllerGetCapabilities`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CsiControllerInfo {
    /// `CreateVolume`/`DeleteVolume`.
    #[serde(rename = "SupportsCreateDelete")]
    pub supports_create_delete: bool,
    /// `ControllerPublishVolume`/`ControllerUnpublishVolume`.
    #[serde(rename = "SupportsAttachDetach")]
    pub supports_attach_detach: bool,
    /// `ListVolumes`.
    #[serde(rename = "SupportsListVolumes")]
    pub supports_list_volumes: bool,
    /// `CreateSnapshot`/`DeleteSnapshot`.
    #[serde(rename = "SupportsCreateDeleteSnapshot")]
    pub supports_create_delete_snapshot: bool,
    /// `ListSnapshots`.
    #[serde(rename = "SupportsListSnapshots")]
    pub supports_list_snapshots: bool,
    /// `ControllerExpandVolume`.
    #[serde(rename = "SupportsExpand")]
    pub supports_expand: bool,
    /// Read-only publishing.
    #[serde(rename = "SupportsReadOnlyAttach")]
    pub supports_read_only_attach: bool,
}

/// What a node plugin reports about its node (from `NodeGetInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CsiNodeInfo {
    /// The node's ID as the storage provider knows it (the CSI `node_id`).
    #[serde(rename = "ID")]
    pub id: String,
    /// Volumes the plugin can publish on this node at once (0: no limit).
    #[serde(rename = "MaxVolumes")]
    pub max_volumes: i64,
    /// Where this node sits, for volume topology.
    #[serde(rename = "AccessibleTopology")]
    pub accessible_topology: Option<CsiTopology>,
    /// Whether `NodeStageVolume` must come before `NodePublishVolume`.
    #[serde(rename = "RequiresNodeStageVolume")]
    pub requires_node_stage_volume: bool,
}

/// One plugin instance on one node, as the client fingerprints it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CsiInfo {
    /// The plugin's ID (`csi_plugin { id }`).
    #[serde(rename = "PluginID")]
    pub plugin_id: String,
    /// The allocation running the plugin task.
    #[serde(rename = "AllocID")]
    pub alloc_id: String,
    /// Whether the last `Probe` answered ready.
    #[serde(rename = "Healthy")]
    pub healthy: bool,
    /// Why it is (un)healthy, for operators.
    #[serde(rename = "HealthDescription")]
    pub health_description: String,
    /// When the client last checked (RFC 3339).
    #[serde(rename = "UpdateTime")]
    pub update_time: String,
    /// The plugin's name (`GetPluginInfo`), e.g. `orch.hostpath.csi`.
    #[serde(rename = "Provider")]
    pub provider: String,
    /// The plugin's version (`GetPluginInfo`).
    #[serde(rename = "ProviderVersion")]
    pub provider_version: String,
    /// Volumes of this plugin need a controller (`CONTROLLER_SERVICE`).
    #[serde(rename = "RequiresControllerPlugin")]
    pub requires_controller_plugin: bool,
    /// Volumes of this plugin have topology (`VOLUME_ACCESSIBILITY_CONSTRAINTS`).
    #[serde(rename = "RequiresTopologies")]
    pub requires_topologies: bool,
    /// Set for a controller (or monolith) instance.
    #[serde(rename = "ControllerInfo")]
    pub controller_info: Option<CsiControllerInfo>,
    /// Set for a node (or monolith) instance.
    #[serde(rename = "NodeInfo")]
    pub node_info: Option<CsiNodeInfo>,
}

/// Every CSI plugin instance one client runs, replaced as a whole on each report.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeCsiPlugins {
    /// Controller instances by plugin ID (Nomad's `Node.CSIControllerPlugins`).
    #[serde(rename = "CSIControllerPlugins")]
    pub controllers: BTreeMap<String, CsiInfo>,
    /// Node instances by plugin ID (Nomad's `Node.CSINodePlugins`).
    #[serde(rename = "CSINodePlugins")]
    pub nodes: BTreeMap<String, CsiInfo>,
}

/// A registered CSI volume (Nomad's `CSIVolume`, without the claim and plugin
/// figures the API derives on read).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CsiVolume {
    /// orch's ID for the volume (what jobs name in `source`).
    #[serde(rename = "ID")]
    pub id: String,
    /// Display name; also the `name` given to `CreateVolume`.
    #[serde(rename = "Name")]
    pub name: String,
    /// The namespace the volume belongs to.
    #[serde(rename = "Namespace")]
    pub namespace: String,
    /// The storage provider's ID for the volume.
    #[serde(rename = "ExternalID")]
    pub external_id: String,
    /// The plugin that serves it.
    #[serde(rename = "PluginID")]
    pub plugin_id: String,
    /// The plugin's name, recorded at registration.
    #[serde(rename = "Provider")]
    pub provider: String,
    /// The plugin's version, recorded at registration.
    #[serde(rename = "ProviderVersion")]
    pub provider_version: String,
    /// Bytes, as the plugin reported on creation (0 when unknown).
    #[serde(rename = "Capacity")]
    pub capacity: i64,
    /// Smallest size asked for at creation (bytes).
    #[serde(rename = "RequestedCapacityMin")]
    pub requested_capacity_min: i64,
    /// Largest size asked for at creation (bytes).
    #[serde(rename = "RequestedCapacityMax")]
    pub requested_capacity_max: i64,
    /// Access/attachment pairs jobs may claim the volume with.
    #[serde(rename = "RequestedCapabilities")]
    pub requested_capabilities: Vec<CsiCapability>,
    /// Mount options applied to every mount of the volume.
    #[serde(rename = "MountOptions")]
    pub mount_options: Option<CsiMountOptions>,
    /// Passed to the plugin on every call (never shown by the API).
    #[serde(rename = "Secrets")]
    pub secrets: BTreeMap<String, String>,
    /// Passed to `CreateVolume`.
    #[serde(rename = "Parameters")]
    pub parameters: BTreeMap<String, String>,
    /// The plugin's volume context, passed to publish calls.
    #[serde(rename = "Context")]
    pub context: BTreeMap<String, String>,
    /// Where the volume is reachable (from the plugin, or as registered).
    #[serde(rename = "Topologies")]
    pub topologies: Vec<CsiTopology>,
    /// Where it was asked to be reachable at creation.
    #[serde(rename = "RequestedTopologies")]
    pub requested_topologies: Option<CsiTopologyRequest>,
    /// Snapshot the volume was created from.
    #[serde(rename = "SnapshotID")]
    pub snapshot_id: String,
    /// Volume the volume was cloned from.
    #[serde(rename = "CloneID")]
    pub clone_id: String,
    /// Raft index of registration.
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    /// Raft index of the last change.
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

impl CsiVolume {
    /// Whether a claim with `access`/`attachment` matches one of the volume's
    /// capabilities.
    pub fn supports(&self, access: &str, attachment: &str) -> bool {
        self.requested_capabilities
            .iter()
            .any(|c| c.access_mode == access && c.attachment_mode == attachment)
    }
}

/// A snapshot of a volume, as a controller plugin reports it (Nomad's `CSISnapshot`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CsiSnapshot {
    /// The plugin's ID of the snapshot.
    #[serde(rename = "ID")]
    pub id: String,
    /// The provider's ID of the volume it was taken from.
    #[serde(rename = "ExternalSourceVolumeID")]
    pub external_source_volume_id: String,
    /// orch's ID of that volume, when known.
    #[serde(rename = "SourceVolumeID")]
    pub source_volume_id: String,
    /// The plugin that holds it.
    #[serde(rename = "PluginID")]
    pub plugin_id: String,
    /// Bytes.
    #[serde(rename = "SizeBytes")]
    pub size_bytes: i64,
    /// Unix seconds.
    #[serde(rename = "CreateTime")]
    pub create_time: i64,
    /// Whether it can be restored from yet.
    #[serde(rename = "IsReady")]
    pub is_ready: bool,
    /// The name asked for at creation.
    #[serde(rename = "Name")]
    pub name: String,
    /// Passed to the plugin (never shown back).
    #[serde(rename = "Secrets")]
    pub secrets: BTreeMap<String, String>,
    /// Passed to `CreateSnapshot`.
    #[serde(rename = "Parameters")]
    pub parameters: BTreeMap<String, String>,
}

/// Controller operations the servers ask a client to run against a controller plugin
/// (orch's own wire format between servers and clients).
pub mod controller_op {
    /// `CreateVolume`.
    pub const CREATE_VOLUME: &str = "create-volume";
    /// `DeleteVolume`.
    pub const DELETE_VOLUME: &str = "delete-volume";
    /// `ControllerPublishVolume`.
    pub const PUBLISH: &str = "publish";
    /// `ControllerUnpublishVolume`.
    pub const UNPUBLISH: &str = "unpublish";
    /// `CreateSnapshot`.
    pub const CREATE_SNAPSHOT: &str = "create-snapshot";
    /// `DeleteSnapshot`.
    pub const DELETE_SNAPSHOT: &str = "delete-snapshot";
    /// `ListSnapshots`.
    pub const LIST_SNAPSHOTS: &str = "list-snapshots";
    /// Every operation.
    pub const ALL: [&str; 7] = [
        CREATE_VOLUME,
        DELETE_VOLUME,
        PUBLISH,
        UNPUBLISH,
        CREATE_SNAPSHOT,
        DELETE_SNAPSHOT,
        LIST_SNAPSHOTS,
    ];
}

/// One controller operation's arguments; each operation reads the fields it needs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CsiControllerRequest {
    /// The plugin to call.
    #[serde(rename = "PluginID")]
    pub plugin_id: String,
    /// Volume (or snapshot) name to create.
    #[serde(rename = "Name")]
    pub name: String,
    /// The provider's volume ID (delete, publish, snapshot source).
    #[serde(rename = "ExternalID")]
    pub external_id: String,
    /// Smallest acceptable size, bytes.
    #[serde(rename = "CapacityMin")]
    pub capacity_min: i64,
    /// Largest acceptable size, bytes.
    #[serde(rename = "CapacityMax")]
    pub capacity_max: i64,
    /// What the volume must support (create), or the claim's (publish).
    #[serde(rename = "Capabilities")]
    pub capabilities: Vec<CsiCapability>,
    /// Mount options of the volume.
    #[serde(rename = "MountOptions")]
    pub mount_options: Option<CsiMountOptions>,
    /// Passed through to the plugin.
    #[serde(rename = "Secrets")]
    pub secrets: BTreeMap<String, String>,
    /// Passed through to the plugin.
    #[serde(rename = "Parameters")]
    pub parameters: BTreeMap<String, String>,
    /// The volume context (publish).
    #[serde(rename = "Context")]
    pub context: BTreeMap<String, String>,
    /// Where a new volume must be reachable.
    #[serde(rename = "RequestedTopologies")]
    pub requested_topologies: Option<CsiTopologyRequest>,
    /// Create from this snapshot; or the snapshot to delete.
    #[serde(rename = "SnapshotID")]
    pub snapshot_id: String,
    /// Create as a clone of this volume.
    #[serde(rename = "CloneID")]
    pub clone_id: String,
    /// The CSI node ID to publish to or unpublish from.
    #[serde(rename = "NodeExternalID")]
    pub node_external_id: String,
    /// Publish read-only.
    #[serde(rename = "ReadOnly")]
    pub read_only: bool,
}

/// What a controller operation answered.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CsiControllerReply {
    /// The new volume's provider ID (create).
    #[serde(rename = "ExternalID")]
    pub external_id: String,
    /// Its size in bytes (create).
    #[serde(rename = "Capacity")]
    pub capacity: i64,
    /// Its volume context (create).
    #[serde(rename = "Context")]
    pub context: BTreeMap<String, String>,
    /// Where it is reachable (create).
    #[serde(rename = "Topologies")]
    pub topologies: Vec<CsiTopology>,
    /// The publish context the node stage and publish calls need (publish).
    #[serde(rename = "PublishContext")]
    pub publish_context: BTreeMap<String, String>,
    /// Snapshots (create: the new one; list: all).
    #[serde(rename = "Snapshots")]
    pub snapshots: Vec<CsiSnapshot>,
}

/// Volume IDs: what the API, the state and plugin paths accept (Nomad allows
/// letters, digits, `-`, `_`, `.`, and `[`/`]` for per-allocation volumes).
pub const MAX_VOLUME_ID_LEN: usize = 128;

/// Checks a volume or plugin ID, so IDs can name directories and URL segments safely.
pub fn valid_csi_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_VOLUME_ID_LEN
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '[' | ']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_limits_follow_the_access_mode() {
        let snw = ClaimLimits::of(access_mode::SINGLE_NODE_WRITER).unwrap();
        assert!(snw.admits(true, 0, 0));
        assert!(!snw.admits(true, 0, 1));
        assert!(!snw.admits(false, 0, 1), "one claim in all");
        let mnsw = ClaimLimits::of(access_mode::MULTI_NODE_SINGLE_WRITER).unwrap();
        assert!(mnsw.admits(false, 5, 1));
        assert!(!mnsw.admits(true, 5, 1));
        let ro = ClaimLimits::of(access_mode::MULTI_NODE_READER).unwrap();
        assert!(!ro.admits(true, 0, 0));
        assert!(ro.admits(false, 100, 0));
        let mw = ClaimLimits::of(access_mode::MULTI_NODE_MULTI_WRITER).unwrap();
        assert!(mw.admits(true, 9, 9));
        assert!(ClaimLimits::of("everything").is_none());
    }

    #[test]
    fn per_alloc_ids_take_the_index() {
        assert_eq!(claimed_volume_id("data", true, "db.g[3]"), "data[3]");
        assert_eq!(claimed_volume_id("data", false, "db.g[3]"), "data");
    }

    #[test]
    fn ids_are_safe_path_segments() {
        assert!(valid_csi_id("data[0]"));
        assert!(!valid_csi_id(".."));
        assert!(!valid_csi_id("a/b"));
        assert!(!valid_csi_id(""));
        assert!(!valid_csi_id(&"x".repeat(200)));
    }

    #[test]
    fn topology_containment() {
        let vol = CsiTopology {
            segments: [("rack".to_string(), "r1".to_string())].into(),
        };
        let mut node = vol.clone();
        node.segments.insert("zone".into(), "z".into());
        assert!(vol.is_within(&node));
        assert!(!node.is_within(&vol));
    }
}
