//! The host-path CSI plugin (`orch-csi-hostpath`, examples/csi-hostpath/) run as a real
//! process and driven through `orch_daemon::csi::CsiClient`: identity, volumes,
//! snapshots, and stage/publish as real bind mounts (needs root). Each test has its own
//! temporary directory and plugin; a guard kills the plugin and detaches any mount left
//! under that directory, even when an assertion fails.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use orch_daemon::csi::proto::*;
use orch_daemon::csi::{CsiClient, CsiError};

const BIN: &str = env!("CARGO_BIN_EXE_orch-csi-hostpath");
const NODE_ID: &str = "test-node";
const MIB: i64 = 1024 * 1024;

/// One running plugin in its own directory.
struct Plugin {
    dir: tempfile::TempDir,
    child: Child,
    client: CsiClient,
}

impl Plugin {
    async fn start(mode: &str) -> Plugin {
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("plugin.log")).unwrap();
        let socket = dir.path().join("csi.sock");
        let mut child = Command::new(BIN)
            .arg("--node-id")
            .arg(NODE_ID)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .arg("--mode")
            .arg(mode)
            .arg("--max-volumes")
            .arg("7")
            .env("CSI_ENDPOINT", format!("unix://{}", socket.display()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !socket.exists() {
            if let Some(status) = child.try_wait().unwrap() {
                let log = std::fs::read_to_string(dir.path().join("plugin.log")).unwrap();
                panic!("plugin exited with {status} before listening:\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "no socket at {}",
                socket.display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let client = CsiClient::connect(&socket, Duration::from_secs(10))
            .await
            .unwrap();
        Plugin { dir, child, client }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn volume_dir(&self, id: &str) -> PathBuf {
        self.path("state/volumes").join(id)
    }

    fn path_str(&self, rel: &str) -> String {
        self.path(rel).to_str().unwrap().to_string()
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        // SAFETY: the child's pid is ours until we wait for it.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGKILL) };
        let _ = self.child.wait();
        for mount in mounts_under(self.dir.path()).into_iter().rev() {
            let c = std::ffi::CString::new(mount.to_str().unwrap()).unwrap();
            // SAFETY: a valid C string for the call.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.path("plugin.log")).unwrap_or_default();
            eprintln!("--- plugin log ---\n{log}");
        }
    }
}

/// Mount points at or below `dir`, from this process's mount table.
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|p| PathBuf::from(p.replace("\\040", " ")))
        .filter(|p| p.starts_with(&dir))
        .collect()
}

fn mount_cap() -> VolumeCapability {
    VolumeCapability::mount(AccessMode::SingleNodeWriter, "", vec![])
}

fn create_req(name: &str, required: i64) -> CreateVolumeRequest {
    CreateVolumeRequest {
        name: name.to_string(),
        capacity_range: Some(CapacityRange {
            required_bytes: required,
            limit_bytes: 0,
        }),
        volume_capabilities: vec![mount_cap()],
        ..Default::default()
    }
}

fn assert_code(result: Result<impl std::fmt::Debug, CsiError>, code: tonic::Code, needle: &str) {
    let err = result.expect_err("the call should fail");
    assert_eq!(err.code(), code, "{err}");
    assert!(err.message().contains(needle), "{needle:?} not in {err}");
}

#[tokio::test]
async fn identity_capabilities_and_node_info() {
    let p = Plugin::start("monolith").await;
    let info = p.client.get_plugin_info().await.unwrap();
    assert_eq!(info.name, "orch.hostpath.csi");
    assert!(!info.vendor_version.is_empty());
    assert!(p.client.probe().await.unwrap());
    let caps = p.client.get_plugin_capabilities().await.unwrap();
    assert!(caps.controller_service && caps.accessibility_constraints);
    assert!(caps.online_expansion && !caps.offline_expansion);
    let ctrl = p.client.controller_get_capabilities().await.unwrap();
    for rpc in [
        ControllerRpc::CreateDeleteVolume,
        ControllerRpc::PublishUnpublishVolume,
        ControllerRpc::CreateDeleteSnapshot,
        ControllerRpc::ListSnapshots,
        ControllerRpc::ExpandVolume,
    ] {
        assert!(ctrl.contains(&rpc), "{rpc:?} missing from {ctrl:?}");
    }
    let node = p.client.node_get_capabilities().await.unwrap();
    assert_eq!(node, vec![NodeRpc::StageUnstageVolume]);
    let node_info = p.client.node_get_info().await.unwrap();
    assert_eq!(node_info.node_id, NODE_ID);
    assert_eq!(node_info.max_volumes_per_node, 7);
    let segments = node_info.accessible_topology.unwrap().segments;
    assert_eq!(segments["topology.orch.hostpath/node"], NODE_ID);
}

#[tokio::test]
async fn create_volume_is_idempotent_by_name_and_conflicts_are_already_exists() {
    let p = Plugin::start("monolith").await;
    let vol = p
        .client
        .create_volume(create_req("vol1", MIB))
        .await
        .unwrap();
    assert_eq!(vol.volume_id, "vol1");
    assert_eq!(vol.capacity_bytes, MIB);
    assert_eq!(
        vol.accessible_topology[0].segments["topology.orch.hostpath/node"],
        NODE_ID
    );
    assert!(p.volume_dir("vol1").is_dir());
    let again = p
        .client
        .create_volume(create_req("vol1", MIB))
        .await
        .unwrap();
    assert_eq!(again, vol);
    assert_code(
        p.client.create_volume(create_req("vol1", 2 * MIB)).await,
        tonic::Code::AlreadyExists,
        "vol1",
    );
    let listed = p.client.list_volumes(0, "").await.unwrap();
    assert_eq!(listed.entries.len(), 1);

    let expand = |required_bytes, limit_bytes| ControllerExpandVolumeRequest {
        volume_id: "vol1".into(),
        capacity_range: Some(CapacityRange {
            required_bytes,
            limit_bytes,
        }),
        ..Default::default()
    };
    let grown = p
        .client
        .controller_expand_volume(expand(4 * MIB, 0))
        .await
        .unwrap();
    assert_eq!(grown.capacity_bytes, 4 * MIB);
    assert!(!grown.node_expansion_required);
    assert_code(
        p.client.controller_expand_volume(expand(0, MIB)).await,
        tonic::Code::OutOfRange,
        "cannot shrink",
    );
    let listed = p.client.list_volumes(0, "").await.unwrap();
    assert_eq!(
        listed.entries[0].volume.as_ref().unwrap().capacity_bytes,
        4 * MIB
    );

    p.client
        .delete_volume("vol1", StringMap::new())
        .await
        .unwrap();
    assert!(!p.volume_dir("vol1").exists());
    p.client
        .delete_volume("vol1", StringMap::new())
        .await
        .unwrap();
}

#[tokio::test]
async fn concurrent_creates_of_one_name_make_one_volume() {
    let p = Plugin::start("monolith").await;
    let creates = (0..8).map(|_| p.client.create_volume(create_req("shared", MIB)));
    let volumes = futures_util::future::join_all(creates).await;
    let first = volumes[0].as_ref().unwrap();
    for vol in &volumes {
        assert_eq!(vol.as_ref().unwrap(), first);
    }
    let listed = p.client.list_volumes(0, "").await.unwrap();
    assert_eq!(listed.entries.len(), 1);
    let leftovers: Vec<_> = std::fs::read_dir(p.path("state/volumes"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("shared")]);
}

#[tokio::test]
async fn bad_ids_and_capabilities_are_invalid_argument_naming_the_field() {
    let p = Plugin::start("monolith").await;
    let long = "x".repeat(129);
    for name in ["", "../escape", "a/b", "..", ".hidden", long.as_str()] {
        assert_code(
            p.client.create_volume(create_req(name, 0)).await,
            tonic::Code::InvalidArgument,
            "name",
        );
    }
    assert!(!p.path("escape").exists());
    let mut block = create_req("blk", 0);
    block.volume_capabilities = vec![VolumeCapability::block(AccessMode::SingleNodeWriter)];
    assert_code(
        p.client.create_volume(block).await,
        tonic::Code::InvalidArgument,
        "block volumes are not supported",
    );
    assert_code(
        p.client.delete_volume("../state", StringMap::new()).await,
        tonic::Code::InvalidArgument,
        "volume_id",
    );
    assert_code(
        p.client.node_unpublish_volume("ok", "relative/path").await,
        tonic::Code::InvalidArgument,
        "target_path",
    );
    assert!(p.path("state").is_dir());
}

#[tokio::test]
async fn controller_publish_checks_volume_and_node() {
    let p = Plugin::start("monolith").await;
    p.client
        .create_volume(create_req("data", MIB))
        .await
        .unwrap();
    let publish = ControllerPublishVolumeRequest {
        volume_id: "data".into(),
        node_id: NODE_ID.into(),
        volume_capability: Some(mount_cap()),
        ..Default::default()
    };
    let context = p
        .client
        .controller_publish_volume(publish.clone())
        .await
        .unwrap();
    assert!(context.is_empty());
    let elsewhere = ControllerPublishVolumeRequest {
        node_id: "other-node".into(),
        ..publish.clone()
    };
    assert_code(
        p.client.controller_publish_volume(elsewhere).await,
        tonic::Code::NotFound,
        "other-node",
    );
    let missing = ControllerPublishVolumeRequest {
        volume_id: "missing".into(),
        ..publish
    };
    assert_code(
        p.client.controller_publish_volume(missing).await,
        tonic::Code::NotFound,
        "missing",
    );
    let none = StringMap::new;
    p.client
        .controller_unpublish_volume("data", NODE_ID, none())
        .await
        .unwrap();
    p.client
        .controller_unpublish_volume("gone", NODE_ID, none())
        .await
        .unwrap();
}

/// Stages `volume` at `<dir>/staging` (twice: idempotent) and returns that path.
async fn stage(p: &Plugin, volume: &str) -> String {
    let staging = p.path_str("staging");
    let req = NodeStageVolumeRequest {
        volume_id: volume.into(),
        staging_target_path: staging.clone(),
        volume_capability: Some(mount_cap()),
        ..Default::default()
    };
    p.client.node_stage_volume(req.clone()).await.unwrap();
    p.client.node_stage_volume(req).await.unwrap();
    staging
}

fn publish_req(
    volume: &str,
    staging: &str,
    target: &str,
    readonly: bool,
) -> NodePublishVolumeRequest {
    NodePublishVolumeRequest {
        volume_id: volume.into(),
        staging_target_path: staging.into(),
        target_path: target.into(),
        volume_capability: Some(mount_cap()),
        readonly,
        ..Default::default()
    }
}

#[tokio::test]
async fn stage_and_publish_are_bind_mounts_undone_without_a_trace() {
    let p = Plugin::start("monolith").await;
    p.client
        .create_volume(create_req("data", MIB))
        .await
        .unwrap();
    let staging = stage(&p, "data").await;
    p.client
        .create_volume(create_req("other", 0))
        .await
        .unwrap();
    let other_stage = NodeStageVolumeRequest {
        volume_id: "other".into(),
        staging_target_path: staging.clone(),
        volume_capability: Some(mount_cap()),
        ..Default::default()
    };
    assert_code(
        p.client.node_stage_volume(other_stage).await,
        tonic::Code::AlreadyExists,
        "another mount",
    );

    let rw = p.path_str("rw");
    p.client
        .node_publish_volume(publish_req("data", &staging, &rw, false))
        .await
        .unwrap();
    p.client
        .node_publish_volume(publish_req("data", &staging, &rw, false))
        .await
        .unwrap();
    std::fs::write(Path::new(&rw).join("hello.txt"), b"from the task").unwrap();
    let landed = std::fs::read(p.volume_dir("data").join("hello.txt")).unwrap();
    assert_eq!(landed, b"from the task");
    assert_eq!(mounts_under(p.dir.path()).len(), 2);
    assert_code(
        p.client.delete_volume("data", StringMap::new()).await,
        tonic::Code::FailedPrecondition,
        "unstage",
    );

    for _ in 0..2 {
        p.client.node_unpublish_volume("data", &rw).await.unwrap();
    }
    assert!(!Path::new(&rw).exists());
    for _ in 0..2 {
        p.client
            .node_unstage_volume("data", &staging)
            .await
            .unwrap();
    }
    assert_eq!(mounts_under(p.dir.path()), Vec::<PathBuf>::new());
    assert!(!Path::new(&staging).exists());
    // The data outlives the mounts; once unmounted the volume can go.
    assert!(p.volume_dir("data").join("hello.txt").is_file());
    p.client
        .delete_volume("data", StringMap::new())
        .await
        .unwrap();
    assert!(!p.volume_dir("data").exists());
}

#[tokio::test]
async fn a_read_only_publish_refuses_writes_and_block_is_refused() {
    let p = Plugin::start("monolith").await;
    p.client
        .create_volume(create_req("data", MIB))
        .await
        .unwrap();
    std::fs::write(p.volume_dir("data").join("hello.txt"), b"kept").unwrap();
    let staging = stage(&p, "data").await;
    let ro = p.path_str("ro");
    p.client
        .node_publish_volume(publish_req("data", &staging, &ro, true))
        .await
        .unwrap();
    p.client
        .node_publish_volume(publish_req("data", &staging, &ro, true))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(Path::new(&ro).join("hello.txt")).unwrap(),
        b"kept"
    );
    let err = std::fs::write(Path::new(&ro).join("nope.txt"), b"x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
    assert_code(
        p.client
            .node_publish_volume(publish_req("data", &staging, &ro, false))
            .await,
        tonic::Code::AlreadyExists,
        "read-only",
    );
    let mut block = publish_req("data", &staging, &p.path_str("blk"), false);
    block.volume_capability = Some(VolumeCapability::block(AccessMode::SingleNodeWriter));
    assert_code(
        p.client.node_publish_volume(block).await,
        tonic::Code::InvalidArgument,
        "block volumes are not supported",
    );
    p.client.node_unpublish_volume("data", &ro).await.unwrap();
    p.client
        .node_unstage_volume("data", &staging)
        .await
        .unwrap();
    assert_eq!(mounts_under(p.dir.path()), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn publish_before_stage_is_failed_precondition() {
    let p = Plugin::start("monolith").await;
    p.client.create_volume(create_req("v", 0)).await.unwrap();
    let req = NodePublishVolumeRequest {
        volume_id: "v".into(),
        staging_target_path: p.path_str("not-staged"),
        target_path: p.path_str("target"),
        volume_capability: Some(mount_cap()),
        ..Default::default()
    };
    assert_code(
        p.client.node_publish_volume(req).await,
        tonic::Code::FailedPrecondition,
        "NodeStageVolume",
    );
    assert_eq!(mounts_under(p.dir.path()), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn snapshots_copy_content_and_volumes_restore_from_them() {
    let p = Plugin::start("monolith").await;
    p.client
        .create_volume(create_req("src", MIB))
        .await
        .unwrap();
    std::fs::create_dir(p.volume_dir("src").join("sub")).unwrap();
    std::fs::write(p.volume_dir("src").join("sub/f.txt"), b"snapshotted").unwrap();
    let req = CreateSnapshotRequest {
        source_volume_id: "src".into(),
        name: "snap1".into(),
        ..Default::default()
    };
    let snap = p.client.create_snapshot(req.clone()).await.unwrap();
    assert_eq!(snap.snapshot_id, "snap1");
    assert_eq!(snap.source_volume_id, "src");
    assert_eq!(snap.size_bytes, 11);
    assert!(snap.ready_to_use && snap.creation_time.is_some());
    assert_eq!(p.client.create_snapshot(req).await.unwrap(), snap);
    // A later write to the volume does not reach the snapshot.
    std::fs::write(p.volume_dir("src").join("sub/f.txt"), b"changed").unwrap();

    let list = |source: &str| ListSnapshotsRequest {
        source_volume_id: source.to_string(),
        ..Default::default()
    };
    let listed = p.client.list_snapshots(list("src")).await.unwrap();
    assert_eq!(listed.entries.len(), 1);
    assert_eq!(listed.entries[0].snapshot.as_ref(), Some(&snap));
    assert!(
        p.client
            .list_snapshots(list("other"))
            .await
            .unwrap()
            .entries
            .is_empty()
    );

    let mut restore = create_req("restored", MIB);
    restore.volume_content_source = Some(VolumeContentSource::snapshot("snap1"));
    let vol = p.client.create_volume(restore).await.unwrap();
    assert_eq!(
        vol.content_source,
        Some(VolumeContentSource::snapshot("snap1"))
    );
    let copied = std::fs::read(p.volume_dir("restored").join("sub/f.txt")).unwrap();
    assert_eq!(copied, b"snapshotted");
    let mode = std::fs::metadata(p.volume_dir("restored"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o777);

    let mut missing = create_req("from-missing", 0);
    missing.volume_content_source = Some(VolumeContentSource::snapshot("nope"));
    assert_code(
        p.client.create_volume(missing).await,
        tonic::Code::NotFound,
        "nope",
    );

    p.client
        .delete_snapshot("snap1", StringMap::new())
        .await
        .unwrap();
    p.client
        .delete_snapshot("snap1", StringMap::new())
        .await
        .unwrap();
    assert!(
        p.client
            .list_snapshots(list(""))
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    assert!(!p.path("state/snapshots/snap1").exists());
}

#[tokio::test]
async fn node_mode_offers_no_controller() {
    let p = Plugin::start("node").await;
    let caps = p.client.get_plugin_capabilities().await.unwrap();
    assert!(!caps.controller_service && caps.accessibility_constraints);
    assert_code(
        p.client.create_volume(create_req("v", 0)).await,
        tonic::Code::Unimplemented,
        "node mode",
    );
    assert_eq!(p.client.node_get_info().await.unwrap().node_id, NODE_ID);
}

#[tokio::test]
async fn sigterm_stops_the_plugin_and_removes_its_socket() {
    let mut p = Plugin::start("monolith").await;
    // SAFETY: the child's pid is ours until we wait for it.
    unsafe { libc::kill(p.child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = p.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "plugin ignored SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status}");
    assert!(!p.path("csi.sock").exists());
    let err = CsiClient::connect(&p.path("csi.sock"), Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("check that the plugin task is running"),
        "{err}"
    );
}

#[test]
fn bad_flags_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["--endpoint", "unix:///tmp/x.sock", "--state-dir"])
        .arg(dir.path())
        .args(["--mode", "sideways"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--mode \"sideways\""), "{stderr}");
    let out = Command::new(BIN).arg("--state-dir").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
