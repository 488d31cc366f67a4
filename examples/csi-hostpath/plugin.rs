//! The plugin as `orch_daemon::csi::server` sees it: the three services, each call run
//! on tokio's blocking pool (copies and mounts are blocking system calls), and the
//! services the mode leaves out answering UNIMPLEMENTED.

use std::sync::Arc;

use orch_daemon::csi::proto::*;
use orch_daemon::csi::{ControllerService, CsiResult, IdentityService, NodeService};
use tonic::Status;

use crate::controller::Controller;
use crate::flags::Mode;
use crate::node::Node;

/// The name the plugin reports (domain notation, as the spec asks).
pub const PLUGIN_NAME: &str = "orch.hostpath.csi";

/// The whole plugin.
pub struct HostPath {
    mode: Mode,
    controller: Arc<Controller>,
    node: Arc<Node>,
}

impl HostPath {
    /// A plugin serving `mode`'s services.
    pub fn new(mode: Mode, controller: Controller, node: Node) -> HostPath {
        HostPath {
            mode,
            controller: Arc::new(controller),
            node: Arc::new(node),
        }
    }

    /// Runs a controller call on the blocking pool, or refuses it in node mode.
    async fn controller<T, F>(&self, rpc: &str, f: F) -> CsiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Controller) -> CsiResult<T> + Send + 'static,
    {
        if !self.mode.controller() {
            return Err(Status::unimplemented(format!(
                "{rpc}: this instance runs in node mode (no Controller service)"
            )));
        }
        let controller = self.controller.clone();
        blocking(move || f(&controller)).await
    }

    /// Runs a node call on the blocking pool, or refuses it in controller mode.
    async fn node<T, F>(&self, rpc: &str, f: F) -> CsiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Node) -> CsiResult<T> + Send + 'static,
    {
        if !self.mode.node() {
            return Err(Status::unimplemented(format!(
                "{rpc}: this instance runs in controller mode (no Node service)"
            )));
        }
        let node = self.node.clone();
        blocking(move || f(&node)).await
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> CsiResult<T> + Send + 'static,
) -> CsiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|err| Err(Status::internal(format!("the call's worker failed: {err}"))))
}

impl IdentityService for HostPath {
    async fn get_plugin_info(&self) -> CsiResult<GetPluginInfoResponse> {
        Ok(GetPluginInfoResponse {
            name: PLUGIN_NAME.to_string(),
            vendor_version: env!("CARGO_PKG_VERSION").to_string(),
            manifest: StringMap::new(),
        })
    }

    async fn get_plugin_capabilities(&self) -> CsiResult<GetPluginCapabilitiesResponse> {
        let mut capabilities = Vec::new();
        if self.mode.controller() {
            capabilities.push(PluginCapability::service(
                PluginServiceType::ControllerService,
            ));
        }
        capabilities.push(PluginCapability::service(
            PluginServiceType::VolumeAccessibilityConstraints,
        ));
        if self.mode.controller() {
            capabilities.push(PluginCapability {
                r#type: Some(plugin_capability::Type::VolumeExpansion(
                    plugin_capability::VolumeExpansion {
                        r#type: VolumeExpansionType::Online as i32,
                    },
                )),
            });
        }
        Ok(GetPluginCapabilitiesResponse { capabilities })
    }

    async fn probe(&self) -> CsiResult<ProbeResponse> {
        Ok(ProbeResponse {
            ready: Some(BoolValue { value: true }),
        })
    }
}

impl ControllerService for HostPath {
    async fn controller_get_capabilities(&self) -> CsiResult<ControllerGetCapabilitiesResponse> {
        self.controller("ControllerGetCapabilities", |_| {
            Ok(Controller::capabilities())
        })
        .await
    }

    async fn create_volume(&self, req: CreateVolumeRequest) -> CsiResult<CreateVolumeResponse> {
        self.controller("CreateVolume", move |c| c.create_volume(req))
            .await
    }

    async fn delete_volume(&self, req: DeleteVolumeRequest) -> CsiResult<DeleteVolumeResponse> {
        self.controller("DeleteVolume", move |c| c.delete_volume(req))
            .await
    }

    async fn controller_publish_volume(
        &self,
        req: ControllerPublishVolumeRequest,
    ) -> CsiResult<ControllerPublishVolumeResponse> {
        self.controller("ControllerPublishVolume", move |c| c.publish(req))
            .await
    }

    async fn controller_unpublish_volume(
        &self,
        req: ControllerUnpublishVolumeRequest,
    ) -> CsiResult<ControllerUnpublishVolumeResponse> {
        self.controller("ControllerUnpublishVolume", move |c| c.unpublish(req))
            .await
    }

    async fn validate_volume_capabilities(
        &self,
        req: ValidateVolumeCapabilitiesRequest,
    ) -> CsiResult<ValidateVolumeCapabilitiesResponse> {
        self.controller("ValidateVolumeCapabilities", move |c| c.validate(req))
            .await
    }

    async fn list_volumes(&self, req: ListVolumesRequest) -> CsiResult<ListVolumesResponse> {
        self.controller("ListVolumes", move |c| c.list_volumes(req))
            .await
    }

    async fn create_snapshot(
        &self,
        req: CreateSnapshotRequest,
    ) -> CsiResult<CreateSnapshotResponse> {
        self.controller("CreateSnapshot", move |c| c.create_snapshot(req))
            .await
    }

    async fn delete_snapshot(
        &self,
        req: DeleteSnapshotRequest,
    ) -> CsiResult<DeleteSnapshotResponse> {
        self.controller("DeleteSnapshot", move |c| c.delete_snapshot(req))
            .await
    }

    async fn list_snapshots(&self, req: ListSnapshotsRequest) -> CsiResult<ListSnapshotsResponse> {
        self.controller("ListSnapshots", move |c| c.list_snapshots(req))
            .await
    }

    async fn controller_expand_volume(
        &self,
        req: ControllerExpandVolumeRequest,
    ) -> CsiResult<ControllerExpandVolumeResponse> {
        self.controller("ControllerExpandVolume", move |c| c.expand_volume(req))
            .await
    }
}

impl NodeService for HostPath {
    async fn node_get_info(&self) -> CsiResult<NodeGetInfoResponse> {
        self.node("NodeGetInfo", |n| Ok(n.info())).await
    }

    async fn node_get_capabilities(&self) -> CsiResult<NodeGetCapabilitiesResponse> {
        self.node("NodeGetCapabilities", |_| Ok(Node::capabilities()))
            .await
    }

    async fn node_stage_volume(
        &self,
        req: NodeStageVolumeRequest,
    ) -> CsiResult<NodeStageVolumeResponse> {
        self.node("NodeStageVolume", move |n| n.stage(req)).await
    }

    async fn node_unstage_volume(
        &self,
        req: NodeUnstageVolumeRequest,
    ) -> CsiResult<NodeUnstageVolumeResponse> {
        self.node("NodeUnstageVolume", move |n| n.unstage(req))
            .await
    }

    async fn node_publish_volume(
        &self,
        req: NodePublishVolumeRequest,
    ) -> CsiResult<NodePublishVolumeResponse> {
        self.node("NodePublishVolume", move |n| n.publish(req))
            .await
    }

    async fn node_unpublish_volume(
        &self,
        req: NodeUnpublishVolumeRequest,
    ) -> CsiResult<NodeUnpublishVolumeResponse> {
        self.node("NodeUnpublishVolume", move |n| n.unpublish(req))
            .await
    }
}
