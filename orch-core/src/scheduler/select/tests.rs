use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::model::{Allocation, Constraint, Task, TaskGroup, Usage};
use crate::scheduler::context::PlanContext;
use crate::scheduler::feasible::NodeReadyChecker;
use crate::scheduler::outcome::{PlacementSpec, place_on};
use crate::scheduler::plan::Plan;
use crate::state::testutil::{plan, register, register_node};
use crate::state::{StateStore, compute_class};

#[test]
fn limits_follow_nomad() {
    assert_eq!(candidate_limit(true, 10_000), 2);
    assert_eq!(candidate_limit(false, 1), 2);
    assert_eq!(candidate_limit(false, 10_000), 14);
    assert_eq!(candidate_limit(false, 1024), 10);
}

/// One random node: size class, datacenter, rack, readiness, load already on it.
#[derive(Debug, Clone)]
struct NodeSpec {
    size: u8,
    dc: u8,
    rack: u8,
    ready: bool,
    load_pct: u8,
}

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    (0u8..3, 0u8..3, 0u8..3, prop::bool::weighted(0.9), 0u8..100).prop_map(
        |(size, dc, rack, ready, load_pct)| NodeSpec {
            size,
            dc,
            rack,
            ready,
            load_pct,
        },
    )
}

fn build_node(i: usize, s: &NodeSpec) -> Node {
    let mut n = crate::state::testutil::node(&format!("n{i:03}"));
    let scale = 1u64 << s.size;
    n.node_resources.cpu.cpu_shares = 1000 * scale;
    n.node_resources.memory.memory_mb = 2048 * scale;
    n.node_resources.disk.disk_mb = 10_000;
    n.datacenter = format!("dc{}", s.dc + 1);
    n.node_class = format!("c{}", s.size);
    n.meta.insert("rack".into(), format!("r{}", s.rack));
    n.drivers.insert(
        "raw_exec".into(),
        crate::model::DriverInfo {
            detected: true,
            healthy: true,
            ..Default::default()
        },
    );
    if !s.ready {
        n.status = "down".into();
    }
    n.computed_class = compute_class(&n);
    n
}

/// Load of another job on node `i` (so nodes differ in fullness and shape).
fn filler(i: usize, spec: &NodeSpec) -> Allocation {
    let cap = 1000u64 << spec.size;
    let mut a =
        crate::state::testutil::alloc(&format!("f{i:03}"), "filler", &format!("n{i:03}"), 0);
    a.task_group = "web".into();
    let pct = u64::from(spec.load_pct);
    a.allocated_resources.tasks.insert(
        "server".into(),
        crate::model::AllocatedTaskResources {
            cpu: crate::model::AllocatedCpuResources {
                cpu_shares: cap * pct / 100,
                ..Default::default()
            },
            memory: crate::model::AllocatedMemoryResources {
                // Another shape than CPU: memory load runs the other way.
                memory_mb: 2 * cap * (100 - pct) / 150,
                ..Default::default()
            },
            ..Default::default()
        },
    );
    a
}

/// A loaded cluster and the job to place on it.
fn cluster(specs: &[NodeSpec], ask: (u64, u64), count: u32, rack: bool) -> (StateStore, Job) {
    let mut s = StateStore::new();
    let mut index = 1;
    for (i, spec) in specs.iter().enumerate() {
        s.apply(index, register_node(build_node(i, spec))).ok();
        index += 1;
    }
    let mut filler_job = crate::state::testutil::job("filler");
    filler_job.datacenters = vec!["*".into()];
    s.apply(index, register(filler_job)).ok();
    let allocs = specs
        .iter()
        .enumerate()
        .filter(|(_, spec)| spec.ready)
        .map(|(i, spec)| filler(i, spec))
        .collect();
    s.apply(
        index + 1,
        crate::state::Command::ApplyPlanResults(plan(allocs)),
    )
    .ok();
    let mut task = Task {
        name: "t".into(),
        driver: "raw_exec".into(),
        ..Task::default()
    };
    task.resources.cpu = ask.0;
    task.resources.memory_mb = ask.1;
    let mut job = Job {
        id: "probe".into(),
        namespace: "default".into(),
        datacenters: vec!["dc1".into(), "dc2".into()],
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count,
            tasks: vec![task],
            ..TaskGroup::default()
        }],
        ..Job::default()
    };
    if rack {
        job.constraints
            .push(Constraint::new("${meta.rack}", "!=", "r0"));
    }
    s.apply(index + 2, register(job.clone())).ok();
    (s, job)
}

/// The hot path: the placer's choices for `count` placements, placed as it goes.
fn hot_path(state: &StateStore, job: &Job, config: &SchedulerConfig) -> Vec<Option<String>> {
    hot_path_with(state, job, config, &[]).0
}

/// [`hot_path`] with penalty nodes for every placement (a penalty list that names no
/// node changes no score but makes every placement walk afresh), and each
/// placement's metrics.
fn hot_path_with(
    state: &StateStore,
    job: &Job,
    config: &SchedulerConfig,
    penalty: &[String],
) -> (Vec<Option<String>>, Vec<AllocationMetric>) {
    let mut ctx = PlanContext::new(state, &job.namespace, &job.id, Plan::default());
    let mut p = Placer::new(job, state, config, SchedRng::new(7));
    let tg = &job.task_groups[0];
    let mut out = Vec::new();
    let mut metrics = Vec::new();
    for i in 0..tg.count {
        let mut m = p.new_metric();
        let choice = p.select(&ctx, 0, tg, penalty, None, &mut m);
        out.push(choice.as_ref().map(|c| c.node.id.clone()));
        metrics.push(m.clone());
        if let Some(choice) = choice {
            let spec = PlacementSpec {
                name: job.alloc_name(&tg.name, i),
                ..PlacementSpec::default()
            };
            let id = format!("a{i}");
            let placed = place_on(&mut ctx, &mut p, job, 0, tg, choice, spec, id, m, 0);
            assert!(placed.is_ok());
        }
    }
    (out, metrics)
}

/// The obvious reference: every node re-checked from scratch on every placement, usage
/// looked up by ID in a map, the order from a full stable sort, scores from the rank
/// functions, the first `limit` fitting candidates compared.
fn reference(state: &StateStore, job: &Job) -> Vec<Option<String>> {
    let ctx = PlanContext::new(state, &job.namespace, &job.id, Plan::default());
    let tg = &job.task_groups[0];
    let ask = tg.ask();
    let ready = NodeReadyChecker::new(job);
    let mut used: BTreeMap<String, Usage> = BTreeMap::new();
    let mut nodes: Vec<&Node> = state.nodes().filter(|n| ready.admits(n)).collect();
    for n in &nodes {
        used.insert(n.id.clone(), state.node_usage(&n.id));
    }
    // Fullest first in 1/1024 steps of the fullest dimension; ties in ID order.
    let bucket = |n: &Node, used: &Usage| fullness(&n.capacity(), used) * 1023 / 1_000_000;
    nodes.sort_by_key(|n| std::cmp::Reverse(bucket(n, &used[&n.id])));
    let limit = 32usize.max(candidate_limit(false, nodes.len()));
    let mut stack = FeasibilityStack::new(job);
    let mut dead: BTreeSet<String> = BTreeSet::new();
    let mut collisions: BTreeMap<String, u32> = BTreeMap::new();
    // Even spreads over datacenters (the only spreads these jobs have): the group's
    // allocations per datacenter name, scored by the map form of the spread score.
    let spread_weights: Vec<f64> = job.spreads.iter().map(|s| f64::from(s.weight)).collect();
    let no_targets = BTreeMap::new();
    let mut per_dc: BTreeMap<String, u64> = BTreeMap::new();
    let limit = if spread_weights.is_empty() {
        limit
    } else {
        limit.max(100)
    };
    let mut out = Vec::new();
    for _ in 0..tg.count {
        let (mut best, mut best_skipped) = (None::<(&Node, f64)>, None::<(&Node, f64)>);
        let (mut candidates, mut skipped) = (0, 0);
        for n in &nodes {
            if candidates >= limit {
                break;
            }
            if dead.contains(&n.id) {
                continue;
            }
            let u = used[&n.id];
            if stack.check(0, n, &ctx).is_err() || n.capacity().fits(&u, &ask).is_err() {
                dead.insert(n.id.clone());
                continue;
            }
            let c = collisions.get(&n.id).copied().unwrap_or(0);
            let spread = rank::spread_score(
                spread_weights.iter().map(|&weight| SpreadState {
                    weight,
                    targets: &no_targets,
                    counts: &per_dc,
                    desired_count: tg.count,
                }),
                |_| Some(n.datacenter.as_str()),
            );
            let scores: Vec<f64> = [
                Some(rank::fit_score_waste(&n.capacity(), &u, &ask)),
                rank::job_anti_affinity_balanced(c, tg.count),
                spread,
            ]
            .into_iter()
            .flatten()
            .collect();
            let score = rank::normalize(&scores);
            let slot = if score < 0.0 && skipped < MAX_SKIP {
                skipped += 1;
                &mut best_skipped
            } else {
                candidates += 1;
                &mut best
            };
            if slot.is_none_or(|b| score > b.1) {
                *slot = Some((n, score));
            }
        }
        let chosen = best.or(best_skipped).map(|(n, _)| n);
        if let Some(n) = chosen {
            if let Some(u) = used.get_mut(&n.id) {
                u.add(&ask);
            }
            *collisions.entry(n.id.clone()).or_default() += 1;
            if !spread_weights.is_empty() {
                *per_dc.entry(n.datacenter.clone()).or_default() += 1;
            }
        }
        out.push(chosen.map(|n| n.id.clone()));
    }
    out
}

/// Gives the job `n` even spreads over datacenters (0, 1 or 2, of different weights).
fn with_spreads(job: &mut Job, n: u8) {
    for w in [50, 20].into_iter().take(usize::from(n)) {
        job.spreads.push(crate::model::Spread {
            attribute: "${node.datacenter}".into(),
            weight: w,
            ..crate::model::Spread::default()
        });
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn hot_path_chooses_what_the_reference_chooses(
        specs in prop::collection::vec(node_spec(), 1..80),
        cpu in prop::sample::select(vec![50u64, 200, 500, 900]),
        mem in prop::sample::select(vec![64u64, 256, 1024, 1800]),
        count in 1u32..60,
        rack in any::<bool>(),
        spread in 0u8..3,
    ) {
        let (state, mut job) = cluster(&specs, (cpu, mem), count, rack);
        with_spreads(&mut job, spread);
        let fast = hot_path(&state, &job, &SchedulerConfig::default());
        let slow = reference(&state, &job);
        prop_assert_eq!(fast, slow);
    }

    /// Reusing the last walk's candidates gives every placement the choice and the
    /// metrics a fresh walk gives it, spreads over datacenters or not.
    #[test]
    fn reused_candidates_match_fresh_walks(
        specs in prop::collection::vec(node_spec(), 1..80),
        cpu in prop::sample::select(vec![50u64, 200, 500, 900]),
        mem in prop::sample::select(vec![64u64, 256, 1024, 1800]),
        count in 1u32..60,
        rack in any::<bool>(),
        spread in 0u8..3,
    ) {
        let (state, mut job) = cluster(&specs, (cpu, mem), count, rack);
        with_spreads(&mut job, spread);
        let config = SchedulerConfig::default();
        let reused = hot_path_with(&state, &job, &config, &[]);
        let fresh = hot_path_with(&state, &job, &config, &["no-such-node".to_string()]);
        prop_assert_eq!(reused, fresh);
    }
}

/// Nodes loaded 70–100%, so long runs of them are too full for the ask and the walk
/// passes them by their compact free codes.
fn loaded_spec() -> impl Strategy<Value = NodeSpec> {
    (node_spec(), 70u8..100).prop_map(|(s, load_pct)| NodeSpec { load_pct, ..s })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// On clusters of more than a bitset word of mostly full nodes (the walk passes
    /// runs of them by their free codes), the hot path still chooses what the
    /// reference chooses, and reused candidates match fresh walks, metrics included.
    #[test]
    fn passing_full_nodes_by_codes_keeps_the_choices(
        specs in prop::collection::vec(loaded_spec(), 60..260),
        cpu in prop::sample::select(vec![50u64, 200, 500, 900]),
        mem in prop::sample::select(vec![64u64, 256, 1024, 1800]),
        count in 1u32..40,
        rack in any::<bool>(),
        every_dc in any::<bool>(),
        spread in 0u8..3,
    ) {
        let (state, mut job) = cluster(&specs, (cpu, mem), count, rack);
        if every_dc {
            // The table's own order, borrowed with its codes by position.
            job.datacenters = vec!["*".into()];
        }
        with_spreads(&mut job, spread);
        let config = SchedulerConfig::default();
        prop_assert_eq!(hot_path(&state, &job, &config), reference(&state, &job));
        let reused = hot_path_with(&state, &job, &config, &[]);
        let fresh = hot_path_with(&state, &job, &config, &["no-such-node".to_string()]);
        prop_assert_eq!(reused, fresh);
    }

    /// The order kept by the node table, borrowed whole or filtered by the job's
    /// datacenters, is the order computed from scratch, per-datacenter counts
    /// included, after the cluster's loads were committed.
    #[test]
    fn the_kept_node_order_is_the_computed_one(
        specs in prop::collection::vec(loaded_spec(), 1..120),
        count in 1u32..20,
        every_dc in any::<bool>(),
    ) {
        let (state, mut job) = cluster(&specs, (200, 256), count, false);
        if every_dc {
            job.datacenters = vec!["*".into()];
        }
        let kept = NodeOrder::build(&state, &job, true, &mut SchedRng::new(1));
        let fresh = NodeOrder::build_from_scratch(&state, &job, true);
        prop_assert_eq!(&kept.slots[..], &fresh.slots[..]);
        let dcs = fresh.per_datacenter().len();
        prop_assert_eq!(&kept.per_datacenter()[..dcs], fresh.per_datacenter());
        prop_assert!(kept.per_datacenter()[dcs..].iter().all(|n| *n == 0));
        for s in 0..state.node_table().dense().len() as u32 {
            prop_assert_eq!(kept.position(s), fresh.position(s));
        }
    }

    /// Marking a run full a word at a time does what marking each position does.
    #[test]
    fn mark_full_run_matches_marking_each(
        n in 1usize..300,
        dead in proptest::collection::vec(0usize..300, 0..100),
        from in 0usize..300,
        len in 0usize..200,
    ) {
        let state = StateStore::new();
        let job = Job { task_groups: vec![TaskGroup::default()], ..Job::default() };
        let ctx = PlanContext::new(&state, "default", "x", Plan::default());
        let order = NodeOrder::build(&state, &job, true, &mut SchedRng::new(1));
        let tg = &job.task_groups[0];
        let mut a = GroupView::new(&ctx, &job, tg, &order, (2, true), false, 0);
        a.resize_for_test(n);
        for &d in dead.iter().filter(|&&d| d < n) {
            a.mark_dead(d);
        }
        let mut b = a.clone_for_test();
        let (from, to) = (from.min(n), (from + len).min(n));
        a.mark_full_run(from, to);
        for p in from..to {
            if !b.is_dead(p) {
                b.mark_full(p);
            }
        }
        prop_assert_eq!(
            a.prefull.iter().collect::<Vec<_>>(),
            b.prefull.iter().collect::<Vec<_>>()
        );
        prop_assert_eq!(a.first_live, b.first_live);
        for p in 0..n {
            prop_assert_eq!(a.is_dead(p), b.is_dead(p));
        }
    }
}

proptest! {
    /// Skipping dead nodes a word at a time finds what testing each bit finds.
    #[test]
    fn next_live_matches_a_bit_by_bit_scan(
        n in 0usize..300,
        dead in proptest::collection::vec(0usize..300, 0..300),
        from in 0usize..320,
    ) {
        let mut words = vec![0u64; n.div_ceil(64)];
        for &d in dead.iter().filter(|&&d| d < n) {
            words[d / 64] |= 1 << (d % 64);
        }
        let is_dead = |p: usize| words.get(p / 64).is_some_and(|w| w & (1 << (p % 64)) != 0);
        let slow = (from..n).find(|&p| !is_dead(p));
        prop_assert_eq!(super::group::next_live_in(&words, from, n), slow);
    }
}

proptest! {
    /// Positions kept as runs read back as the list of them, after pushes of runs and
    /// removals of every record of a position.
    #[test]
    fn prefull_runs_match_a_list(
        ops in proptest::collection::vec((any::<bool>(), 0u32..200, 0u32..70), 0..60),
    ) {
        let mut runs = super::group::Prefull::default();
        let mut list: Vec<u32> = Vec::new();
        for (push, at, len) in ops {
            if push {
                runs.push_run(at, at + len);
                list.extend(at..at + len);
            } else {
                runs.remove(at);
                list.retain(|p| *p != at);
            }
            prop_assert_eq!(runs.iter().collect::<Vec<_>>(), list.clone());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A failed placement's exhausted nodes, tallied per class from the dense figures
    /// in slot order, count as visiting each recorded position in order and counting
    /// it into the metric did (the reference), on mostly full clusters with asks too
    /// big for many or all nodes, after placements changed some of them.
    #[test]
    fn failed_placement_metrics_match_counting_node_by_node(
        specs in prop::collection::vec(loaded_spec(), 1..200),
        cpu in prop::sample::select(vec![200u64, 900, 3000]),
        mem in prop::sample::select(vec![256u64, 1800, 6000]),
        count in 1u32..30,
        rack in any::<bool>(),
        every_dc in any::<bool>(),
    ) {
        let (state, mut job) = cluster(&specs, (cpu, mem), count, rack);
        if every_dc {
            job.datacenters = vec!["*".into()];
        }
        let config = SchedulerConfig::default();
        let mut ctx = PlanContext::new(&state, &job.namespace, &job.id, Plan::default());
        let mut p = Placer::new(&job, &state, &config, SchedRng::new(7));
        let tg = &job.task_groups[0];
        for i in 0..tg.count {
            let mut m = p.new_metric();
            let Some(choice) = p.select(&ctx, 0, tg, &[], None, &mut m) else {
                let mut tallied = AllocationMetric::default();
                p.record_prefull(0, &mut tallied);
                let mut reference = AllocationMetric::default();
                let Some(Some(view)) = p.groups.first() else {
                    return Err(TestCaseError::fail("no group view after a placement"));
                };
                for pos in view.prefull.iter() {
                    let pos = pos as usize;
                    reference.nodes_evaluated += 1;
                    if let Err(dim) = p.order.capacity(pos).fits(&p.order.used(pos), &view.ask)
                        && let Some(node) = p.order.node(pos)
                    {
                        exhausted(&mut reference, node, dim);
                    }
                }
                prop_assert_eq!(tallied, reference);
                break;
            };
            let spec = PlacementSpec {
                name: job.alloc_name(&tg.name, i),
                ..PlacementSpec::default()
            };
            let placed = place_on(&mut ctx, &mut p, &job, 0, tg, choice, spec, format!("a{i}"), m, 0);
            prop_assert!(placed.is_ok());
        }
    }

    /// Runs as a bitset: every recorded position set, and the count of records
    /// (positions recorded twice counted twice).
    #[test]
    fn prefull_bits_match_the_list(
        runs in proptest::collection::vec((0u32..200, 0u32..70), 0..20),
    ) {
        let mut prefull = super::group::Prefull::default();
        for (at, len) in &runs {
            prefull.push_run(*at, at + len);
        }
        let list: Vec<u32> = prefull.iter().collect();
        let (bits, recorded) = prefull.bits(270);
        prop_assert_eq!(recorded, list.len());
        for pos in 0..270u32 {
            let set = bits[pos as usize / 64] & (1 << (pos % 64)) != 0;
            prop_assert_eq!(set, list.contains(&pos));
        }
    }
}
