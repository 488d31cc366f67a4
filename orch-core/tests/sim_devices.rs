//! Devices end to end through the simulation harness: whole instances and shares
//! placed, packed and released through the broker, scheduler, plan verification and
//! blocked evaluations; device affinities rank nodes.

use orch_core::model::{
    Affinity, DeviceShare, DriverInfo, Job, Node, NodeDevice, NodeDeviceResource, RequestedDevice,
    Task, TaskGroup, job_type,
};
use orch_core::sim::Cluster;

fn gpus(model: &str, memory: &str, ids: &[&str]) -> NodeDeviceResource {
    let mut d = NodeDeviceResource {
        vendor: "nvidia".into(),
        device_type: "gpu".into(),
        name: model.into(),
        instances: ids
            .iter()
            .map(|id| NodeDevice {
                id: (*id).into(),
                healthy: true,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    d.attributes.insert("memory".into(), memory.into());
    d
}

fn node(i: usize, devices: Vec<NodeDeviceResource>) -> Node {
    let mut n = Node {
        id: format!("node-{i:03}"),
        name: format!("host{i}"),
        datacenter: "dc1".into(),
        ..Node::default()
    };
    n.node_resources.cpu.cpu_shares = 8000;
    n.node_resources.memory.memory_mb = 16384;
    n.node_resources.disk.disk_mb = 50_000;
    n.node_resources.devices = devices;
    n.drivers.insert(
        "raw_exec".into(),
        DriverInfo {
            detected: true,
            healthy: true,
            ..DriverInfo::default()
        },
    );
    n.computed_class = orch_core::state::compute_class(&n);
    n
}

fn job(id: &str, count: u32, device: RequestedDevice) -> Job {
    let mut t = Task {
        name: "t".into(),
        driver: "raw_exec".into(),
        ..Task::default()
    };
    t.resources.cpu = 100;
    t.resources.memory_mb = 64;
    t.resources.devices = vec![device];
    Job {
        id: id.into(),
        job_type: job_type::SERVICE.into(),
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count,
            tasks: vec![t],
            ..TaskGroup::default()
        }],
        ..Job::default()
    }
}

fn share(s: f64) -> RequestedDevice {
    RequestedDevice {
        name: "nvidia/gpu".into(),
        share: Some(DeviceShare::from_fraction(s)),
        ..Default::default()
    }
}

/// `(node, instance, share)` of each live allocation of `id`, sorted.
fn held(c: &Cluster, id: &str) -> Vec<(String, String, Option<DeviceShare>)> {
    let mut out: Vec<_> = c
        .state
        .allocs_by_job("default", id)
        .into_iter()
        .filter(|a| !a.terminal())
        .flat_map(|a| {
            let node = a.node_id.to_string();
            a.allocated_resources.tasks["t"]
                .devices
                .iter()
                .map(move |d| (node.clone(), d.device_ids.join(","), d.share))
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort();
    out
}

#[test]
fn shares_pack_onto_one_instance_then_the_next_and_wait_for_room() {
    let mut c = Cluster::new(7);
    c.add_node(node(0, vec![gpus("T4", "16 GiB", &["GPU-0", "GPU-1"])]))
        .unwrap();
    c.submit_job(job("quarters", 4, share(0.25))).unwrap();
    c.run_to_quiescence().unwrap();
    let q = held(&c, "quarters");
    assert_eq!(q.len(), 4);
    assert!(q.iter().all(|(_, id, _)| id == "GPU-0"), "{q:?}");
    c.submit_job(job("halves", 3, share(0.5))).unwrap();
    c.run_to_quiescence().unwrap();
    let h = held(&c, "halves");
    assert_eq!(h.len(), 2, "{h:?}");
    assert!(h.iter().all(|(_, id, _)| id == "GPU-1"), "{h:?}");
    assert_eq!(c.unplaced("default", "halves").get("g"), Some(&1));
    let why = c.failures("default", "halves");
    let dims: Vec<_> = why["g"].dimension_exhausted.keys().cloned().collect();
    assert!(
        dims.iter()
            .any(|d| d == "devices: nvidia/gpu has no instance with 0.5 free"),
        "{dims:?}"
    );
    // The quarters leave: the waiting half is placed on the freed instance.
    c.stop_job("default", "quarters", false).unwrap();
    c.run_to_quiescence().unwrap();
    let h = held(&c, "halves");
    assert_eq!(h.len(), 3, "{h:?}");
    assert!(c.unplaced("default", "halves").is_empty());
}

#[test]
fn whole_requests_never_take_a_shared_instance() {
    let mut c = Cluster::new(7);
    c.add_node(node(0, vec![gpus("T4", "16 GiB", &["GPU-0", "GPU-1"])]))
        .unwrap();
    c.submit_job(job("tenth", 1, share(0.1))).unwrap();
    c.run_to_quiescence().unwrap();
    let whole = RequestedDevice {
        name: "nvidia/gpu".into(),
        count: 1,
        ..Default::default()
    };
    c.submit_job(job("whole", 2, whole)).unwrap();
    c.run_to_quiescence().unwrap();
    let w = held(&c, "whole");
    assert_eq!(w, vec![("node-000".into(), "GPU-1".into(), None)]);
    assert_eq!(c.unplaced("default", "whole").get("g"), Some(&1));
}

#[test]
fn device_affinities_rank_the_node_with_the_preferred_gpu() {
    let mut c = Cluster::new(7);
    c.add_node(node(0, vec![gpus("T4", "16 GiB", &["t0"])]))
        .unwrap();
    c.add_node(node(1, vec![gpus("A100", "40 GiB", &["a0"])]))
        .unwrap();
    c.add_node(node(2, vec![gpus("T4", "16 GiB", &["t2"])]))
        .unwrap();
    let big = RequestedDevice {
        name: "nvidia/gpu".into(),
        count: 1,
        affinities: vec![Affinity {
            ltarget: "${device.attr.memory}".into(),
            rtarget: "32 GiB".into(),
            operand: ">=".into(),
            weight: 100,
        }],
        ..Default::default()
    };
    c.submit_job(job("trainer", 1, big)).unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(
        held(&c, "trainer"),
        vec![("node-001".into(), "a0".into(), None)]
    );
}
