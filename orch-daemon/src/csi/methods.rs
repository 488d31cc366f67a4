//! The gRPC paths of the CSI v1 RPCs orch calls and serves, shared by the client and the
//! server so the two cannot disagree (`/<package>.<Service>/<Method>`).

/// The Identity service's name.
pub const IDENTITY: &str = "csi.v1.Identity";
/// The Controller service's name.
pub const CONTROLLER: &str = "csi.v1.Controller";
/// The Node service's name.
pub const NODE: &str = "csi.v1.Node";

/// Identity.GetPluginInfo.
pub const GET_PLUGIN_INFO: &str = "/csi.v1.Identity/GetPluginInfo";
/// Identity.GetPluginCapabilities.
pub const GET_PLUGIN_CAPABILITIES: &str = "/csi.v1.Identity/GetPluginCapabilities";
/// Identity.Probe.
pub const PROBE: &str = "/csi.v1.Identity/Probe";

/// Controller.CreateVolume.
pub const CREATE_VOLUME: &str = "/csi.v1.Controller/CreateVolume";
/// Controller.DeleteVolume.
pub const DELETE_VOLUME: &str = "/csi.v1.Controller/DeleteVolume";
/// Controller.ControllerPublishVolume.
pub const CONTROLLER_PUBLISH_VOLUME: &str = "/csi.v1.Controller/ControllerPublishVolume";
/// Controller.ControllerUnpublishVolume.
pub const CONTROLLER_UNPUBLISH_VOLUME: &str = "/csi.v1.Controller/ControllerUnpublishVolume";
/// Controller.ValidateVolumeCapabilities.
pub const VALIDATE_VOLUME_CAPABILITIES: &str = "/csi.v1.Controller/ValidateVolumeCapabilities";
/// Controller.ListVolumes.
pub const LIST_VOLUMES: &str = "/csi.v1.Controller/ListVolumes";
/// Controller.ControllerGetCapabilities.
pub const CONTROLLER_GET_CAPABILITIES: &str = "/csi.v1.Controller/ControllerGetCapabilities";
/// Controller.CreateSnapshot.
pub const CREATE_SNAPSHOT: &str = "/csi.v1.Controller/CreateSnapshot";
/// Controller.DeleteSnapshot.
pub const DELETE_SNAPSHOT: &str = "/csi.v1.Controller/DeleteSnapshot";
/// Controller.ListSnapshots.
pub const LIST_SNAPSHOTS: &str = "/csi.v1.Controller/ListSnapshots";
/// Controller.ControllerExpandVolume.
pub const CONTROLLER_EXPAND_VOLUME: &str = "/csi.v1.Controller/ControllerExpandVolume";

/// Node.NodeStageVolume.
pub const NODE_STAGE_VOLUME: &str = "/csi.v1.Node/NodeStageVolume";
/// Node.NodeUnstageVolume.
pub const NODE_UNSTAGE_VOLUME: &str = "/csi.v1.Node/NodeUnstageVolume";
/// Node.NodePublishVolume.
pub const NODE_PUBLISH_VOLUME: &str = "/csi.v1.Node/NodePublishVolume";
/// Node.NodeUnpublishVolume.
pub const NODE_UNPUBLISH_VOLUME: &str = "/csi.v1.Node/NodeUnpublishVolume";
/// Node.NodeGetCapabilities.
pub const NODE_GET_CAPABILITIES: &str = "/csi.v1.Node/NodeGetCapabilities";
/// Node.NodeGetInfo.
pub const NODE_GET_INFO: &str = "/csi.v1.Node/NodeGetInfo";
