//! Evaluation brokering: the leader's in-memory machinery between "an evaluation was
//! committed to Raft" and "a scheduler worker ran it".
//!
//! * [`EvalBroker`] (`eval_broker`) queues ready evaluations per scheduler type, hands
//!   them out one at a time per job with at-least-once delivery (ack / nack / lease
//!   timeout), delays the ones that must wait and parks the ones that keep failing.
//!   Nomad's `nomad/eval_broker.go`.
//! * [`BlockedEvals`] (`blocked`) holds evaluations that could not place everything until
//!   capacity that could help them appears, and reports what is still unplaced per job
//!   and group (the signal a cluster autoscaler needs). Nomad's `nomad/blocked_evals.go`.
//! * `queue` ranks waiting work for release: job priority, then fair share across
//!   namespaces (weighted dominant-resource share), then age (an orch extension).
//! * `proptests`: property tests of the broker (one eval per job in flight, none lost).
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
pub mod queue;

pub use blocked::{BlockOutcome, BlockedEvals, BlockedStats, quota_blocked, unplaced_of};
pub use eval_broker::EvalBroker;

use std::collections::BTreeMap;

use thiserror::Error;

use crate::model::wire::SECOND;
use crate::model::{Evaluation, Nanos};

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

/// Name Nomad gives the queue of evaluations that hit the delivery limit; reported by
/// [`BrokerStats::total_failed`] and kept here so API output can use the same name.
pub const FAILED_QUEUE: &str = "_failed";

/// Broker tuning: Nomad's server options `eval_nack_timeout`, `eval_delivery_limit`,
/// `eval_nack_initial_reenqueue_delay` and `eval_nack_subsequent_reenqueue_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokerConfig {
    /// Lease of a delivery: unacked this long after dequeue, it is nacked by [`EvalBroker::tick`].
    /// Zero or negative disables lease timeouts.
    pub nack_timeout: Nanos,
    /// Deliveries after which a nacked evaluation goes to the failed list instead of back
    /// to the queue.
    pub delivery_limit: u32,
    /// Back-off before the first redelivery after a nack.
    pub initial_nack_delay: Nanos,
    /// Back-off per delivery after that: `(deliveries - 1) * subsequent_nack_delay`.
    pub subsequent_nack_delay: Nanos,
}

impl Default for BrokerConfig {
    /// Nomad's defaults: 60 s lease, 3 deliveries, 1 s then 20 s × n back-off.
    fn default() -> Self {
        BrokerConfig {
            nack_timeout: 60 * SECOND,
            delivery_limit: 3,
            initial_nack_delay: SECOND,
            subsequent_nack_delay: 20 * SECOND,
        }
    }
}

/// A point-in-time view of the broker, for metrics and the operator API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerStats {
    /// Evaluations waiting in a ready queue.
    pub total_ready: usize,
    /// Evaluations delivered and not yet acked or nacked.
    pub total_unacked: usize,
    /// Evaluations waiting behind another evaluation of the same job (Nomad's `TotalPending`).
    pub total_blocked_by_job: usize,
    /// Evaluations waiting for a time (`WaitUntil`, `Wait` or a nack back-off).
    pub total_delayed: usize,
    /// Evaluations that hit the delivery limit and were not drained yet.
    pub total_failed: usize,
    /// Superseded evaluations not yet taken by [`EvalBroker::take_cancelable`].
    pub total_cancelable: usize,
    /// Ready and unacked counts per scheduler type.
    pub by_scheduler: BTreeMap<String, SchedulerStats>,
}

/// Per scheduler type counts in [`BrokerStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchedulerStats {
    /// Waiting in this scheduler's ready queue.
    pub ready: usize,
    /// Delivered to a worker of this scheduler, not yet acked.
    pub unacked: usize,
}

/// What one [`EvalBroker::tick`] did, so the caller can log it and drop stale deliveries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickOutcome {
    /// Deliveries whose lease expired and were nacked (their tokens are now invalid).
    pub timed_out: Vec<String>,
    /// Delayed evaluations whose time came (now ready, or pending behind their job).
    pub released: Vec<String>,
}

#[cfg(test)]
mod proptests;
