//! The leader's feeder, as a state machine over the replicated state: each pass reads
//! what changed since the last one ([`Feeder::collect`], no locks needed but a state
//! read) and then moves evaluations between the broker and the blocked tracker
//! ([`Feeder::apply`]), returning the evaluation writes the shell must replicate.
//!
//! ```text
//! new pending evals → broker          new blocked evals → tracker (duplicates canceled)
//! a job stopped     → its blocked eval untracked and canceled (Nomad's Untrack)
//! nodes changed     → unblock their class and the system evals blocked for them
//! allocs ended, CSI, scheduler config, quota room → unblock by class / namespace
//! woken             → let out one at a time in queue order (priority, fair share, age)
//! job dependencies met, ordered stops due, failed evals every minute → pending
//! ```

mod changes;
mod release;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::broker::{BlockedEvals, EvalBroker};
use crate::model::{Allocation, Evaluation, eval_status, trigger};
use crate::state::{Command, EvalUpsert, SCHEDULER_CONFIG_TABLE, StateStore, table};

/// How often evaluations blocked after the plan applier gave up are retried (Nomad's
/// `failedEvalUnblockInterval`): nothing about capacity wakes them.
pub const FAILED_UNBLOCK_INTERVAL_NS: i64 = 60_000_000_000;
/// How long the tracker remembers an unblock index (Nomad prunes after 15 minutes);
/// pruned every five minutes.
pub const UNBLOCK_INDEX_TTL_NS: i64 = 15 * 60_000_000_000;
const PRUNE_EVERY_NS: i64 = 5 * 60_000_000_000;

/// What one pass found in the state, to hand to [`Feeder::apply`].
#[derive(Debug, Default)]
pub struct FeedPass {
    /// An operator restore replaced the state: empty the queues first.
    reset_queues: bool,
    pending: Vec<Evaluation>,
    blocked: Vec<Evaluation>,
    /// Jobs stopped or purged (a deregister evaluation appeared): their blocked
    /// evaluation waits for nothing.
    stopped_jobs: Vec<(String, String)>,
    /// Nodes written since the last pass: `(node ID, computed class)`.
    changed_nodes: Vec<(String, String)>,
    changed_classes: BTreeSet<String>,
    quota_freed: BTreeSet<String>,
    /// Evaluations of stopped jobs whose ordered groups stop their next index.
    ordered_stops: Vec<Evaluation>,
    index: u64,
}

/// The evaluation writes a pass calls for; the shell replicates them in this order.
#[derive(Debug, Default)]
pub struct FeedOutcome {
    /// Blocked evaluations that lost to another of their job's, or whose job stopped:
    /// status `canceled`.
    pub canceled: Vec<Evaluation>,
    /// Blocked evaluations let out: status `pending`; the next pass feeds them to the
    /// broker.
    pub released: Vec<Evaluation>,
}

impl FeedOutcome {
    /// True when nothing needs writing.
    pub fn is_empty(&self) -> bool {
        self.canceled.is_empty() && self.released.is_empty()
    }

    /// The commands to replicate, canceled evaluations first.
    pub fn into_commands(self) -> Vec<Command> {
        [self.canceled, self.released]
            .into_iter()
            .filter(|evals| !evals.is_empty())
            .map(|evals| Command::EvalUpsert(EvalUpsert { evals }))
            .collect()
    }
}

/// The feeder's memory between passes. One per leadership term: call
/// [`Feeder::lost_leadership`] when leadership goes (the next leader rebuilds its
/// queues from the state, as Nomad's `revokeLeadership` does).
#[derive(Debug, Default, Clone)]
pub struct Feeder {
    /// Live evaluations already handed to the broker or the tracker.
    known: BTreeSet<String>,
    node_seen: BTreeMap<String, u64>,
    last_index: u64,
    /// The operator restore the queues were built from (`restored_at`).
    restore_seen: Option<u64>,
    /// The woken evaluation let out last: the next waits until it is no longer pending.
    released: Option<String>,
    next_failed_unblock: Option<i64>,
    /// `(time, Raft index)` every five minutes, so unblock indexes older than
    /// [`UNBLOCK_INDEX_TTL_NS`] can be pruned.
    prune_marks: VecDeque<(i64, u64)>,
}

impl Feeder {
    /// A feeder that has seen nothing: its first pass reads the whole state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets everything, for the next term's first pass to read the whole state. The
    /// shell empties (and disables) its broker and tracker alongside.
    pub fn lost_leadership(&mut self) {
        *self = Self::default();
    }

    /// The Raft index the last pass read up to.
    pub fn last_index(&self) -> u64 {
        self.last_index
    }

    /// Reads what changed since the last pass. `next_id` names the evaluations the
    /// pass creates (ordered stops); `now` stamps them.
    pub fn collect(
        &mut self,
        s: &StateStore,
        now: i64,
        next_id: &mut dyn FnMut() -> String,
    ) -> FeedPass {
        let mut pass = FeedPass::default();
        let restored = s.restored_at();
        if self.restore_seen.is_some_and(|seen| seen != restored) {
            // An operator restore replaced the state (its objects keep their older
            // indexes, which `last_index` may already be past): rebuild the queues.
            let kept_failed_unblock = self.next_failed_unblock;
            *self = Self::default();
            self.next_failed_unblock = kept_failed_unblock;
            pass.reset_queues = true;
        }
        self.restore_seen = Some(restored);
        let last_index = self.last_index;
        self.collect_evals(s, last_index, &mut pass);
        if last_index == 0 || s.index(table::NODES) > last_index {
            for n in s.nodes() {
                if self.node_seen.get(&n.id) != Some(&n.modify_index) {
                    self.node_seen.insert(n.id.clone(), n.modify_index);
                    pass.changed_nodes
                        .push((n.id.clone(), n.computed_class.clone()));
                }
            }
        }
        pass.changed_classes = changes::csi_changed_classes(s, last_index);
        // A scheduler configuration change (preemption turned on for a job type, a new
        // algorithm) may let waiting work place: release it all, as a capacity change.
        if s.index(SCHEDULER_CONFIG_TABLE) > last_index && last_index > 0 {
            pass.changed_classes
                .extend(s.nodes().map(|n| n.computed_class.clone()));
        }
        // Allocations that ended since the last pass free capacity on their nodes (read
        // once: each is a look-up in the allocation table, and a pass after a plan
        // reads every placement of it).
        let ended: Vec<&Allocation> = s
            .allocs_modified_after(last_index)
            .filter(|a| a.terminal())
            .collect();
        for a in &ended {
            if let Some(n) = s.node(&a.node_id) {
                pass.changed_classes.insert(n.computed_class.clone());
            }
        }
        pass.quota_freed = changes::freed_namespaces(s, &ended, last_index);
        pass.ordered_stops = changes::ordered_stop_evals(s, &ended, now, next_id);
        pass.index = s.latest_index();
        self.last_index = pass.index;
        pass
    }

    /// Evaluations to queue or block (not yet `known`; finished ones are forgotten,
    /// which keeps `known` as small as the live evaluations), and the jobs a new
    /// deregister evaluation says stopped.
    fn collect_evals(&mut self, s: &StateStore, last_index: u64, pass: &mut FeedPass) {
        for e in s.evals_modified_after(last_index) {
            match e.status.as_str() {
                eval_status::PENDING | eval_status::BLOCKED if self.known.contains(&e.id) => {}
                eval_status::PENDING => {
                    let stopped = e.triggered_by == trigger::JOB_DEREGISTER
                        && s.job(&e.namespace, &e.job_id).is_none_or(|j| j.stop);
                    if stopped {
                        pass.stopped_jobs
                            .push((e.namespace.clone(), e.job_id.clone()));
                    }
                    pass.pending.push(e.clone());
                }
                eval_status::BLOCKED => pass.blocked.push(e.clone()),
                _ => {
                    self.known.remove(&e.id);
                }
            }
        }
    }

    /// Moves a pass's evaluations into the broker and the tracker and decides what the
    /// tracker lets out. `s` is the state the pass was collected from or a later one.
    pub fn apply(
        &mut self,
        pass: FeedPass,
        broker: &mut EvalBroker,
        tracker: &mut BlockedEvals,
        s: &StateStore,
        now: i64,
    ) -> FeedOutcome {
        if pass.reset_queues {
            broker.set_enabled(false);
            broker.set_enabled(true);
            tracker.flush();
        }
        for e in pass.pending {
            self.known.insert(e.id.clone());
            let _ = broker.enqueue(e, now);
        }
        let mut out = FeedOutcome::default();
        let mut woken = Vec::new();
        for e in pass.blocked {
            self.known.insert(e.id.clone());
            let blocked = tracker.block(e);
            woken.extend(blocked.unblocked);
            out.canceled.extend(blocked.duplicate);
        }
        for (namespace, job_id) in &pass.stopped_jobs {
            if let Some(mut e) = tracker.untrack(namespace, job_id) {
                e.status = eval_status::CANCELED.into();
                e.status_description = "job stopped: nothing left to place".into();
                e.modify_time = now;
                out.canceled.push(e);
            }
        }
        let mut classes = pass.changed_classes;
        for (node_id, class) in pass.changed_nodes {
            woken.extend(tracker.unblock_system_evals(&node_id));
            classes.insert(class);
        }
        for class in &classes {
            woken.extend(tracker.unblock(class, pass.index));
        }
        if !pass.quota_freed.is_empty() {
            woken.extend(tracker.unblock_namespaces(&pass.quota_freed, pass.index));
        }
        out.canceled.extend(tracker.wake(woken));
        let mut released = self.retry_failed(tracker, now);
        released.extend(release::release_dependents(tracker, s));
        released.extend(release::release_ranked(&mut self.released, tracker, s));
        released.extend(pass.ordered_stops);
        for e in &mut released {
            e.status = eval_status::PENDING.into();
            e.modify_time = now;
            self.known.remove(&e.id); // Fed as pending by the next pass.
        }
        out.released = released;
        self.prune(tracker, now, pass.index);
        out
    }

    /// Every [`FAILED_UNBLOCK_INTERVAL_NS`], the evaluations blocked because the plan
    /// applier gave up, to try again (Nomad's `periodicUnblockFailedEvals`).
    fn retry_failed(&mut self, tracker: &mut BlockedEvals, now: i64) -> Vec<Evaluation> {
        let due = *self
            .next_failed_unblock
            .get_or_insert(now.saturating_add(FAILED_UNBLOCK_INTERVAL_NS));
        if now < due {
            return Vec::new();
        }
        self.next_failed_unblock = Some(now.saturating_add(FAILED_UNBLOCK_INTERVAL_NS));
        tracker.unblock_failed()
    }

    /// Forgets unblock indexes older than [`UNBLOCK_INDEX_TTL_NS`], so the tracker does
    /// not remember every class ever seen.
    fn prune(&mut self, tracker: &mut BlockedEvals, now: i64, index: u64) {
        let mark_due = self
            .prune_marks
            .back()
            .is_none_or(|(at, _)| now.saturating_sub(*at) >= PRUNE_EVERY_NS);
        if mark_due {
            self.prune_marks.push_back((now, index));
        }
        while let Some(&(at, old_index)) = self.prune_marks.front() {
            if now.saturating_sub(at) < UNBLOCK_INDEX_TTL_NS {
                break;
            }
            tracker.prune_unblock_indexes(old_index);
            self.prune_marks.pop_front();
        }
    }
}

#[cfg(test)]
mod tests;
