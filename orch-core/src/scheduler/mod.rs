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
    match eval.eval_type.as_str() {
        job_type::SYSTEM | job_type::SYSBATCH => {
            system::schedule(state, eval, config, seed, now, next_id)
        }
        _ => generic::schedule(state, eval, config, seed, now, next_id),
    }
}
