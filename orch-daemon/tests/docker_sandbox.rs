//! The docker driver's network sandbox hook (for bridge networking), driven through
//! the library: a task joined to an allocation's pause container shares its network
//! namespace; the sandbox is found again by ID and removed. And a socket nobody listens
//! on fingerprints as an unreachable engine.

#[path = "common/docker.rs"]
mod docker_env;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use docker_env::*;
use orch_daemon::client::driver::docker::{DockerDriver, DockerOptions};
use orch_daemon::client::driver::{Driver, DriverError, ExitResult, TaskNetwork, TaskSpec};

fn driver() -> DockerDriver {
    DockerDriver::new(DockerOptions {
        endpoint: endpoint(),
        infra_image: PAUSE.into(),
        gc_image: false,
        ..DockerOptions::default()
    })
    .unwrap()
}

fn spec(alloc_id: &str, network: Option<TaskNetwork>, script: &str) -> TaskSpec {
    let alloc_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("docker-sandbox")
        .join(alloc_id);
    let task_dir = alloc_dir.join("t");
    for d in ["local", "secrets"] {
        std::fs::create_dir_all(task_dir.join(d)).unwrap();
    }
    std::fs::create_dir_all(alloc_dir.join("alloc/logs")).unwrap();
    TaskSpec {
        alloc_id: alloc_id.to_string(),
        task_name: "t".into(),
        config: serde_json::json!({"image": BUSYBOX, "command": "/bin/sh", "args": ["-c", script]}),
        env: BTreeMap::new(),
        user: String::new(),
        log_dir: alloc_dir.join("alloc/logs"),
        task_dir,
        alloc_dir,
        log_max_files: 2,
        log_max_file_size_mb: 1,
        cpu_mhz: 100,
        memory_mb: 32,
        memory_max_mb: 0,
        node_id: "n".into(),
        node_name: "n".into(),
        ports: Vec::new(),
        network,
        volumes: Vec::new(),
    }
}

fn wait_exit(d: &DockerDriver, h: &orch_daemon::client::driver::TaskHandle) -> ExitResult {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(e) = d.try_wait(h).unwrap() {
            return e;
        }
        assert!(Instant::now() < deadline, "the task did not exit");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_task_in_a_sandbox_shares_its_network_namespace() {
    images();
    let d = driver();
    let alloc = uuid::Uuid::new_v4().to_string();
    let mut clean = Cleanup::default();
    clean.alloc(&alloc);
    let sb = d.create_network_sandbox(&alloc, Some("sandboxed")).unwrap();
    let host_view = std::fs::read_link(&sb.netns_path).unwrap();
    let net = TaskNetwork {
        netns_path: sb.netns_path.clone(),
        sandbox_container: Some(sb.container_id.clone()),
    };
    let s = spec(
        &alloc,
        Some(net),
        "readlink /proc/self/ns/net > /alloc/ns; hostname >> /alloc/ns",
    );
    let h = d.start(&s).unwrap();
    let exit = wait_exit(&d, &h);
    assert!(exit.successful(), "{exit:?}");
    d.destroy(&h).unwrap();
    let seen = std::fs::read_to_string(s.alloc_dir.join("alloc/ns")).unwrap();
    let mut lines = seen.lines();
    assert_eq!(
        lines.next(),
        host_view.to_str(),
        "the task's namespace is the sandbox's"
    );
    assert_eq!(lines.next(), Some("sandboxed"), "the sandbox's hostname");
    // A task without the sandbox has a namespace of its own.
    let alone = spec(&alloc, None, "readlink /proc/self/ns/net > /alloc/alone");
    let h = d.start(&alone).unwrap();
    wait_exit(&d, &h);
    d.destroy(&h).unwrap();
    let own = std::fs::read_to_string(alone.alloc_dir.join("alloc/alone")).unwrap();
    assert_ne!(own.trim(), host_view.to_str().unwrap_or_default());
    // Found again by ID (after a client restart), then removed.
    assert_eq!(d.recover_network_sandbox(&sb.container_id).unwrap(), sb);
    d.destroy_network_sandbox(&sb.container_id).unwrap();
    assert!(matches!(
        d.recover_network_sandbox(&sb.container_id),
        Err(DriverError::Gone(_))
    ));
    d.destroy_network_sandbox(&sb.container_id).unwrap();
}

#[test]
fn a_socket_nobody_listens_on_is_an_unreachable_engine() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("stale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("docker.sock");
    let _ = std::fs::remove_file(&sock);
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    let d = DockerDriver::new(DockerOptions {
        endpoint: format!("unix://{}", sock.display()),
        ..DockerOptions::default()
    })
    .unwrap();
    let fp = d.fingerprint();
    assert!(!fp.healthy && !fp.detected, "{fp:?}");
    assert!(
        fp.health_description
            .contains("cannot reach the Docker Engine"),
        "{}",
        fp.health_description
    );
}
