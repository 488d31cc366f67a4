//! `CsiClient`: the CO's side of a CSI plugin's unix socket. Every call has a deadline
//! (sent as `grpc-timeout` and enforced here too, so a plugin that ignores it cannot
//! hang the caller) and a bounded answer size ([`MAX_MESSAGE_BYTES`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use http::uri::PathAndQuery;
use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic_prost::ProstCodec;

use super::MAX_MESSAGE_BYTES;
use super::error::CsiError;
use super::methods as m;
use super::proto::*;

/// A connection to one CSI plugin's socket. Cheap to clone (one HTTP/2 connection,
/// shared); calls from many tasks are multiplexed over it.
#[derive(Clone, Debug)]
pub struct CsiClient {
    grpc: tonic::client::Grpc<Channel>,
    socket: PathBuf,
    timeout: Duration,
}

/// The plugin-wide capabilities, as booleans (`GetPluginCapabilities`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PluginCapabilities {
    /// The plugin serves the Controller service (a controller or monolith plugin).
    pub controller_service: bool,
    /// Its volumes are not reachable from every node: placement must honour topology.
    pub accessibility_constraints: bool,
    /// Volumes can grow while published.
    pub online_expansion: bool,
    /// Volumes can grow only while unpublished.
    pub offline_expansion: bool,
}

impl CsiClient {
    /// Connects to the plugin listening on `socket`; `timeout` bounds the connection
    /// and, from then on, every call.
    pub async fn connect(socket: &Path, timeout: Duration) -> Result<CsiClient, CsiError> {
        // The URI is never dialled: the connector below opens the unix socket. No
        // channel-wide request timeout: each call carries its own (`with_timeout`).
        let endpoint = Endpoint::from_static("http://csi.plugin").connect_timeout(timeout);
        let path = socket.to_path_buf();
        let connector = tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                tokio::net::UnixStream::connect(path)
                    .await
                    .map(TokioIo::new)
            }
        });
        let connect = endpoint.connect_with_connector(connector);
        let channel = match tokio::time::timeout(timeout, connect).await {
            Ok(Ok(channel)) => channel,
            Ok(Err(err)) => return Err(connect_error(socket, &err)),
            Err(_) => {
                return Err(CsiError::Connect {
                    socket: socket.to_path_buf(),
                    message: format!("no connection within {timeout:?}"),
                });
            }
        };
        let grpc = tonic::client::Grpc::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        Ok(CsiClient {
            grpc,
            socket: socket.to_path_buf(),
            timeout,
        })
    }

    /// The socket this client talks to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The same connection with another per-call deadline (CreateVolume and snapshots
    /// may need longer than a probe).
    pub fn with_timeout(&self, timeout: Duration) -> CsiClient {
        CsiClient {
            timeout,
            ..self.clone()
        }
    }

    /// The raw channel, for tests that send what this client refuses to.
    #[cfg(test)]
    pub(crate) fn raw(&self) -> tonic::client::Grpc<Channel> {
        self.grpc.clone()
    }

    /// One unary call with the deadline.
    async fn call<Req, Resp>(&self, method: &'static str, req: Req) -> Result<Resp, CsiError>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let bytes = req.encoded_len();
        if bytes > MAX_MESSAGE_BYTES {
            // Said here: tonic's encoder would only reset the stream ("h2 protocol error").
            return Err(CsiError::TooLarge {
                method,
                bytes,
                limit: MAX_MESSAGE_BYTES,
            });
        }
        let mut grpc = self.grpc.clone();
        let timeout = self.timeout;
        let socket = self.socket.clone();
        let exchange = async move {
            grpc.ready().await.map_err(|err| CsiError::Connect {
                socket,
                message: err.to_string(),
            })?;
            let mut request = tonic::Request::new(req);
            request.set_timeout(timeout);
            let codec = ProstCodec::<Req, Resp>::default();
            grpc.unary(request, PathAndQuery::from_static(method), codec)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|status| CsiError::from_status(method, status))
        };
        let started = std::time::Instant::now();
        match tokio::time::timeout(timeout, exchange).await {
            // The plugin's server may give up first on the deadline we sent it
            // (tonic answers CANCELLED then): that is our timeout too.
            Ok(Err(CsiError::Status { code, .. }))
                if started.elapsed() >= timeout
                    && matches!(code, tonic::Code::Cancelled | tonic::Code::DeadlineExceeded) =>
            {
                Err(CsiError::Timeout { method, timeout })
            }
            Ok(result) => result,
            Err(_) => Err(CsiError::Timeout { method, timeout }),
        }
    }

    // ---- Identity ----

    /// `GetPluginInfo`: the plugin's name and version.
    pub async fn get_plugin_info(&self) -> Result<GetPluginInfoResponse, CsiError> {
        self.call(m::GET_PLUGIN_INFO, GetPluginInfoRequest {}).await
    }

    /// `GetPluginCapabilities`, as booleans; values this spec version does not know
    /// are ignored.
    pub async fn get_plugin_capabilities(&self) -> Result<PluginCapabilities, CsiError> {
        let resp: GetPluginCapabilitiesResponse = self
            .call(m::GET_PLUGIN_CAPABILITIES, GetPluginCapabilitiesRequest {})
            .await?;
        Ok(plugin_capabilities(&resp))
    }

    /// `Probe`: whether the plugin is ready (an absent answer means ready, per spec).
    pub async fn probe(&self) -> Result<bool, CsiError> {
        let resp: ProbeResponse = self.call(m::PROBE, ProbeRequest {}).await?;
        Ok(resp.ready.is_none_or(|r| r.value))
    }

    // ---- Controller ----

    /// `ControllerGetCapabilities`: the controller RPCs offered (unknown ones dropped).
    pub async fn controller_get_capabilities(&self) -> Result<Vec<ControllerRpc>, CsiError> {
        let resp: ControllerGetCapabilitiesResponse = self
            .call(
                m::CONTROLLER_GET_CAPABILITIES,
                ControllerGetCapabilitiesRequest {},
            )
            .await?;
        let rpcs = resp.capabilities.iter().filter_map(|c| match c.r#type {
            Some(controller_service_capability::Type::Rpc(rpc)) => {
                ControllerRpc::try_from(rpc.r#type).ok()
            }
            None => None,
        });
        Ok(rpcs.collect())
    }

    /// `CreateVolume`: the volume made, or the existing one of that name.
    pub async fn create_volume(&self, req: CreateVolumeRequest) -> Result<Volume, CsiError> {
        let resp: CreateVolumeResponse = self.call(m::CREATE_VOLUME, req).await?;
        resp.volume.ok_or(CsiError::MissingField {
            method: m::CREATE_VOLUME,
            field: "volume",
        })
    }

    /// `DeleteVolume` (succeeds when the volume is already gone).
    pub async fn delete_volume(&self, volume_id: &str, secrets: StringMap) -> Result<(), CsiError> {
        let req = DeleteVolumeRequest {
            volume_id: volume_id.to_string(),
            secrets,
        };
        let _: DeleteVolumeResponse = self.call(m::DELETE_VOLUME, req).await?;
        Ok(())
    }

    /// `ControllerPublishVolume`: the publish context for the node's stage/publish.
    pub async fn controller_publish_volume(
        &self,
        req: ControllerPublishVolumeRequest,
    ) -> Result<StringMap, CsiError> {
        let resp: ControllerPublishVolumeResponse =
            self.call(m::CONTROLLER_PUBLISH_VOLUME, req).await?;
        Ok(resp.publish_context)
    }

    /// `ControllerUnpublishVolume` of `volume_id` from `node_id` (empty: every node).
    pub async fn controller_unpublish_volume(
        &self,
        volume_id: &str,
        node_id: &str,
        secrets: StringMap,
    ) -> Result<(), CsiError> {
        let req = ControllerUnpublishVolumeRequest {
            volume_id: volume_id.to_string(),
            node_id: node_id.to_string(),
            secrets,
        };
        let _: ControllerUnpublishVolumeResponse =
            self.call(m::CONTROLLER_UNPUBLISH_VOLUME, req).await?;
        Ok(())
    }

    /// `ValidateVolumeCapabilities`: `confirmed` is set when all are supported.
    pub async fn validate_volume_capabilities(
        &self,
        req: ValidateVolumeCapabilitiesRequest,
    ) -> Result<ValidateVolumeCapabilitiesResponse, CsiError> {
        self.call(m::VALIDATE_VOLUME_CAPABILITIES, req).await
    }

    /// `ListVolumes`: one page (`max_entries` 0: all; `starting_token` from the last page).
    pub async fn list_volumes(
        &self,
        max_entries: i32,
        starting_token: &str,
    ) -> Result<ListVolumesResponse, CsiError> {
        let req = ListVolumesRequest {
            max_entries,
            starting_token: starting_token.to_string(),
        };
        self.call(m::LIST_VOLUMES, req).await
    }

    /// `CreateSnapshot`: the snapshot cut, or the existing one of that name.
    pub async fn create_snapshot(&self, req: CreateSnapshotRequest) -> Result<Snapshot, CsiError> {
        let resp: CreateSnapshotResponse = self.call(m::CREATE_SNAPSHOT, req).await?;
        resp.snapshot.ok_or(CsiError::MissingField {
            method: m::CREATE_SNAPSHOT,
            field: "snapshot",
        })
    }

    /// `DeleteSnapshot` (succeeds when the snapshot is already gone).
    pub async fn delete_snapshot(
        &self,
        snapshot_id: &str,
        secrets: StringMap,
    ) -> Result<(), CsiError> {
        let req = DeleteSnapshotRequest {
            snapshot_id: snapshot_id.to_string(),
            secrets,
        };
        let _: DeleteSnapshotResponse = self.call(m::DELETE_SNAPSHOT, req).await?;
        Ok(())
    }

    /// `ListSnapshots`: one page, optionally filtered by volume or snapshot ID.
    pub async fn list_snapshots(
        &self,
        req: ListSnapshotsRequest,
    ) -> Result<ListSnapshotsResponse, CsiError> {
        self.call(m::LIST_SNAPSHOTS, req).await
    }

    /// `ControllerExpandVolume`: the new capacity and whether the node must expand too.
    pub async fn controller_expand_volume(
        &self,
        req: ControllerExpandVolumeRequest,
    ) -> Result<ControllerExpandVolumeResponse, CsiError> {
        self.call(m::CONTROLLER_EXPAND_VOLUME, req).await
    }

    // ---- Node ----

    /// `NodeGetInfo`: the node ID to give ControllerPublishVolume, limits, topology.
    pub async fn node_get_info(&self) -> Result<NodeGetInfoResponse, CsiError> {
        self.call(m::NODE_GET_INFO, NodeGetInfoRequest {}).await
    }

    /// `NodeGetCapabilities`: the node RPCs offered (unknown ones dropped).
    pub async fn node_get_capabilities(&self) -> Result<Vec<NodeRpc>, CsiError> {
        let resp: NodeGetCapabilitiesResponse = self
            .call(m::NODE_GET_CAPABILITIES, NodeGetCapabilitiesRequest {})
            .await?;
        let rpcs = resp.capabilities.iter().filter_map(|c| match c.r#type {
            Some(node_service_capability::Type::Rpc(rpc)) => NodeRpc::try_from(rpc.r#type).ok(),
            None => None,
        });
        Ok(rpcs.collect())
    }

    /// `NodeStageVolume`: mount the volume at the node-wide staging path.
    pub async fn node_stage_volume(&self, req: NodeStageVolumeRequest) -> Result<(), CsiError> {
        let _: NodeStageVolumeResponse = self.call(m::NODE_STAGE_VOLUME, req).await?;
        Ok(())
    }

    /// `NodeUnstageVolume` (succeeds when not staged).
    pub async fn node_unstage_volume(
        &self,
        volume_id: &str,
        staging_target_path: &str,
    ) -> Result<(), CsiError> {
        let req = NodeUnstageVolumeRequest {
            volume_id: volume_id.to_string(),
            staging_target_path: staging_target_path.to_string(),
        };
        let _: NodeUnstageVolumeResponse = self.call(m::NODE_UNSTAGE_VOLUME, req).await?;
        Ok(())
    }

    /// `NodePublishVolume`: mount the staged volume at the workload's target path.
    pub async fn node_publish_volume(&self, req: NodePublishVolumeRequest) -> Result<(), CsiError> {
        let _: NodePublishVolumeResponse = self.call(m::NODE_PUBLISH_VOLUME, req).await?;
        Ok(())
    }

    /// `NodeUnpublishVolume` (succeeds when not published).
    pub async fn node_unpublish_volume(
        &self,
        volume_id: &str,
        target_path: &str,
    ) -> Result<(), CsiError> {
        let req = NodeUnpublishVolumeRequest {
            volume_id: volume_id.to_string(),
            target_path: target_path.to_string(),
        };
        let _: NodeUnpublishVolumeResponse = self.call(m::NODE_UNPUBLISH_VOLUME, req).await?;
        Ok(())
    }
}

/// The booleans of a `GetPluginCapabilities` answer.
fn plugin_capabilities(resp: &GetPluginCapabilitiesResponse) -> PluginCapabilities {
    let mut caps = PluginCapabilities::default();
    for cap in &resp.capabilities {
        match cap.r#type {
            Some(plugin_capability::Type::Service(s)) => {
                match PluginServiceType::try_from(s.r#type) {
                    Ok(PluginServiceType::ControllerService) => caps.controller_service = true,
                    Ok(PluginServiceType::VolumeAccessibilityConstraints) => {
                        caps.accessibility_constraints = true
                    }
                    _ => {}
                }
            }
            Some(plugin_capability::Type::VolumeExpansion(e)) => {
                match VolumeExpansionType::try_from(e.r#type) {
                    Ok(VolumeExpansionType::Online) => caps.online_expansion = true,
                    Ok(VolumeExpansionType::Offline) => caps.offline_expansion = true,
                    _ => {}
                }
            }
            None => {}
        }
    }
    caps
}

/// A connection failure, with the innermost cause (tonic's own text is only
/// "transport error").
fn connect_error(socket: &Path, err: &tonic::transport::Error) -> CsiError {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message = format!("{message}: {cause_text}");
        }
        source = cause.source();
    }
    CsiError::Connect {
        socket: socket.to_path_buf(),
        message,
    }
}
