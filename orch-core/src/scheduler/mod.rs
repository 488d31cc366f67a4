//! The scheduler: from an evaluation and a state snapshot to a plan, and the plan
//! applier's verification of that plan against the latest state.
//!
//! ```text
//! process_eval ─┬─ generic (service, batch): reconcile → place
//!               └─ system  (system, sysbatch): one per eligible node
//!      placement: select::Placer = feasible (checkers, class cache) → fit (usage, ports,
//!                 devices, cores) → rank (binpack/spread, anti-affinity, affinity, spread,
//!                 penalty) → limit → best; preempt when nothing fits
//! verify::verify_plan: the plan applier's re-check against the latest state
//! ```
//!
//! Modules: [`generic`], [`system`], [`reconcile`], [`feasible`], [`select`] (the placer),
//! [`rank`], [`assign`], [`ports`], [`preempt`], [`context`] (the plan in progress),
//! [`outcome`], [`plan`], [`config`] (cluster scheduler settings), [`triggers`],
//! [`rng`], [`verify`].

pub mod assign;
pub mod config;
pub mod context;
pub mod devices;
pub mod feasible;
pub mod generic;
pub mod outcome;
pub mod plan;
pub mod ports;
pub mod preempt;
pub mod quota;
pub mod rank;
pub mod reconcile;
pub mod rng;
pub mod select;
pub mod system;
pub mod triggers;
pub mod verify;

pub use config::{AntiAffinity, FillOrder, PreemptionConfig, SchedulerConfig};
pub use outcome::Outcome;

use crate::model::{Evaluation, job_type};
use crate::state::StateStore;

/// How many times a plan is re-planned after the applier refused part of it (Nomad's
/// `maxServiceScheduleAttempts`); shared by the sim and the servers' plan loop.
pub const MAX_PLAN_ATTEMPTS: usize = 5;

/// The evaluation's job, if it runs at all: periodic and parameterized parents are
/// templates, only their children run, so an evaluation of a parent (node update,
/// forced) places nothing.
pub(crate) fn runnable_job<'a>(
    state: &'a StateStore,
    eval: &Evaluation,
) -> Option<&'a crate::model::Job> {
    state
        .job(&eval.namespace, &eval.job_id)
        .filter(|j| !j.is_template())
}

/// Processes one evaluation with the scheduler its type names. Pure and deterministic:
/// the same state, evaluation, configuration, seed, time and ID sequence give the same
/// outcome, byte for byte.
pub fn process_eval(
    state: &StateStore,
    eval: &Evaluation,
    config: &SchedulerConfig,
    seed: u64,
    now: i64,
    next_id: &mut dyn FnMut() -> String,
) -> Outcome {
    let mut out = match eval.eval_type.as_str() {
        job_type::SYSTEM | job_type::SYSBATCH => {
            system::schedule(state, eval, config, seed, now, next_id)
        }
        _ => generic::schedule(state, eval, config, seed, now, next_id),
    };
    preemption_evals(state, &mut out.plan, now, next_id);
    out
}

/// One pending evaluation (`TriggeredBy: preemption`) for every job whose allocations
/// the plan preempts, committed with the plan, so those jobs replace what they lost
/// (Nomad's plan applier adds the same `PreemptionEvals`). In job order, so the same
/// plan gets the same evaluations.
fn preemption_evals(
    state: &StateStore,
    plan: &mut plan::Plan,
    now: i64,
    next_id: &mut dyn FnMut() -> String,
) {
    let jobs: std::collections::BTreeSet<(String, String)> = plan
        .node_preemptions
        .values()
        .flatten()
        .filter_map(|p| state.alloc(&p.alloc_id))
        .map(|a| (a.namespace.to_string(), a.job_id.to_string()))
        .collect();
    for (ns, id) in jobs {
        let Some(job) = state.job(&ns, &id) else {
            continue;
        };
        if plan
            .evals
            .iter()
            .any(|e| e.namespace == ns && e.job_id == id)
        {
            continue;
        }
        plan.evals.push(Evaluation {
            id: next_id(),
            namespace: ns,
            job_id: id,
            priority: job.priority,
            eval_type: job.job_type.clone(),
            triggered_by: crate::model::trigger::PREEMPTION.into(),
            job_modify_index: job.job_modify_index,
            status: crate::model::eval_status::PENDING.into(),
            create_time: now,
            modify_time: now,
            ..Evaluation::default()
        });
    }
}
