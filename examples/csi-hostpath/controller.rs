//! The Controller service: volumes and snapshots as directories under the state
//! directory. Every call runs under one lock, so concurrent creates of one name cannot
//! both make it (the spec's idempotency by name).

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use orch_daemon::csi::proto::*;
use tonic::Status;

use crate::capability::check_capabilities;
use crate::store::{Kind, SnapshotMeta, Store, VolumeMeta, check_id, io_status, tree_size};

/// The segment key of this plugin's topology: volumes live on one node's disk.
pub const TOPOLOGY_KEY: &str = "topology.orch.hostpath/node";

/// The controller's state.
pub struct Controller {
    store: Store,
    node_id: String,
    lock: Mutex<()>,
}

/// `{TOPOLOGY_KEY: node_id}`.
pub fn topology(node_id: &str) -> Topology {
    Topology {
        segments: [(TOPOLOGY_KEY.to_string(), node_id.to_string())].into(),
    }
}

impl Controller {
    /// A controller over `store`, whose volumes live on `node_id`.
    pub fn new(store: Store, node_id: String) -> Controller {
        Controller {
            store,
            node_id,
            lock: Mutex::new(()),
        }
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The capabilities this controller offers.
    pub fn capabilities() -> ControllerGetCapabilitiesResponse {
        let rpcs = [
            ControllerRpc::CreateDeleteVolume,
            ControllerRpc::PublishUnpublishVolume,
            ControllerRpc::ListVolumes,
            ControllerRpc::CreateDeleteSnapshot,
            ControllerRpc::ListSnapshots,
            ControllerRpc::ExpandVolume,
        ];
        ControllerGetCapabilitiesResponse {
            capabilities: rpcs
                .into_iter()
                .map(ControllerServiceCapability::rpc)
                .collect(),
        }
    }

    fn volume(&self, meta: &VolumeMeta) -> Volume {
        Volume {
            capacity_bytes: meta.capacity_bytes,
            volume_id: meta.id.clone(),
            volume_context: StringMap::new(),
            content_source: meta
                .source_snapshot
                .as_deref()
                .map(VolumeContentSource::snapshot),
            accessible_topology: vec![topology(&self.node_id)],
        }
    }

    /// `CreateVolume`: idempotent by name; the name is the ID.
    pub fn create_volume(&self, req: CreateVolumeRequest) -> Result<CreateVolumeResponse, Status> {
        check_id("name", &req.name)?;
        check_capabilities("volume_capabilities", &req.volume_capabilities)?;
        let capacity = capacity("capacity_range", req.capacity_range)?;
        self.check_topology(req.accessibility_requirements.as_ref())?;
        let source = snapshot_source(req.volume_content_source.as_ref())?;
        let _guard = self.locked();
        if let Some(existing) = self.store.read::<VolumeMeta>(Kind::Volume, &req.name)? {
            if !capacity.fits(existing.capacity_bytes) {
                return Err(Status::already_exists(format!(
                    "volume {} exists with capacity {} bytes, outside the requested range",
                    req.name, existing.capacity_bytes
                )));
            }
            if existing.source_snapshot != source {
                return Err(Status::already_exists(format!(
                    "volume {} exists with another content source",
                    req.name
                )));
            }
            return Ok(CreateVolumeResponse {
                volume: Some(self.volume(&existing)),
            });
        }
        let source_dir = match &source {
            Some(id) => {
                if self
                    .store
                    .read::<SnapshotMeta>(Kind::Snapshot, id)?
                    .is_none()
                {
                    return Err(Status::not_found(format!(
                        "volume_content_source.snapshot.snapshot_id {id} does not exist"
                    )));
                }
                Some(self.store.data_path(Kind::Snapshot, id))
            }
            None => None,
        };
        self.store
            .create_data(Kind::Volume, &req.name, source_dir.as_deref())?;
        let meta = VolumeMeta {
            id: req.name.clone(),
            capacity_bytes: capacity.chosen(),
            source_snapshot: source,
        };
        self.store.write(Kind::Volume, &meta.id, &meta)?;
        tracing::info!(volume = %meta.id, capacity = meta.capacity_bytes, "created volume");
        Ok(CreateVolumeResponse {
            volume: Some(self.volume(&meta)),
        })
    }

    /// Refuses a requisite topology this node is not in (RESOURCE_EXHAUSTED, per spec).
    fn check_topology(&self, req: Option<&TopologyRequirement>) -> Result<(), Status> {
        let Some(req) = req.filter(|r| !r.requisite.is_empty()) else {
            return Ok(());
        };
        let ours = topology(&self.node_id);
        let reachable = req.requisite.iter().any(|t| {
            t.segments
                .iter()
                .all(|(k, v)| ours.segments.get(k) == Some(v))
        });
        if reachable {
            Ok(())
        } else {
            Err(Status::resource_exhausted(format!(
                "accessibility_requirements.requisite: this plugin only provisions on node {} \
                 ({TOPOLOGY_KEY})",
                self.node_id
            )))
        }
    }

    /// `DeleteVolume`: idempotent (an unknown ID is already deleted).
    pub fn delete_volume(&self, req: DeleteVolumeRequest) -> Result<DeleteVolumeResponse, Status> {
        check_id("volume_id", &req.volume_id)?;
        let _guard = self.locked();
        let data = self.store.data_path(Kind::Volume, &req.volume_id);
        if data.exists() && crate::mounts::is_bind_mounted(&data).unwrap_or(false) {
            return Err(Status::failed_precondition(format!(
                "volume_id {}: the volume is still staged or published on this node; \
                 unpublish and unstage it first",
                req.volume_id
            )));
        }
        self.store.remove(Kind::Volume, &req.volume_id)?;
        tracing::info!(volume = %req.volume_id, "deleted volume");
        Ok(DeleteVolumeResponse {})
    }

    /// `ControllerExpandVolume`: records the new capacity (a directory has no size, so
    /// nothing else changes and the node need not expand). Shrinking is refused.
    pub fn expand_volume(
        &self,
        req: ControllerExpandVolumeRequest,
    ) -> Result<ControllerExpandVolumeResponse, Status> {
        let range = capacity("capacity_range", req.capacity_range)?;
        if range.chosen() == 0 {
            return Err(Status::invalid_argument("capacity_range is required"));
        }
        let _guard = self.locked();
        let mut meta = self.existing_volume("volume_id", &req.volume_id)?;
        if !range.fits(meta.capacity_bytes) {
            if range.limit > 0 && meta.capacity_bytes > range.limit {
                return Err(Status::out_of_range(format!(
                    "capacity_range.limit_bytes {} is below the volume's {} bytes: volumes \
                     cannot shrink",
                    range.limit, meta.capacity_bytes
                )));
            }
            meta.capacity_bytes = range.chosen();
            self.store.write(Kind::Volume, &meta.id, &meta)?;
            tracing::info!(volume = %meta.id, capacity = meta.capacity_bytes, "expanded volume");
        }
        Ok(ControllerExpandVolumeResponse {
            capacity_bytes: meta.capacity_bytes,
            node_expansion_required: false,
        })
    }

    fn existing_volume(&self, field: &str, id: &str) -> Result<VolumeMeta, Status> {
        check_id(field, id)?;
        self.store
            .read::<VolumeMeta>(Kind::Volume, id)?
            .ok_or_else(|| Status::not_found(format!("{field} {id}: no such volume")))
    }

    /// `ControllerPublishVolume`: nothing to attach; checks the volume and the node.
    pub fn publish(
        &self,
        req: ControllerPublishVolumeRequest,
    ) -> Result<ControllerPublishVolumeResponse, Status> {
        self.existing_volume("volume_id", &req.volume_id)?;
        if req.node_id.is_empty() {
            return Err(Status::invalid_argument("node_id is required"));
        }
        let cap = req
            .volume_capability
            .ok_or_else(|| Status::invalid_argument("volume_capability is required"))?;
        check_capabilities("volume_capability", std::slice::from_ref(&cap))?;
        if req.node_id != self.node_id {
            return Err(Status::not_found(format!(
                "node_id {}: this plugin's volumes live on node {}",
                req.node_id, self.node_id
            )));
        }
        Ok(ControllerPublishVolumeResponse::default())
    }

    /// `ControllerUnpublishVolume`: nothing to detach; an unknown volume is detached.
    pub fn unpublish(
        &self,
        req: ControllerUnpublishVolumeRequest,
    ) -> Result<ControllerUnpublishVolumeResponse, Status> {
        check_id("volume_id", &req.volume_id)?;
        Ok(ControllerUnpublishVolumeResponse {})
    }

    /// `ValidateVolumeCapabilities`: mount access in any known mode is supported.
    pub fn validate(
        &self,
        req: ValidateVolumeCapabilitiesRequest,
    ) -> Result<ValidateVolumeCapabilitiesResponse, Status> {
        self.existing_volume("volume_id", &req.volume_id)?;
        if req.volume_capabilities.is_empty() {
            return Err(Status::invalid_argument("volume_capabilities is required"));
        }
        match check_capabilities("volume_capabilities", &req.volume_capabilities) {
            Ok(()) => Ok(ValidateVolumeCapabilitiesResponse {
                confirmed: Some(validate_volume_capabilities_response::Confirmed {
                    volume_context: req.volume_context,
                    volume_capabilities: req.volume_capabilities,
                    parameters: req.parameters,
                    mutable_parameters: StringMap::new(),
                }),
                message: String::new(),
            }),
            Err(status) => Ok(ValidateVolumeCapabilitiesResponse {
                confirmed: None,
                message: status.message().to_string(),
            }),
        }
    }

    /// `ListVolumes`, paged by position.
    pub fn list_volumes(&self, req: ListVolumesRequest) -> Result<ListVolumesResponse, Status> {
        let all = self.store.list::<VolumeMeta>(Kind::Volume)?;
        let (page, next_token) = paginate(&all, req.max_entries, &req.starting_token)?;
        let entries = page
            .iter()
            .map(|meta| list_volumes_response::Entry {
                volume: Some(self.volume(meta)),
                status: None,
            })
            .collect();
        Ok(ListVolumesResponse {
            entries,
            next_token,
        })
    }

    /// `CreateSnapshot`: a copy of the volume's directory, idempotent by name.
    pub fn create_snapshot(
        &self,
        req: CreateSnapshotRequest,
    ) -> Result<CreateSnapshotResponse, Status> {
        check_id("name", &req.name)?;
        self.existing_volume("source_volume_id", &req.source_volume_id)?;
        let _guard = self.locked();
        if let Some(existing) = self.store.read::<SnapshotMeta>(Kind::Snapshot, &req.name)? {
            if existing.source_volume_id != req.source_volume_id {
                return Err(Status::already_exists(format!(
                    "snapshot {} exists, of volume {}",
                    req.name, existing.source_volume_id
                )));
            }
            return Ok(CreateSnapshotResponse {
                snapshot: Some(snapshot(&existing)),
            });
        }
        let source = self.store.data_path(Kind::Volume, &req.source_volume_id);
        self.store
            .create_data(Kind::Snapshot, &req.name, Some(&source))?;
        let size = tree_size(&self.store.data_path(Kind::Snapshot, &req.name))
            .map_err(|err| io_status("measure the snapshot", &err))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let meta = SnapshotMeta {
            id: req.name.clone(),
            source_volume_id: req.source_volume_id,
            created_seconds: i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
            created_nanos: i32::try_from(now.subsec_nanos()).unwrap_or(0),
            size_bytes: size,
        };
        self.store.write(Kind::Snapshot, &meta.id, &meta)?;
        tracing::info!(snapshot = %meta.id, volume = %meta.source_volume_id, "created snapshot");
        Ok(CreateSnapshotResponse {
            snapshot: Some(snapshot(&meta)),
        })
    }

    /// `DeleteSnapshot`: idempotent.
    pub fn delete_snapshot(
        &self,
        req: DeleteSnapshotRequest,
    ) -> Result<DeleteSnapshotResponse, Status> {
        check_id("snapshot_id", &req.snapshot_id)?;
        let _guard = self.locked();
        self.store.remove(Kind::Snapshot, &req.snapshot_id)?;
        tracing::info!(snapshot = %req.snapshot_id, "deleted snapshot");
        Ok(DeleteSnapshotResponse {})
    }

    /// `ListSnapshots`, filtered by snapshot or source volume, paged by position.
    pub fn list_snapshots(
        &self,
        req: ListSnapshotsRequest,
    ) -> Result<ListSnapshotsResponse, Status> {
        let all: Vec<SnapshotMeta> = self
            .store
            .list::<SnapshotMeta>(Kind::Snapshot)?
            .into_iter()
            .filter(|s| req.snapshot_id.is_empty() || s.id == req.snapshot_id)
            .filter(|s| {
                req.source_volume_id.is_empty() || s.source_volume_id == req.source_volume_id
            })
            .collect();
        let (page, next_token) = paginate(&all, req.max_entries, &req.starting_token)?;
        let entries = page
            .iter()
            .map(|meta| list_snapshots_response::Entry {
                snapshot: Some(snapshot(meta)),
            })
            .collect();
        Ok(ListSnapshotsResponse {
            entries,
            next_token,
        })
    }
}

fn snapshot(meta: &SnapshotMeta) -> Snapshot {
    Snapshot {
        size_bytes: meta.size_bytes,
        snapshot_id: meta.id.clone(),
        source_volume_id: meta.source_volume_id.clone(),
        creation_time: Some(Timestamp {
            seconds: meta.created_seconds,
            nanos: meta.created_nanos,
        }),
        ready_to_use: true,
        group_snapshot_id: String::new(),
    }
}

/// The snapshot a volume is to be created from; clones are not offered.
fn snapshot_source(source: Option<&VolumeContentSource>) -> Result<Option<String>, Status> {
    match source.map(|s| &s.r#type) {
        None => Ok(None),
        Some(Some(volume_content_source::Type::Snapshot(s))) => {
            check_id("volume_content_source.snapshot.snapshot_id", &s.snapshot_id)?;
            Ok(Some(s.snapshot_id.clone()))
        }
        Some(Some(volume_content_source::Type::Volume(_))) => Err(Status::invalid_argument(
            "volume_content_source.volume: cloning volumes is not supported (CLONE_VOLUME)",
        )),
        Some(None) => Err(Status::invalid_argument(
            "volume_content_source needs a snapshot",
        )),
    }
}

/// A checked capacity range.
#[derive(Clone, Copy, Debug)]
struct Capacity {
    required: i64,
    limit: i64,
}

impl Capacity {
    /// Whether an existing volume of `bytes` satisfies the range.
    fn fits(self, bytes: i64) -> bool {
        bytes >= self.required && (self.limit == 0 || bytes <= self.limit)
    }

    /// What a new volume records: the required size, else the limit, else 0 (unknown).
    fn chosen(self) -> i64 {
        if self.required > 0 {
            self.required
        } else {
            self.limit
        }
    }
}

fn capacity(field: &str, range: Option<CapacityRange>) -> Result<Capacity, Status> {
    let range = range.unwrap_or_default();
    let (required, limit) = (range.required_bytes, range.limit_bytes);
    if required < 0 || limit < 0 {
        return Err(Status::invalid_argument(format!(
            "{field}: bytes must not be negative"
        )));
    }
    if limit > 0 && required > limit {
        return Err(Status::out_of_range(format!(
            "{field}: required_bytes {required} exceeds limit_bytes {limit}"
        )));
    }
    Ok(Capacity { required, limit })
}

/// One page of `all` from `token` (a position), at most `max` (0: all) long.
fn paginate<'a, T>(all: &'a [T], max: i32, token: &str) -> Result<(&'a [T], String), Status> {
    if max < 0 {
        return Err(Status::invalid_argument("max_entries must not be negative"));
    }
    let start = match token {
        "" => 0,
        t => t
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= all.len())
            .ok_or_else(|| Status::aborted(format!("starting_token {t:?} is not valid")))?,
    };
    let len = if max == 0 {
        all.len() - start
    } else {
        (max as usize).min(all.len() - start)
    };
    let end = start + len;
    let next = if end < all.len() {
        end.to_string()
    } else {
        String::new()
    };
    Ok((&all[start..end], next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_tokens_and_bad_tokens_are_aborted() {
        let all = [1, 2, 3, 4, 5];
        let (page, next) = paginate(&all, 2, "").unwrap();
        assert_eq!((page, next.as_str()), (&[1, 2][..], "2"));
        let (page, next) = paginate(&all, 2, &next).unwrap();
        assert_eq!((page, next.as_str()), (&[3, 4][..], "4"));
        let (page, next) = paginate(&all, 0, &next).unwrap();
        assert_eq!((page, next.as_str()), (&[5][..], ""));
        assert_eq!(
            paginate(&all, 1, "9").unwrap_err().code(),
            tonic::Code::Aborted
        );
        assert_eq!(
            paginate(&all, 1, "x").unwrap_err().code(),
            tonic::Code::Aborted
        );
        assert_eq!(
            paginate(&all, -1, "").unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
    }

    #[test]
    fn capacity_ranges_are_checked_and_matched() {
        let range = |required_bytes, limit_bytes| {
            capacity(
                "capacity_range",
                Some(CapacityRange {
                    required_bytes,
                    limit_bytes,
                }),
            )
        };
        assert_eq!(
            range(-1, 0).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        assert_eq!(range(5, 4).unwrap_err().code(), tonic::Code::OutOfRange);
        let r = range(2, 8).unwrap();
        assert_eq!(r.chosen(), 2);
        assert!(r.fits(2) && r.fits(8) && !r.fits(1) && !r.fits(9));
        assert_eq!(range(0, 8).unwrap().chosen(), 8);
        assert_eq!(capacity("c", None).unwrap().chosen(), 0);
    }
}
