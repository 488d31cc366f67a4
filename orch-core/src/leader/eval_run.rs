//! One evaluation's plan loop, as a state machine: schedule on the latest state, hand
//! the plan to the plan applier, and re-plan what the applier refused. As Nomad's
//! `retryMax`, the count of attempts starts again whenever a plan commits some of its
//! allocations, and after [`MAX_PLAN_ATTEMPTS`] attempts in a row that commit nothing
//! the evaluation fails with a blocked evaluation (`max-plan-attempts`) that the
//! feeder retries every minute, so refused placements are never dropped. The servers'
//! workers drive it across an async plan queue and Raft; the simulator drives it
//! synchronously. Neither owns a copy of the loop.

use crate::model::{Evaluation, eval_status, trigger};
use crate::scheduler::plan::{Plan, PlanResult};
use crate::scheduler::{MAX_PLAN_ATTEMPTS, Outcome, SchedulerConfig, process_eval};
use crate::state::{Command, EvalUpsert, StateStore};

/// Most attempts of one evaluation however many made progress: a bound on the loop
/// (each of them commits at least one allocation change, so it is rarely reached).
pub const MAX_TOTAL_PLAN_ATTEMPTS: usize = 10 * MAX_PLAN_ATTEMPTS;

/// What the plan applier made of a submitted plan, as far as the loop cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanVerdict {
    /// Every node of the plan committed.
    pub committed_whole: bool,
    /// Some allocation was placed, updated, stopped or preempted (Nomad's
    /// `progressMade`): the attempts start counting again.
    pub made_progress: bool,
}

impl PlanVerdict {
    /// The verdict of the applier's result.
    pub fn of(result: &PlanResult) -> Self {
        let a = &result.accepted;
        PlanVerdict {
            committed_whole: result.fully_committed(),
            made_progress: !(a.node_allocation.is_empty()
                && a.node_update.is_empty()
                && a.node_preemptions.is_empty()),
        }
    }
}

/// Where one evaluation's plan loop stands. Create it with [`EvalRun::new`], call
/// [`EvalRun::schedule`] until it returns `None`, reporting each submitted plan's result
/// with [`EvalRun::plan_applied`], then write [`EvalRun::finish`]'s command.
#[derive(Debug)]
pub struct EvalRun<'e> {
    eval: &'e Evaluation,
    /// Attempts since the last one that made progress.
    attempts: usize,
    /// Attempts in all.
    total: usize,
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
            total: 0,
            last: None,
            done: false,
        }
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
        self.total += 1;
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
    pub fn scheduled_times(&self) -> usize {
        self.total
    }

    /// True when [`EvalRun::schedule`] would schedule nothing more: callers that draw a
    /// seed per attempt check this first, so a finished loop draws none.
    pub fn is_over(&self) -> bool {
        self.done || self.gave_up()
    }

    /// The attempts ran out with the plan not committed whole.
    fn gave_up(&self) -> bool {
        !self.done && (self.attempts >= MAX_PLAN_ATTEMPTS || self.total >= MAX_TOTAL_PLAN_ATTEMPTS)
    }

    /// The blocked evaluation the last attempt asks for, if any.
    pub fn blocked(&self) -> Option<&Evaluation> {
        self.last.as_ref().and_then(|o| o.blocked.as_ref())
    }

    /// The applier's answer for the plan [`EvalRun::schedule`] returned last: a plan
    /// committed whole ends the loop, a partial one is re-planned on the next call (with
    /// the count of attempts started again if it committed anything).
    pub fn plan_applied(&mut self, verdict: PlanVerdict) {
        if verdict.committed_whole {
            self.done = true;
        } else if verdict.made_progress {
            self.attempts = 0;
        }
    }

    /// The command that records how the evaluation ended (its new status, and the
    /// blocked evaluation for what it could not place), or `None` when the scheduler
    /// never ran. When the attempts ran out, the evaluation is `failed` and its blocked
    /// evaluation (`blocked_id` names a new one if the scheduler made none) is marked
    /// `max-plan-attempts`, as Nomad's `createBlockedEval(planFailure)`.
    pub fn finish(self, blocked_id: impl FnOnce() -> String, now: i64) -> Option<Command> {
        let gave_up = self.gave_up();
        let out = self.last?;
        let mut eval = out.eval;
        let mut blocked = out.blocked;
        if gave_up {
            let mut b = blocked.unwrap_or_else(|| Evaluation {
                id: blocked_id(),
                namespace: eval.namespace.clone(),
                priority: eval.priority,
                eval_type: eval.eval_type.clone(),
                job_id: eval.job_id.clone(),
                job_modify_index: eval.job_modify_index,
                status: eval_status::BLOCKED.into(),
                previous_eval: eval.id.clone(),
                queued_allocations: eval.queued_allocations.clone(),
                class_eligibility: eval.class_eligibility.clone(),
                escaped_computed_class: eval.escaped_computed_class,
                snapshot_index: eval.snapshot_index,
                create_time: now,
                modify_time: now,
                ..Evaluation::default()
            });
            b.triggered_by = trigger::MAX_PLAN_ATTEMPTS.into();
            b.status_description = "created due to placement conflicts".into();
            eval.status = eval_status::FAILED.into();
            eval.status_description = format!("maximum attempts reached ({MAX_PLAN_ATTEMPTS})");
            eval.blocked_eval.clone_from(&b.id);
            blocked = Some(b);
        }
        let mut evals = vec![eval];
        evals.extend(blocked);
        Some(Command::EvalUpsert(EvalUpsert { evals }))
    }
}

#[cfg(test)]
mod tests;
