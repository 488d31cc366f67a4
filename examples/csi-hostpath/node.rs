//! The Node service: a volume's directory is bind-mounted at the staging path
//! (NodeStageVolume), and the staging path at each workload's target path
//! (NodePublishVolume, read-only when asked). Every call is idempotent: the mount
//! table says what is already done.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use orch_daemon::csi::proto::*;
use tonic::Status;

use crate::capability::{check_capability, read_only_mode};
use crate::controller::topology;
use crate::mounts;
use crate::store::{Kind, Store, check_id};

/// The node's state.
pub struct Node {
    store: Store,
    node_id: String,
    max_volumes: i64,
}

impl Node {
    /// A node service for `node_id`, whose volumes are in `store`.
    pub fn new(store: Store, node_id: String, max_volumes: i64) -> Node {
        Node {
            store,
            node_id,
            max_volumes,
        }
    }

    /// `NodeGetInfo`.
    pub fn info(&self) -> NodeGetInfoResponse {
        NodeGetInfoResponse {
            node_id: self.node_id.clone(),
            max_volumes_per_node: self.max_volumes,
            accessible_topology: Some(topology(&self.node_id)),
        }
    }

    /// `NodeGetCapabilities`.
    pub fn capabilities() -> NodeGetCapabilitiesResponse {
        NodeGetCapabilitiesResponse {
            capabilities: vec![NodeServiceCapability::rpc(NodeRpc::StageUnstageVolume)],
        }
    }

    /// `NodeStageVolume`: bind-mounts the volume's directory at the staging path.
    pub fn stage(&self, req: NodeStageVolumeRequest) -> Result<NodeStageVolumeResponse, Status> {
        check_id("volume_id", &req.volume_id)?;
        let staging = absolute("staging_target_path", &req.staging_target_path)?;
        check_capability("volume_capability", req.volume_capability.as_ref())?;
        let source = self.store.data_path(Kind::Volume, &req.volume_id);
        if !source.is_dir() {
            return Err(Status::not_found(format!(
                "volume_id {}: no such volume on node {}",
                req.volume_id, self.node_id
            )));
        }
        if let Some(existing) = mounted(&staging)? {
            return match mounts::shows(&existing, &source) {
                Ok(true) => Ok(NodeStageVolumeResponse {}),
                _ => Err(Status::already_exists(format!(
                    "staging_target_path {} already holds another mount",
                    staging.display()
                ))),
            };
        }
        make_dir(&staging)?;
        mounts::bind(&source, &staging, false).map_err(|err| mount_status(&staging, &err))?;
        tracing::info!(volume = %req.volume_id, path = %staging.display(), "staged");
        Ok(NodeStageVolumeResponse {})
    }

    /// `NodeUnstageVolume`: unmounts and removes the staging path.
    pub fn unstage(
        &self,
        req: NodeUnstageVolumeRequest,
    ) -> Result<NodeUnstageVolumeResponse, Status> {
        check_id("volume_id", &req.volume_id)?;
        let staging = absolute("staging_target_path", &req.staging_target_path)?;
        unmount_and_remove(&staging)?;
        tracing::info!(volume = %req.volume_id, path = %staging.display(), "unstaged");
        Ok(NodeUnstageVolumeResponse {})
    }

    /// `NodePublishVolume`: bind-mounts the staging path at the target path.
    pub fn publish(
        &self,
        req: NodePublishVolumeRequest,
    ) -> Result<NodePublishVolumeResponse, Status> {
        check_id("volume_id", &req.volume_id)?;
        let staging = absolute("staging_target_path", &req.staging_target_path)?;
        let target = absolute("target_path", &req.target_path)?;
        check_capability("volume_capability", req.volume_capability.as_ref())?;
        let read_only = req.readonly || read_only_mode(req.volume_capability.as_ref());
        if let Some(existing) = mounted(&target)? {
            if existing.read_only != read_only {
                return Err(Status::already_exists(format!(
                    "target_path {} is already published {}",
                    target.display(),
                    if existing.read_only {
                        "read-only"
                    } else {
                        "read/write"
                    }
                )));
            }
            return Ok(NodePublishVolumeResponse {});
        }
        if mounted(&staging)?.is_none() {
            return Err(Status::failed_precondition(format!(
                "staging_target_path {}: volume {} is not staged there; call NodeStageVolume first",
                staging.display(),
                req.volume_id
            )));
        }
        make_dir(&target)?;
        mounts::bind(&staging, &target, read_only).map_err(|err| mount_status(&target, &err))?;
        tracing::info!(volume = %req.volume_id, path = %target.display(), read_only, "published");
        Ok(NodePublishVolumeResponse {})
    }

    /// `NodeUnpublishVolume`: unmounts and removes the target path.
    pub fn unpublish(
        &self,
        req: NodeUnpublishVolumeRequest,
    ) -> Result<NodeUnpublishVolumeResponse, Status> {
        check_id("volume_id", &req.volume_id)?;
        let target = absolute("target_path", &req.target_path)?;
        unmount_and_remove(&target)?;
        tracing::info!(volume = %req.volume_id, path = %target.display(), "unpublished");
        Ok(NodeUnpublishVolumeResponse {})
    }
}

/// A required absolute path without `..` components.
fn absolute(field: &str, path: &str) -> Result<PathBuf, Status> {
    if path.is_empty() {
        return Err(Status::invalid_argument(format!("{field} is required")));
    }
    let path = PathBuf::from(path);
    let parent_dir = path
        .components()
        .any(|c| c == std::path::Component::ParentDir);
    if !path.is_absolute() || parent_dir {
        return Err(Status::invalid_argument(format!(
            "{field} {} must be an absolute path without '..'",
            path.display()
        )));
    }
    Ok(path)
}

fn mounted(path: &Path) -> Result<Option<mounts::MountPoint>, Status> {
    mounts::mount_at(path)
        .map_err(|err| Status::internal(format!("cannot read the mount table: {err}")))
}

fn make_dir(path: &Path) -> Result<(), Status> {
    fs::create_dir_all(path)
        .map_err(|err| Status::internal(format!("cannot create {}: {err}", path.display())))
}

fn mount_status(path: &Path, err: &io::Error) -> Status {
    Status::internal(format!("cannot bind-mount at {}: {err}", path.display()))
}

/// Unmounts `path` (lazily if busy) and removes the empty directory; both may already
/// be undone.
fn unmount_and_remove(path: &Path) -> Result<(), Status> {
    mounts::unmount(path)
        .map_err(|err| Status::internal(format!("cannot unmount {}: {err}", path.display())))?;
    match fs::remove_dir(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(Status::internal(format!(
            "unmounted {} but cannot remove it: {err}",
            path.display()
        ))),
        _ => Ok(()),
    }
}
