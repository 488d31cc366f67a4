use serde_json::json;

use super::*;

fn field(e: DriverError) -> String {
    match e {
        DriverError::Config { field, .. } => field,
        other => panic!("not a config error: {other}"),
    }
}

#[test]
fn nomads_options_are_read_in_both_block_forms() {
    let c = TaskConfig::parse(&json!({
        "image": "orch-test/busybox:1",
        "command": "/bin/sh",
        "args": ["-c", "true"],
        "ports": ["http"],
        "labels": [{"team": "web"}],
        "sysctl": {"net.core.somaxconn": "1024"},
        "ulimit": [{"nofile": "2048:4096", "nproc": 42}],
        "mount": [{"type": "tmpfs", "target": "/scratch", "tmpfs_options": [{"size": 1024}]}],
        "devices": [{"host_path": "/dev/null"}],
        "privileged": "false",
        "shm_size": 65536,
    }))
    .unwrap();
    assert_eq!(c.command.as_deref(), Some("/bin/sh"));
    assert_eq!(c.labels["team"], "web");
    assert_eq!(c.sysctl["net.core.somaxconn"], "1024");
    assert_eq!(c.ulimit["nofile"], (2048, 4096));
    assert_eq!(c.ulimit["nproc"], (42, 42));
    assert_eq!(c.mounts[0].kind, "tmpfs");
    assert_eq!(c.mounts[0].tmpfs_size, Some(1024));
    assert_eq!(c.devices[0].container_path, "/dev/null");
    assert_eq!(c.devices[0].cgroup_permissions, "rwm");
    assert_eq!(c.shm_size, Some(65536));
}

#[test]
fn unsupported_unknown_and_wrong_options_are_refused_by_name() {
    let e = TaskConfig::parse(&json!({"image": "x", "auth": [{"username": "u"}]})).unwrap_err();
    assert!(
        e.to_string()
            .contains("not supported by orch's docker driver"),
        "{e}"
    );
    assert_eq!(field(e), "auth");
    let e = TaskConfig::parse(&json!({"image": "x", "colour": "red"})).unwrap_err();
    assert_eq!(field(e), "colour");
    assert_eq!(
        field(TaskConfig::parse(&json!({"command": "sh"})).unwrap_err()),
        "image"
    );
    let e = TaskConfig::parse(&json!({"image": "x", "tty": true})).unwrap_err();
    assert_eq!(field(e), "tty");
    let e = TaskConfig::parse(&json!({"image": "x", "ulimit": {"nofile": "9:1"}})).unwrap_err();
    assert_eq!(field(e), "ulimit.nofile");
    let e = TaskConfig::parse(&json!({"image": "x", "mount": [{"type": "nfs", "target": "/a"}]}))
        .unwrap_err();
    assert_eq!(field(e), "mount[0].type");
    let e = TaskConfig::parse(&json!({"image": "x", "volumes": ["/only-one-part"]})).unwrap_err();
    assert_eq!(field(e), "volumes[0]");
    let e = TaskConfig::parse(&json!({"image": "x", "cap_add": ["fly"]})).unwrap_err();
    assert_eq!(field(e), "cap_add[0]");
    // Nomad's defaults pass.
    TaskConfig::parse(&json!({"image": "x", "tty": false, "interactive": false})).unwrap();
}
