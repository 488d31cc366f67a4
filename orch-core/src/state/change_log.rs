//! Jobs and deployments by modify index, so the leader's deployment watcher
//! ([`crate::leader::deployments::Watcher`]) decides again only what changed since its
//! last pass instead of every deployment after every burst of changes.
//!
//! An index derived from the jobs and deployments (rebuilt on restore, never
//! serialized) and left out of the store's equality, as the allocations' modify log
//! is: two stores with the same jobs and deployments answer the same. A read checks
//! each entry against the object's modify index, so an entry left behind is never
//! taken for a change.

use std::collections::BTreeSet;

use super::{JobKey, StateStore};
use crate::model::{Deployment, Job};

/// `(modify index, key)` of every object of one table.
#[derive(Debug, Clone)]
pub(super) struct ChangeLog<K>(BTreeSet<(u64, K)>);

impl<K> Default for ChangeLog<K> {
    fn default() -> Self {
        Self(BTreeSet::new())
    }
}

impl<K> PartialEq for ChangeLog<K> {
    /// Derived from the objects, which the store compares.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<K: Ord + Clone> ChangeLog<K> {
    /// The object `key` moved from modify index `old` (`None`: new) to `new` (`None`:
    /// removed).
    pub(super) fn moved(&mut self, key: &K, old: Option<u64>, new: Option<u64>) {
        if old == new {
            return;
        }
        if let Some(o) = old {
            self.0.remove(&(o, key.clone()));
        }
        if let Some(n) = new {
            self.0.insert((n, key.clone()));
        }
    }

    /// Entries after `index`, oldest first (`K::default()` is the least key: an empty
    /// string, or a tuple of them).
    fn after(&self, index: u64) -> impl Iterator<Item = &(u64, K)>
    where
        K: Default,
    {
        self.0
            .range((index.saturating_add(1), K::default())..)
            .filter(move |(i, _)| *i > index)
    }
}

impl StateStore {
    /// Deployments created or changed after `index`, oldest change first.
    pub fn deployments_modified_after(&self, index: u64) -> impl Iterator<Item = &Deployment> {
        self.deployments_by_modify
            .after(index)
            .filter_map(|(i, id)| self.deployments.get(id).filter(|d| d.modify_index == *i))
    }

    /// Jobs registered, changed or whose status changed after `index`, oldest change
    /// first (a purged job is not among them: [`Self::job_count`] says one went).
    pub fn jobs_modified_after(&self, index: u64) -> impl Iterator<Item = &Job> {
        self.jobs_by_modify
            .after(index)
            .filter_map(|(i, k)| self.jobs.get(k).filter(|j| j.modify_index == *i))
            .map(|j| &**j)
    }

    /// How many deployments the store holds.
    pub fn deployment_count(&self) -> usize {
        self.deployments.len()
    }

    /// How many jobs the store holds.
    pub fn job_count(&self) -> usize {
        self.jobs.len()
    }

    /// Records that job `k` moved from modify index `old` to `new`.
    pub(super) fn log_job(&mut self, k: &JobKey, old: Option<u64>, new: Option<u64>) {
        self.jobs_by_modify.moved(k, old, new);
    }

    /// Records that deployment `id` moved from modify index `old` to `new`.
    pub(super) fn log_deployment(&mut self, id: &str, old: Option<u64>, new: Option<u64>) {
        self.deployments_by_modify.moved(&id.to_string(), old, new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_lists_what_moved_past_an_index_oldest_first() {
        let mut log = ChangeLog::<String>::default();
        log.moved(&"a".into(), None, Some(3));
        log.moved(&"b".into(), None, Some(5));
        log.moved(&"c".into(), None, Some(7));
        log.moved(&"a".into(), Some(3), Some(9));
        log.moved(&"c".into(), Some(7), None);
        let after = |i| {
            log.after(i)
                .map(|(n, k)| (*n, k.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(after(0), vec![(5, "b".to_string()), (9, "a".to_string())]);
        assert_eq!(after(5), vec![(9, "a".to_string())]);
        assert!(after(9).is_empty());
    }
}
