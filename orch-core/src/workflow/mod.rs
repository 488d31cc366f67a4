//! orch's job-level workflows (README, "Beyond Nomad: workflows"), decided here and
//! carried out by the scheduler and the leader:
//!
//! - [`job_deps`]: `depends_on { job, condition }` on a job or a group. A group whose
//!   dependency has not reached its condition is held (not placed); the evaluation
//!   blocks with the reason, and is released once the dependency holds. Cycles between
//!   jobs are refused at registration.
//! - [`ordered`]: `update { ordered = true }`. Index *i* is placed (and replaced by an
//!   update) only once every lower index is healthy; a stopped job stops its highest
//!   index first.
//!
//! - [`gate`](mod@gate): `update { gate { ... } }`. A rolling update's next batch (and
//!   canary auto-promotion) waits until a metric query met its condition for a while.
//!
//! - [`release`]: releases (deployment groups): several jobs registered as one, rolled
//!   back together when any of their rollouts fails.
//!
//! [`gate()`] applies the first three to the reconciler's results, so the scheduler's placement
//! path itself is unchanged: a job without these fields passes through untouched.

pub mod gate;
pub mod job_deps;
pub mod ordered;
pub mod release;

#[cfg(test)]
mod gate_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::model::{Allocation, Job};
use crate::scheduler::reconcile::ReconcileResults;
use crate::state::StateStore;

/// What [`gate`] held back, per group: why, and how many placements wait.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    /// Group name → the reason it waits (`waiting for job "db" to be healthy`).
    pub reasons: BTreeMap<String, String>,
    /// Group name → placements held back.
    pub counts: BTreeMap<String, u64>,
}

impl Held {
    /// Nothing was held.
    pub fn is_empty(&self) -> bool {
        self.reasons.is_empty()
    }

    /// One line naming every held group and why, for an evaluation's description.
    pub fn description(&self) -> String {
        let parts: Vec<String> = self
            .reasons
            .iter()
            .map(|(g, why)| format!("group {g:?}: {why}"))
            .collect();
        parts.join("; ")
    }
}

/// Removes from `results` the placements a job dependency holds back (returned in
/// [`Held`], for a blocked evaluation) and the placements, replacements and stops an
/// ordered group must make later. `existing` are the job's allocations. A job that
/// uses neither feature is left as it is, at the cost of two scans of its groups.
pub fn gate(
    state: &StateStore,
    job: Option<&Job>,
    existing: &[&Allocation],
    results: &mut ReconcileResults,
) -> Held {
    let mut held = Held::default();
    let Some(job) = job else {
        // A stopped or purged job: an ordered group stops its highest index first.
        ordered::order_stops(state, existing, results);
        return held;
    };
    if job.stop {
        ordered::order_stops(state, existing, results);
        return held;
    }
    let waits = job_deps::held_groups(state, job, existing);
    if !waits.is_empty() {
        results.place.retain(|p| {
            let Some(why) = waits.get(p.task_group.as_str()) else {
                return true;
            };
            held.reasons.insert(p.task_group.clone(), why.clone());
            *held.counts.entry(p.task_group.clone()).or_default() += 1;
            false
        });
    }
    ordered::order_placements(job, existing, results);
    gate::hold_gated(state, job, results);
    held
}

/// Makes the evaluation wait for what [`gate`] held: the held placements count as
/// queued, and a blocked evaluation (triggered by [`JOB_DEPENDENCY`] unless placements
/// also failed for room) carries the reason, which `job status` shows.
pub fn block_held(
    out: &mut crate::scheduler::outcome::Outcome,
    held: Held,
    next_id: &mut dyn FnMut() -> String,
    now: i64,
) {
    if held.is_empty() {
        return;
    }
    let why = held.description();
    for (g, n) in &held.counts {
        *out.eval.queued_allocations.entry(g.clone()).or_default() += n;
    }
    if let Some(b) = out.blocked.as_mut() {
        for (g, n) in &held.counts {
            *b.queued_allocations.entry(g.clone()).or_default() += n;
        }
        b.status_description = format!("{}; {why}", b.status_description);
        return;
    }
    let e = &out.eval;
    let b = crate::model::Evaluation {
        id: next_id(),
        namespace: e.namespace.clone(),
        priority: e.priority,
        eval_type: e.eval_type.clone(),
        triggered_by: JOB_DEPENDENCY.into(),
        job_id: e.job_id.clone(),
        job_modify_index: e.job_modify_index,
        status: crate::model::eval_status::BLOCKED.into(),
        status_description: why,
        previous_eval: e.id.clone(),
        queued_allocations: held.counts,
        snapshot_index: e.snapshot_index,
        create_time: now,
        modify_time: now,
        ..crate::model::Evaluation::default()
    };
    out.eval.blocked_eval = b.id.clone();
    out.blocked = Some(b);
}

/// The trigger of an evaluation blocked only because a job dependency does not hold
/// (an orch value beside Nomad's triggers): capacity changes do not release it, the
/// dependency does ([`job_deps::release`]).
pub const JOB_DEPENDENCY: &str = "job-dependency";
