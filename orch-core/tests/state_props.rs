//! Property tests of the state machine: random command sequences keep the store's
//! invariants, rejected commands change nothing, snapshots round-trip byte for byte, and
//! replaying the same log yields the same bytes.

use orch_core::model::{
    Allocation, DrainStrategy, Evaluation, Job, Node, Task, TaskGroup, eval_status,
};
use orch_core::state::*;
use proptest::prelude::*;

const NOW: i64 = 1_700_000_000_000_000_000;
const JOBS: [&str; 3] = ["api", "batch", "cache"];
const NODES: [&str; 3] = ["n0", "n1", "n2"];

#[derive(Debug, Clone)]
enum Op {
    Register {
        job: usize,
        count: u32,
        rev: u8,
        stop: bool,
        eval: bool,
    },
    Scale {
        job: usize,
        count: i64,
    },
    Deregister {
        job: usize,
        purge: bool,
    },
    Revert {
        job: usize,
        version: u64,
    },
    RegisterNode {
        node: usize,
        class: u8,
    },
    NodeStatus {
        node: usize,
        status: usize,
    },
    Drain {
        node: usize,
        on: bool,
        mark: bool,
    },
    Eligibility {
        node: usize,
        eligible: bool,
    },
    NodeDeregister {
        node: usize,
    },
    Plan {
        job: usize,
        node: usize,
        n: u8,
        stop: usize,
        stop_any: bool,
    },
    Client {
        pick: usize,
        status: usize,
    },
    EvalComplete {
        pick: usize,
    },
    Gc {
        eval: usize,
        alloc: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0..3usize, 0..4u32, 0..3u8, any::<bool>(), any::<bool>())
            .prop_map(|(job, count, rev, stop, eval)| Op::Register { job, count, rev, stop, eval }),
        1 => (0..3usize, -1..6i64).prop_map(|(job, count)| Op::Scale { job, count }),
        1 => (0..3usize, any::<bool>()).prop_map(|(job, purge)| Op::Deregister { job, purge }),
        1 => (0..3usize, 0..4u64).prop_map(|(job, version)| Op::Revert { job, version }),
        1 => (0..3usize, 0..2u8).prop_map(|(node, class)| Op::RegisterNode { node, class }),
        1 => (0..3usize, 0..5usize).prop_map(|(node, status)| Op::NodeStatus { node, status }),
        1 => (0..3usize, any::<bool>(), any::<bool>()).prop_map(|(node, on, mark)| Op::Drain { node, on, mark }),
        1 => (0..3usize, any::<bool>()).prop_map(|(node, eligible)| Op::Eligibility { node, eligible }),
        1 => (0..3usize).prop_map(|node| Op::NodeDeregister { node }),
        4 => (0..3usize, 0..3usize, 0..3u8, 0..8usize, any::<bool>())
            .prop_map(|(job, node, n, stop, stop_any)| Op::Plan { job, node, n, stop, stop_any }),
        3 => (0..16usize, 0..7usize).prop_map(|(pick, status)| Op::Client { pick, status }),
        1 => (0..16usize).prop_map(|pick| Op::EvalComplete { pick }),
        1 => (0..16usize, 0..16usize).prop_map(|(eval, alloc)| Op::Gc { eval, alloc }),
    ]
}

fn job(id: &str, count: u32, rev: u8, stop: bool) -> Job {
    let mut j = Job {
        id: id.into(),
        name: id.into(),
        job_type: if id == "batch" {
            "batch".into()
        } else {
            "service".into()
        },
        stop,
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count,
            tasks: vec![Task {
                name: "t".into(),
                driver: "raw_exec".into(),
                ..Task::default()
            }],
            ..TaskGroup::default()
        }],
        ..Job::default()
    };
    j.meta.insert("rev".into(), rev.to_string());
    // Some revisions scale or launch periodically, so the store's watch lists are
    // exercised (jobs move on and off them as they are re-registered).
    if rev % 3 == 1 {
        j.task_groups[0].scaling = Some(orch_core::model::ScalingPolicy {
            enabled: rev.is_multiple_of(2),
            ..Default::default()
        });
    }
    if rev % 4 == 1 {
        j.periodic = Some(orch_core::model::PeriodicConfig {
            enabled: rev % 8 == 1,
            spec: "*/5 * * * *".into(),
            ..Default::default()
        });
    }
    j
}

fn eval(id: String, job_id: &str) -> Evaluation {
    Evaluation {
        id,
        namespace: "default".into(),
        job_id: job_id.into(),
        status: eval_status::PENDING.into(),
        ..Evaluation::default()
    }
}

fn pick<T: Clone>(items: Vec<T>, i: usize) -> Option<T> {
    if items.is_empty() {
        None
    } else {
        Some(items[i % items.len()].clone())
    }
}

/// Turns an abstract op into a concrete command, looking at the store only for things a
/// real caller would know (current job version, existing IDs).
fn command(s: &StateStore, step: usize, op: &Op) -> Command {
    let now = NOW + step as i64 * 1_000_000_000;
    let eid = format!("e{step}");
    match op.clone() {
        Op::Register {
            job: j,
            count,
            rev,
            stop,
            eval: with_eval,
        } => Command::JobRegister(JobRegister {
            job: job(JOBS[j], count, rev, stop),
            eval: with_eval.then(|| eval(eid, JOBS[j])),
            enforce_index: None,
            preserve_counts: false,
            now,
        }),
        Op::Scale { job: j, count } => Command::JobScale(JobScale {
            namespace: "default".into(),
            job_id: JOBS[j].into(),
            group: "g".into(),
            count,
            message: String::new(),
            error: false,
            meta: Default::default(),
            eval: Some(eval(eid, JOBS[j])),
            now,
        }),
        Op::Deregister { job: j, purge } => Command::JobDeregister(JobDeregister {
            namespace: "default".into(),
            job_id: JOBS[j].into(),
            purge,
            eval: Some(eval(eid, JOBS[j])),
            now,
        }),
        Op::Revert { job: j, version } => Command::JobRevert(JobRevert {
            namespace: "default".into(),
            job_id: JOBS[j].into(),
            version,
            enforce_prior_version: None,
            eval: None,
            now,
        }),
        Op::RegisterNode { node, class } => {
            let mut n = Node {
                id: NODES[node].into(),
                name: NODES[node].into(),
                status: "ready".into(),
                ..Node::default()
            };
            n.node_class = format!("c{class}");
            Command::NodeRegister(NodeRegister { node: n, now })
        }
        Op::NodeStatus { node, status } => Command::NodeStatusUpdate(NodeStatusUpdate {
            node_id: NODES[node].into(),
            status: ["ready", "down", "initializing", "disconnected", "bogus"][status].into(),
            now,
        }),
        Op::Drain { node, on, mark } => Command::NodeDrain(NodeDrain {
            node_id: NODES[node].into(),
            drain_strategy: on.then(|| DrainStrategy {
                deadline: 1_000,
                ..DrainStrategy::default()
            }),
            mark_eligible: mark,
            drain_complete: false,
            now,
        }),
        Op::Eligibility { node, eligible } => Command::NodeEligibility(NodeEligibility {
            node_id: NODES[node].into(),
            eligibility: if eligible { "eligible" } else { "ineligible" }.into(),
        }),
        Op::NodeDeregister { node } => Command::NodeDeregister(NodeDeregister {
            node_ids: vec![NODES[node].into()],
        }),
        Op::Plan {
            job: j,
            node,
            n,
            stop,
            stop_any,
        } => {
            let version = s.job("default", JOBS[j]).map_or(0, |j| j.version);
            let allocs = (0..n)
                .map(|i| Allocation {
                    id: format!("a{step}-{i}"),
                    namespace: "default".into(),
                    eval_id: eid.as_str().into(),
                    name: format!("{}.g[{i}]", JOBS[j]),
                    node_id: NODES[node].into(),
                    job_id: JOBS[j].into(),
                    task_group: "g".into(),
                    job_version: version,
                    ..Allocation::default()
                })
                .collect();
            let ids: Vec<String> = s.allocs().map(|a| a.id.clone()).collect();
            let allocs_stopped = if stop_any {
                pick(ids, stop)
                    .map(|alloc_id| AllocStop {
                        alloc_id,
                        desired_description: "stop".into(),
                        client_status: None,
                    })
                    .into_iter()
                    .collect()
            } else {
                vec![]
            };
            Command::ApplyPlanResults(ApplyPlanResults {
                allocs_to_upsert: allocs,
                allocs_stopped,
                allocs_preempted: vec![],
                deployment: None,
                deployment_updates: vec![],
                evals: vec![],
                eval_id: String::new(),
                now,
            })
        }
        Op::Client { pick: p, status } => {
            let ids: Vec<String> = s.allocs().map(|a| a.id.clone()).collect();
            let id = pick(ids, p).unwrap_or_else(|| "missing".into());
            let status = [
                "pending", "running", "complete", "failed", "lost", "unknown", "bogus",
            ][status];
            Command::AllocClientUpdate(AllocClientUpdate {
                allocs: vec![AllocClientState {
                    id,
                    client_status: status.into(),
                    ..AllocClientState::default()
                }],
                evals: vec![],
                now,
            })
        }
        Op::EvalComplete { pick: p } => {
            let evals: Vec<Evaluation> = s.evals().cloned().collect();
            let evals = pick(evals, p)
                .map(|mut e| {
                    e.status = eval_status::COMPLETE.into();
                    e
                })
                .into_iter()
                .collect();
            Command::EvalUpsert(EvalUpsert { evals })
        }
        Op::Gc { eval, alloc } => {
            let evals: Vec<String> = s.evals().map(|e| e.id.clone()).collect();
            let allocs: Vec<String> = s.allocs().map(|a| a.id.clone()).collect();
            Command::EvalDelete(EvalDelete {
                eval_ids: pick(evals, eval).into_iter().collect(),
                alloc_ids: pick(allocs, alloc).into_iter().collect(),
            })
        }
    }
}

fn check_invariants(s: &StateStore) -> Result<(), TestCaseError> {
    let latest = s.latest_index();
    prop_assert_eq!(s.evals_modified_after(0).count(), s.evals().count());
    prop_assert_eq!(s.allocs_modified_after(0).count(), s.allocs().count());
    prop_assert!(
        s.allocs_modified_after(0)
            .map(|a| a.modify_index)
            .is_sorted(),
        "modify order"
    );
    prop_assert_eq!(s.allocs_modified_after(latest).count(), 0);
    // The watch lists hold exactly the jobs they describe.
    let ids = |it: &mut dyn Iterator<Item = &orch_core::model::Job>| -> Vec<String> {
        it.map(|j| j.id.clone()).collect()
    };
    prop_assert_eq!(
        ids(&mut s.periodic_jobs()),
        ids(&mut s.jobs().filter(|j| j.is_periodic_active()))
    );
    prop_assert_eq!(
        ids(&mut s.scaling_jobs()),
        ids(&mut s.jobs().filter(|j| !j.stop
            && !j.is_template()
            && j.task_groups
                .iter()
                .any(|g| g.scaling.as_ref().is_some_and(|x| x.enabled))))
    );
    for n in s.nodes() {
        let mut sum = orch_core::model::Usage::default();
        for a in s.allocs_by_node(&n.id) {
            sum.add(&a.usage());
        }
        prop_assert_eq!(s.node_usage(&n.id), sum, "usage index of node {}", n.id);
    }
    let ordered = |what: &str, c: u64, m: u64, table: &str| -> Result<(), TestCaseError> {
        prop_assert!(
            c <= m && m <= latest,
            "{what}: create {c} modify {m} latest {latest}"
        );
        prop_assert!(
            s.index(table) >= m,
            "{what}: table {table} index {} < {m}",
            s.index(table)
        );
        Ok(())
    };
    for j in s.jobs() {
        ordered(
            &format!("job {}", j.id),
            j.create_index,
            j.modify_index,
            table::JOBS,
        )?;
        prop_assert!(j.job_modify_index <= j.modify_index);
        prop_assert!(
            s.job_version(&j.namespace, &j.id, j.version).is_some(),
            "current version tracked"
        );
        let versions = s.job_versions(&j.namespace, &j.id);
        prop_assert!(versions.len() <= JOB_TRACKED_VERSIONS);
        for v in versions {
            ordered(
                "job version",
                v.create_index,
                v.modify_index,
                table::JOB_VERSION,
            )?;
        }
    }
    for n in s.nodes() {
        ordered(
            &format!("node {}", n.id),
            n.create_index,
            n.modify_index,
            table::NODES,
        )?;
        prop_assert_eq!(&n.computed_class, &compute_class(n));
    }
    for e in s.evals() {
        ordered(
            &format!("eval {}", e.id),
            e.create_index,
            e.modify_index,
            table::EVALS,
        )?;
        prop_assert!(
            s.evals_by_job(&e.namespace, &e.job_id)
                .iter()
                .any(|x| x.id == e.id)
        );
    }
    let mut by_node = 0;
    for a in s.allocs() {
        ordered(
            &format!("alloc {}", a.id),
            a.create_index,
            a.modify_index,
            table::ALLOCS,
        )?;
        prop_assert!(
            a.alloc_modify_index <= a.modify_index && a.create_index <= a.alloc_modify_index
        );
        prop_assert!(
            s.node(&a.node_id).is_some(),
            "alloc {} on missing node {}",
            a.id,
            a.node_id
        );
        prop_assert!(a.job.is_none(), "stored allocations are normalized");
        let full = s.alloc(&a.id);
        prop_assert!(
            full.and_then(|f| f.job).is_some(),
            "alloc {} job spec resolvable",
            a.id
        );
        prop_assert!(
            s.allocs_by_job(&a.namespace, &a.job_id)
                .iter()
                .any(|x| x.id == a.id)
        );
        prop_assert!(s.allocs_by_eval(&a.eval_id).iter().any(|x| x.id == a.id));
        by_node += usize::from(s.allocs_by_node(&a.node_id).iter().any(|x| x.id == a.id));
    }
    prop_assert_eq!(by_node, s.allocs().count());
    for d in s.deployments() {
        ordered(
            &format!("deployment {}", d.id),
            d.create_index,
            d.modify_index,
            table::DEPLOYMENTS,
        )?;
    }
    let bytes = s
        .snapshot()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let restored = StateStore::restore(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(
        restored
            .snapshot()
            .map_err(|e| TestCaseError::fail(e.to_string()))?,
        bytes
    );
    prop_assert!(&restored == s, "restore rebuilds identical indexes");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_logs_keep_invariants(tail in prop::collection::vec(op(), 1..40)) {
        // Start from a populated cluster so plans and client updates mostly land.
        let mut ops: Vec<Op> = (0..3).map(|node| Op::RegisterNode { node, class: 0 }).collect();
        ops.extend((0..3).map(|job| Op::Register { job, count: 2, rev: 0, stop: false, eval: true }));
        ops.extend(tail);
        let mut s = StateStore::new();
        let mut log = Vec::new();
        let mut outcomes = Vec::new();
        for (step, op) in ops.iter().enumerate() {
            let index = (step as u64 + 1) * 2;
            let cmd = command(&s, step, op);
            let before = s.snapshot().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let latest = s.latest_index();
            let result = s.apply(index, cmd.clone());
            match &result {
                Ok(r) => {
                    prop_assert_eq!(r.index, index);
                    prop_assert_eq!(s.latest_index(), index);
                }
                Err(_) => {
                    prop_assert_eq!(s.latest_index(), latest);
                    prop_assert_eq!(&s.snapshot().map_err(|e| TestCaseError::fail(e.to_string()))?, &before,
                        "rejected {:?} changed the store", op);
                }
            }
            check_invariants(&s)?;
            // Re-applying at an old index is always refused.
            if index > 1 {
                let stale = s.apply(index - 1, cmd.clone());
                prop_assert!(stale.is_err(), "stale index accepted");
            }
            outcomes.push(result);
            log.push((index, cmd));
        }
        let mut replay = StateStore::new();
        for ((index, cmd), expected) in log.into_iter().zip(outcomes) {
            prop_assert_eq!(replay.apply(index, cmd), expected);
        }
        prop_assert_eq!(replay.snapshot().ok(), s.snapshot().ok());
    }
}
