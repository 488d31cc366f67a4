//! One evaluation's plan loop, as a state machine: schedule on the latest state, hand
//! the plan to the plan applier, and re-plan what the applier refused, up to
//! [`MAX_PLAN_ATTEMPTS`] times (Nomad's worker retries the same way). The servers'
//! workers drive it across an async plan queue and Raft; the simulator drives it
//! synchronously. Neither owns a copy of the loop.

use crate::model::Evaluation;
use crate::scheduler::plan::{Plan, PlanResult};
use crate::scheduler::{MAX_PLAN_ATTEMPTS, Outcome, SchedulerConfig, process_eval};
use crate::state::{Command, EvalUpsert, StateStore};

/// Where one evaluation's plan loop stands. Create it with [`EvalRun::new`], call
/// [`EvalRun::schedule`] until it returns `None`, reporting each submitted plan's result
/// with [`EvalRun::plan_applied`], then write [`EvalRun::finish`]'s command.
#[derive(Debug)]
pub struct EvalRun<'e> {
    eval: &'e Evaluation,
    attempts: usize,
    /// The last scheduler outcome, its plan taken out once submitted.
    last: Option<Outcome>,
    /// True once a plan committed whole (or the scheduler had nothing to do).
    done: bool,
}

impl<'e> EvalRun<'e> {
    /// A loop for `eval`, nothing scheduled yet.
    pub fn new(eval: &'e Evaluation) -> Self {
        EvalRun {
            eval,
            attempts: 0,
            last: None,
            done: false,
        }
    }

    /// The evaluation being run.
    pub fn eval(&self) -> &Evaluation {
        self.eval
    }

    /// Schedules the next attempt on `state` and returns the plan to submit, or `None`
    /// when the loop is over: the last plan committed whole, the scheduler had nothing
    /// to change, or the attempts ran out. `config` is the configuration this
    /// evaluation runs with (the servers merge the replicated one into theirs first).
    pub fn schedule(
        &mut self,
        state: &StateStore,
        config: &SchedulerConfig,
        seed: u64,
        now: i64,
        next_id: &mut dyn FnMut() -> String,
    ) -> Option<Plan> {
        if self.is_over() {
            return None;
        }
        self.attempts += 1;
        let mut out = process_eval(state, self.eval, config, seed, now, next_id);
        if out.plan.is_no_op() {
            self.done = true;
            self.last = Some(out);
            return None;
        }
        let plan = std::mem::take(&mut out.plan);
        self.last = Some(out);
        Some(plan)
    }

    /// How many times the scheduler ran so far (the seed of an attempt may depend on it).
    pub fn attempts(&self) -> usize {
        self.attempts
    }

    /// True when [`EvalRun::schedule`] would schedule nothing more: callers that draw a
    /// seed per attempt check this first, so a finished loop draws none.
    pub fn is_over(&self) -> bool {
        self.done || self.attempts >= MAX_PLAN_ATTEMPTS
    }

    /// The blocked evaluation the last attempt asks for, if any.
    pub fn blocked(&self) -> Option<&Evaluation> {
        self.last.as_ref().and_then(|o| o.blocked.as_ref())
    }

    /// The applier's answer for the plan [`EvalRun::schedule`] returned last: a plan
    /// committed whole ends the loop, a partial one is re-planned on the next call.
    pub fn plan_applied(&mut self, result: &PlanResult) {
        if result.fully_committed() {
            self.done = true;
        }
    }

    /// The command that records how the evaluation ended (its new status, and the
    /// blocked evaluation for what it could not place), or `None` when the scheduler
    /// never ran.
    pub fn finish(self) -> Option<Command> {
        let out = self.last?;
        let mut evals = vec![out.eval];
        evals.extend(out.blocked);
        Some(Command::EvalUpsert(EvalUpsert { evals }))
    }
}
