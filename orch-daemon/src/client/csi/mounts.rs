//! Mounting CSI volumes for an allocation: the volume's details from the servers, the
//! controller's publish (through the servers), `NodeStageVolume` into a staging
//! directory shared by every allocation of this node using the volume, then
//! `NodePublishVolume` into the allocation's own target directory, which the task's
//! driver bind-mounts like a host volume.
//!
//! What was mounted is recorded in `<state_dir>/csi/mounts/<alloc>.json` before the
//! task starts, so unmounting works after a client restart, and a staging directory
//! is unstaged only when no other allocation's record still uses it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use orch_core::model::csi::{CsiVolume, attachment_mode};
use orch_core::model::{Allocation, VolumeRequest};
use serde::{Deserialize, Serialize};

use super::CsiManager;
use crate::csi::proto::{NodePublishVolumeRequest, NodeStageVolumeRequest};
use crate::csi::{AccessMode, CsiClient, NodeRpc, VolumeCapability};

/// How long a claim waits for this node's instance of the plugin to answer.
const PLUGIN_WAIT: Duration = Duration::from_secs(60);

/// One volume mounted for an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountedVolume {
    /// The group's volume request name.
    pub request: String,
    /// The volume's namespace and ID in orch.
    pub namespace: String,
    /// See `namespace`.
    pub volume_id: String,
    /// The plugin serving it.
    pub plugin_id: String,
    /// The provider's ID of the volume.
    pub external_id: String,
    /// This node's ID as the plugin knows it.
    pub node_external_id: String,
    /// Where it is staged (none when the plugin does not stage).
    pub staging: Option<PathBuf>,
    /// Where it is published for this allocation: what the task mounts.
    pub target: PathBuf,
}

/// The CSI access mode of an orch access mode name.
pub(super) fn access_mode_of(name: &str) -> AccessMode {
    use orch_core::model::csi::access_mode as m;
    match name {
        m::SINGLE_NODE_READER => AccessMode::SingleNodeReaderOnly,
        m::SINGLE_NODE_WRITER => AccessMode::SingleNodeWriter,
        m::MULTI_NODE_READER => AccessMode::MultiNodeReaderOnly,
        m::MULTI_NODE_SINGLE_WRITER => AccessMode::MultiNodeSingleWriter,
        m::MULTI_NODE_MULTI_WRITER => AccessMode::MultiNodeMultiWriter,
        _ => AccessMode::Unknown,
    }
}

/// The capability a claim asks the plugin for: the group's modes, the volume's mount
/// options with the group's on top.
fn capability(req: &VolumeRequest, vol: &CsiVolume) -> VolumeCapability {
    let mode = access_mode_of(&req.access_mode);
    if req.attachment_mode == attachment_mode::BLOCK_DEVICE {
        return VolumeCapability::block(mode);
    }
    let base = vol.mount_options.clone().unwrap_or_default();
    let over = req.mount_options.clone().unwrap_or_default();
    let fs_type = if over.fs_type.is_empty() {
        base.fs_type
    } else {
        over.fs_type
    };
    let mut flags = base.mount_flags;
    flags.extend(over.mount_flags);
    VolumeCapability::mount(mode, &fs_type, flags)
}

impl CsiManager {
    /// Stages and publishes the volume `alloc`'s group asks for under `request`;
    /// returns what to bind into the tasks. The record is written before anything is
    /// mounted or published, so whatever happens next can be undone.
    pub async fn mount(
        &self,
        alloc: &Allocation,
        request: &str,
        req: &VolumeRequest,
    ) -> Result<MountedVolume, String> {
        let vol = self
            .conn
            .claimed_volume(&self.node_id, &alloc.id, request)
            .await?;
        let client = self.wait_for_plugin(&vol.plugin_id).await?;
        let info = client.node_get_info().await.map_err(|e| e.to_string())?;
        let stages = client
            .node_get_capabilities()
            .await
            .map_err(|e| e.to_string())?
            .contains(&NodeRpc::StageUnstageVolume);
        let usage = format!("{}-{}", req.access_mode, req.attachment_mode);
        let base = self.node_dir(&vol.plugin_id);
        let staging = stages.then(|| {
            base.join("staging")
                .join(&vol.namespace)
                .join(&vol.id)
                .join(&usage)
        });
        let mounted = MountedVolume {
            request: request.to_string(),
            namespace: vol.namespace.clone(),
            volume_id: vol.id.clone(),
            plugin_id: vol.plugin_id.clone(),
            external_id: vol.external_id.clone(),
            node_external_id: info.node_id.clone(),
            staging,
            target: base
                .join("per-alloc")
                .join(&alloc.id)
                .join(&vol.id)
                .join(&usage),
        };
        let _guard = self.mount_lock.lock().await;
        self.add_record(&alloc.id, &mounted)?;
        let publish_context = self
            .conn
            .csi_controller(&self.node_id, "publish", &alloc.id, request, &info.node_id)
            .await?;
        let cap = capability(req, &vol);
        if let Some(staging) = &mounted.staging {
            mkdir(staging)?;
            let stage = NodeStageVolumeRequest {
                volume_id: vol.external_id.clone(),
                publish_context: publish_context.clone(),
                staging_target_path: staging.display().to_string(),
                volume_capability: Some(cap.clone()),
                secrets: vol.secrets.clone(),
                volume_context: vol.context.clone(),
            };
            client
                .node_stage_volume(stage)
                .await
                .map_err(|e| e.to_string())?;
        }
        if let Some(parent) = mounted.target.parent() {
            mkdir(parent)?;
        }
        let publish = NodePublishVolumeRequest {
            volume_id: vol.external_id.clone(),
            publish_context,
            staging_target_path: mounted
                .staging
                .as_ref()
                .map(|s| s.display().to_string())
                .unwrap_or_default(),
            target_path: mounted.target.display().to_string(),
            volume_capability: Some(cap),
            readonly: req.read_only,
            secrets: vol.secrets.clone(),
            volume_context: vol.context.clone(),
        };
        client
            .node_publish_volume(publish)
            .await
            .map_err(|e| e.to_string())?;
        Ok(mounted)
    }

    /// Unpublishes (and, when nothing else here uses it, unstages and has the
    /// controller unpublish from this node) every volume mounted for `alloc_id`.
    /// Volumes that failed stay in the record, so `volume detach` (or the next stop)
    /// can finish the job; errors are logged, the allocation is over either way.
    pub async fn unmount_alloc(&self, alloc_id: &str) {
        let _guard = self.mount_lock.lock().await;
        let records = self.records(alloc_id);
        if records.is_empty() {
            return;
        }
        let mut failed = Vec::new();
        for m in &records {
            if let Err(e) = self.unmount_one(alloc_id, m).await {
                tracing::warn!(alloc = alloc_id, volume = %m.volume_id, error = %e, "unmounting a CSI volume failed; `orch volume detach` retries");
                failed.push(m.clone());
            }
        }
        if failed.is_empty() {
            let _ = std::fs::remove_file(self.record_path(alloc_id));
            for m in &records {
                let dir = self.node_dir(&m.plugin_id).join("per-alloc").join(alloc_id);
                let _ = std::fs::remove_dir_all(dir);
            }
        } else if let Err(e) = self.write_records(alloc_id, &failed) {
            tracing::warn!(alloc = alloc_id, error = %e, "cannot keep the record of CSI volumes left mounted");
        }
    }

    async fn unmount_one(&self, alloc_id: &str, m: &MountedVolume) -> Result<(), String> {
        let client = self.wait_for_plugin(&m.plugin_id).await?;
        let target = m.target.display().to_string();
        client
            .node_unpublish_volume(&m.external_id, &target)
            .await
            .map_err(|e| e.to_string())?;
        let others = self.others_using(alloc_id, m);
        if let Some(staging) = &m.staging
            && !others.iter().any(|o| o.staging.as_deref() == Some(staging))
        {
            let path = staging.display().to_string();
            client
                .node_unstage_volume(&m.external_id, &path)
                .await
                .map_err(|e| e.to_string())?;
        }
        // Detached from the node only once no allocation here uses the volume.
        if others.is_empty() {
            self.conn
                .csi_controller(
                    &self.node_id,
                    "unpublish",
                    alloc_id,
                    &m.request,
                    &m.node_external_id,
                )
                .await?;
        }
        Ok(())
    }

    /// Unmounts what is left of volume `namespace`/`volume_id` on this node for
    /// allocations that are not in `live` (what `volume detach` asks).
    pub async fn detach(
        &self,
        namespace: &str,
        volume_id: &str,
        live: &[String],
    ) -> Result<usize, String> {
        let mut done = 0;
        for (alloc, records) in self.all_records() {
            let hit = records
                .iter()
                .any(|m| m.namespace == namespace && m.volume_id == volume_id);
            if !hit {
                continue;
            }
            if live.contains(&alloc) {
                return Err(format!(
                    "volume {volume_id:?} is still used by allocation {alloc} on this node; stop it first"
                ));
            }
            self.unmount_alloc(&alloc).await;
            done += 1;
        }
        Ok(done)
    }

    async fn wait_for_plugin(&self, plugin_id: &str) -> Result<CsiClient, String> {
        let deadline = Instant::now() + PLUGIN_WAIT;
        loop {
            match self.client(plugin_id, false).await {
                Ok(c) if c.probe().await.unwrap_or(false) => return Ok(c),
                Ok(_) | Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Ok(_) => {
                    return Err(format!(
                        "CSI plugin {plugin_id:?} is not ready on this node"
                    ));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// What is recorded as mounted for `alloc_id`.
    pub fn mounted(&self, alloc_id: &str) -> Vec<MountedVolume> {
        self.records(alloc_id)
    }

    fn record_path(&self, alloc_id: &str) -> PathBuf {
        self.root.join("mounts").join(format!("{alloc_id}.json"))
    }

    fn records(&self, alloc_id: &str) -> Vec<MountedVolume> {
        std::fs::read(self.record_path(alloc_id))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn add_record(&self, alloc_id: &str, m: &MountedVolume) -> Result<(), String> {
        let mut all = self.records(alloc_id);
        all.retain(|r| r.request != m.request);
        all.push(m.clone());
        self.write_records(alloc_id, &all)
    }

    fn write_records(&self, alloc_id: &str, all: &[MountedVolume]) -> Result<(), String> {
        let path = self.record_path(alloc_id);
        if let Some(dir) = path.parent() {
            mkdir(dir)?;
        }
        let bytes = serde_json::to_vec(&all).map_err(|e| e.to_string())?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("cannot record the CSI mounts in {}: {e}", path.display()))
    }

    /// Every allocation's records (bounded: one file per allocation on this node).
    fn all_records(&self) -> Vec<(String, Vec<MountedVolume>)> {
        let Ok(dir) = std::fs::read_dir(self.root.join("mounts")) else {
            return Vec::new();
        };
        dir.filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                let alloc = name.strip_suffix(".json")?.to_string();
                let recs = self.records(&alloc);
                Some((alloc, recs))
            })
            .collect()
    }

    /// The other allocations' records of the same volume on this node.
    fn others_using(&self, except_alloc: &str, m: &MountedVolume) -> Vec<MountedVolume> {
        self.all_records()
            .into_iter()
            .filter(|(alloc, _)| alloc != except_alloc)
            .flat_map(|(_, recs)| recs)
            .filter(|r| r.namespace == m.namespace && r.volume_id == m.volume_id)
            .collect()
    }
}

fn mkdir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}
