//! CSI scheduling through the whole simulated loop (broker → scheduler → plan
//! verification → state): volumes are placed only where their plugin runs healthy,
//! single-writer volumes never get two writers, per-allocation volumes follow their
//! allocation index, and blocked claims are placed when the holder stops.

use orch_core::model::csi::{
    CsiCapability, CsiInfo, CsiNodeInfo, CsiTopology, CsiVolume, NodeCsiPlugins, access_mode,
    attachment_mode,
};
use orch_core::model::{
    Allocation, DriverInfo, Job, Node, Task, TaskGroup, VolumeRequest, client_status,
};
use orch_core::sim::Cluster;

fn node(i: usize) -> Node {
    let mut n = Node {
        id: format!("n{i:03}"),
        name: format!("n{i}"),
        datacenter: "dc1".into(),
        ..Node::default()
    };
    n.node_resources.cpu.cpu_shares = 8000;
    n.node_resources.memory.memory_mb = 16_384;
    n.node_resources.disk.disk_mb = 50_000;
    let driver = DriverInfo {
        detected: true,
        healthy: true,
        ..DriverInfo::default()
    };
    n.drivers.insert("exec".into(), driver);
    n.computed_class = orch_core::state::compute_class(&n);
    n
}

fn plugin(node_id: &str, healthy: bool) -> NodeCsiPlugins {
    let info = CsiInfo {
        plugin_id: "hostpath".into(),
        healthy,
        node_info: Some(CsiNodeInfo {
            id: node_id.into(),
            accessible_topology: Some(CsiTopology {
                segments: [("node".to_string(), node_id.to_string())].into(),
            }),
            ..CsiNodeInfo::default()
        }),
        ..CsiInfo::default()
    };
    NodeCsiPlugins {
        nodes: [("hostpath".to_string(), info)].into(),
        ..NodeCsiPlugins::default()
    }
}

fn volume(id: &str, mode: &str) -> CsiVolume {
    CsiVolume {
        id: id.into(),
        name: id.into(),
        namespace: "default".into(),
        external_id: id.into(),
        plugin_id: "hostpath".into(),
        requested_capabilities: vec![CsiCapability {
            access_mode: mode.into(),
            attachment_mode: attachment_mode::FILE_SYSTEM.into(),
        }],
        ..CsiVolume::default()
    }
}

fn job(id: &str, count: u32, source: &str, per_alloc: bool, mode: &str) -> Job {
    let mut g = TaskGroup {
        name: "g".into(),
        count,
        tasks: vec![Task {
            name: "t".into(),
            driver: "exec".into(),
            ..Task::default()
        }],
        ..TaskGroup::default()
    };
    g.tasks[0].resources.cpu = 100;
    g.tasks[0].resources.memory_mb = 64;
    g.volumes.insert(
        "data".into(),
        VolumeRequest {
            name: "data".into(),
            kind: "csi".into(),
            source: source.into(),
            per_alloc,
            access_mode: mode.into(),
            attachment_mode: attachment_mode::FILE_SYSTEM.into(),
            ..VolumeRequest::default()
        },
    );
    Job {
        id: id.into(),
        namespace: "default".into(),
        datacenters: vec!["dc1".into()],
        task_groups: vec![g],
        ..Job::default()
    }
}

fn live(c: &Cluster, job: &str) -> Vec<Allocation> {
    c.state
        .allocs_by_job("default", job)
        .into_iter()
        .filter(|a| !a.server_terminal() && !a.client_terminal())
        .cloned()
        .collect()
}

fn cluster(nodes: usize, healthy_on: &[usize]) -> Cluster {
    let mut c = Cluster::new(7);
    for i in 0..nodes {
        c.add_node(node(i)).unwrap();
    }
    for &i in healthy_on {
        c.report_csi_plugins(&format!("n{i:03}"), plugin(&format!("n{i:03}"), true))
            .unwrap();
    }
    c
}

#[test]
fn single_node_writer_waits_for_the_holder_to_stop() {
    let mut c = cluster(3, &[0, 1, 2]);
    c.register_csi_volume(volume("vol", access_mode::SINGLE_NODE_WRITER))
        .unwrap();
    c.submit_job(job("db", 1, "vol", false, access_mode::SINGLE_NODE_WRITER))
        .unwrap();
    c.run_to_quiescence().unwrap();
    let first = live(&c, "db");
    assert_eq!(first.len(), 1);
    // A second job writing the same volume waits.
    c.submit_job(job("db2", 1, "vol", false, access_mode::SINGLE_NODE_WRITER))
        .unwrap();
    c.run_to_quiescence().unwrap();
    assert!(live(&c, "db2").is_empty(), "one writer only");
    assert_eq!(c.unplaced("default", "db2").get("g"), Some(&1));
    let why = &c.failures("default", "db2")["g"];
    assert!(
        why.constraint_filtered
            .iter()
            .any(|(k, _)| k.contains("exhausted its available writer claims")),
        "{why:?}"
    );
    assert_eq!(c.state.csi_claims("default", "vol").len(), 1);

    c.client_update(&[first[0].id.clone()], client_status::COMPLETE)
        .unwrap();
    c.run_to_quiescence().unwrap();
    let now = live(&c, "db2");
    assert_eq!(now.len(), 1, "the waiting writer took the freed claim");
    assert_eq!(c.state.csi_claims("default", "vol")[0].alloc_id, now[0].id);
}

#[test]
fn volumes_go_only_where_the_plugin_is_healthy() {
    let mut c = cluster(4, &[2]);
    c.report_csi_plugins("n003", plugin("n003", false)).unwrap();
    c.register_csi_volume(volume("shared", access_mode::MULTI_NODE_MULTI_WRITER))
        .unwrap();
    c.submit_job(job(
        "web",
        3,
        "shared",
        false,
        access_mode::MULTI_NODE_MULTI_WRITER,
    ))
    .unwrap();
    c.run_to_quiescence().unwrap();
    let placed = live(&c, "web");
    assert_eq!(placed.len(), 3);
    assert!(
        placed.iter().all(|a| a.node_id.as_str() == "n002"),
        "{placed:?}"
    );

    // The plugin dies: new claims wait; it comes back healthy on n003: they are placed.
    c.report_csi_plugins("n002", plugin("n002", false)).unwrap();
    c.submit_job(job(
        "more",
        1,
        "shared",
        false,
        access_mode::MULTI_NODE_MULTI_WRITER,
    ))
    .unwrap();
    c.run_to_quiescence().unwrap();
    assert!(live(&c, "more").is_empty());
    let why = &c.failures("default", "more")["g"];
    assert!(
        why.constraint_filtered
            .iter()
            .any(|(k, _)| k.contains("unhealthy")),
        "{why:?}"
    );
    c.report_csi_plugins("n003", plugin("n003", true)).unwrap();
    c.run_to_quiescence().unwrap();
    let more = live(&c, "more");
    assert_eq!(more.len(), 1);
    assert_eq!(more[0].node_id.as_str(), "n003");
}

#[test]
fn missing_volume_and_topology_are_filtered() {
    let mut c = cluster(2, &[0, 1]);
    c.submit_job(job(
        "nov",
        1,
        "ghost",
        false,
        access_mode::SINGLE_NODE_WRITER,
    ))
    .unwrap();
    c.run_to_quiescence().unwrap();
    assert!(live(&c, "nov").is_empty());
    let why = &c.failures("default", "nov")["g"];
    assert!(
        why.constraint_filtered
            .iter()
            .any(|(k, _)| k == "missing CSI Volume ghost"),
        "{why:?}"
    );

    let mut v = volume("pinned", access_mode::SINGLE_NODE_WRITER);
    v.topologies = vec![CsiTopology {
        segments: [("node".to_string(), "n001".to_string())].into(),
    }];
    c.register_csi_volume(v).unwrap();
    c.submit_job(job(
        "pin",
        1,
        "pinned",
        false,
        access_mode::SINGLE_NODE_WRITER,
    ))
    .unwrap();
    c.run_to_quiescence().unwrap();
    let placed = live(&c, "pin");
    assert_eq!(placed.len(), 1);
    assert_eq!(placed[0].node_id.as_str(), "n001", "the volume's topology");
}

#[test]
fn per_alloc_volumes_follow_the_allocation_index() {
    let mut c = cluster(3, &[0, 1, 2]);
    for i in 0..2 {
        c.register_csi_volume(volume(
            &format!("data[{i}]"),
            access_mode::SINGLE_NODE_WRITER,
        ))
        .unwrap();
    }
    c.submit_job(job(
        "kafka",
        2,
        "data",
        true,
        access_mode::SINGLE_NODE_WRITER,
    ))
    .unwrap();
    c.run_to_quiescence().unwrap();
    let placed = live(&c, "kafka");
    assert_eq!(placed.len(), 2, "each allocation has its own volume");
    for i in 0..2 {
        let claims = c.state.csi_claims("default", &format!("data[{i}]"));
        assert_eq!(claims.len(), 1);
        let holder = placed.iter().find(|a| a.id == claims[0].alloc_id).unwrap();
        assert!(holder.name.ends_with(&format!("[{i}]")), "{}", holder.name);
    }

    // Allocation [0]'s node fails; its replacement (same index) claims data[0] again.
    let zero = placed.iter().find(|a| a.name.ends_with("[0]")).unwrap();
    c.fail_node(zero.node_id.as_ref()).unwrap();
    c.run_to_quiescence().unwrap();
    let claims = c.state.csi_claims("default", "data[0]");
    assert_eq!(claims.len(), 1);
    assert_ne!(claims[0].alloc_id, zero.id, "the replacement holds it");
    assert_eq!(live(&c, "kafka").len(), 2);
}

#[test]
fn same_seed_same_bytes() {
    let run = || {
        let mut c = cluster(3, &[0, 1, 2]);
        c.register_csi_volume(volume("vol", access_mode::MULTI_NODE_SINGLE_WRITER))
            .unwrap();
        c.submit_job(job(
            "w",
            1,
            "vol",
            false,
            access_mode::MULTI_NODE_SINGLE_WRITER,
        ))
        .unwrap();
        let mut r = job("r", 3, "vol", false, access_mode::MULTI_NODE_SINGLE_WRITER);
        r.task_groups[0].volumes.get_mut("data").unwrap().read_only = true;
        c.submit_job(r).unwrap();
        c.run_to_quiescence().unwrap();
        assert_eq!(live(&c, "r").len(), 3, "readers are unlimited");
        c.state.snapshot().unwrap()
    };
    assert_eq!(run(), run());
}

#[test]
fn plan_verification_refuses_a_second_writer() {
    use orch_core::scheduler::plan::Plan;
    use orch_core::scheduler::verify::verify_plan;
    let mut c = cluster(2, &[0, 1]);
    c.register_csi_volume(volume("vol", access_mode::SINGLE_NODE_WRITER))
        .unwrap();
    // A job that asks for the volume but is not placed yet (count 0).
    c.submit_job(job("db", 0, "vol", false, access_mode::SINGLE_NODE_WRITER))
        .unwrap();
    c.run_to_quiescence().unwrap();
    let writer = |id: &str, node: &str, index: u32| Allocation {
        id: id.into(),
        namespace: "default".into(),
        name: format!("db.g[{index}]"),
        node_id: node.into(),
        job_id: "db".into(),
        task_group: "g".into(),
        desired_status: "run".into(),
        client_status: "pending".into(),
        ..Allocation::default()
    };
    // Two schedulers each planned one writer on a different node: one must lose.
    let mut plan = Plan::default();
    for (id, node, i) in [("a1", "n000", 0), ("a2", "n001", 1)] {
        plan.node_allocation
            .insert(node.into(), vec![writer(id, node, i)]);
    }
    let result = verify_plan(&c.state, &plan);
    assert_eq!(result.accepted.node_allocation.len(), 1, "{result:?}");
    let (node, reason) = result.rejected_nodes.iter().next().unwrap();
    assert_eq!(node, "n001");
    assert!(reason.contains("CSI volume vol"), "{reason}");
}
