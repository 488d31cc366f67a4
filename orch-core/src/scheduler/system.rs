//! The system and sysbatch scheduler (Nomad's `SystemScheduler`): one allocation of each
//! group on every eligible node, placed on nodes as they join, stopped where nodes go
//! away. Preemption is on by default here, as in Nomad, so system work always finds room.

use std::collections::BTreeMap;

use super::context::PlanContext;
use super::generic::tainted_nodes;
use super::outcome::{Failures, Outcome, PlacementSpec, finish, place_on};
use super::plan::Plan;
use super::reconcile::{describe, update::tasks_updated};
use super::rng::SchedRng;
use super::select::{NoFit, Placer, SchedulerConfig};
use crate::model::{Allocation, Evaluation, client_status, job_type, node_status};
use crate::state::StateStore;

/// Processes one system or sysbatch evaluation against `state`. Pure and deterministic.
pub fn schedule(
    state: &StateStore,
    eval: &Evaluation,
    config: &SchedulerConfig,
    seed: u64,
    now: i64,
    next_id: &mut dyn FnMut() -> String,
) -> Outcome {
    // Templates (periodic/parameterized parents) never run themselves.
    let job = state
        .job(&eval.namespace, &eval.job_id)
        .filter(|j| !j.is_template());
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
    let eligible: Vec<String> = placer.nodes().iter().map(|n| n.id.clone()).collect();
    let (tainted, missing) = tainted_nodes(state, live.iter().map(|a| a.node_id.as_str()));

    // What already runs where, and what must stop or change.
    let mut present: BTreeMap<(String, String), &Allocation> = BTreeMap::new();
    let mut replace: Vec<&Allocation> = Vec::new();
    for a in &live {
        let node_gone = missing.contains(&a.node_id)
            || tainted
                .get(&a.node_id)
                .is_some_and(|n| n.status == node_status::DOWN);
        if node_gone {
            ctx.stop(a, describe::LOST, Some(client_status::LOST.into()));
            continue;
        }
        // The drainer marks system allocations only once the rest of the node's work
        // has left (or at the deadline), so they stop when marked, not when the drain
        // begins.
        let draining = a.desired_transition.migrate == Some(true)
            && tainted
                .get(&a.node_id)
                .and_then(|n| n.drain_strategy.as_ref())
                .is_some_and(|d| !d.ignore_system_jobs);
        let Some(tg) = job.group(&a.task_group) else {
            ctx.stop(a, describe::NOT_NEEDED, None);
            continue;
        };
        if draining {
            ctx.stop(a, describe::MIGRATING, None);
            continue;
        }
        let node_ok = state.node(&a.node_id).is_some_and(|n| {
            let ready = super::feasible::NodeReadyChecker::new(job);
            ready.in_pool(n) && ready.in_datacenters(n)
        });
        if !node_ok {
            ctx.stop(a, describe::NOT_NEEDED, None);
            continue;
        }
        if present.contains_key(&(a.node_id.clone(), a.task_group.clone())) {
            ctx.stop(a, describe::NOT_NEEDED, None); // A duplicate on this node.
            continue;
        }
        if a.job_version != job.version {
            let old_spec = state.alloc_job(a);
            if old_spec.is_none_or(|old| tasks_updated(job, old, &tg.name)) {
                replace.push(a);
                continue;
            }
            let mut updated = (*a).clone();
            updated.job_version = job.version;
            updated.modify_time = now;
            ctx.place(updated);
        }
        present.insert((a.node_id.clone(), a.task_group.clone()), a);
    }
    // Sysbatch work that finished on a node at this version is done there.
    if job.job_type == job_type::SYSBATCH {
        for a in all
            .iter()
            .filter(|a| a.client_status == client_status::COMPLETE && a.job_version == job.version)
        {
            present
                .entry((a.node_id.clone(), a.task_group.clone()))
                .or_insert(a);
        }
    }

    for node_id in &eligible {
        for (gi, tg) in job.task_groups.iter().enumerate() {
            let key = (node_id.clone(), tg.name.clone());
            if present.contains_key(&key) {
                continue;
            }
            let old = replace
                .iter()
                .copied()
                .find(|a| a.node_id == *node_id && a.task_group == tg.name);
            if let Some(old) = old {
                ctx.stop(old, describe::UPDATING, None);
            }
            let mut metrics = placer.new_metric();
            match placer.select_on(&ctx, gi, tg, node_id, &mut metrics) {
                Ok(choice) => {
                    let spec = PlacementSpec {
                        name: job.alloc_name(&tg.name, 0),
                        previous_alloc: old.map(|a| a.id.clone()),
                        ..PlacementSpec::default()
                    };
                    if !place_on(
                        &mut ctx,
                        &mut placer,
                        job,
                        gi,
                        tg,
                        choice,
                        spec,
                        next_id(),
                        metrics.clone(),
                        now,
                    ) {
                        if let Some(old) = old {
                            ctx.unstop(old);
                        }
                        failures.record(&tg.name, metrics);
                    }
                }
                Err(no_fit) => {
                    if let Some(old) = old {
                        ctx.unstop(old);
                    }
                    if no_fit == NoFit::Full {
                        failures.record(&tg.name, metrics);
                    }
                }
            }
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
