//! The store's allocations by ID: a hash table, not a B-tree.
//!
//! Why: at a million allocations every placement inserted into a million-entry B-tree
//! (six or seven levels of random UUID keys, a cache miss per level), and every stop,
//! client update and plan check searched it; sampled on the c1m bench that was about
//! an eighth of a placement. A hash table finds or inserts an ID in one probe.
//!
//! Determinism: the hasher has no random keys ([`Id::hash64`]), and nothing reads the
//! table's own order. Whatever is iterated (the snapshot, [`StateStore::allocs`]) is
//! sorted by ID first, so snapshots stay byte-identical and listings keep ID order.
//! Equality compares contents, not layout.
//!
//! [`StateStore::allocs`]: super::StateStore::allocs

use std::collections::hash_map::Entry;
use std::sync::Arc;

use super::id::Id;
use super::id_map::IdMap;
use crate::model::Allocation;

/// Hash tables the allocations are spread over, by bits of the ID's hash that the
/// tables' own probing does not use (it takes the low bits for the bucket and the top
/// seven for its tags). Growing one doubles and rehashes a 256th of the allocations,
/// within the cache, where one table of a million rehashed them all with a cache miss
/// each (4% of the c1m bench).
const SHARDS: usize = 256;

/// The shard of a hash: bits 32 to 39.
fn shard_of(id: &Id) -> usize {
    ((id.hash64() >> 32) as usize) & (SHARDS - 1)
}

/// Allocations by ID; iterated only in ID order.
#[derive(Clone, Default)]
pub(super) struct AllocTable {
    /// Empty until the first allocation, then [`SHARDS`] tables.
    shards: Vec<IdMap<Arc<Allocation>>>,
}

impl PartialEq for AllocTable {
    /// The same allocations under the same IDs.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .shards
                .iter()
                .flatten()
                .all(|(id, a)| other.get(id) == Some(a))
    }
}

impl AllocTable {
    fn shard_mut(&mut self, id: &Id) -> &mut IdMap<Arc<Allocation>> {
        if self.shards.is_empty() {
            self.shards = (0..SHARDS).map(|_| IdMap::default()).collect();
        }
        &mut self.shards[shard_of(id)]
    }

    /// The allocation with this ID.
    #[inline]
    pub(super) fn get(&self, id: &Id) -> Option<&Arc<Allocation>> {
        self.shards.get(shard_of(id))?.get(id)
    }

    /// Whether an allocation has this ID.
    pub(super) fn contains_key(&self, id: &Id) -> bool {
        self.get(id).is_some()
    }

    /// Stores `a` under `id`; returns the allocation it replaces.
    pub(super) fn insert(&mut self, id: Id, a: Arc<Allocation>) -> Option<Arc<Allocation>> {
        self.shard_mut(&id).insert(id, a)
    }

    /// The slot of `id`, for a store that must know whether it is new (one probe).
    pub(super) fn entry(&mut self, id: Id) -> Entry<'_, Id, Arc<Allocation>> {
        self.shard_mut(&id).entry(id)
    }

    /// Takes the allocation with this ID out.
    pub(super) fn remove(&mut self, id: &Id) -> Option<Arc<Allocation>> {
        self.shards.get_mut(shard_of(id))?.remove(id)
    }

    /// How many allocations the table holds.
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(|m| m.len()).sum()
    }

    /// Reserves room for `more` allocations (a restore knows how many it brings).
    pub(super) fn reserve(&mut self, more: usize) {
        if more == 0 {
            return;
        }
        self.shard_mut(&Id::new(""));
        for m in &mut self.shards {
            m.reserve(more / SHARDS + 1);
        }
    }

    /// Every allocation, ordered by ID (sorted on each call: O(n log n)).
    pub(super) fn sorted(&self) -> Vec<&Arc<Allocation>> {
        let mut all: Vec<(&Id, &Arc<Allocation>)> = self.shards.iter().flatten().collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all.into_iter().map(|(_, a)| a).collect()
    }

    /// Every allocation in no particular order, for what does not depend on order
    /// (counts); cheaper than [`AllocTable::sorted`].
    pub(super) fn any_order(&self) -> impl Iterator<Item = &Arc<Allocation>> {
        self.shards.iter().flat_map(|m| m.values())
    }
}

impl std::fmt::Debug for AllocTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // In ID order, so two equal stores print alike.
        let mut all: Vec<(&Id, &Arc<Allocation>)> = self.shards.iter().flatten().collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        f.debug_map().entries(all).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc(id: &str) -> Arc<Allocation> {
        Arc::new(Allocation {
            id: id.into(),
            ..Allocation::default()
        })
    }

    #[test]
    fn sorted_is_id_order_whatever_the_insert_order() {
        let ids = [
            "ffffffff-0000-4000-8000-000000000001",
            "not-a-uuid",
            "00000000-0000-4000-8000-000000000002",
            "7a000000-0000-4000-8000-000000000003",
            "7",
        ];
        let mut t = AllocTable::default();
        for id in ids {
            assert!(t.insert(Id::new(id), alloc(id)).is_none());
        }
        let mut want: Vec<&str> = ids.to_vec();
        want.sort_unstable();
        let got: Vec<&str> = t.sorted().iter().map(|a| a.id.as_str()).collect();
        assert_eq!(got, want);
        assert_eq!(t.len(), ids.len());
        let mut back = AllocTable::default();
        for id in ids.iter().rev() {
            back.insert(Id::new(id), alloc(id));
        }
        assert_eq!(t, back);
        assert_eq!(format!("{t:?}"), format!("{back:?}"));
    }

    proptest::proptest! {
        /// Against a B-tree (the table's former shape): the same contents, and
        /// `sorted` in the B-tree's order, after any mix of inserts and removes.
        #[test]
        fn matches_a_btree(ops in proptest::collection::vec((0u8..3, 0u16..64), 0..200)) {
            let mut t = AllocTable::default();
            let mut reference = std::collections::BTreeMap::new();
            for (op, n) in ops {
                // Canonical UUIDs and plain strings, both representations of `Id`.
                let id = if n % 2 == 0 {
                    format!("{n:08x}-0000-4000-8000-{:012x}", u32::from(n) * 7919)
                } else {
                    format!("alloc-{n}")
                };
                let k = Id::new(&id);
                if op == 0 {
                    proptest::prop_assert_eq!(t.remove(&k).is_some(), reference.remove(&k).is_some());
                } else {
                    let a = alloc(&id);
                    proptest::prop_assert_eq!(
                        t.insert(k.clone(), a.clone()).is_some(),
                        reference.insert(k, a).is_some()
                    );
                }
            }
            let got: Vec<&str> = t.sorted().iter().map(|a| a.id.as_str()).collect();
            let want: Vec<&str> = reference.values().map(|a| a.id.as_str()).collect();
            proptest::prop_assert_eq!(got, want);
            proptest::prop_assert_eq!(t.len(), reference.len());
        }
    }

    #[test]
    fn remove_and_entry() {
        let mut t = AllocTable::default();
        let id = "00000000-0000-4000-8000-000000000002";
        assert!(matches!(t.entry(Id::new(id)), Entry::Vacant(_)));
        t.insert(Id::new(id), alloc(id));
        assert!(t.contains_key(&Id::new(id)));
        assert!(matches!(t.entry(Id::new(id)), Entry::Occupied(_)));
        assert!(t.remove(&Id::new(id)).is_some());
        assert!(t.get(&Id::new(id)).is_none());
    }
}
