//! Scheduler invariants over random clusters and workloads, through the whole loop
//! (broker → scheduler → plan verification → state): no node is over-committed, every
//! placement satisfies its constraints, names are unique per job, and the same seed
//! replays to the same bytes.

use std::collections::BTreeSet;

use orch_core::model::{Constraint, DriverInfo, Job, Node, Task, TaskGroup, Usage, job_type};
use orch_core::scheduler::feasible::CompiledConstraint;
use orch_core::sim::Cluster;
use proptest::prelude::*;

fn node(i: usize, size: u64, rack: u8, has_exec: bool) -> Node {
    let mut n = Node {
        id: format!("n{i:03}"),
        name: format!("n{i}"),
        datacenter: format!("dc{}", i % 2 + 1),
        ..Node::default()
    };
    n.node_resources.cpu.cpu_shares = 1000 * size;
    n.node_resources.memory.memory_mb = 1024 * size;
    n.node_resources.disk.disk_mb = 20_000;
    n.attributes.insert("rack".into(), format!("r{rack}"));
    n.meta.insert(
        "tier".into(),
        if rack.is_multiple_of(2) {
            "gold".into()
        } else {
            "silver".into()
        },
    );
    n.drivers.insert(
        "raw_exec".into(),
        DriverInfo {
            detected: true,
            healthy: true,
            ..DriverInfo::default()
        },
    );
    if has_exec {
        n.drivers.insert(
            "exec".into(),
            DriverInfo {
                detected: true,
                healthy: true,
                ..DriverInfo::default()
            },
        );
    }
    n.computed_class = orch_core::state::compute_class(&n);
    n
}

#[derive(Debug, Clone)]
struct JobSpec {
    count: u32,
    cpu: u64,
    mem: u64,
    system: bool,
    driver_exec: bool,
    constraint: Option<(u8, bool)>,
    priority: i32,
}

fn job(k: usize, s: &JobSpec) -> Job {
    let mut t = Task {
        name: "t".into(),
        driver: if s.driver_exec { "exec" } else { "raw_exec" }.into(),
        ..Task::default()
    };
    t.resources.cpu = s.cpu;
    t.resources.memory_mb = s.mem;
    let mut j = Job {
        id: format!("job{k}"),
        job_type: if s.system {
            job_type::SYSTEM
        } else if k.is_multiple_of(2) {
            job_type::SERVICE
        } else {
            job_type::BATCH
        }
        .into(),
        priority: s.priority,
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count: if s.system { 1 } else { s.count },
            tasks: vec![t],
            ..TaskGroup::default()
        }],
        ..Job::default()
    };
    if let Some((rack, equal)) = s.constraint {
        j.constraints.push(Constraint::new(
            "${attr.rack}",
            if equal { "=" } else { "!=" },
            format!("r{rack}"),
        ));
    }
    if k.is_multiple_of(3) {
        j.task_groups[0]
            .constraints
            .push(Constraint::new("${meta.tier}", "=", "gold"));
    }
    j
}

fn job_spec() -> impl Strategy<Value = JobSpec> {
    (
        1u32..12,
        50u64..1500,
        32u64..1500,
        prop::bool::weighted(0.15),
        any::<bool>(),
        prop::option::of((0u8..4, any::<bool>())),
        20i32..90,
    )
        .prop_map(
            |(count, cpu, mem, system, driver_exec, constraint, priority)| JobSpec {
                count,
                cpu,
                mem,
                system,
                driver_exec,
                constraint,
                priority,
            },
        )
}

fn check(c: &Cluster) -> Result<(), TestCaseError> {
    for n in c.state.nodes() {
        let mut used = Usage::default();
        for a in c.state.allocs_by_node(&n.id) {
            used.add(&a.usage());
        }
        prop_assert!(
            n.capacity().fits(&used, &Usage::default()).is_ok(),
            "node {} over-committed: {:?}",
            n.id,
            used
        );
    }
    for j in c.state.jobs() {
        let live: Vec<_> = c
            .state
            .allocs_by_job(&j.namespace, &j.id)
            .into_iter()
            .filter(|a| !a.terminal())
            .collect();
        if j.job_type != job_type::SYSTEM {
            let names: BTreeSet<_> = live.iter().map(|a| a.name.clone()).collect();
            prop_assert_eq!(names.len(), live.len(), "duplicate names in {}", j.id);
        }
        let rules: Vec<CompiledConstraint> = j
            .constraints
            .iter()
            .chain(&j.task_groups[0].constraints)
            .map(CompiledConstraint::new)
            .collect();
        for a in &live {
            let node = c.state.node(&a.node_id).expect("alloc on a known node");
            for r in &rules {
                prop_assert!(
                    r.matches(node),
                    "{} on {} violates {}",
                    a.id,
                    node.id,
                    r.reason()
                );
            }
            let driver = &j.task_groups[0].tasks[0].driver;
            prop_assert!(
                node.drivers.get(driver).is_some_and(|d| d.healthy),
                "{} on {} lacks driver {driver}",
                a.id,
                node.id
            );
        }
    }
    Ok(())
}

fn scenario(
    seed: u64,
    nodes: &[(u64, u8, bool)],
    jobs: &[JobSpec],
    fail: Option<usize>,
) -> Result<Cluster, TestCaseError> {
    let mut c = Cluster::new(seed);
    for (i, (size, rack, exec)) in nodes.iter().enumerate() {
        c.add_node(node(i, *size, *rack, *exec))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
    for (k, s) in jobs.iter().enumerate() {
        c.submit_job(job(k, s))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        c.run_to_quiescence()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        check(&c)?;
    }
    if let Some(f) = fail.filter(|f| *f < nodes.len()) {
        c.fail_node(&format!("n{f:03}"))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        c.run_to_quiescence()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        check(&c)?;
    }
    Ok(c)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn placements_respect_capacity_constraints_and_replay_identically(
        seed in any::<u64>(),
        nodes in prop::collection::vec((1u64..8, 0u8..4, any::<bool>()), 1..10),
        jobs in prop::collection::vec(job_spec(), 1..8),
        fail in prop::option::of(0usize..10),
    ) {
        let a = scenario(seed, &nodes, &jobs, fail)?;
        let b = scenario(seed, &nodes, &jobs, fail)?;
        prop_assert_eq!(a.state.snapshot().unwrap(), b.state.snapshot().unwrap(), "same seed, same bytes");
    }
}
