use super::*;
use orch_core::model::{NetworkResource, Port, Task};
use std::path::Path;

fn group(mode: &str, drivers: &[&str]) -> TaskGroup {
    TaskGroup {
        name: "g".into(),
        networks: vec![NetworkResource {
            mode: mode.into(),
            ..NetworkResource::default()
        }],
        tasks: drivers
            .iter()
            .enumerate()
            .map(|(i, d)| Task {
                name: format!("t{i}"),
                driver: d.to_string(),
                ..Task::default()
            })
            .collect(),
        ..TaskGroup::default()
    }
}

fn manager(dir: &Path) -> NetworkManager {
    let mut s = NetworkSettings::defaults(dir.join("state"));
    s.cni_config_dir = dir.join("cni");
    NetworkManager::new(s, None)
}

#[test]
fn modes_and_drivers_are_checked_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let m = manager(dir.path());
    assert!(m.check(&group("host", &["raw_exec"])).is_ok());
    assert!(m.check(&group("", &["raw_exec"])).is_ok());
    assert!(m.check(&group("bridge", &["exec", "docker"])).is_ok());
    assert!(m.check(&group("none", &["exec"])).is_ok());
    let e = m
        .check(&group("bridge", &["exec", "raw_exec"]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("t1") && e.contains("raw_exec") && e.contains("bridge"),
        "{e}"
    );
    let e = m
        .check(&group("macvlan", &["exec"]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"macvlan\" is not supported"), "{e}");
    let e = m
        .check(&group("cni/mynet", &["exec"]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no CNI network named \"mynet\""), "{e}");
    std::fs::create_dir_all(dir.path().join("cni")).unwrap();
    std::fs::write(
        dir.path().join("cni/10-mynet.conf"),
        r#"{"cniVersion": "0.4.0", "name": "mynet", "type": "bridge", "bridge": "mybr"}"#,
    )
    .unwrap();
    let list = m.conflist("cni/mynet").unwrap();
    assert_eq!(list["plugins"][0]["bridge"], "mybr");
    assert_eq!(list["name"], "mynet");
}

#[test]
fn ports_map_host_to_their_to_port_for_tcp_and_udp() {
    let mut alloc = Allocation::default();
    alloc.allocated_resources.shared.networks = vec![NetworkResource {
        mode: "bridge".into(),
        ip: "127.0.0.1".into(),
        dynamic_ports: vec![Port {
            label: "http".into(),
            value: 23456,
            to: 8080,
            host_network: "default".into(),
        }],
        reserved_ports: vec![Port {
            label: "admin".into(),
            value: 9000,
            to: -1,
            host_network: "default".into(),
        }],
        ..NetworkResource::default()
    }];
    let maps = port_mappings(&alloc);
    assert_eq!(maps.len(), 4);
    // Published on the network's address only (loopback in -dev).
    assert!(maps.contains(
        &json!({"hostPort": 9000, "containerPort": 9000, "protocol": "tcp", "hostIP": "127.0.0.1"})
    ));
    assert!(maps.contains(
        &json!({"hostPort": 23456, "containerPort": 8080, "protocol": "udp", "hostIP": "127.0.0.1"})
    ));
}

#[test]
fn plugin_configs_carry_the_list_name_previous_result_and_declared_capabilities() {
    let list = cni::bridge_conflist("nomad", "172.26.64.0/20", false);
    let names: Vec<&str> = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["loopback", "bridge", "firewall", "portmap"]);
    assert_eq!(
        cni::result_ip(&json!({"ips": [{"address": "fd00::2/64"}, {"address": "172.26.64.7/20"}]})),
        Some("172.26.64.7".into())
    );
}

/// The real plugins (Debian's containernetworking-plugins), as root: a bridge network
/// is built in a namespace of its own, recorded, found again, and torn down with its
/// namespace and its iptables rules.
#[test]
fn a_bridge_network_is_built_and_removed_with_the_real_plugins() {
    let plugins = NetworkSettings::defaults(PathBuf::new()).cni_paths;
    if !crate::client::driver::procfs::is_root()
        || !plugins.iter().any(|p| p.join("bridge").is_file())
    {
        println!(
            "skipped: needs root and the CNI plugins (apt-get install containernetworking-plugins)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let m = manager(dir.path());
    let mut alloc = Allocation {
        id: format!("orch-unit-{}", std::process::id()),
        ..Allocation::default()
    };
    alloc.allocated_resources.shared.networks = vec![NetworkResource {
        mode: "bridge".into(),
        dynamic_ports: vec![Port {
            label: "http".into(),
            value: 29876,
            to: 8080,
            host_network: "default".into(),
        }],
        ..NetworkResource::default()
    }];
    let g = group("bridge", &["exec"]);
    let net = m.setup(&alloc, &g).unwrap().unwrap();
    assert!(netns::is_netns(&net.netns));
    assert!(
        net.ip
            .as_deref()
            .is_some_and(|ip| ip.starts_with("172.26.")),
        "{net:?}"
    );
    assert_eq!(m.setup(&alloc, &g).unwrap().unwrap(), net, "found again");
    let rules = || {
        let out = std::process::Command::new("iptables-save")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains(&alloc.id)
    };
    assert!(rules(), "no iptables rule names the allocation");
    // A client that starts without the allocation cleans its network up.
    m.cleanup_orphans(&BTreeSet::new());
    assert!(!net.netns.exists());
    assert!(m.recorded(&alloc.id).is_none());
    assert!(!rules(), "iptables rules left behind");
}
