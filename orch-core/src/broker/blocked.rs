//! The blocked-evaluation tracker: evaluations that could not place every allocation wait
//! here until capacity that could help them appears. Nomad's `nomad/blocked_evals.go`,
//! made pure: instead of enqueueing into the broker itself, every call returns the
//! evaluations it releases (status `pending`) for the caller to enqueue.
//!
//! Rules, as in Nomad:
//! * **One blocked evaluation per job** (namespace + job ID). Blocking a second one keeps
//!   the one with the larger `max(CreateIndex, SnapshotIndex)` (the newer view of the
//!   cluster, with the newest class eligibility; ties go to the new one) and returns the
//!   other as a duplicate with status `canceled`.
//! * **Captured vs escaped.** An evaluation whose constraints were all captured by node
//!   computed classes is released by a capacity change on a class it marked eligible or
//!   never saw (absent from `ClassEligibility`), never by a class it marked ineligible. An
//!   *escaped* evaluation (`EscapedComputedClass`) could fit on any node, so any class's
//!   change releases it.
//! * **Missed unblocks.** The scheduler works from a snapshot; capacity may have appeared
//!   after it. Every unblock records its Raft index per class; an evaluation blocked with
//!   a `SnapshotIndex` older than the last unblock of a class that could help it is
//!   released immediately instead of blocked.
//! * **Plan failures.** Evaluations blocked by `max-plan-attempts` are released by
//!   [`BlockedEvals::unblock_failed`], which the leader calls periodically.
//!
//! * **Ranked release** (orch): the leader [`BlockedEvals::wake`]s what an unblock
//!   released instead of enqueueing it all, and takes it out one at a time with
//!   [`BlockedEvals::next_ranked`] (priority, fair share, age: `broker::queue`).
//!
//! * **Quotas.** An evaluation blocked because its namespace's quota was exhausted
//!   (`QuotaExhausted` in its metrics) is also released when allocations of the quota's
//!   namespaces end or the quota changes ([`BlockedEvals::unblock_namespaces`], Nomad's
//!   `UnblockQuota`), with the same missed-unblock rule per namespace.

use std::collections::{BTreeMap, BTreeSet};

use super::{JobKey, job_key};
use crate::model::{Evaluation, eval_status, trigger};

/// What [`BlockedEvals::block`] did with an evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlockOutcome {
    /// The evaluation missed an unblock while in the scheduler: it was not blocked and must
    /// be enqueued to the broker now (status `pending`).
    pub unblocked: Option<Evaluation>,
    /// The older of two blocked evaluations of the same job (possibly the one passed in),
    /// with status `canceled`, for the caller to write to Raft.
    pub duplicate: Option<Evaluation>,
}

/// Counts for metrics and the operator API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockedStats {
    /// Blocked evaluations (captured + escaped); equal to the number of blocked jobs.
    pub total_blocked: usize,
    /// Blocked evaluations that escaped computed classes.
    pub total_escaped: usize,
    /// Blocked evaluations created by `max-plan-attempts`.
    pub total_plan_failures: usize,
    /// Blocked evaluations per namespace.
    pub by_namespace: BTreeMap<String, usize>,
}

/// The leader's set of blocked evaluations. See the module docs for the rules.
#[derive(Debug, Clone, Default)]
pub struct BlockedEvals {
    captured: BTreeMap<String, Evaluation>,
    escaped: BTreeMap<String, Evaluation>,
    jobs: BTreeMap<JobKey, String>,
    /// System-job evaluations by the node they were blocked for, so a node's own change
    /// releases them (Nomad's `systemEvals`).
    by_node: BTreeMap<String, BTreeSet<String>>,
    unblock_indexes: BTreeMap<String, u64>,
    max_unblock_index: u64,
    /// Last quota unblock per namespace, for missed-unblock checks.
    namespace_unblock_indexes: BTreeMap<String, u64>,
    /// Released by capacity but not let out yet: handed out one at a time in queue
    /// order (`woken`).
    woken: BTreeMap<String, Evaluation>,
}

mod quota;
mod woken;
pub use quota::quota_blocked;

impl BlockedEvals {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Blocks `eval` (its status becomes `blocked`) unless it missed an unblock, replacing
    /// or yielding to another blocked evaluation of the same job. Blocking an evaluation ID
    /// that is already blocked replaces it without reporting a duplicate.
    pub fn block(&mut self, eval: Evaluation) -> BlockOutcome {
        self.insert(eval, false)
    }

    /// [`BlockedEvals::block`], or with `woken` the same without the missed-unblock check
    /// into the woken set.
    fn insert(&mut self, mut eval: Evaluation, woken: bool) -> BlockOutcome {
        let mut outcome = BlockOutcome::default();
        let key = job_key(&eval);
        if let Some(existing_id) = self.jobs.get(&key).cloned() {
            let existing_newer = self
                .get(&existing_id)
                .is_some_and(|old| latest_index(old) > latest_index(&eval));
            if existing_newer && existing_id != eval.id {
                outcome.duplicate =
                    Some(canceled(eval, "existing blocked evaluation exists for job"));
                return outcome;
            }
            if let Some(old) = self.remove(&existing_id)
                && existing_id != eval.id
            {
                outcome.duplicate = Some(canceled(old, "newer blocked evaluation exists for job"));
            }
        }
        if !woken && self.missed_unblock(&eval) {
            eval.status = eval_status::PENDING.to_owned();
            outcome.unblocked = Some(eval);
            return outcome;
        }
        eval.status = eval_status::BLOCKED.to_owned();
        self.jobs.insert(key, eval.id.clone());
        if !eval.node_id.is_empty() {
            let ids = self.by_node.entry(eval.node_id.clone()).or_default();
            ids.insert(eval.id.clone());
        }
        if woken {
            self.woken.insert(eval.id.clone(), eval);
        } else if eval.escaped_computed_class {
            self.escaped.insert(eval.id.clone(), eval);
        } else {
            self.captured.insert(eval.id.clone(), eval);
        }
        outcome
    }

    /// Capacity changed on nodes of `computed_class` at Raft `index`: releases every escaped
    /// evaluation and every captured one that did not mark the class ineligible, and
    /// remembers the index for missed-unblock checks. Released evaluations come back with
    /// status `pending`, escaped ones first, each group in ID order. O(blocked).
    pub fn unblock(&mut self, computed_class: &str, index: u64) -> Vec<Evaluation> {
        let slot = self
            .unblock_indexes
            .entry(computed_class.to_owned())
            .or_default();
        *slot = (*slot).max(index);
        self.max_unblock_index = self.max_unblock_index.max(index);
        let mut out = Vec::new();
        if !computed_class.is_empty() {
            out.extend(std::mem::take(&mut self.escaped).into_values());
        }
        self.captured.retain(|_, e| {
            // Waiting for another job, not for room: the leader releases it
            // (`release_where` with `workflow::job_deps::release`).
            if e.class_eligibility.get(computed_class) == Some(&false)
                || e.triggered_by == crate::workflow::JOB_DEPENDENCY
            {
                return true;
            }
            out.push(std::mem::take(e));
            false
        });
        self.released(out)
    }

    /// A node changed (registered, became ready, freed resources): [`BlockedEvals::unblock`]
    /// for its computed class, plus the system-job evaluations blocked for this very node.
    pub fn unblock_node(
        &mut self,
        node_id: &str,
        computed_class: &str,
        index: u64,
    ) -> Vec<Evaluation> {
        let mut out = self.unblock_system_evals(node_id);
        out.extend(self.unblock(computed_class, index));
        out
    }

    /// Releases the system-job evaluations blocked for this very node (Nomad's
    /// `systemEvals`): the node changed, so what did not fit on it may now. The class
    /// part of [`BlockedEvals::unblock_node`], for callers that unblock each changed
    /// class once.
    pub fn unblock_system_evals(&mut self, node_id: &str) -> Vec<Evaluation> {
        let mut out = Vec::new();
        for id in self.by_node.get(node_id).cloned().unwrap_or_default() {
            out.extend(self.remove(&id));
        }
        self.released(out)
    }

    /// Releases the evaluations blocked because the plan applier gave up
    /// (`max-plan-attempts`): nothing about capacity will ever wake them, so the leader
    /// retries them periodically.
    pub fn unblock_failed(&mut self) -> Vec<Evaluation> {
        let ids: Vec<String> = self
            .captured
            .iter()
            .chain(self.escaped.iter())
            .filter(|(_, e)| e.triggered_by == trigger::MAX_PLAN_ATTEMPTS)
            .map(|(id, _)| id.clone())
            .collect();
        let out = ids.iter().filter_map(|id| self.remove(id)).collect();
        self.released(out)
    }

    /// Releases every blocked evaluation `release` says may go (status `pending`, in ID
    /// order): how the leader lets out the evaluations waiting for a job dependency.
    pub fn release_where(
        &mut self,
        mut release: impl FnMut(&Evaluation) -> bool,
    ) -> Vec<Evaluation> {
        let ids: Vec<String> = self
            .captured
            .iter()
            .chain(self.escaped.iter())
            .filter(|(_, e)| release(e))
            .map(|(id, _)| id.clone())
            .collect();
        let mut ids = ids;
        ids.sort();
        let out = ids.iter().filter_map(|id| self.remove(id)).collect();
        self.released(out)
    }

    /// Stops tracking the job's blocked evaluation (job deregistered, or a later run placed
    /// everything) and returns it unchanged, if there was one.
    pub fn untrack(&mut self, namespace: &str, job_id: &str) -> Option<Evaluation> {
        let id = self
            .jobs
            .get(&(namespace.to_owned(), job_id.to_owned()))?
            .clone();
        self.remove(&id)
    }

    /// The job's blocked evaluation, if any.
    pub fn blocked_by_job(&self, namespace: &str, job_id: &str) -> Option<&Evaluation> {
        let id = self.jobs.get(&(namespace.to_owned(), job_id.to_owned()))?;
        self.get(id)
    }

    /// Forgets unblock indexes older than `index` (Nomad prunes them after 15 minutes), so
    /// the map does not grow with every class ever seen. Evaluations blocked later with an
    /// older snapshot than a pruned index may then wait for the next unblock.
    pub fn prune_unblock_indexes(&mut self, index: u64) {
        self.unblock_indexes.retain(|_, i| *i >= index);
        self.namespace_unblock_indexes.retain(|_, i| *i >= index);
        self.max_unblock_index = self.unblock_indexes.values().copied().max().unwrap_or(0);
    }

    /// Drops everything (leadership lost), as Nomad's `Flush`.
    pub fn flush(&mut self) {
        *self = Self::default();
    }

    /// Number of blocked evaluations (woken ones included).
    pub fn len(&self) -> usize {
        self.captured.len() + self.escaped.len() + self.woken.len()
    }

    /// True when nothing is blocked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Current counts.
    pub fn stats(&self) -> BlockedStats {
        let mut stats = BlockedStats {
            total_blocked: self.len(),
            total_escaped: self.escaped.len(),
            ..BlockedStats::default()
        };
        for e in self.waiting() {
            *stats.by_namespace.entry(e.namespace.clone()).or_default() += 1;
            if e.triggered_by == trigger::MAX_PLAN_ATTEMPTS {
                stats.total_plan_failures += 1;
            }
        }
        stats
    }

    /// Allocations still unplaced, per job and task group, across all blocked evaluations:
    /// the demand a cluster autoscaler must add capacity for. See [`unplaced_of`] for how
    /// one evaluation is counted.
    pub fn unplaced(&self) -> BTreeMap<JobKey, BTreeMap<String, u64>> {
        self.waiting()
            .map(|e| (job_key(e), unplaced_of(e)))
            .filter(|(_, groups)| !groups.is_empty())
            .collect()
    }

    /// [`BlockedEvals::unplaced`] for one job; empty when the job has nothing blocked.
    pub fn unplaced_for_job(&self, namespace: &str, job_id: &str) -> BTreeMap<String, u64> {
        self.blocked_by_job(namespace, job_id)
            .map(unplaced_of)
            .unwrap_or_default()
    }

    fn get(&self, id: &str) -> Option<&Evaluation> {
        self.captured
            .get(id)
            .or_else(|| self.escaped.get(id))
            .or_else(|| self.woken.get(id))
    }

    /// Removes an evaluation from every index.
    fn remove(&mut self, id: &str) -> Option<Evaluation> {
        let eval = self
            .captured
            .remove(id)
            .or_else(|| self.escaped.remove(id))
            .or_else(|| self.woken.remove(id))?;
        self.unindex(&eval);
        Some(eval)
    }

    fn unindex(&mut self, eval: &Evaluation) {
        let key = job_key(eval);
        if self.jobs.get(&key).is_some_and(|id| *id == eval.id) {
            self.jobs.remove(&key);
        }
        if let Some(ids) = self.by_node.get_mut(&eval.node_id) {
            ids.remove(&eval.id);
            if ids.is_empty() {
                self.by_node.remove(&eval.node_id);
            }
        }
    }

    /// Finishes a release: drops the evaluations' job/node indexes and marks them pending.
    fn released(&mut self, mut out: Vec<Evaluation>) -> Vec<Evaluation> {
        for e in &mut out {
            self.unindex(e);
            e.status = eval_status::PENDING.to_owned();
        }
        out
    }

    /// Nomad's `missedUnblock`: would an unblock recorded after the evaluation's snapshot
    /// have released it?
    fn missed_unblock(&self, eval: &Evaluation) -> bool {
        // Capacity cannot help an evaluation waiting for a job dependency; the leader
        // checks the dependency after every pass instead.
        if eval.triggered_by == crate::workflow::JOB_DEPENDENCY {
            return false;
        }
        if self.missed_quota_unblock(eval) {
            return true;
        }
        if eval.snapshot_index >= self.max_unblock_index {
            return false;
        }
        if eval.escaped_computed_class {
            return true;
        }
        self.unblock_indexes.iter().any(|(class, index)| {
            eval.snapshot_index < *index && eval.class_eligibility.get(class) != Some(&false)
        })
    }
}

/// How many allocations one blocked evaluation still has to place, per group: for each
/// group in `FailedTGAllocs` or with a non-zero `QueuedAllocations`, the larger of the
/// queued count and the failed placements (`1 + CoalescedFailures`). The scheduler sets
/// the queued count when it has one; the failure metrics are the lower bound it always
/// records. Groups that come out zero are omitted.
pub fn unplaced_of(eval: &Evaluation) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = eval
        .queued_allocations
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(g, n)| (g.clone(), *n))
        .collect();
    for (group, metric) in &eval.failed_tg_allocs {
        let failed = metric.coalesced_failures.saturating_add(1);
        let n = out.entry(group.clone()).or_default();
        *n = (*n).max(failed);
    }
    out
}

/// `max(CreateIndex, SnapshotIndex)`: how recent a view of the cluster an evaluation had.
fn latest_index(eval: &Evaluation) -> u64 {
    eval.create_index.max(eval.snapshot_index)
}

fn canceled(mut eval: Evaluation, why: &str) -> Evaluation {
    eval.status = eval_status::CANCELED.to_owned();
    eval.status_description = format!("{why} {:?}", eval.job_id);
    eval
}

#[cfg(test)]
mod tests;
