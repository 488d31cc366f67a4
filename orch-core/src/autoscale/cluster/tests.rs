use super::*;
use crate::model::{Allocation, trigger};
use crate::state::testutil::{alloc, job, node, plan, register, register_node};
use crate::state::{Command, EvalUpsert, StateStore};

const SECOND: Nanos = 1_000_000_000;

fn policy() -> ClusterPolicy {
    ClusterPolicy {
        name: "burst".into(),
        node_pool: "default".into(),
        node_class: String::new(),
        min: 1,
        max: 4,
        cooldown: 30 * SECOND,
    }
}

/// A node of 1000 MHz and 1000 MB in the default pool.
fn sized(id: &str) -> crate::model::Node {
    let mut n = node(id);
    n.node_pool = "default".into();
    n.node_resources.cpu.cpu_shares = 1000;
    n.node_resources.memory.memory_mb = 1000;
    n
}

/// Job "web" whose group asks 400 MHz / 300 MB per allocation.
fn store(nodes: &[&str]) -> StateStore {
    let mut s = StateStore::new();
    for (i, n) in (1..).zip(nodes) {
        s.apply(i, register_node(sized(n))).unwrap();
    }
    let mut j = job("web");
    j.node_pool = "default".into();
    j.task_groups[0].tasks[0].resources.cpu = 400;
    j.task_groups[0].tasks[0].resources.memory_mb = 300;
    s.apply(20, register(j)).unwrap();
    s
}

fn block(s: &mut StateStore, index: u64, unplaced: u64) {
    let e = Evaluation {
        id: format!("b{index}"),
        namespace: "default".into(),
        job_id: "web".into(),
        eval_type: "service".into(),
        triggered_by: trigger::QUEUED_ALLOCS.into(),
        status: eval_status::BLOCKED.into(),
        queued_allocations: [("web".to_string(), unplaced)].into(),
        ..Evaluation::default()
    };
    s.apply(index, Command::EvalUpsert(EvalUpsert { evals: vec![e] }))
        .unwrap();
}

fn held(id: &str, on: &str) -> Allocation {
    let mut a = alloc(id, "web", on, 0);
    let t = a
        .allocated_resources
        .tasks
        .get_or_insert_with("server".into(), Default::default);
    t.cpu.cpu_shares = 400;
    t.memory.memory_mb = 300;
    a
}

#[test]
fn unplaced_work_asks_for_enough_nodes_within_max() {
    let mut s = store(&["n1"]);
    block(&mut s, 30, 5); // 2000 MHz, 1500 MB: two nodes by CPU.
    assert_eq!(unplaced_demand(&s, &policy()).0, 5);
    assert_eq!(
        decide_cluster(&s, &policy(), None, 0),
        ClusterAction::ScaleOut {
            count: 2,
            unplaced: 5
        }
    );
    block(&mut s, 31, 40);
    assert_eq!(
        decide_cluster(&s, &policy(), None, 0),
        ClusterAction::ScaleOut {
            count: 3,
            unplaced: 40
        },
        "capped at max - current"
    );
    // Within the cooldown nothing happens; after it, the same decision.
    let last = Some(100 * SECOND);
    assert_eq!(
        decide_cluster(&s, &policy(), last, 110 * SECOND),
        ClusterAction::None("cooldown".into())
    );
    assert!(matches!(
        decide_cluster(&s, &policy(), last, 131 * SECOND),
        ClusterAction::ScaleOut { .. }
    ));
    // Another pool's policy sees none of it.
    let other = ClusterPolicy {
        node_pool: "gpu".into(),
        ..policy()
    };
    assert_eq!(unplaced_demand(&s, &other).0, 0);
}

#[test]
fn spare_nodes_are_removed_emptiest_first_never_below_min() {
    let mut s = store(&["n1", "n2", "n3"]);
    // n2 holds two allocations, n3 one, n1 none: one node's worth of work.
    let p = plan(vec![held("a1", "n2"), held("a2", "n2"), held("a3", "n3")]);
    s.apply(40, Command::ApplyPlanResults(p)).unwrap();
    assert_eq!(
        decide_cluster(&s, &policy(), None, 0),
        ClusterAction::ScaleIn {
            node_ids: vec!["n1".into()]
        },
        "1200 MHz of work needs two nodes: the empty one goes"
    );
    let mut s = store(&["n1", "n2"]);
    assert_eq!(
        decide_cluster(&s, &policy(), None, 0),
        ClusterAction::ScaleIn {
            node_ids: vec!["n1".into()]
        },
        "min 1 keeps one"
    );
    let min0 = ClusterPolicy { min: 0, ..policy() };
    assert_eq!(
        decide_cluster(&s, &min0, None, 0),
        ClusterAction::ScaleIn {
            node_ids: vec!["n1".into(), "n2".into()]
        }
    );
    // Waiting work wins over spare nodes.
    block(&mut s, 50, 1);
    assert_eq!(
        decide_cluster(&s, &min0, None, 0),
        ClusterAction::ScaleOut {
            count: 1,
            unplaced: 1
        }
    );
}
