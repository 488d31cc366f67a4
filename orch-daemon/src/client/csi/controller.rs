//! Controller operations the servers ask this node to run against a controller plugin
//! it hosts: create and delete volumes, publish and unpublish them for a claim, and
//! snapshots. Plugin errors keep their gRPC meaning: a refused argument or a missing
//! volume is the caller's to fix ([`ControllerError::Refused`]), anything else may
//! succeed on another controller.

use std::time::Duration;

use orch_core::model::csi::{
    CsiCapability, CsiControllerReply, CsiControllerRequest, CsiSnapshot, CsiTopology,
    attachment_mode, controller_op,
};

use super::CsiManager;
use crate::csi::proto::{
    CapacityRange, ControllerPublishVolumeRequest, CreateSnapshotRequest, CreateVolumeRequest,
    ListSnapshotsRequest, Snapshot, Topology, TopologyRequirement, VolumeContentSource,
    volume_content_source,
};
use crate::csi::{CsiError, VolumeCapability};

/// Creating volumes and snapshots copies data; give the plugin time.
const SLOW_CALL: Duration = Duration::from_secs(110);

/// Why a controller operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// The plugin refused the request itself (bad argument, not found, exists).
    #[error("{0}")]
    Refused(String),
    /// The plugin could not be reached or failed.
    #[error("{0}")]
    Failed(String),
}

impl From<CsiError> for ControllerError {
    fn from(e: CsiError) -> Self {
        if e.is_invalid_argument() || e.is_not_found() || e.is_already_exists() {
            ControllerError::Refused(e.to_string())
        } else {
            ControllerError::Failed(e.to_string())
        }
    }
}

fn capability(c: &CsiCapability, req: &CsiControllerRequest) -> VolumeCapability {
    let mode = super::mounts::access_mode_of(&c.access_mode);
    if c.attachment_mode == attachment_mode::BLOCK_DEVICE {
        return VolumeCapability::block(mode);
    }
    let opts = req.mount_options.clone().unwrap_or_default();
    VolumeCapability::mount(mode, &opts.fs_type, opts.mount_flags)
}

fn topologies(list: &[orch_core::model::csi::CsiTopology]) -> Vec<Topology> {
    list.iter()
        .map(|t| Topology {
            segments: t.segments.clone(),
        })
        .collect()
}

fn snapshot_of(s: Snapshot) -> CsiSnapshot {
    CsiSnapshot {
        id: s.snapshot_id,
        external_source_volume_id: s.source_volume_id,
        size_bytes: s.size_bytes,
        create_time: s.creation_time.map_or(0, |t| t.seconds),
        is_ready: s.ready_to_use,
        ..CsiSnapshot::default()
    }
}

/// `CreateVolume` from a controller request.
async fn create_volume(
    client: &crate::csi::CsiClient,
    req: &CsiControllerRequest,
) -> Result<CsiControllerReply, ControllerError> {
    let caps = req
        .capabilities
        .iter()
        .map(|c| capability(c, req))
        .collect();
    let source = if !req.snapshot_id.is_empty() {
        Some(VolumeContentSource::snapshot(&req.snapshot_id))
    } else if !req.clone_id.is_empty() {
        Some(VolumeContentSource {
            r#type: Some(volume_content_source::Type::Volume(
                volume_content_source::VolumeSource {
                    volume_id: req.clone_id.clone(),
                },
            )),
        })
    } else {
        None
    };
    let topo = req
        .requested_topologies
        .as_ref()
        .map(|t| TopologyRequirement {
            requisite: topologies(&t.required),
            preferred: topologies(&t.preferred),
        });
    let create = CreateVolumeRequest {
        name: req.name.clone(),
        capacity_range: Some(CapacityRange {
            required_bytes: req.capacity_min,
            limit_bytes: req.capacity_max,
        }),
        volume_capabilities: caps,
        parameters: req.parameters.clone(),
        secrets: req.secrets.clone(),
        volume_content_source: source,
        accessibility_requirements: topo,
        ..CreateVolumeRequest::default()
    };
    let v = client.create_volume(create).await?;
    Ok(CsiControllerReply {
        external_id: v.volume_id,
        capacity: v.capacity_bytes,
        context: v.volume_context,
        topologies: v
            .accessible_topology
            .into_iter()
            .map(|t| CsiTopology {
                segments: t.segments,
            })
            .collect(),
        ..CsiControllerReply::default()
    })
}

impl CsiManager {
    /// Runs controller operation `op` (a [`controller_op`] name) on the local
    /// instance of `req.plugin_id`.
    pub async fn controller(
        &self,
        op: &str,
        req: CsiControllerRequest,
    ) -> Result<CsiControllerReply, ControllerError> {
        let client = self
            .client(&req.plugin_id, true)
            .await
            .map_err(ControllerError::Failed)?
            .with_timeout(SLOW_CALL);
        let mut reply = CsiControllerReply::default();
        match op {
            controller_op::CREATE_VOLUME => reply = create_volume(&client, &req).await?,
            controller_op::DELETE_VOLUME => {
                client
                    .delete_volume(&req.external_id, req.secrets.clone())
                    .await?;
            }
            controller_op::PUBLISH => {
                let cap = req.capabilities.first().map(|c| capability(c, &req));
                let publish = ControllerPublishVolumeRequest {
                    volume_id: req.external_id.clone(),
                    node_id: req.node_external_id.clone(),
                    volume_capability: cap,
                    readonly: req.read_only,
                    secrets: req.secrets.clone(),
                    volume_context: req.context.clone(),
                };
                reply.publish_context = client.controller_publish_volume(publish).await?;
            }
            controller_op::UNPUBLISH => {
                client
                    .controller_unpublish_volume(
                        &req.external_id,
                        &req.node_external_id,
                        req.secrets.clone(),
                    )
                    .await?;
            }
            controller_op::CREATE_SNAPSHOT => {
                let create = CreateSnapshotRequest {
                    source_volume_id: req.external_id.clone(),
                    name: req.name.clone(),
                    secrets: req.secrets.clone(),
                    parameters: req.parameters.clone(),
                };
                let s = client.create_snapshot(create).await?;
                reply.snapshots.push(snapshot_of(s));
            }
            controller_op::DELETE_SNAPSHOT => {
                client
                    .delete_snapshot(&req.snapshot_id, req.secrets.clone())
                    .await?;
            }
            controller_op::LIST_SNAPSHOTS => {
                reply.snapshots = self.list_snapshots(&client, &req).await?;
            }
            other => {
                return Err(ControllerError::Refused(format!(
                    "unknown controller operation {other:?}; expected one of {}",
                    controller_op::ALL.join(", ")
                )));
            }
        }
        Ok(reply)
    }

    /// Every snapshot, page by page (at most 100 pages, so a plugin that never ends
    /// its token cannot loop us).
    async fn list_snapshots(
        &self,
        client: &crate::csi::CsiClient,
        req: &CsiControllerRequest,
    ) -> Result<Vec<CsiSnapshot>, ControllerError> {
        let mut out = Vec::new();
        let mut token = String::new();
        for _ in 0..100 {
            let page = client
                .list_snapshots(ListSnapshotsRequest {
                    max_entries: 1000,
                    starting_token: token.clone(),
                    secrets: req.secrets.clone(),
                    ..ListSnapshotsRequest::default()
                })
                .await?;
            out.extend(
                page.entries
                    .into_iter()
                    .filter_map(|e| e.snapshot)
                    .map(snapshot_of),
            );
            if page.next_token.is_empty() {
                break;
            }
            token = page.next_token;
        }
        Ok(out)
    }
}
