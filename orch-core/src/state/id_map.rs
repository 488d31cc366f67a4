//! Hashed maps keyed by [`Id`], for the store's derived look-ups that are only ever
//! searched by key: the allocations by ID (`alloc_table`), the node table's slots by
//! node ID, and the allocations per node and per evaluation ([`IdSets`]).
//!
//! Why: each of these was a B-tree keyed by `Id`, and every placement searched three
//! of them (the node's slot, the node's and the evaluation's allocation sets) through
//! ten to fourteen comparisons each; sampled on c1m's churn phase those descents were
//! about a twentieth of a replacement. A hashed map finds the key in one probe.
//!
//! Determinism: the hasher has no random keys ([`Id::hash64`]), and nothing reads a
//! map's own order: whatever is listed is sorted by ID first (the sets hold their IDs
//! in order; `Debug` sorts the keys), so equal stores print and compare alike.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::id::Id;

/// A map keyed by [`Id`], hashed with [`IdHasher`]; never iterated where the order
/// can be seen.
pub(super) type IdMap<V> = HashMap<Id, V, BuildHasherDefault<IdHasher>>;

impl Hash for Id {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash64());
    }
}

/// Passes [`Id::hash64`] (already well mixed, the same on every run) through.
#[derive(Default)]
pub(super) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `Id`; anything else is folded in (FNV-1a).
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = self.0.rotate_left(5) ^ v;
    }
}

/// An [`IdMap`] that prints in key order (so equal stores print alike) and offers
/// only what does not show the map's own order.
#[derive(Clone)]
pub(super) struct IdIndex<V> {
    map: IdMap<V>,
}

impl<V> Default for IdIndex<V> {
    fn default() -> Self {
        IdIndex {
            map: IdMap::default(),
        }
    }
}

impl<V: PartialEq> PartialEq for IdIndex<V> {
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl<V> IdIndex<V> {
    /// The value under `k`.
    #[inline]
    pub(super) fn get(&self, k: &Id) -> Option<&V> {
        self.map.get(k)
    }

    /// Stores `v` under `k`; returns the value it replaces.
    pub(super) fn insert(&mut self, k: Id, v: V) -> Option<V> {
        self.map.insert(k, v)
    }
}

impl<V: std::fmt::Debug> std::fmt::Debug for IdIndex<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut all: Vec<(&Id, &V)> = self.map.iter().collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        f.debug_map().entries(all).finish()
    }
}

/// IDs filed under an ID (allocations per node, per evaluation), each set in ID
/// order; a key whose set empties is dropped, so equal contents mean equal maps.
pub(super) type IdSets = IdIndex<BTreeSet<Id>>;

impl IdSets {
    /// Files `id` under `k`.
    pub(super) fn file(&mut self, k: Id, id: Id) {
        self.map.entry(k).or_default().insert(id);
    }

    /// Takes `id` out of `k`'s set, and the key out once its set is empty.
    pub(super) fn unfile(&mut self, k: &Id, id: &Id) {
        if let Some(set) = self.map.get_mut(k) {
            set.remove(id);
            if set.is_empty() {
                self.map.remove(k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Canonical UUIDs and plain strings, both representations of `Id`.
    fn id(n: u16) -> Id {
        if n.is_multiple_of(2) {
            Id::new(&format!(
                "{n:08x}-0000-4000-8000-{:012x}",
                u32::from(n) * 7919
            ))
        } else {
            Id::new(&format!("alloc-{n}"))
        }
    }

    proptest::proptest! {
        /// Against the B-tree of sets the indexes were: the same sets under every key
        /// after any mix of inserts and removes, empty keys dropped, equal maps built
        /// in other orders equal and printed alike.
        #[test]
        fn id_sets_match_a_btree_of_sets(
            ops in proptest::collection::vec((proptest::bool::ANY, 0u16..8, 0u16..40), 0..200),
        ) {
            let mut sets = IdSets::default();
            let mut reference: BTreeMap<Id, BTreeSet<Id>> = BTreeMap::new();
            for &(insert, k, v) in &ops {
                if insert {
                    sets.file(id(k), id(v));
                    reference.entry(id(k)).or_default().insert(id(v));
                } else {
                    sets.unfile(&id(k), &id(v));
                    if let Some(s) = reference.get_mut(&id(k)) {
                        s.remove(&id(v));
                        if s.is_empty() {
                            reference.remove(&id(k));
                        }
                    }
                }
            }
            for k in 0..8 {
                proptest::prop_assert_eq!(sets.get(&id(k)), reference.get(&id(k)));
            }
            let mut rebuilt = IdSets::default();
            for (k, s) in reference.iter().rev() {
                for v in s.iter().rev() {
                    rebuilt.file(k.clone(), v.clone());
                }
            }
            proptest::prop_assert!(sets == rebuilt);
            proptest::prop_assert_eq!(format!("{sets:?}"), format!("{:?}", reference));
        }
    }
}
