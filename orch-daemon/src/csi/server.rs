//! The plugin's side: the three CSI services as traits, and [`serve`], which answers
//! them on a unix socket until told to stop. A plugin implements [`IdentityService`]
//! and whichever of [`ControllerService`] / [`NodeService`] it offers; every method of
//! the latter two defaults to UNIMPLEMENTED, so a node-only plugin writes
//! `impl ControllerService for P {}`.
//!
//! No generated code: each service is a small tower `Service` that routes by the gRPC
//! path and hands the call to tonic's unary glue with the prost codec.

use std::convert::Infallible;
use std::future::Future;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::Status;
use tonic::body::Body;
use tonic::server::{NamedService, UnaryService};
use tonic_prost::ProstCodec;

use super::MAX_MESSAGE_BYTES;
use super::error::CsiError;
use super::methods as m;
use super::proto::*;

/// The result of one served call.
pub type CsiResult<T> = Result<T, Status>;

/// The Identity service, which every plugin serves.
pub trait IdentityService: Send + Sync + 'static {
    /// `GetPluginInfo`.
    fn get_plugin_info(&self) -> impl Future<Output = CsiResult<GetPluginInfoResponse>> + Send;
    /// `GetPluginCapabilities`.
    fn get_plugin_capabilities(
        &self,
    ) -> impl Future<Output = CsiResult<GetPluginCapabilitiesResponse>> + Send;
    /// `Probe`.
    fn probe(&self) -> impl Future<Output = CsiResult<ProbeResponse>> + Send;
}

/// An UNIMPLEMENTED answer naming the RPC.
fn unimplemented<T>(rpc: &str) -> impl Future<Output = CsiResult<T>> + Send + use<T> {
    let status = Status::unimplemented(format!("{rpc} is not offered by this plugin"));
    async move { Err(status) }
}

/// The Controller service (controller and monolith plugins).
pub trait ControllerService: Send + Sync + 'static {
    /// `ControllerGetCapabilities`.
    fn controller_get_capabilities(
        &self,
    ) -> impl Future<Output = CsiResult<ControllerGetCapabilitiesResponse>> + Send {
        unimplemented("ControllerGetCapabilities")
    }
    /// `CreateVolume`.
    fn create_volume(
        &self,
        _req: CreateVolumeRequest,
    ) -> impl Future<Output = CsiResult<CreateVolumeResponse>> + Send {
        unimplemented("CreateVolume")
    }
    /// `DeleteVolume`.
    fn delete_volume(
        &self,
        _req: DeleteVolumeRequest,
    ) -> impl Future<Output = CsiResult<DeleteVolumeResponse>> + Send {
        unimplemented("DeleteVolume")
    }
    /// `ControllerPublishVolume`.
    fn controller_publish_volume(
        &self,
        _req: ControllerPublishVolumeRequest,
    ) -> impl Future<Output = CsiResult<ControllerPublishVolumeResponse>> + Send {
        unimplemented("ControllerPublishVolume")
    }
    /// `ControllerUnpublishVolume`.
    fn controller_unpublish_volume(
        &self,
        _req: ControllerUnpublishVolumeRequest,
    ) -> impl Future<Output = CsiResult<ControllerUnpublishVolumeResponse>> + Send {
        unimplemented("ControllerUnpublishVolume")
    }
    /// `ValidateVolumeCapabilities`.
    fn validate_volume_capabilities(
        &self,
        _req: ValidateVolumeCapabilitiesRequest,
    ) -> impl Future<Output = CsiResult<ValidateVolumeCapabilitiesResponse>> + Send {
        unimplemented("ValidateVolumeCapabilities")
    }
    /// `ListVolumes`.
    fn list_volumes(
        &self,
        _req: ListVolumesRequest,
    ) -> impl Future<Output = CsiResult<ListVolumesResponse>> + Send {
        unimplemented("ListVolumes")
    }
    /// `CreateSnapshot`.
    fn create_snapshot(
        &self,
        _req: CreateSnapshotRequest,
    ) -> impl Future<Output = CsiResult<CreateSnapshotResponse>> + Send {
        unimplemented("CreateSnapshot")
    }
    /// `DeleteSnapshot`.
    fn delete_snapshot(
        &self,
        _req: DeleteSnapshotRequest,
    ) -> impl Future<Output = CsiResult<DeleteSnapshotResponse>> + Send {
        unimplemented("DeleteSnapshot")
    }
    /// `ListSnapshots`.
    fn list_snapshots(
        &self,
        _req: ListSnapshotsRequest,
    ) -> impl Future<Output = CsiResult<ListSnapshotsResponse>> + Send {
        unimplemented("ListSnapshots")
    }
    /// `ControllerExpandVolume`.
    fn controller_expand_volume(
        &self,
        _req: ControllerExpandVolumeRequest,
    ) -> impl Future<Output = CsiResult<ControllerExpandVolumeResponse>> + Send {
        unimplemented("ControllerExpandVolume")
    }
}

/// The Node service (node and monolith plugins).
pub trait NodeService: Send + Sync + 'static {
    /// `NodeGetInfo`.
    fn node_get_info(&self) -> impl Future<Output = CsiResult<NodeGetInfoResponse>> + Send {
        unimplemented("NodeGetInfo")
    }
    /// `NodeGetCapabilities`.
    fn node_get_capabilities(
        &self,
    ) -> impl Future<Output = CsiResult<NodeGetCapabilitiesResponse>> + Send {
        unimplemented("NodeGetCapabilities")
    }
    /// `NodeStageVolume`.
    fn node_stage_volume(
        &self,
        _req: NodeStageVolumeRequest,
    ) -> impl Future<Output = CsiResult<NodeStageVolumeResponse>> + Send {
        unimplemented("NodeStageVolume")
    }
    /// `NodeUnstageVolume`.
    fn node_unstage_volume(
        &self,
        _req: NodeUnstageVolumeRequest,
    ) -> impl Future<Output = CsiResult<NodeUnstageVolumeResponse>> + Send {
        unimplemented("NodeUnstageVolume")
    }
    /// `NodePublishVolume`.
    fn node_publish_volume(
        &self,
        _req: NodePublishVolumeRequest,
    ) -> impl Future<Output = CsiResult<NodePublishVolumeResponse>> + Send {
        unimplemented("NodePublishVolume")
    }
    /// `NodeUnpublishVolume`.
    fn node_unpublish_volume(
        &self,
        _req: NodeUnpublishVolumeRequest,
    ) -> impl Future<Output = CsiResult<NodeUnpublishVolumeResponse>> + Send {
        unimplemented("NodeUnpublishVolume")
    }
}

/// Serves `plugin`'s three services on `socket` until `shutdown` completes, then
/// removes the socket. A stale socket left by a previous run is removed first; any
/// other file at that path is refused, never deleted.
pub async fn serve<P, F>(socket: &Path, plugin: Arc<P>, shutdown: F) -> Result<(), CsiError>
where
    P: IdentityService + ControllerService + NodeService,
    F: Future<Output = ()> + Send,
{
    let listener = bind(socket)?;
    let incoming = futures_util::stream::unfold(listener, |listener| async move {
        let conn = listener.accept().await.map(|(stream, _)| stream);
        Some((conn, listener))
    });
    let result = tonic::transport::Server::builder()
        .add_service(Identity(plugin.clone()))
        .add_service(Controller(plugin.clone()))
        .add_service(Node(plugin))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await;
    let _ = std::fs::remove_file(socket);
    result.map_err(|err| CsiError::Serve {
        socket: socket.to_path_buf(),
        message: err.to_string(),
    })
}

/// Prepares the socket's directory, removes a stale socket, binds.
fn bind(socket: &Path) -> Result<tokio::net::UnixListener, CsiError> {
    let listen_err = |source| CsiError::Listen {
        socket: socket.to_path_buf(),
        source,
    };
    if let Some(dir) = socket.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(listen_err)?;
    }
    match std::fs::symlink_metadata(socket) {
        Ok(meta) if meta.file_type().is_socket() => {
            std::fs::remove_file(socket).map_err(listen_err)?
        }
        Ok(_) => {
            return Err(listen_err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "a file that is not a socket is in the way; remove it or choose another path",
            )));
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(listen_err(err)),
    }
    tokio::net::UnixListener::bind(socket).map_err(listen_err)
}

/// Adapts an async closure to tonic's `UnaryService`.
struct Unary<F>(F);

impl<Req, Resp, F, Fut> UnaryService<Req> for Unary<F>
where
    F: FnMut(Req) -> Fut,
    Fut: Future<Output = CsiResult<Resp>> + Send + 'static,
{
    type Response = Resp;
    type Future = Pin<Box<dyn Future<Output = CsiResult<tonic::Response<Resp>>> + Send>>;

    fn call(&mut self, request: tonic::Request<Req>) -> Self::Future {
        let fut = (self.0)(request.into_inner());
        Box::pin(async move { fut.await.map(tonic::Response::new) })
    }
}

/// Decodes one unary request, runs `handler`, encodes its answer (or status), with the
/// message size bounds.
async fn unary<Req, Resp, F, Fut>(req: http::Request<Body>, handler: F) -> http::Response<Body>
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    F: FnMut(Req) -> Fut,
    Fut: Future<Output = CsiResult<Resp>> + Send + 'static,
{
    let mut grpc = tonic::server::Grpc::new(ProstCodec::<Resp, Req>::default())
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    grpc.unary(Unary(handler), req).await
}

/// The answer to a path no service knows.
fn unknown_method(path: &str) -> http::Response<Body> {
    Status::unimplemented(format!("unknown CSI method {path}")).into_http()
}

type RouteFuture = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

/// Routes one call of a service to the plugin method its path names:
/// `PATH => method(RequestType)` for RPCs whose trait method takes no argument,
/// `PATH => method(RequestType) with req` for those given the request.
macro_rules! route {
    ($req:expr, $plugin:expr, { $($path:path => $method:ident($reqty:ty) $(with $with:ident)?),* $(,)? }) => {{
        let req = $req;
        let plugin = $plugin;
        Box::pin(async move {
            let resp = match req.uri().path() {
                $($path => {
                    unary(req, move |r: $reqty| {
                        let p = plugin.clone();
                        async move {
                            // Counts `r` as used when the method takes no request.
                            let _ = &r;
                            p.$method($({ let $with = r; $with })?).await
                        }
                    })
                    .await
                })*
                other => unknown_method(other),
            };
            Ok(resp)
        })
    }};
}

/// Declares a service wrapper and implements tower's `Service` and tonic's
/// `NamedService` for it, routing as `route!` says.
macro_rules! grpc_service {
    ($name:ident, $service:path, $bound:path, { $($routes:tt)* }) => {
        /// One CSI service of a plugin, as tonic's server wants it.
        struct $name<P>(Arc<P>);

        impl<P> Clone for $name<P> {
            fn clone(&self) -> Self {
                $name(self.0.clone())
            }
        }

        impl<P: $bound> NamedService for $name<P> {
            const NAME: &'static str = $service;
        }

        impl<P: $bound> tower::Service<http::Request<Body>> for $name<P> {
            type Response = http::Response<Body>;
            type Error = Infallible;
            type Future = RouteFuture;

            fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
                Poll::Ready(Ok(()))
            }

            fn call(&mut self, req: http::Request<Body>) -> RouteFuture {
                route!(req, self.0.clone(), { $($routes)* })
            }
        }
    };
}

grpc_service!(Identity, m::IDENTITY, IdentityService, {
    m::GET_PLUGIN_INFO => get_plugin_info(GetPluginInfoRequest),
    m::GET_PLUGIN_CAPABILITIES => get_plugin_capabilities(GetPluginCapabilitiesRequest),
    m::PROBE => probe(ProbeRequest),
});

grpc_service!(Controller, m::CONTROLLER, ControllerService, {
    m::CONTROLLER_GET_CAPABILITIES => controller_get_capabilities(ControllerGetCapabilitiesRequest),
    m::CREATE_VOLUME => create_volume(CreateVolumeRequest) with r,
    m::DELETE_VOLUME => delete_volume(DeleteVolumeRequest) with r,
    m::CONTROLLER_PUBLISH_VOLUME => controller_publish_volume(ControllerPublishVolumeRequest) with r,
    m::CONTROLLER_UNPUBLISH_VOLUME => controller_unpublish_volume(ControllerUnpublishVolumeRequest) with r,
    m::VALIDATE_VOLUME_CAPABILITIES => validate_volume_capabilities(ValidateVolumeCapabilitiesRequest) with r,
    m::LIST_VOLUMES => list_volumes(ListVolumesRequest) with r,
    m::CREATE_SNAPSHOT => create_snapshot(CreateSnapshotRequest) with r,
    m::DELETE_SNAPSHOT => delete_snapshot(DeleteSnapshotRequest) with r,
    m::LIST_SNAPSHOTS => list_snapshots(ListSnapshotsRequest) with r,
    m::CONTROLLER_EXPAND_VOLUME => controller_expand_volume(ControllerExpandVolumeRequest) with r,
});

grpc_service!(Node, m::NODE, NodeService, {
    m::NODE_GET_INFO => node_get_info(NodeGetInfoRequest),
    m::NODE_GET_CAPABILITIES => node_get_capabilities(NodeGetCapabilitiesRequest),
    m::NODE_STAGE_VOLUME => node_stage_volume(NodeStageVolumeRequest) with r,
    m::NODE_UNSTAGE_VOLUME => node_unstage_volume(NodeUnstageVolumeRequest) with r,
    m::NODE_PUBLISH_VOLUME => node_publish_volume(NodePublishVolumeRequest) with r,
    m::NODE_UNPUBLISH_VOLUME => node_unpublish_volume(NodeUnpublishVolumeRequest) with r,
});
