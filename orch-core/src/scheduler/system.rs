//! The system and sysbatch scheduler (Nomad's `SystemScheduler`): one allocation of each
//! group on every eligible node, placed on nodes as they join, stopped where nodes go
//! away. Preemption is on by default here, as in Nomad, so system work always finds room.

use std::collections::{BTreeMap, BTreeSet};

use super::context::PlanContext;
use super::generic::tainted_nodes;
use super::outcome::{Failures, Outcome, PlacementSpec, finish, place_on};
use super::plan::Plan;
use super::quota::QuotaBudget;
use super::reconcile::{describe, update::tasks_updated};
use super::rng::SchedRng;
use super::select::{NoFit, Placer, SchedulerConfig};
use crate::model::{Allocation, Evaluation, Job, Node, client_status, job_type, node_status};
use crate::state::StateStore;

/// `(node ID, group name)`: where one system allocation belongs.
type Spot = (String, String);

/// Processes one system or sysbatch evaluation against `state`. Pure and deterministic.
pub fn schedule(
    state: &StateStore,
    eval: &Evaluation,
    config: &SchedulerConfig,
    seed: u64,
    now: i64,
    next_id: &mut dyn FnMut() -> String,
) -> Outcome {
    let job = super::runnable_job(state, eval);
    let all: Vec<&Allocation> = state.allocs_by_job(&eval.namespace, &eval.job_id);
    let live: Vec<&Allocation> = all.iter().copied().filter(|a| !a.terminal()).collect();
    let plan = Plan {
        eval_id: eval.id.clone(),
        priority: eval.priority,
        job: job.cloned(),
        snapshot_index: state.latest_index(),
        ..Plan::default()
    };
    let mut ctx = PlanContext::new(state, &eval.namespace, &eval.job_id, plan);
    let mut failures = Failures::default();
    let Some(job) = job.filter(|j| !j.stop) else {
        for a in live {
            ctx.stop(a, describe::NOT_NEEDED, None);
        }
        let plan = std::mem::take(&mut ctx.plan);
        return finish(
            eval,
            None,
            failures,
            plan,
            state.latest_index(),
            &mut *next_id,
            now,
        );
    };
    let mut placer = Placer::new(job, state, config, SchedRng::new(seed));
    let eligible: Vec<String> = placer.nodes().map(|n| n.id.clone()).collect();
    let (mut present, replace) = review_existing(&mut ctx, job, &live, now);
    // Sysbatch work that finished on a node at this version is done there.
    if job.job_type == job_type::SYSBATCH {
        for a in all
            .iter()
            .filter(|a| a.client_status == client_status::COMPLETE && a.job_version == job.version)
        {
            present
                .entry((a.node_id.to_string(), a.task_group.to_string()))
                .or_insert(a);
        }
    }
    let present: BTreeSet<Spot> = present.into_keys().collect();
    let mut quota = QuotaBudget::for_job(state, job, &ctx.plan);
    for node_id in &eligible {
        for gi in 0..job.task_groups.len() {
            let spot = (node_id.clone(), job.task_groups[gi].name.clone());
            if present.contains(&spot) {
                continue;
            }
            let old = replace
                .iter()
                .copied()
                .find(|a| a.node_id == spot.0 && a.task_group == spot.1);
            let mut placing = Placing {
                job,
                gi,
                now,
                quota: &mut quota,
            };
            placing.place(
                &mut ctx,
                &mut placer,
                node_id,
                old,
                &mut failures,
                &mut *next_id,
            );
        }
    }
    // Old-version allocations on nodes no longer eligible keep running until the node
    // changes; nothing else to do for them here.
    let plan = std::mem::take(&mut ctx.plan);
    finish(
        eval,
        Some(&placer),
        failures,
        plan,
        state.latest_index(),
        &mut *next_id,
        now,
    )
}

/// Goes over the job's live allocations: stops those on lost, draining or no longer
/// eligible nodes, duplicates and removed groups; updates in place what only changed
/// version; returns what already runs where and what needs a destructive replacement.
fn review_existing<'s>(
    ctx: &mut PlanContext<'s>,
    job: &Job,
    live: &[&'s Allocation],
    now: i64,
) -> (BTreeMap<Spot, &'s Allocation>, Vec<&'s Allocation>) {
    let state = ctx.state;
    let (tainted, missing) = tainted_nodes(state, live.iter().map(|a| a.node_id.as_str()));
    let mut present: BTreeMap<Spot, &Allocation> = BTreeMap::new();
    let mut replace: Vec<&Allocation> = Vec::new();
    for a in live.iter().copied() {
        if let Some(why) = stop_reason(state, job, a, &tainted, &missing) {
            let status = (why == describe::LOST).then(|| client_status::LOST.into());
            ctx.stop(a, why, status);
            continue;
        }
        if present.contains_key(&(a.node_id.to_string(), a.task_group.to_string())) {
            ctx.stop(a, describe::NOT_NEEDED, None); // A duplicate on this node.
            continue;
        }
        if a.job_version != job.version {
            let old_spec = state.alloc_job(a);
            if old_spec.is_none_or(|old| tasks_updated(job, old, &a.task_group)) {
                replace.push(a);
                continue;
            }
            let mut updated = a.clone();
            updated.job_version = job.version;
            updated.modify_time = now;
            ctx.place(updated);
        }
        present.insert((a.node_id.to_string(), a.task_group.to_string()), a);
    }
    (present, replace)
}

/// Why a live allocation must stop, if it must: its node is gone or down (lost), the
/// drainer marked it, its group is gone, or its node left the job's pool/datacenters.
fn stop_reason(
    state: &StateStore,
    job: &Job,
    a: &Allocation,
    tainted: &BTreeMap<String, Node>,
    missing: &BTreeSet<String>,
) -> Option<&'static str> {
    let node_gone = missing.contains(a.node_id.as_str())
        || tainted
            .get(a.node_id.as_str())
            .is_some_and(|n| n.status == node_status::DOWN);
    if node_gone {
        return Some(describe::LOST);
    }
    // The drainer marks system allocations only once the rest of the node's work has
    // left (or at the deadline), so they stop when marked, not when the drain begins.
    let draining = a.desired_transition.migrate == Some(true)
        && tainted
            .get(a.node_id.as_str())
            .and_then(|n| n.drain_strategy.as_ref())
            .is_some_and(|d| !d.ignore_system_jobs);
    if job.group(&a.task_group).is_none() {
        return Some(describe::NOT_NEEDED);
    }
    if draining {
        return Some(describe::MIGRATING);
    }
    let node_ok = state.node(&a.node_id).is_some_and(|n| {
        let ready = super::feasible::NodeReadyChecker::new(job);
        ready.in_pool(n) && ready.in_datacenters(n)
    });
    (!node_ok).then_some(describe::NOT_NEEDED)
}

/// One system placement: group `gi` of `job` on one node.
struct Placing<'j> {
    job: &'j Job,
    gi: usize,
    now: i64,
    /// The namespace's quota room, when a quota limits it.
    quota: &'j mut Option<QuotaBudget>,
}

impl Placing<'_> {
    /// Whether the quota has no room for this placement (then the metrics say why);
    /// otherwise takes the room, the replaced allocation's use given back.
    fn quota_exhausted(
        &mut self,
        tg: &crate::model::TaskGroup,
        old: Option<&Allocation>,
        metrics: &mut crate::model::AllocationMetric,
    ) -> bool {
        let Some(b) = self.quota.as_mut() else {
            return false;
        };
        let freed = old.map(|a| a.quota_usage()).unwrap_or_default();
        let ask = tg.quota_ask();
        b.release(&freed);
        let exhausted = b.check(&ask);
        if exhausted.is_empty() {
            b.take(&ask);
            return false;
        }
        b.take(&freed);
        metrics.quota_exhausted = exhausted;
        true
    }

    /// Stops the allocation it replaces, tries the node (with preemption when on), and
    /// on failure takes the stop back; a full node is a failure, an infeasible one not.
    fn place(
        &mut self,
        ctx: &mut PlanContext<'_>,
        placer: &mut Placer<'_>,
        node_id: &str,
        old: Option<&Allocation>,
        failures: &mut Failures,
        next_id: &mut dyn FnMut() -> String,
    ) {
        let (job, gi) = (self.job, self.gi);
        let tg = &job.task_groups[gi];
        if let Some(old) = old {
            ctx.stop(old, describe::UPDATING, None);
        }
        let mut metrics = placer.new_metric();
        placer.set_alloc_name(gi, &job.alloc_name(&tg.name, 0));
        let (placed, failure) = match placer.select_on(ctx, gi, tg, node_id, &mut metrics) {
            Ok(_) if self.quota_exhausted(tg, old, &mut metrics) => (false, Some(metrics)),
            Ok(choice) => {
                let spec = PlacementSpec {
                    name: job.alloc_name(&tg.name, 0),
                    previous_alloc: old.map(|a| a.id.clone()),
                    ..PlacementSpec::default()
                };
                let id = next_id();
                match place_on(
                    ctx, placer, job, gi, tg, choice, spec, id, metrics, self.now,
                ) {
                    Ok(()) => (true, None),
                    Err(metrics) => {
                        // Give back the quota room taken for this placement.
                        if let Some(b) = self.quota.as_mut() {
                            b.release(&tg.quota_ask());
                            b.take(&old.map(|a| a.quota_usage()).unwrap_or_default());
                        }
                        (false, Some(*metrics))
                    }
                }
            }
            Err(NoFit::Full) => (false, Some(metrics)),
            Err(NoFit::Infeasible) => (false, None),
        };
        if !placed && let Some(old) = old {
            ctx.unstop(old);
        }

        if let Some(metrics) = failure {
            failures.record(&tg.name, metrics);
        }
    }
}
