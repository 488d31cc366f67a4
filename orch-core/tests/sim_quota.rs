//! Quota invariants through the whole simulated loop (broker → scheduler → plan
//! verification → state): after any sequence of registrations, stops, completions and
//! quota changes, the use of a quota's namespaces never exceeds its limit, work is never
//! left queued on a quota that has room for it, and the same seed replays to the same
//! bytes.

use orch_core::model::{
    DriverInfo, Job, Namespace, Node, QuotaLimit, QuotaResources, QuotaSpec, Task, TaskGroup,
    client_status, job_type,
};
use orch_core::sim::Cluster;
use proptest::prelude::*;

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

fn job(id: &str, ns: &str, count: u32, cpu: u64, system: bool) -> Job {
    let mut t = Task {
        name: "t".into(),
        driver: "raw_exec".into(),
        ..Task::default()
    };
    t.resources.cpu = cpu;
    t.resources.memory_mb = 64;
    Job {
        id: id.into(),
        namespace: ns.into(),
        datacenters: vec!["dc1".into()],
        job_type: if system {
            job_type::SYSTEM
        } else {
            job_type::SERVICE
        }
        .into(),
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count,
            tasks: vec![t],
            ..TaskGroup::default()
        }],
        ..Job::default()
    }
}

fn quota(cpu: u64) -> QuotaSpec {
    QuotaSpec {
        name: "q".into(),
        limits: vec![QuotaLimit {
            region: "global".into(),
            region_limit: QuotaResources {
                cpu,
                ..QuotaResources::default()
            },
            ..QuotaLimit::default()
        }],
        ..QuotaSpec::default()
    }
}

#[derive(Debug, Clone)]
enum Step {
    Submit {
        ns: u8,
        count: u32,
        cpu: u64,
        system: bool,
    },
    Stop(u8),
    Fail(u8),
    SetLimit(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u8..3, 1u32..5, 1u64..6, prop::bool::weighted(0.2)).prop_map(|(ns, count, cpu, system)| {
            Step::Submit { ns, count, cpu: cpu * 100, system }
        }),
        2 => (0u8..8).prop_map(Step::Stop),
        1 => (0u8..8).prop_map(Step::Fail),
        1 => (3u64..20).prop_map(|c| Step::SetLimit(c * 100)),
    ]
}

const NAMESPACES: [&str; 3] = ["a", "b", "default"];

fn cluster(seed: u64, limit: u64) -> Cluster {
    let mut c = Cluster::new(seed);
    for i in 0..3 {
        c.add_node(node(i)).unwrap();
    }
    c.upsert_quota(quota(limit)).unwrap();
    for ns in ["a", "b"] {
        c.upsert_namespace(Namespace {
            name: ns.into(),
            quota: "q".into(),
            ..Namespace::default()
        })
        .unwrap();
    }
    c
}

/// Runs the steps; returns the final snapshot. Checks the invariants after each step:
/// use ends at most at `max(limit, use before the step)` (a lowered limit evicts
/// nothing, but nothing new is placed over it), and no job stays quota-blocked while
/// the quota has room for its ask.
fn run(seed: u64, limit: u64, steps: &[Step]) -> Vec<u8> {
    let mut c = cluster(seed, limit);
    let mut limit = limit;
    let mut jobs: Vec<(String, String, u64)> = Vec::new();
    for (k, s) in steps.iter().enumerate() {
        let before = c.state.quota_used("q").cpu;
        match s {
            Step::Submit {
                ns,
                count,
                cpu,
                system,
            } => {
                let ns = NAMESPACES[*ns as usize];
                let id = format!("j{k}");
                let count = if *system { 1 } else { *count };
                c.submit_job(job(&id, ns, count, *cpu, *system)).unwrap();
                jobs.push((ns.to_string(), id, *cpu));
            }
            Step::Stop(i) if !jobs.is_empty() => {
                let (ns, id, _) = jobs.remove(*i as usize % jobs.len());
                c.stop_job(&ns, &id, false).unwrap();
            }
            Step::Fail(i) if !jobs.is_empty() => {
                let (ns, id, _) = &jobs[*i as usize % jobs.len()];
                let live: Vec<String> = c
                    .state
                    .allocs_by_job(ns, id)
                    .iter()
                    .filter(|a| !a.terminal())
                    .map(|a| a.id.clone())
                    .take(1)
                    .collect();
                c.client_update(&live, client_status::FAILED).unwrap();
            }
            Step::SetLimit(l) => {
                limit = *l;
                c.upsert_quota(quota(limit)).unwrap();
            }
            _ => {}
        }
        c.run_to_quiescence().unwrap();
        c.start_pending_allocs().unwrap();
        c.run_to_quiescence().unwrap();
        let used = c.state.quota_used("q").cpu;
        assert!(
            used <= limit.max(before),
            "step {k} ({s:?}): quota use {used} over limit {limit} (was {before})"
        );
        let room = limit.saturating_sub(used);
        for (ns, id, cpu) in jobs.iter().filter(|(ns, _, _)| ns != "default") {
            let quota_blocked = c
                .failures(ns, id)
                .values()
                .any(|m| !m.quota_exhausted.is_empty());
            assert!(
                !quota_blocked || *cpu > room,
                "step {k}: job {id} ({cpu} MHz) stays quota-blocked with {room} MHz free"
            );
        }
    }
    c.state.snapshot().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn quota_use_never_exceeds_the_limit(seed in 0u64..1000, limit in 3u64..20, steps in prop::collection::vec(step(), 1..14)) {
        let a = run(seed, limit * 100, &steps);
        let b = run(seed, limit * 100, &steps);
        prop_assert_eq!(a, b);
    }
}
