//! The client and server halves against each other in one process: defaults answer
//! UNIMPLEMENTED, deadlines and message bounds hold, stale sockets are replaced.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use super::proto::*;
use super::*;

/// Identity only, with a probe that can be made slow.
struct Fake {
    probe_delay: Duration,
}

impl IdentityService for Fake {
    async fn get_plugin_info(&self) -> CsiResult<GetPluginInfoResponse> {
        Ok(GetPluginInfoResponse {
            name: "fake.csi".into(),
            vendor_version: "1".into(),
            manifest: StringMap::new(),
        })
    }

    async fn get_plugin_capabilities(&self) -> CsiResult<GetPluginCapabilitiesResponse> {
        Ok(GetPluginCapabilitiesResponse::default())
    }

    async fn probe(&self) -> CsiResult<ProbeResponse> {
        tokio::time::sleep(self.probe_delay).await;
        Ok(ProbeResponse { ready: None })
    }
}

impl ControllerService for Fake {}
impl NodeService for Fake {}

/// Serves `Fake` on `socket` until the returned sender is dropped or fired.
async fn start(
    socket: &Path,
    probe_delay: Duration,
) -> (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), CsiError>>,
) {
    let (stop, stopped) = oneshot::channel::<()>();
    let path = socket.to_path_buf();
    let plugin = Arc::new(Fake { probe_delay });
    let task = tokio::spawn(async move {
        serve(&path, plugin, async move {
            let _ = stopped.await;
        })
        .await
    });
    // Ready once it accepts (a stale socket file may be there before `serve` binds).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(socket).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing serves {}",
            socket.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (stop, task)
}

#[tokio::test]
async fn defaults_are_unimplemented_and_absent_readiness_means_ready() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("sub/csi.sock");
    // A stale socket from an earlier run is in the way: `serve` replaces it.
    std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let (stop, task) = start(&socket, Duration::ZERO).await;
    let client = CsiClient::connect(&socket, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(client.get_plugin_info().await.unwrap().name, "fake.csi");
    assert!(client.probe().await.unwrap());
    assert_eq!(
        client.get_plugin_capabilities().await.unwrap(),
        PluginCapabilities::default()
    );
    let err = client
        .create_volume(CreateVolumeRequest::default())
        .await
        .unwrap_err();
    assert!(err.is_unimplemented(), "{err}");
    assert!(err.message().contains("CreateVolume"), "{err}");
    let err = client.node_get_info().await.unwrap_err();
    assert!(err.is_unimplemented(), "{err}");
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
    assert!(!socket.exists(), "serve removes its socket");
}

#[tokio::test]
async fn a_slow_plugin_hits_the_deadline_and_big_messages_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("csi.sock");
    let (_stop, _task) = start(&socket, Duration::from_secs(30)).await;
    let client = CsiClient::connect(&socket, Duration::from_secs(5))
        .await
        .unwrap();
    let quick = client.with_timeout(Duration::from_millis(200));
    let err = quick.probe().await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::DeadlineExceeded, "{err}");
    assert!(err.is_retryable());

    let mut req = CreateVolumeRequest::default();
    req.parameters
        .insert("big".into(), "x".repeat(MAX_MESSAGE_BYTES + 1));
    let err = client.create_volume(req).await.unwrap_err();
    // Refused before it is sent, saying what to shorten.
    assert!(matches!(err, CsiError::TooLarge { .. }), "{err}");
    assert_eq!(err.code(), tonic::Code::OutOfRange, "{err}");
    assert!(err.to_string().contains("shorten"), "{err}");
    // The server bounds what it accepts too, whatever a client sends.
    let mut raw = client
        .raw()
        .max_encoding_message_size(4 * MAX_MESSAGE_BYTES);
    let mut big = CreateVolumeRequest::default();
    big.parameters
        .insert("big".into(), "x".repeat(MAX_MESSAGE_BYTES + 1));
    raw.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<CreateVolumeRequest, CreateVolumeResponse>::default();
    let path = http::uri::PathAndQuery::from_static(methods::CREATE_VOLUME);
    let status = raw
        .unary(tonic::Request::new(big), path, codec)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status}");
    // The connection stays usable.
    assert_eq!(client.get_plugin_info().await.unwrap().vendor_version, "1");
}

#[tokio::test]
async fn a_file_in_the_way_is_refused_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("csi.sock");
    std::fs::write(&socket, b"precious").unwrap();
    let err = serve(
        &socket,
        Arc::new(Fake {
            probe_delay: Duration::ZERO,
        }),
        async {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CsiError::Listen { .. }), "{err}");
    assert!(err.to_string().contains("not a socket"), "{err}");
    assert_eq!(std::fs::read(&socket).unwrap(), b"precious");
}

#[tokio::test]
async fn connecting_to_nothing_says_what_to_check() {
    let dir = tempfile::tempdir().unwrap();
    let err = CsiClient::connect(&dir.path().join("none.sock"), Duration::from_secs(2))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    assert!(err.to_string().contains("none.sock"), "{err}");
    assert!(
        err.to_string()
            .contains("check that the plugin task is running"),
        "{err}"
    );
}
