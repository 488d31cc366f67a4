//! Evaluation brokering: the leader's in-memory machinery between "an evaluation was
//! committed to Raft" and "a scheduler worker ran it".
//!
//! * [`EvalBroker`] queues ready evaluations per scheduler type, hands them out one at a
//!   time per job with at-least-once delivery (ack / nack / lease timeout), delays the
//!   ones that must wait and parks the ones that keep failing. Nomad's
//!   `nomad/eval_broker.go`.
//! * [`BlockedEvals`] holds evaluations that could not place everything until capacity
//!   that could help them appears, and reports what is still unplaced per job and group
//!   (the signal a cluster autoscaler needs). Nomad's `nomad/blocked_evals.go`.
//!
//! Both are pure: no clock, no timers, no threads. Time arrives as `now` (Unix nanos) on
//! every call that needs it and leases/delays only advance when the caller calls
//! [`EvalBroker::tick`]; delivery tokens come from a deterministic counter (see
//! [`EvalBroker::set_token_epoch`]). Only `BTreeMap`/`BTreeSet` with total orders are used,
//! so the same call sequence always gives the same results, and every enqueue, dequeue,
//! ack and nack is O(log n).
//!
//! The daemon owns the glue Nomad keeps in the leader: it enqueues unblocked and restored
//! evaluations, writes `canceled` / `failed` statuses for what
//! [`EvalBroker::take_cancelable`], [`EvalBroker::drain_failed`] and
//! [`BlockOutcome::duplicate`] return, and feeds node capacity changes to
//! [`BlockedEvals::unblock`].

mod blocked;
mod eval_broker;

pub use blocked::{BlockOutcome, BlockedEvals, BlockedStats, unplaced_of};
pub use eval_broker::{
    BrokerConfig, BrokerStats, EvalBroker, FAILED_QUEUE, SchedulerStats, TickOutcome,
};

use thiserror::Error;

use crate::model::Evaluation;

/// `(namespace, job ID)`: jobs are only unique within a namespace, so every per-job rule
/// (one in-flight evaluation, one blocked evaluation) keys on both.
pub type JobKey = (String, String);

/// The [`JobKey`] of an evaluation.
pub(crate) fn job_key(eval: &Evaluation) -> JobKey {
    (eval.namespace.clone(), eval.job_id.clone())
}

/// Why the broker refused a call. Workers act on these exactly as Nomad's do: drop the
/// result of a delivery that is no longer theirs, retry against the leader when disabled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BrokerError {
    /// Only the leader's broker is enabled; followers must not queue or hand out work.
    #[error(
        "evaluation broker is disabled; only the current leader brokers evaluations, retry against the leader"
    )]
    Disabled,
    /// Ack/nack for an evaluation that is not currently delivered.
    #[error(
        "evaluation {0:?} is not outstanding; it was never dequeued, was already acked or nacked, or its lease timed out"
    )]
    NotOutstanding(String),
    /// Ack/nack with the token of an older delivery (lease timeout, leader change).
    #[error(
        "token does not match the outstanding delivery of evaluation {0:?}; this delivery was superseded, drop its result"
    )]
    TokenMismatch(String),
}

#[cfg(test)]
#[path = "props_tests.rs"]
mod props_tests;
