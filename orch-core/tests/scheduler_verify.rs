//! Plan verification against the latest state: nodes that still fit are committed, the
//! rest refused with a refresh index, and no sequence of plans can over-commit a node.

use orch_core::model::{
    AllocatedTaskResources, Allocation, Job, Node, Task, TaskGroup, Usage, desired_status,
    node_status,
};
use orch_core::scheduler::plan::Plan;
use orch_core::scheduler::verify::verify_plan;
use orch_core::state::{AllocStop, Command, JobRegister, NodeRegister, StateStore};
use proptest::prelude::*;

const NOW: i64 = 1_700_000_000_000_000_000;

fn node(id: &str, cpu: u64, mem: u64) -> Node {
    let mut n = Node {
        id: id.into(),
        name: id.into(),
        status: node_status::READY.into(),
        ..Node::default()
    };
    n.node_resources.cpu.cpu_shares = cpu;
    n.node_resources.memory.memory_mb = mem;
    n.node_resources.disk.disk_mb = 100_000;
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

fn alloc(id: &str, node: &str, cpu: u64, mem: u64) -> Allocation {
    let mut a = Allocation {
        id: id.into(),
        namespace: "default".into(),
        eval_id: "e".into(),
        name: format!("j.g[{id}]"),
        node_id: node.into(),
        job_id: "j".into(),
        task_group: "g".into(),
        desired_status: desired_status::RUN.into(),
        client_status: "pending".into(),
        ..Allocation::default()
    };
    let mut t = AllocatedTaskResources::default();
    t.cpu.cpu_shares = cpu;
    t.memory.memory_mb = mem;
    a.allocated_resources.tasks.insert("t".into(), t);
    a
}

fn store(nodes: &[Node]) -> StateStore {
    let mut s = StateStore::new();
    let mut index = 0;
    for n in nodes {
        index += 1;
        s.apply(
            index,
            Command::NodeRegister(NodeRegister {
                node: n.clone(),
                now: NOW,
            }),
        )
        .unwrap();
    }
    s.apply(
        index + 1,
        Command::JobRegister(JobRegister {
            job: job(),
            eval: None,
            enforce_index: None,
            preserve_counts: false,
            now: NOW,
        }),
    )
    .unwrap();
    s
}

fn plan(allocs: Vec<Allocation>) -> Plan {
    let mut p = Plan {
        eval_id: String::new(),
        job: Some(job()),
        ..Plan::default()
    };
    for a in allocs {
        p.append_alloc(a);
    }
    p
}

#[test]
fn fitting_nodes_commit_and_full_ones_are_refused_with_refresh_index() {
    let mut s = store(&[node("n1", 1000, 1000), node("n2", 1000, 1000)]);
    let p = plan(vec![
        alloc("a1", "n1", 600, 100),
        alloc("a2", "n2", 600, 100),
    ]);
    let r = verify_plan(&s, &p);
    assert!(r.fully_committed() && r.refresh_index == 0);
    s.apply(s.latest_index() + 1, r.to_command(NOW)).unwrap();
    // A second, stale plan wants 600 more on n1 (would be 1200 > 1000) and 300 on n2.
    let p2 = plan(vec![
        alloc("a3", "n1", 600, 100),
        alloc("a4", "n2", 300, 100),
    ]);
    let r2 = verify_plan(&s, &p2);
    assert_eq!(r2.rejected_nodes.keys().collect::<Vec<_>>(), vec!["n1"]);
    assert!(
        r2.rejected_nodes["n1"].contains("cpu"),
        "{:?}",
        r2.rejected_nodes
    );
    assert_eq!(r2.refresh_index, s.latest_index());
    assert_eq!(r2.accepted.placed(), 1);
}

#[test]
fn stops_in_the_same_plan_make_room() {
    let mut s = store(&[node("n1", 1000, 1000)]);
    s.apply(
        s.latest_index() + 1,
        plan(vec![alloc("a1", "n1", 800, 100)]).pipe(|p| verify_plan(&s, &p).to_command(NOW)),
    )
    .unwrap();
    let mut p = plan(vec![alloc("a2", "n1", 800, 100)]);
    assert!(!verify_plan(&s, &p).fully_committed());
    p.append_stop(
        "n1",
        AllocStop {
            alloc_id: "a1".into(),
            desired_description: "replaced".into(),
            client_status: None,
        },
    );
    assert!(verify_plan(&s, &p).fully_committed());
}

#[test]
fn down_and_unknown_nodes_refuse_placements_and_all_at_once_is_all_or_nothing() {
    let mut down = node("n2", 1000, 1000);
    down.status = node_status::DOWN.into();
    let s = store(&[node("n1", 1000, 1000), down]);
    let mut p = plan(vec![
        alloc("a1", "n1", 100, 100),
        alloc("a2", "n2", 100, 100),
        alloc("a3", "nx", 1, 1),
    ]);
    let r = verify_plan(&s, &p);
    assert_eq!(r.rejected_nodes.len(), 2);
    assert_eq!(r.accepted.placed(), 1);
    p.all_at_once = true;
    let r = verify_plan(&s, &p);
    assert_eq!(r.accepted.placed(), 0);
    assert_eq!(r.rejected_nodes.len(), 3);
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<T> Pipe for T {}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever stale plans schedulers submit, committing only what verification accepts
    /// never over-commits a node.
    #[test]
    fn no_plan_sequence_overcommits(plans in prop::collection::vec(
        prop::collection::vec((0usize..3, 1u64..700, 1u64..700, any::<bool>()), 1..6), 1..12)) {
        let nodes = [node("n0", 1000, 1000), node("n1", 2000, 1500), node("n2", 500, 4000)];
        let mut s = store(&nodes);
        let mut next = 0;
        let mut live: Vec<(String, String)> = Vec::new();
        for spec in plans {
            let mut p = plan(Vec::new());
            let mut stopped = false;
            for (n, cpu, mem, stop_one) in spec {
                next += 1;
                p.append_alloc(alloc(&format!("a{next}"), &format!("n{n}"), cpu, mem));
                if stop_one && !stopped && let Some((id, node_id)) = live.first().cloned() {
                    stopped = true;
                    p.append_stop(&node_id, AllocStop { alloc_id: id, desired_description: "x".into(), client_status: None });
                }
            }
            let r = verify_plan(&s, &p);
            s.apply(s.latest_index() + 1, r.to_command(NOW)).unwrap();
            for allocs in r.accepted.node_allocation.values() {
                live.extend(allocs.iter().map(|a| (a.id.clone(), a.node_id.to_string())));
            }
            live.retain(|(id, _)| s.alloc_stub(id).is_some_and(|a| !a.terminal()));
            for n in &nodes {
                let mut used = Usage::default();
                for a in s.allocs_by_node(&n.id) {
                    used.add(&a.usage());
                }
                prop_assert!(n.capacity().fits(&used, &Usage::default()).is_ok(), "node {} over-committed: {:?}", n.id, used);
            }
        }
    }
}
