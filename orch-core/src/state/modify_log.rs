//! Allocations by modify index, as an append-only log.
//!
//! Watchers (the leader's feeder, quota unblocking, ordered groups) ask which
//! allocations changed after an index. A `BTreeSet<(u64, Id)>` answered that, at the
//! price of a removal and an insertion in a million-entry tree for every allocation a
//! commit changes; churn stops and replaces thousands. Modify indexes only grow, so
//! the log appends `(index, id)` instead and leaves the old entry in place: an entry
//! stands only while the allocation still carries that modify index. Each commit
//! sorts and deduplicates what it appended (ties by ID, as the set ordered them), and
//! the log drops its stale entries once they outnumber the allocations.
//!
//! It is an index derived from the allocations: never serialized, and left out of
//! the store's equality (two stores with the same allocations answer the same).

use super::Id;

/// Stale entries tolerated beyond the live allocations before the log is compacted
/// (small under test, so the proptest compacts).
const SLACK: usize = if cfg!(test) { 4 } else { 4096 };

/// See the module documentation.
#[derive(Debug, Clone, Default)]
pub(super) struct ModifyLog {
    /// `(modify index, ID)`, sorted up to `sealed`.
    entries: Vec<(u64, Id)>,
    sealed: usize,
}

impl PartialEq for ModifyLog {
    /// Derived from the allocations, which the store compares.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl ModifyLog {
    /// Records that allocation `id` now carries modify index `index`.
    pub(super) fn push(&mut self, index: u64, id: Id) {
        self.entries.push((index, id));
    }

    /// Sorts what was appended since the last seal into place (entries of an index
    /// already present, from an earlier command of the same batch, included) and
    /// drops duplicates; then, when stale entries outnumber `live` allocations, keeps
    /// only the entries `current` confirms.
    pub(super) fn seal(&mut self, live: usize, current: impl Fn(u64, &Id) -> bool) {
        if self.sealed < self.entries.len() {
            let low = self.entries[self.sealed..]
                .iter()
                .map(|e| e.0)
                .min()
                .unwrap_or(u64::MAX);
            let from = self.entries[..self.sealed].partition_point(|e| e.0 < low);
            let mut tail = self.entries.split_off(from);
            tail.sort_unstable();
            tail.dedup();
            self.entries.append(&mut tail);
        }
        if self.entries.len() > 2 * live + SLACK {
            self.entries.retain(|(i, id)| current(*i, id));
        }
        self.sealed = self.entries.len();
    }

    /// Entries after `index`, oldest first (stale ones included: the caller checks
    /// each against the allocation's modify index).
    pub(super) fn after(&self, index: u64) -> &[(u64, Id)] {
        let sealed = &self.entries[..self.sealed];
        &sealed[sealed.partition_point(|e| e.0 <= index)..]
    }
}

impl super::StateStore {
    /// Sorts the modify log's entries of this commit in (after a commit or restore).
    pub(super) fn seal_modify_log(&mut self) {
        let allocs = &self.allocs;
        let current = |i: u64, id: &Id| allocs.get(id).is_some_and(|a| a.modify_index == i);
        self.allocs_by_modify.seal(allocs.len(), current);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    proptest::proptest! {
        /// After any sequence of commits (batches sharing an index included), the
        /// entries a check against the allocations keeps are what the B-tree set of
        /// `(modify index, ID)` held, in the same order.
        #[test]
        fn the_log_answers_as_the_set(
            commits in proptest::collection::vec(
                (0u64..2, proptest::collection::vec((0u8..20, proptest::bool::ANY), 0..12)),
                1..40,
            ),
            after in 0u64..60,
        ) {
            let mut log = ModifyLog::default();
            let mut set: BTreeSet<(u64, String)> = BTreeSet::new();
            let mut allocs: BTreeMap<String, u64> = BTreeMap::new();
            let mut index = 1;
            for (bump, changes) in commits {
                index += bump;
                for (n, keep) in changes {
                    let id = format!("a{n:02}");
                    if let Some(old) = allocs.remove(&id) {
                        set.remove(&(old, id.clone()));
                    }
                    if keep {
                        allocs.insert(id.clone(), index);
                        set.insert((index, id.clone()));
                        log.push(index, Id::new(&id));
                    }
                }
                let current = |i: u64, id: &Id| allocs.get(&id.to_string()) == Some(&i);
                log.seal(allocs.len(), current);
            }
            let got: Vec<(u64, String)> = log
                .after(after)
                .iter()
                .filter(|(i, id)| allocs.get(&id.to_string()) == Some(i))
                .map(|(i, id)| (*i, id.to_string()))
                .collect();
            let want: Vec<(u64, String)> =
                set.range((after + 1, String::new())..).cloned().collect();
            proptest::prop_assert_eq!(got, want);
        }
    }
}
