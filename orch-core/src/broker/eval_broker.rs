//! The evaluation broker: priority queues of ready evaluations per scheduler type with
//! at-least-once delivery, one in-flight evaluation per job, nack back-off, a delivery
//! limit and delayed (`WaitUntil`) evaluations. Nomad's `nomad/eval_broker.go`, made pure.
//!
//! Where an evaluation can be, and how it moves:
//!
//! ```text
//! enqueue ──(WaitUntil > now or Wait > 0)──► delayed ──tick──┐
//!    │                                                       ▼
//!    └──────────────────────────────────────────────► job slot free? ── no ──► pending (per job)
//!                                                             │ yes                 │
//!                                                             ▼                     │ ack/fail of the
//!                                                           ready ◄─────────────────┘ slot holder releases
//!                                                             │ dequeue               the best one; the
//!                                                             ▼                       rest → cancelable
//!                    ack ◄──────────────────────────────── unacked ──nack/lease timeout──► delayed (holds slot)
//!                                                             └──deliveries ≥ limit──► failed
//! ```
//!
//! **The one-per-job rule** (recent Nomad, `pending` + `cancelable`): a job's *slot* is
//! taken by the first evaluation of that job to become ready and held while it is ready,
//! unacked or waiting out a nack delay. Other evaluations of the job wait in the job's pending set, ordered
//! by priority (higher first), then `ModifyIndex` (newer first), then `CreateIndex` (newer
//! first), then ID. When the holder is acked (or fails for good) the *first* pending
//! evaluation takes the slot and every other pending one is moved to the cancelable list
//! ([`EvalBroker::take_cancelable`]) with status `canceled`: the scheduler always works
//! from the latest state, so one run after the acked one covers them all. Note that the
//! pending order prefers the *newest* evaluation (what Nomad does and what keeps the
//! freshest trigger), unlike the ready queues, which are FIFO.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::{BrokerConfig, BrokerError, BrokerStats, JobKey, SchedulerStats, TickOutcome, job_key};
use crate::model::{Evaluation, Nanos, eval_status};

/// Ready-queue order: priority (higher first), `CreateIndex` (FIFO), ID (total order).
type ReadyKey = (Reverse<i32>, u64, String);
/// Per-job pending order: priority, then newest `ModifyIndex`, newest `CreateIndex`, ID.
type PendingKey = (Reverse<i32>, Reverse<u64>, Reverse<u64>, String);

fn ready_key(e: &Evaluation) -> ReadyKey {
    (Reverse(e.priority), e.create_index, e.id.clone())
}

fn pending_key(e: &Evaluation) -> PendingKey {
    (
        Reverse(e.priority),
        Reverse(e.modify_index),
        Reverse(e.create_index),
        e.id.clone(),
    )
}

/// Where a tracked evaluation is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    Delayed {
        at: i64,
    },
    Pending,
    Ready,
    Unacked {
        token: String,
        deadline: Option<i64>,
    },
}

#[derive(Debug, Clone)]
struct Tracked {
    /// Boxed: B-tree nodes shift their values on insert, and an `Evaluation` is large.
    eval: Box<Evaluation>,
    deliveries: u32,
    place: Place,
}

/// The leader's evaluation queue. See the module docs for the states and the per-job rule.
#[derive(Debug, Clone)]
pub struct EvalBroker {
    config: BrokerConfig,
    enabled: bool,
    epoch: u64,
    next_seq: u64,
    evals: BTreeMap<String, Tracked>,
    ready: BTreeMap<String, BTreeSet<ReadyKey>>,
    slots: BTreeMap<JobKey, String>,
    pending: BTreeMap<JobKey, BTreeSet<PendingKey>>,
    total_pending: usize,
    leases: BTreeSet<(i64, String)>,
    delayed: BTreeSet<(i64, String)>,
    unacked_by_sched: BTreeMap<String, usize>,
    failed: Vec<Evaluation>,
    cancelable: Vec<Evaluation>,
}

impl EvalBroker {
    /// A disabled, empty broker: like Nomad's, it accepts work only once this server
    /// becomes leader and calls [`EvalBroker::set_enabled`].
    pub fn new(config: BrokerConfig) -> Self {
        EvalBroker {
            config,
            enabled: false,
            epoch: 0,
            next_seq: 1,
            evals: BTreeMap::new(),
            ready: BTreeMap::new(),
            slots: BTreeMap::new(),
            pending: BTreeMap::new(),
            total_pending: 0,
            leases: BTreeSet::new(),
            delayed: BTreeSet::new(),
            unacked_by_sched: BTreeMap::new(),
            failed: Vec::new(),
            cancelable: Vec::new(),
        }
    }

    /// The tuning this broker runs with.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// Whether this broker accepts work (true only on the leader).
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Turns brokering on (on gaining leadership) or off. Turning it off flushes every
    /// queue, lease, delay, failed and cancelable list, as Nomad does: the next leader
    /// rebuilds the queue from the state store, so nothing here may outlive leadership.
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
        if !enabled {
            self.flush();
        }
    }

    /// Sets the high 64 bits of every future delivery token. Tokens are
    /// `epoch ‖ sequence` written as a UUID (`eeeeeeee-eeee-eeee-ssss-ssssssssssss`); the
    /// sequence never resets, and the daemon passes its Raft term here on gaining
    /// leadership so a token handed out under an older term never matches a newer
    /// delivery, which is why Nomad uses random UUIDs.
    pub fn set_token_epoch(&mut self, epoch: u64) {
        self.epoch = epoch;
    }

    /// Adds an evaluation. It waits until `WaitUntil` (if later than `now`) and `now + Wait`
    /// (if `Wait > 0`), then goes to its scheduler's ready queue, or to its job's pending set
    /// when another evaluation of the job holds the slot. An ID already tracked is ignored
    /// (Nomad de-duplicates enqueues the same way). Refused when disabled, so a follower
    /// never builds a queue nobody drains.
    pub fn enqueue(&mut self, eval: Evaluation, now: i64) -> Result<(), BrokerError> {
        if !self.enabled {
            return Err(BrokerError::Disabled);
        }
        if self.evals.contains_key(&eval.id) {
            return Ok(());
        }
        let id = eval.id.clone();
        let at = release_time(&eval, now);
        let place = match at {
            Some(at) => Place::Delayed { at },
            None => Place::Pending,
        };
        let eval = Box::new(eval);
        self.evals.insert(
            id.clone(),
            Tracked {
                eval,
                deliveries: 0,
                place,
            },
        );
        match at {
            Some(at) => {
                self.delayed.insert((at, id));
            }
            None => self.make_ready(&id),
        }
        Ok(())
    }

    /// Hands out the best ready evaluation among `schedulers` and leases it until
    /// `now + nack_timeout`. Best is the total ready order (priority, then `CreateIndex`,
    /// then ID) across the listed queues; where Nomad picks randomly among equal
    /// priorities, this is deterministic. Returns the evaluation and its delivery token,
    /// needed to ack or nack it. `None` when nothing is ready or the broker is disabled.
    /// Delayed evaluations only become ready through [`EvalBroker::tick`].
    pub fn dequeue(&mut self, schedulers: &[&str], now: i64) -> Option<(Evaluation, String)> {
        if !self.enabled {
            return None;
        }
        let mut best: Option<(&ReadyKey, &str)> = None;
        for sched in schedulers {
            if let Some(key) = self.ready.get(*sched).and_then(|q| q.first())
                && best.is_none_or(|(b, _)| key < b)
            {
                best = Some((key, sched));
            }
        }
        let sched = best?.1.to_owned();
        let (_, _, id) = self.ready.get_mut(&sched)?.pop_first()?;
        let token = self.next_token();
        let deadline =
            (self.config.nack_timeout > 0).then(|| now.saturating_add(self.config.nack_timeout));
        let tracked = self.evals.get_mut(&id)?;
        tracked.deliveries = tracked.deliveries.saturating_add(1);
        tracked.place = Place::Unacked {
            token: token.clone(),
            deadline,
        };
        if let Some(d) = deadline {
            self.leases.insert((d, id));
        }
        *self.unacked_by_sched.entry(sched).or_default() += 1;
        Some((Evaluation::clone(&tracked.eval), token))
    }

    /// The worker finished the evaluation: forget it and free its job's slot. The best
    /// pending evaluation of the job becomes ready; the other pending ones become
    /// cancelable (see the module docs). An ack after the lease deadline but before the
    /// [`EvalBroker::tick`] that would expire it is accepted.
    pub fn ack(&mut self, eval_id: &str, token: &str) -> Result<(), BrokerError> {
        self.take_delivery(eval_id, token)?;
        if let Some(tracked) = self.evals.remove(eval_id) {
            self.release_slot(&job_key(&tracked.eval), eval_id);
        }
        Ok(())
    }

    /// The worker could not finish: redeliver after a back-off (`initial_nack_delay` after
    /// the first delivery, `(n - 1) * subsequent_nack_delay` after the n-th), keeping the
    /// job's slot meanwhile; after `delivery_limit` deliveries move it to the failed list
    /// (status `failed`) and free the slot as an ack would.
    pub fn nack(&mut self, eval_id: &str, token: &str, now: i64) -> Result<(), BrokerError> {
        self.take_delivery(eval_id, token)?;
        self.requeue_after_nack(eval_id, now);
        Ok(())
    }

    /// Advances the broker to `now`: nacks every delivery whose lease expired (Nomad's nack
    /// timer) and releases every delayed evaluation whose time came, in time-then-ID order.
    pub fn tick(&mut self, now: i64) -> TickOutcome {
        let mut out = TickOutcome::default();
        while let Some(first) = self.leases.first()
            && first.0 <= now
        {
            let Some((_, id)) = self.leases.pop_first() else {
                break;
            };
            let token = match self.evals.get(&id).map(|t| &t.place) {
                Some(Place::Unacked { token, .. }) => token.clone(),
                _ => continue,
            };
            if self.take_delivery(&id, &token).is_ok() {
                self.requeue_after_nack(&id, now);
                out.timed_out.push(id);
            }
        }
        while let Some(first) = self.delayed.first()
            && first.0 <= now
        {
            let Some((_, id)) = self.delayed.pop_first() else {
                break;
            };
            self.make_ready(&id);
            out.released.push(id);
        }
        out
    }

    /// The token of the outstanding delivery of `eval_id`, if it is delivered and unacked.
    /// Workers and the plan endpoint use this to check a delivery is still theirs.
    pub fn outstanding(&self, eval_id: &str) -> Option<&str> {
        match &self.evals.get(eval_id)?.place {
            Place::Unacked { token, .. } => Some(token),
            _ => None,
        }
    }

    /// Extends the lease of a delivery to `now + nack_timeout` (Nomad's `OutstandingReset`),
    /// for workers that are still making progress. A paused lease stays paused.
    pub fn outstanding_reset(
        &mut self,
        eval_id: &str,
        token: &str,
        now: i64,
    ) -> Result<(), BrokerError> {
        let tracked = unacked_mut(&mut self.evals, eval_id, token)?;
        if let Place::Unacked {
            deadline: Some(d), ..
        } = &mut tracked.place
        {
            self.leases.remove(&(*d, eval_id.to_owned()));
            *d = now.saturating_add(self.config.nack_timeout);
            self.leases.insert((*d, eval_id.to_owned()));
        }
        Ok(())
    }

    /// Stops the lease clock of a delivery while it waits in an unbounded queue (the plan
    /// queue), so a slow plan applier does not cause redelivery.
    pub fn pause_nack_timeout(&mut self, eval_id: &str, token: &str) -> Result<(), BrokerError> {
        let tracked = unacked_mut(&mut self.evals, eval_id, token)?;
        if let Place::Unacked { deadline, .. } = &mut tracked.place
            && let Some(d) = deadline.take()
        {
            self.leases.remove(&(d, eval_id.to_owned()));
        }
        Ok(())
    }

    /// Restarts a paused lease clock: the delivery now expires at `now + nack_timeout`.
    pub fn resume_nack_timeout(
        &mut self,
        eval_id: &str,
        token: &str,
        now: i64,
    ) -> Result<(), BrokerError> {
        let tracked = unacked_mut(&mut self.evals, eval_id, token)?;
        if let Place::Unacked { deadline, .. } = &mut tracked.place {
            if let Some(d) = deadline.take() {
                self.leases.remove(&(d, eval_id.to_owned()));
            }
            if self.config.nack_timeout > 0 {
                let d = now.saturating_add(self.config.nack_timeout);
                *deadline = Some(d);
                self.leases.insert((d, eval_id.to_owned()));
            }
        }
        Ok(())
    }

    /// Evaluations that hit the delivery limit, oldest first, without removing them.
    pub fn failed(&self) -> Vec<Evaluation> {
        self.failed.clone()
    }

    /// Takes the failed evaluations (status `failed`) so the leader can write them to Raft
    /// and create Nomad's `failed-follow-up` evaluation for each.
    pub fn drain_failed(&mut self) -> Vec<Evaluation> {
        std::mem::take(&mut self.failed)
    }

    /// Takes the evaluations superseded by a newer pending evaluation of the same job, with
    /// status `canceled`, so the caller can write the cancellation to Raft.
    pub fn take_cancelable(&mut self) -> Vec<Evaluation> {
        std::mem::take(&mut self.cancelable)
    }

    /// Number of evaluations the broker still owes a delivery or an ack (ready, pending,
    /// delayed or unacked); failed and cancelable ones are not counted.
    pub fn len(&self) -> usize {
        self.evals.len()
    }

    /// True when [`EvalBroker::len`] is zero.
    pub fn is_empty(&self) -> bool {
        self.evals.is_empty()
    }

    /// Current counts, computed in O(number of scheduler types).
    pub fn stats(&self) -> BrokerStats {
        let mut by_scheduler: BTreeMap<String, SchedulerStats> = BTreeMap::new();
        for (sched, q) in &self.ready {
            by_scheduler.entry(sched.clone()).or_default().ready = q.len();
        }
        for (sched, n) in &self.unacked_by_sched {
            by_scheduler.entry(sched.clone()).or_default().unacked = *n;
        }
        BrokerStats {
            total_ready: self.ready.values().map(BTreeSet::len).sum(),
            total_unacked: self.unacked_by_sched.values().sum(),
            total_blocked_by_job: self.total_pending,
            total_delayed: self.delayed.len(),
            total_failed: self.failed.len(),
            total_cancelable: self.cancelable.len(),
            by_scheduler,
        }
    }

    fn flush(&mut self) {
        self.evals.clear();
        self.ready.clear();
        self.slots.clear();
        self.pending.clear();
        self.total_pending = 0;
        self.leases.clear();
        self.delayed.clear();
        self.unacked_by_sched.clear();
        self.failed.clear();
        self.cancelable.clear();
    }

    fn next_token(&mut self) -> String {
        let (e, s) = (self.epoch, self.next_seq);
        self.next_seq = self.next_seq.wrapping_add(1);
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            e >> 32,
            (e >> 16) & 0xffff,
            e & 0xffff,
            s >> 48,
            s & 0xffff_ffff_ffff
        )
    }

    /// Puts a tracked evaluation in its ready queue if its job's slot is free or its own,
    /// else in the job's pending set.
    fn make_ready(&mut self, id: &str) {
        let Some(tracked) = self.evals.get_mut(id) else {
            return;
        };
        let key = job_key(&tracked.eval);
        match self.slots.get(&key) {
            Some(holder) if holder != id => {
                self.pending
                    .entry(key)
                    .or_default()
                    .insert(pending_key(&tracked.eval));
                self.total_pending += 1;
                tracked.place = Place::Pending;
                return;
            }
            Some(_) => {}
            None => {
                self.slots.insert(key, id.to_owned());
            }
        }
        tracked.place = Place::Ready;
        let key = ready_key(&tracked.eval);
        // Queues are never removed while enabled, so this allocates a name once per type.
        match self.ready.get_mut(tracked.eval.eval_type.as_str()) {
            Some(queue) => {
                queue.insert(key);
            }
            None => {
                let queue = BTreeSet::from([key]);
                self.ready.insert(tracked.eval.eval_type.clone(), queue);
            }
        }
    }

    /// Validates an ack/nack and ends the delivery (lease and unacked count).
    fn take_delivery(&mut self, eval_id: &str, token: &str) -> Result<(), BrokerError> {
        let tracked = unacked_mut(&mut self.evals, eval_id, token)?;
        if let Place::Unacked {
            deadline: Some(d), ..
        } = tracked.place
        {
            self.leases.remove(&(d, eval_id.to_owned()));
        }
        tracked.place = Place::Pending;
        if let Some(n) = self.unacked_by_sched.get_mut(&tracked.eval.eval_type) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.unacked_by_sched.remove(&tracked.eval.eval_type);
            }
        }
        Ok(())
    }

    fn requeue_after_nack(&mut self, id: &str, now: i64) {
        let Some(tracked) = self.evals.get_mut(id) else {
            return;
        };
        if tracked.deliveries >= self.config.delivery_limit {
            if let Some(mut gone) = self.evals.remove(id) {
                gone.eval.status = eval_status::FAILED.to_owned();
                gone.eval.status_description = format!(
                    "evaluation reached delivery limit ({})",
                    self.config.delivery_limit
                );
                let key = job_key(&gone.eval);
                self.failed.push(*gone.eval);
                self.release_slot(&key, id);
            }
            return;
        }
        let delay = nack_delay(&self.config, tracked.deliveries);
        if delay > 0 {
            let at = now.saturating_add(delay);
            tracked.place = Place::Delayed { at };
            self.delayed.insert((at, id.to_owned()));
        } else {
            self.make_ready(id);
        }
    }

    /// Frees `key`'s slot held by `id`: the best pending evaluation takes it, the rest are
    /// canceled.
    fn release_slot(&mut self, key: &JobKey, id: &str) {
        if self.slots.get(key).is_none_or(|holder| holder != id) {
            return;
        }
        self.slots.remove(key);
        let Some(mut waiting) = self.pending.remove(key) else {
            return;
        };
        self.total_pending = self.total_pending.saturating_sub(waiting.len());
        let Some(best) = waiting.pop_first() else {
            return;
        };
        for (_, _, _, other) in waiting {
            if let Some(mut gone) = self.evals.remove(&other) {
                gone.eval.status = eval_status::CANCELED.to_owned();
                gone.eval.status_description =
                    "canceled after more recent eval was processed".to_owned();
                self.cancelable.push(*gone.eval);
            }
        }
        self.make_ready(&best.3);
    }
}

/// When a freshly enqueued evaluation may run, if not now.
fn release_time(eval: &Evaluation, now: i64) -> Option<i64> {
    let mut at = (eval.wait_until.0 > now).then_some(eval.wait_until.0);
    if eval.wait > 0 {
        let after_wait = now.saturating_add(eval.wait);
        at = Some(at.map_or(after_wait, |a| a.max(after_wait)));
    }
    at
}

/// Nomad's `nackReenqueueDelay`: none before any delivery, the initial delay after the
/// first, and a delay growing linearly with the deliveries after that.
fn nack_delay(config: &BrokerConfig, deliveries: u32) -> Nanos {
    match deliveries {
        0 => 0,
        1 => config.initial_nack_delay,
        n => i64::from(n - 1).saturating_mul(config.subsequent_nack_delay),
    }
}

/// The tracked evaluation if it is delivered under `token`.
fn unacked_mut<'a>(
    evals: &'a mut BTreeMap<String, Tracked>,
    eval_id: &str,
    token: &str,
) -> Result<&'a mut Tracked, BrokerError> {
    let tracked = evals
        .get_mut(eval_id)
        .ok_or_else(|| BrokerError::NotOutstanding(eval_id.to_owned()))?;
    match &tracked.place {
        Place::Unacked { token: held, .. } if held == token => Ok(tracked),
        Place::Unacked { .. } => Err(BrokerError::TokenMismatch(eval_id.to_owned())),
        _ => Err(BrokerError::NotOutstanding(eval_id.to_owned())),
    }
}

#[cfg(test)]
mod tests;
