//! Device instances under plan verification: schedulers assign instances (whole or
//! shares) from stale views of a node, the verifier checks each plan against the latest
//! state, and no sequence of plans leaves an instance held beyond one whole.

use orch_core::model::{
    AllocatedTaskResources, Allocation, DeviceShare, Job, Node, NodeDevice, NodeDeviceResource,
    RequestedDevice, Task, TaskGroup, WHOLE_SHARE, desired_status, node_status,
};
use orch_core::scheduler::devices::{DeviceLedger, assign_request};
use orch_core::scheduler::plan::Plan;
use orch_core::scheduler::verify::verify_plan;
use orch_core::state::{AllocStop, Command, JobRegister, NodeRegister, StateStore};
use proptest::prelude::*;

const NOW: i64 = 1_700_000_000_000_000_000;

fn node() -> Node {
    let mut n = Node {
        id: "n1".into(),
        name: "n1".into(),
        status: node_status::READY.into(),
        ..Node::default()
    };
    n.node_resources.cpu.cpu_shares = 1_000_000;
    n.node_resources.memory.memory_mb = 1_000_000;
    n.node_resources.disk.disk_mb = 1_000_000;
    n.node_resources.devices = vec![NodeDeviceResource {
        vendor: "nvidia".into(),
        device_type: "gpu".into(),
        name: "T4".into(),
        instances: (0..3)
            .map(|i| NodeDevice {
                id: format!("GPU-{i}"),
                healthy: true,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }];
    n
}

fn job() -> Job {
    Job {
        id: "j".into(),
        name: "j".into(),
        datacenters: vec!["*".into()],
        task_groups: vec![TaskGroup {
            name: "g".into(),
            tasks: vec![Task {
                name: "t".into(),
                driver: "raw_exec".into(),
                ..Task::default()
            }],
            ..TaskGroup::default()
        }],
        ..Job::default()
    }
}

fn store() -> StateStore {
    let mut s = StateStore::new();
    let node = NodeRegister {
        node: node(),
        now: NOW,
    };
    s.apply(1, Command::NodeRegister(node)).unwrap();
    let job = JobRegister {
        job: job(),
        eval: None,
        enforce_index: None,
        preserve_counts: false,
        now: NOW,
    };
    s.apply(2, Command::JobRegister(job)).unwrap();
    s
}

fn alloc(id: &str, devices: Vec<orch_core::model::AllocatedDeviceResource>) -> Allocation {
    let mut a = Allocation {
        id: id.into(),
        namespace: "default".into(),
        eval_id: "e".into(),
        name: format!("j.g[{id}]"),
        node_id: "n1".into(),
        job_id: "j".into(),
        task_group: "g".into(),
        desired_status: desired_status::RUN.into(),
        client_status: "pending".into(),
        ..Allocation::default()
    };
    let mut t = AllocatedTaskResources::default();
    t.cpu.cpu_shares = 1;
    t.memory.memory_mb = 1;
    t.devices = devices;
    a.allocated_resources.tasks.insert("t".into(), t);
    a
}

fn live_ledger(s: &StateStore) -> DeviceLedger {
    DeviceLedger::from_allocs(s.allocs_by_node("n1").into_iter().filter(|a| !a.terminal()))
}

fn request(count: u64, share: i64) -> RequestedDevice {
    RequestedDevice {
        name: "nvidia/gpu".into(),
        count: if share > 0 { 1 } else { count },
        share: (share > 0).then_some(DeviceShare(share)),
        ..Default::default()
    }
}

#[test]
fn two_halves_share_an_instance_and_a_stale_third_is_refused() {
    let mut s = store();
    let n = node();
    let stale = live_ledger(&s);
    let mut view = stale.clone();
    let a = assign_request(&n, &request(1, 500_000), &mut view).unwrap();
    let b = assign_request(&n, &request(1, 500_000), &mut view).unwrap();
    assert_eq!(
        a.device_ids, b.device_ids,
        "the second half fills the started instance"
    );
    let mut p = Plan {
        job: Some(job()),
        ..Plan::default()
    };
    p.append_alloc(alloc("a1", vec![a.clone()]));
    p.append_alloc(alloc("a2", vec![b]));
    let r = verify_plan(&s, &p);
    assert!(r.fully_committed());
    s.apply(3, r.to_command(NOW)).unwrap();
    // A scheduler that still sees the empty node gives GPU-0 away again: refused.
    let mut view = stale;
    let c = assign_request(&n, &request(1, 500_000), &mut view).unwrap();
    assert_eq!(c.device_ids, a.device_ids);
    let mut p = Plan {
        job: Some(job()),
        ..Plan::default()
    };
    p.append_alloc(alloc("a3", vec![c]));
    let r = verify_plan(&s, &p);
    let why = &r.rejected_nodes["n1"];
    assert!(why.contains("GPU-0 would be over-committed (1.5"), "{why}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Plans built on views of the node up to three commits old, whole requests and
    /// shares mixed, allocations stopped now and then: what verification lets through
    /// never holds an instance beyond one whole.
    #[test]
    fn no_stale_plan_sequence_overcommits_an_instance(
        plans in prop::collection::vec((
            0usize..4,
            prop::collection::vec((1u64..3, prop_oneof![Just(0i64), 1i64..=1_000_000]), 1..4),
            any::<bool>(),
        ), 1..16),
    ) {
        let mut s = store();
        let n = node();
        let mut views = vec![live_ledger(&s)];
        let mut next = 0;
        for (age, reqs, stop) in plans {
            let mut view = views[views.len().saturating_sub(1 + age)].clone();
            let mut p = Plan { job: Some(job()), ..Plan::default() };
            for (count, share) in reqs {
                if let Ok(d) = assign_request(&n, &request(count, share), &mut view) {
                    next += 1;
                    p.append_alloc(alloc(&format!("a{next}"), vec![d]));
                }
            }
            let oldest_live = s
                .allocs_by_node("n1")
                .into_iter()
                .find(|a| !a.terminal())
                .map(|a| a.id.clone());
            if stop && let Some(id) = oldest_live {
                p.append_stop("n1", AllocStop { alloc_id: id, desired_description: "x".into(), client_status: None });
            }
            let r = verify_plan(&s, &p);
            s.apply(s.latest_index() + 1, r.to_command(NOW)).unwrap();
            let ledger = live_ledger(&s);
            for (id, held) in ledger.iter() {
                prop_assert!(held <= WHOLE_SHARE, "{id} holds {held}");
            }
            views.push(ledger);
        }
    }
}
