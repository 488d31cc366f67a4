//! The service and batch scheduler (Nomad's `GenericScheduler`): reconcile the job's
//! desired state against its allocations, then place what is missing.
//!
//! ```text
//! state snapshot + eval ─ reconcile ─ stops / in-place updates / follow-up evals
//!                                    └ placements ─ Placer::select (feasible → fit → rank → limit)
//!                                                  └ plan + failed-group metrics + blocked eval
//! ```

use std::collections::{BTreeMap, BTreeSet};

use super::context::PlanContext;
use super::outcome::{Failures, Outcome, PlacementSpec, finish, place_on};
use super::plan::Plan;
use super::quota::QuotaBudget;
use super::reconcile::{self, AllocHint, Placement, ReconcileInput, ReconcileResults};
use super::rng::SchedRng;
use super::select::{Placer, SchedulerConfig};
use crate::model::{Allocation, Evaluation, Job, Node, job_type, node_status};
use crate::state::{DeploymentUpdate, JobAllocRef, StateStore};

/// Processes one service or batch evaluation against `state`. Pure: the same state,
/// evaluation, configuration, seed, time and IDs give the same outcome.
pub fn schedule(
    state: &StateStore,
    eval: &Evaluation,
    config: &SchedulerConfig,
    seed: u64,
    now: i64,
    next_id: &mut dyn FnMut() -> String,
) -> Outcome {
    let job = super::runnable_job(state, eval);
    let batch = job.map_or(eval.eval_type == job_type::BATCH, |j| {
        j.job_type == job_type::BATCH
    });
    // By reference: an evaluation of a big job reads its allocations, it does not copy
    // them (churn evaluates many such jobs for a few lost allocations each).
    // With their nodes' slots, kept by the store: the tainted-node check and the
    // placer's allocations per node search nothing per allocation.
    let entries = state.allocs_by_job_with_slots(&eval.namespace, &eval.job_id);
    let existing: Vec<&Allocation> = entries.iter().map(|e| e.alloc).collect();
    let (tainted, missing, healthy) = tainted_by_slot(state, &entries);
    let hints: Vec<AllocHint<'_>> = entries
        .iter()
        .zip(&healthy)
        .map(|(e, &healthy)| AllocHint {
            at_rest: e.at_rest,
            healthy,
            version: e.version,
            group: e.group,
        })
        .collect();
    // The job's allocations span a few versions: each version's spec is looked up once
    // (a look-up builds its key from two strings), not once per allocation.
    let specs: std::cell::RefCell<Vec<(u64, Option<&Job>)>> = Default::default();
    let alloc_job = |a: &Allocation| {
        let known = specs
            .borrow()
            .iter()
            .find(|(v, _)| *v == a.job_version)
            .map(|s| s.1);
        known.unwrap_or_else(|| {
            let spec = state.alloc_job(a);
            specs.borrow_mut().push((a.job_version, spec));
            spec
        })
    };
    let mut results = reconcile::reconcile(ReconcileInput {
        job,
        existing: &existing,
        hints: Some(&hints),
        alloc_job: &alloc_job,
        tainted_nodes: &tainted,
        missing_nodes: &missing,
        deployment: state.latest_deployment_by_job(&eval.namespace, &eval.job_id),
        eval_id: &eval.id,
        eval_priority: eval.priority,
        now,
        batch,
        next_id: &mut *next_id,
    });
    // orch's job dependencies and ordered groups (no-ops for a Nomad jobspec).
    let held = crate::workflow::gate(state, job, &existing, &mut results);

    let plan = Plan {
        eval_id: eval.id.clone(),
        priority: eval.priority,
        all_at_once: job.is_some_and(|j| j.all_at_once),
        job: job.cloned(),
        snapshot_index: state.latest_index(),
        ..Plan::default()
    };
    let by_id = referenced(&entries, &results);
    let mut ctx =
        PlanContext::new(state, &eval.namespace, &eval.job_id, plan).with_job_slots(entries);
    apply_reconciled(&mut ctx, &results, &by_id, now);

    let mut failures = Failures::default();
    let placer = job
        .filter(|_| !results.place.is_empty() || !results.destructive_update.is_empty())
        .map(|job| {
            let mut p = Placer::new(job, state, config, SchedRng::new(seed));
            let mut run = PlaceRun {
                job,
                batch,
                now,
                by_id: &by_id,
                quota: QuotaBudget::for_job(state, job, &ctx.plan),
            };
            run.place_all(&mut ctx, &mut p, &results, &mut failures, &mut *next_id);
            p
        });
    let plan = std::mem::take(&mut ctx.plan);
    let mut out = finish(
        eval,
        placer.as_ref(),
        failures,
        plan,
        state.latest_index(),
        &mut *next_id,
        now,
    );
    // As Nomad: the evaluation names the deployment it worked on, so `job run` can go on
    // to monitor that deployment.
    if let Some(id) = results.deployment_id {
        out.eval.deployment_id = id;
    }
    crate::workflow::block_held(&mut out, held, &mut *next_id, now);
    out
}

/// Puts the reconciler's decisions that need no node choice into the plan: stops,
/// in-place and attribute updates, follow-up evaluations, deployment changes.
fn apply_reconciled(
    ctx: &mut PlanContext<'_>,
    results: &ReconcileResults,
    by_id: &BTreeMap<&str, &Allocation>,
    now: i64,
) {
    for stop in &results.stop {
        if let Some(a) = by_id.get(stop.alloc_id.as_str()) {
            ctx.stop(a, &stop.description, stop.client_status.clone());
        }
    }
    for updated in results
        .inplace_update
        .iter()
        .chain(results.attribute_updates.values())
        .chain(results.disconnect_updates.values())
        .chain(results.reconnect_updates.values())
    {
        let mut a = updated.clone();
        a.modify_time = now;
        ctx.place(a);
    }
    ctx.plan
        .evals
        .extend(results.desired_followup_evals.values().flatten().cloned());
    ctx.plan.deployment = results.deployment.clone();
    ctx.plan.deployment_updates = results
        .deployment_updates
        .iter()
        .map(|u| DeploymentUpdate {
            deployment_id: u.deployment_id.clone(),
            status: u.status.clone(),
            status_description: u.status_description.clone(),
        })
        .collect();
}

/// What every placement of one evaluation shares.
struct PlaceRun<'r> {
    job: &'r Job,
    batch: bool,
    now: i64,
    by_id: &'r BTreeMap<&'r str, &'r Allocation>,
    /// The namespace's quota room, when a quota limits it.
    quota: Option<QuotaBudget>,
}

impl PlaceRun<'_> {
    /// Places the destructive updates (stopping the old allocation first), then the new
    /// placements; a group that failed once is not searched again in this evaluation.
    fn place_all(
        &mut self,
        ctx: &mut PlanContext<'_>,
        p: &mut Placer<'_>,
        results: &ReconcileResults,
        failures: &mut Failures,
        next_id: &mut dyn FnMut() -> String,
    ) {
        let destructive = results.destructive_update.iter().map(|d| {
            (
                Some(d.stop_alloc_id.as_str()),
                d.stop_description.as_str(),
                &d.place,
            )
        });
        let fresh = results.place.iter().map(|pl| (None, "", pl));
        for (stop_id, stop_desc, pl) in destructive.chain(fresh) {
            let Some((gi, _)) = self
                .job
                .task_groups
                .iter()
                .enumerate()
                .find(|(_, g)| g.name == pl.task_group)
            else {
                continue;
            };
            let deployment_id = results.deployment_id.as_deref();
            let old = stop_id.and_then(|id| self.by_id.get(id).copied());
            self.place_one(
                ctx,
                p,
                gi,
                pl,
                old,
                stop_desc,
                deployment_id,
                failures,
                next_id,
            );
        }
    }

    /// One placement: stop what it replaces, choose a node, build the allocation; on
    /// failure take the stop back and record the group's failure.
    #[allow(clippy::too_many_arguments)]
    fn place_one(
        &mut self,
        ctx: &mut PlanContext<'_>,
        p: &mut Placer<'_>,
        gi: usize,
        pl: &Placement,
        old: Option<&Allocation>,
        stop_desc: &str,
        deployment_id: Option<&str>,
        failures: &mut Failures,
        next_id: &mut dyn FnMut() -> String,
    ) {
        let tg = &self.job.task_groups[gi];
        if failures.failed(&tg.name) {
            failures.record(&tg.name, Default::default());
            return;
        }
        let mut metrics = p.new_metric();
        let quota_ask = self.quota.as_ref().map(|_| tg.quota_ask());
        if let (Some(budget), Some(ask)) = (&mut self.quota, &quota_ask) {
            let freed = old.map(|a| a.quota_usage()).unwrap_or_default();
            budget.release(&freed);
            let exhausted = budget.check(ask);
            if !exhausted.is_empty() {
                budget.take(&freed);
                metrics.quota_exhausted = exhausted;
                failures.record(&tg.name, metrics);
                return;
            }
            budget.take(ask);
        }
        if let Some(old) = old {
            ctx.stop(old, stop_desc, None);
        }
        p.set_alloc_name(gi, &pl.name);
        let choice = p.select(
            ctx,
            gi,
            tg,
            &pl.penalty_nodes,
            pl.preferred_node.as_deref(),
            &mut metrics,
        );
        let failed = match choice {
            Some(choice) => {
                let uses_deployment =
                    tg.update.as_ref().is_some_and(|u| u.max_parallel > 0) && !self.batch;
                let deployment = deployment_id
                    .filter(|_| uses_deployment)
                    .map(str::to_string);
                let spec = spec_for(pl, deployment);
                let id = next_id();
                place_on(
                    ctx, p, self.job, gi, tg, choice, spec, id, metrics, self.now,
                )
                .err()
                .map(|m| *m)
            }
            None => Some(metrics),
        };
        if let Some(metrics) = failed {
            if let Some(old) = old {
                ctx.unstop(old);
            }
            if let (Some(budget), Some(ask)) = (&mut self.quota, &quota_ask) {
                budget.release(ask);
                budget.take(&old.map(|a| a.quota_usage()).unwrap_or_default());
            }
            failures.record(&tg.name, metrics);
        }
    }
}

fn spec_for(pl: &Placement, deployment_id: Option<String>) -> PlacementSpec {
    PlacementSpec {
        name: pl.name.clone(),
        previous_alloc: pl.previous_alloc.clone(),
        reschedule_tracker: pl.reschedule_tracker.clone(),
        deployment_id,
        canary: pl.canary,
    }
}

/// The job's allocations the results stop or replace, by ID: a map of those few, not
/// of every allocation of the job. `entries` come in ID order (the store's), so each
/// is found by a binary search on the index's inline IDs; one not found that way is
/// looked for in full.
fn referenced<'a>(
    entries: &[JobAllocRef<'a>],
    results: &ReconcileResults,
) -> BTreeMap<&'a str, &'a Allocation> {
    let wanted = results.stop.iter().map(|s| s.alloc_id.as_str()).chain(
        results
            .destructive_update
            .iter()
            .map(|d| d.stop_alloc_id.as_str()),
    );
    let mut out = BTreeMap::new();
    for id in wanted {
        let key = crate::state::Id::new(id);
        let found = entries
            .binary_search_by(|e| e.id.cmp(&key))
            .ok()
            .and_then(|i| entries.get(i))
            .or_else(|| entries.iter().find(|e| e.alloc.id == id));
        if let Some(e) = found {
            out.insert(e.alloc.id.as_str(), e.alloc);
        }
    }
    out
}

/// [`tainted_nodes`] for allocations whose node slots are known: a node the table
/// marks present and schedulable (ready, eligible, not draining) is healthy without a
/// look at the node itself. Also says, per allocation, whether its node is such.
fn tainted_by_slot(
    state: &StateStore,
    entries: &[JobAllocRef<'_>],
) -> (BTreeMap<String, Node>, BTreeSet<String>, Vec<bool>) {
    let dense = state.node_table().dense();
    let healthy: Vec<bool> = entries
        .iter()
        .map(|e| {
            e.slot
                .and_then(|s| dense.get(s as usize))
                .is_some_and(|d| d.present && d.schedulable)
        })
        .collect();
    let unsure = entries.iter().zip(&healthy).filter(|(_, h)| !**h);
    let (tainted, missing) = tainted_nodes(state, unsure.map(|(e, _)| e.alloc.node_id.as_str()));
    (tainted, missing, healthy)
}

/// Nodes under the given allocations that are down, disconnected or draining (tainted),
/// and IDs of nodes that no longer exist.
pub fn tainted_nodes<'a>(
    state: &StateStore,
    node_ids: impl Iterator<Item = &'a str>,
) -> (BTreeMap<String, Node>, BTreeSet<String>) {
    let (mut tainted, mut missing) = (BTreeMap::new(), BTreeSet::new());
    for id in node_ids {
        if tainted.contains_key(id) || missing.contains(id) {
            continue;
        }
        match state.node(id) {
            None => {
                missing.insert(id.to_string());
            }
            Some(n)
                if n.status == node_status::DOWN
                    || n.status == node_status::DISCONNECTED
                    || n.drain_strategy.is_some() =>
            {
                tainted.insert(id.to_string(), n.clone());
            }
            Some(_) => {}
        }
    }
    (tainted, missing)
}
