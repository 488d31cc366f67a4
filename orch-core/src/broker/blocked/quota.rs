//! Quota unblocking: evaluations blocked on their namespace's quota wait for use in the
//! quota's namespaces to drop (or the quota to change), not for node capacity.

use std::collections::BTreeSet;

use super::BlockedEvals;
use crate::model::Evaluation;

/// Whether an evaluation was blocked (at least in part) by an exhausted quota.
pub fn quota_blocked(eval: &Evaluation) -> bool {
    eval.failed_tg_allocs
        .values()
        .any(|m| !m.quota_exhausted.is_empty())
}

impl BlockedEvals {
    /// Use dropped (allocations ended) or a quota changed in `namespaces` at Raft
    /// `index`: releases the quota-blocked evaluations of those namespaces (status
    /// `pending`, in ID order) and remembers the index for missed-unblock checks.
    pub fn unblock_namespaces(
        &mut self,
        namespaces: &BTreeSet<String>,
        index: u64,
    ) -> Vec<Evaluation> {
        for ns in namespaces {
            let slot = self
                .namespace_unblock_indexes
                .entry(ns.clone())
                .or_default();
            *slot = (*slot).max(index);
        }
        let hit = |e: &Evaluation| namespaces.contains(&e.namespace) && quota_blocked(e);
        let mut ids: Vec<String> = self
            .captured
            .iter()
            .chain(self.escaped.iter())
            .filter(|(_, e)| hit(e))
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        let out = ids.iter().filter_map(|id| self.remove(id)).collect();
        self.released(out)
    }

    /// Would a quota unblock recorded after the evaluation's snapshot have released it?
    pub(super) fn missed_quota_unblock(&self, eval: &Evaluation) -> bool {
        quota_blocked(eval)
            && self
                .namespace_unblock_indexes
                .get(&eval.namespace)
                .is_some_and(|i| *i > eval.snapshot_index)
    }
}
