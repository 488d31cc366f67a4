//! Unit tests of the container layout (no engine needed); the engine itself is
//! exercised by `tests/docker.rs`.

use std::path::PathBuf;

use serde_json::json;

use super::config::TaskConfig;
use super::container::{check, create_body};
use super::*;
use crate::client::driver::{PortMapping, TaskNetwork};

fn spec() -> TaskSpec {
    TaskSpec {
        alloc_id: "a1".into(),
        task_name: "web".into(),
        config: Value::Null,
        env: [("NOMAD_JOB_NAME".to_string(), "job".to_string())].into(),
        user: String::new(),
        alloc_dir: PathBuf::from("/data/alloc/a1"),
        task_dir: PathBuf::from("/data/alloc/a1/web"),
        log_dir: PathBuf::from("/data/alloc/a1/alloc/logs"),
        log_max_files: 1,
        log_max_file_size_mb: 1,
        cpu_mhz: 300,
        memory_mb: 64,
        memory_max_mb: 128,
        node_id: "n1".into(),
        node_name: "node".into(),
        ports: vec![PortMapping {
            label: "http".into(),
            host_ip: "127.0.0.1".into(),
            value: 23000,
            to: 8080,
        }],
        network: None,
        volumes: Vec::new(),
    }
}

fn cfg(v: Value) -> TaskConfig {
    TaskConfig::parse(&v).unwrap()
}

#[test]
fn the_container_is_laid_out_as_nomads() {
    let c = cfg(json!({"image": "img:1", "command": "httpd", "args": ["-f"], "ports": ["http"]}));
    let b = create_body(&spec(), &c, &DockerOptions::default()).unwrap();
    let h = b.host_config.clone().unwrap();
    assert_eq!(b.cmd, Some(vec!["httpd".to_string(), "-f".to_string()]));
    let binds = h.binds.unwrap();
    assert!(
        binds.contains(&"/data/alloc/a1/alloc:/alloc".to_string()),
        "{binds:?}"
    );
    assert!(binds.contains(&"/data/alloc/a1/web/local:/local".to_string()));
    assert!(binds.contains(&"/data/alloc/a1/web/secrets:/secrets".to_string()));
    assert_eq!(h.cpu_shares, Some(300));
    assert_eq!(h.memory, Some(128 << 20));
    assert_eq!(h.memory_reservation, Some(64 << 20));
    let ports = h.port_bindings.unwrap();
    let bound = ports["8080/tcp"].clone().unwrap();
    assert_eq!(bound[0].host_port.as_deref(), Some("23000"));
    assert_eq!(bound[0].host_ip.as_deref(), Some("127.0.0.1"));
    let labels = b.labels.unwrap();
    assert_eq!(labels["com.hashicorp.nomad.alloc_id"], "a1");
    assert_eq!(labels["com.hashicorp.nomad.job_name"], "job");
    assert_eq!(labels["com.hashicorp.nomad.node_id"], "n1");
    let env = b.env.unwrap();
    assert!(env.contains(&"NOMAD_ALLOC_DIR=/alloc".to_string()));
    assert_eq!(h.cap_drop, Some(vec!["ALL".to_string()]));
    assert!(!h.cap_add.unwrap().contains(&"CAP_NET_RAW".to_string()));
}

#[test]
fn a_task_in_a_sandbox_joins_its_namespace_without_port_bindings() {
    let mut s = spec();
    s.network = Some(TaskNetwork {
        netns_path: PathBuf::from("/proc/1/ns/net"),
        sandbox_container: Some("pause1".into()),
    });
    let c = cfg(json!({"image": "img:1", "ports": ["http"]}));
    let b = create_body(&s, &c, &DockerOptions::default()).unwrap();
    let h = b.host_config.unwrap();
    assert_eq!(h.network_mode.as_deref(), Some("container:pause1"));
    assert!(h.port_bindings.is_none());
    assert!(b.hostname.is_none());
    // What the group's network block sets is refused on the task.
    let c = cfg(json!({"image": "img:1", "dns_servers": ["127.0.0.53"]}));
    let e = create_body(&s, &c, &DockerOptions::default()).unwrap_err();
    assert!(e.to_string().contains("config.dns_servers"), "{e}");
    // A namespace no docker container holds cannot be joined.
    s.network = Some(TaskNetwork {
        netns_path: PathBuf::from("/var/run/netns/x"),
        sandbox_container: None,
    });
    let c = cfg(json!({"image": "img:1"}));
    let e = create_body(&s, &c, &DockerOptions::default()).unwrap_err();
    assert!(e.to_string().contains("docker sandbox container"), "{e}");
}

#[test]
fn privileges_host_binds_and_caps_need_the_plugins_permission() {
    let opts = DockerOptions::default();
    let e = check(&cfg(json!({"image": "i", "privileged": true})), &opts).unwrap_err();
    assert!(e.to_string().contains("allow_privileged"), "{e}");
    let e = check(&cfg(json!({"image": "i", "pid_mode": "host"})), &opts).unwrap_err();
    assert!(e.to_string().contains("config.pid_mode"), "{e}");
    let e = check(
        &cfg(json!({"image": "i", "volumes": ["/etc:/host-etc"]})),
        &opts,
    )
    .unwrap_err();
    assert!(e.to_string().contains("volumes { enabled = true }"), "{e}");
    let bind = json!({"image": "i", "mount": [{"type": "bind", "source": "/etc", "target": "/e"}]});
    assert!(check(&cfg(bind.clone()), &opts).is_err());
    let e = check(&cfg(json!({"image": "i", "volumes": ["../x:/x"]})), &opts).unwrap_err();
    assert!(e.to_string().contains("leaves the task directory"), "{e}");
    check(
        &cfg(json!({"image": "i", "volumes": ["local/data:/data"]})),
        &opts,
    )
    .unwrap();
    let e = check(&cfg(json!({"image": "i", "cap_add": ["sys_admin"]})), &opts).unwrap_err();
    assert!(e.to_string().contains("plugin \"docker\""), "{e}");
    let open = DockerOptions {
        allow_privileged: true,
        volumes_enabled: true,
        ..DockerOptions::default()
    };
    check(&cfg(json!({"image": "i", "privileged": true})), &open).unwrap();
    check(&cfg(bind), &open).unwrap();
}

#[test]
fn a_missing_port_label_is_refused() {
    let c = cfg(json!({"image": "img:1", "ports": ["db"]}));
    let e = create_body(&spec(), &c, &DockerOptions::default()).unwrap_err();
    assert!(e.to_string().contains("config.ports[0]"), "{e}");
}

#[test]
fn every_option_reaches_the_create_request() {
    let c = cfg(json!({
        "image": "img:1",
        "entrypoint": ["/bin/sh", "-c"],
        "args": ["echo"],
        "work_dir": "/local",
        "hostname": "box",
        "dns_servers": ["127.0.0.53"],
        "dns_search_domains": ["example.internal"],
        "dns_options": ["ndots:1"],
        "extra_hosts": ["db:127.0.0.2"],
        "readonly_rootfs": true,
        "init": true,
        "security_opt": ["no-new-privileges"],
        "sysctl": [{"net.core.somaxconn": "512"}],
        "ulimit": [{"nofile": "1024:2048"}],
        "shm_size": 1048576,
        "oom_score_adj": 500,
        "ipc_mode": "private",
        "devices": [{"host_path": "/dev/null", "container_path": "/dev/nothing", "cgroup_permissions": "r"}],
        "mount": [{"type": "tmpfs", "target": "/scratch", "tmpfs_options": [{"size": 4096}]}],
        "cap_drop": ["chown"],
        "network_mode": "host",
        "ports": ["http"],
        "labels": [{"team": "web"}],
    }));
    let b = create_body(&spec(), &c, &DockerOptions::default()).unwrap();
    assert_eq!(
        b.entrypoint,
        Some(vec!["/bin/sh".to_string(), "-c".to_string()])
    );
    assert_eq!(b.cmd, Some(vec!["echo".to_string()]));
    assert_eq!(b.working_dir.as_deref(), Some("/local"));
    assert_eq!(b.hostname.as_deref(), Some("box"));
    assert_eq!(b.labels.unwrap()["team"], "web");
    let h = b.host_config.unwrap();
    assert_eq!(h.dns, Some(vec!["127.0.0.53".to_string()]));
    assert_eq!(h.dns_search, Some(vec!["example.internal".to_string()]));
    assert_eq!(h.dns_options, Some(vec!["ndots:1".to_string()]));
    assert_eq!(h.extra_hosts, Some(vec!["db:127.0.0.2".to_string()]));
    assert_eq!((h.readonly_rootfs, h.init), (Some(true), Some(true)));
    assert_eq!(h.security_opt, Some(vec!["no-new-privileges".to_string()]));
    assert_eq!(h.sysctls.unwrap()["net.core.somaxconn"], "512");
    let u = &h.ulimits.unwrap()[0];
    assert_eq!(
        (u.name.as_deref(), u.soft, u.hard),
        (Some("nofile"), Some(1024), Some(2048))
    );
    assert_eq!((h.shm_size, h.oom_score_adj), (Some(1048576), Some(500)));
    assert_eq!(h.ipc_mode.as_deref(), Some("private"));
    let d = &h.devices.unwrap()[0];
    assert_eq!(d.path_in_container.as_deref(), Some("/dev/nothing"));
    assert_eq!(d.cgroup_permissions.as_deref(), Some("r"));
    let m = &h.mounts.unwrap()[0];
    assert_eq!(
        m.tmpfs_options.as_ref().and_then(|t| t.size_bytes),
        Some(4096)
    );
    assert!(!h.cap_add.unwrap().contains(&"CAP_CHOWN".to_string()));
    // Host networking: the ports are the host's, nothing to map.
    assert_eq!(h.network_mode.as_deref(), Some("host"));
    assert!(h.port_bindings.is_none());
}

#[test]
fn a_relative_bind_through_a_link_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec();
    s.task_dir = dir.path().to_path_buf();
    std::fs::create_dir_all(dir.path().join("local/real")).unwrap();
    std::os::unix::fs::symlink("/", dir.path().join("local/root")).unwrap();
    let ok = cfg(json!({"image": "i", "volumes": ["local/real:/data"], "ports": ["http"]}));
    create_body(&s, &ok, &DockerOptions::default()).unwrap();
    let bad = cfg(json!({"image": "i", "volumes": ["local/root:/data"], "ports": ["http"]}));
    let e = create_body(&s, &bad, &DockerOptions::default()).unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");
    let bad = cfg(json!({
        "image": "i",
        "mount": [{"type": "bind", "source": "local/root/etc", "target": "/e"}],
        "ports": ["http"],
    }));
    assert!(create_body(&s, &bad, &DockerOptions::default()).is_err());
}

#[test]
fn the_agents_registry_offers_docker_as_itself() {
    use crate::client::driver::registry::{DriverOptions, DriverRegistry};
    let shim = PathBuf::from("/bin/false");
    let r = DriverRegistry::with_options(shim.clone(), &DriverOptions::default());
    assert!(r.get("docker").is_some());
    assert!(
        r.docker()
            .is_some_and(|d| d.options() == &DockerOptions::default())
    );
    assert!(DriverRegistry::with_builtin(shim).docker().is_none());
}
