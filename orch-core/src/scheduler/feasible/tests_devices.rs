use super::attribute::Attribute;
use super::checkers::DeviceChecker;
use super::tests::job;
use super::tests::node;
use crate::model::*;

fn gpu(name: &str, healthy: usize, unhealthy: usize, mem: &str) -> NodeDeviceResource {
    let mut d = NodeDeviceResource {
        vendor: "nvidia".into(),
        device_type: "gpu".into(),
        name: name.into(),
        ..Default::default()
    };
    for i in 0..healthy + unhealthy {
        d.instances.push(NodeDevice {
            id: format!("{name}-{i}"),
            healthy: i < healthy,
            ..Default::default()
        });
    }
    d.attributes.insert("memory".into(), mem.into());
    d.attributes.insert("clock".into(), "1.5 GHz".into());
    d.attributes.insert("power".into(), "250 W".into());
    d
}

#[test]
fn devices() {
    let mut g = job(vec![], vec![]).task_groups.remove(0);
    let mut n = node("a");
    n.node_resources.devices = vec![gpu("T4", 1, 2, "16 GiB"), gpu("A100", 2, 0, "40 GiB")];
    let check = |g: &TaskGroup, n: &Node| DeviceChecker::new(g).feasible(n);
    assert!(check(&g, &n), "no requests");
    let req = |name: &str, count: u64, cs: Vec<Constraint>| RequestedDevice {
        name: name.into(),
        count,
        constraints: cs,
        ..Default::default()
    };
    g.tasks[0].resources.devices = vec![req("gpu", 1, vec![])];
    assert!(check(&g, &n));
    g.tasks[0].resources.devices = vec![req("nvidia/gpu", 3, vec![])];
    assert!(!check(&g, &n), "only healthy instances count");
    g.tasks[0].resources.devices = vec![req("nvidia/gpu/T4", 2, vec![])];
    assert!(!check(&g, &n));
    g.tasks[0].resources.devices = vec![req("amd/gpu", 1, vec![])];
    assert!(!check(&g, &n));
    g.tasks[0].resources.devices = vec![req(
        "gpu",
        1,
        vec![Constraint::new("${device.attr.memory}", ">=", "32 GiB")],
    )];
    assert!(check(&g, &n));
    g.tasks[0].resources.devices = vec![req(
        "gpu",
        1,
        vec![Constraint::new("${device.attr.memory}", ">", "40000 MiB")],
    )];
    assert!(check(&g, &n), "40 GiB = 40960 MiB");
    g.tasks[0].resources.devices = vec![req(
        "gpu",
        1,
        vec![Constraint::new("${device.attr.memory}", ">", "50 GB")],
    )];
    assert!(!check(&g, &n));
    g.tasks[0].resources.devices = vec![req(
        "gpu",
        1,
        vec![Constraint::new("${device.attr.memory}", ">", "5")],
    )];
    assert!(!check(&g, &n), "unit vs no unit is not comparable");
    g.tasks[0].resources.devices = vec![req(
        "gpu",
        1,
        vec![
            Constraint::new("${device.attr.clock}", ">=", "1000 MHz"),
            Constraint::new("${device.attr.power}", "<", "0.3 kW"),
            Constraint::new("${device.model}", "=", "T4"),
        ],
    )];
    assert!(check(&g, &n));
    // two requests consume instances greedily
    g.tasks[0].resources.devices = vec![req("gpu/A100", 2, vec![]), req("gpu", 1, vec![])];
    g.tasks[0].resources.devices[0].name = "nvidia/gpu/A100".into();
    assert!(check(&g, &n));
    g.tasks[0].resources.devices.push(req("gpu", 1, vec![]));
    assert!(!check(&g, &n));
}

#[test]
fn attribute_units() {
    use std::cmp::Ordering::*;
    let c = |a: &str, b: &str| Attribute::parse(a).compare(&Attribute::parse(b));
    assert_eq!(c("1 GiB", "1024 MiB"), Some(Equal));
    assert_eq!(c("1 GB", "1000MB"), Some(Equal));
    assert_eq!(c("1 KiB", "1 KB"), Some(Greater));
    assert_eq!(c("1.5 GiB", "1536 MiB"), Some(Equal));
    assert_eq!(c("2 GHz", "1500 MHz"), Some(Greater));
    assert_eq!(c("500 mW", "1 W"), Some(Less));
    assert_eq!(c("1 MB/s", "1 MB"), None);
    assert_eq!(c("1 W", "1"), None);
    assert_eq!(c("true", "false"), Some(Greater));
    assert_eq!(c("abc", "abd"), Some(Less));
    assert_eq!(c("abc", "5"), None);
    assert_eq!(c("5", "5.0"), Some(Equal));
}
