//! A sorted map in one vector, for the few-entry maps every allocation carries (its
//! tasks' resources and lifecycles, its placement metrics).
//!
//! A `BTreeMap` allocates a whole eleven-slot node for its first entry: with a task's
//! resources as values that is about 1.4 KB per allocation for one task. This map holds
//! exactly what it contains, keeps keys in order (so iteration, equality and the
//! serialized form are those of a `BTreeMap`: a map in key order, byte-identical in JSON
//! and postcard), and is as fast for the handful of keys it is used with.
//!
//! The entries sit behind an `Arc`, copied on the first write to a shared map: every
//! placement of an evaluation starts from the same pool-wide metrics, and allocations
//! of one group usually reserve identical resources, so a million allocations share
//! these maps instead of each holding its own copy (8 bytes inline, empty allocates
//! nothing).

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// A map kept as a vector of entries sorted by key, shared until written.
pub struct SmallMap<K, V> {
    /// `None` when empty; never `Some` of an empty vector after a write.
    entries: Option<Arc<Vec<(K, V)>>>,
}

impl<K, V> Clone for SmallMap<K, V> {
    fn clone(&self) -> Self {
        SmallMap {
            entries: self.entries.clone(),
        }
    }
}

impl<K: PartialEq, V: PartialEq> PartialEq for SmallMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        match (&self.entries, &other.entries) {
            (Some(a), Some(b)) if Arc::ptr_eq(a, b) => true,
            _ => self.slice() == other.slice(),
        }
    }
}

impl<K: Eq, V: Eq> Eq for SmallMap<K, V> {}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap { entries: None }
    }
}

impl<K, V> SmallMap<K, V> {
    fn slice(&self) -> &[(K, V)] {
        self.entries.as_deref().map_or(&[], Vec::as_slice)
    }

    /// Whether two maps share their entries (so are equal without comparing them).
    pub fn ptr_eq(&self, other: &Self) -> bool {
        match (&self.entries, &other.entries) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl<K: Clone, V: Clone> SmallMap<K, V> {
    /// The entries, to change: copied first when shared.
    fn vec_mut(&mut self) -> &mut Vec<(K, V)> {
        Arc::make_mut(self.entries.get_or_insert_with(Default::default))
    }
}

impl<K: Ord, V> SmallMap<K, V> {
    /// An empty map (allocates nothing).
    pub fn new() -> Self {
        Self::default()
    }

    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.slice().binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    /// The value of `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &self.slice()[i].1)
    }

    /// Whether `key` has a value.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_ok()
    }
}

impl<K: Ord + Clone, V: Clone> SmallMap<K, V> {
    /// The value of `key`, to change.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key).ok()?;
        Some(&mut self.vec_mut()[i].1)
    }

    /// Sets the value of `key`, returning the old one.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.vec_mut()[i].1, value)),
            Err(i) => {
                self.vec_mut().insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key).ok()?;
        let v = self.vec_mut().remove(i).1;
        if self.slice().is_empty() {
            self.entries = None;
        }
        Some(v)
    }

    /// The value of `key`, inserted from `make` first if missing.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.vec_mut().insert(i, (key, make()));
                i
            }
        };
        &mut self.vec_mut()[i].1
    }

    /// Values in key order, to change.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        let entries: &mut [(K, V)] = match self.entries {
            Some(_) => self.vec_mut(),
            None => &mut [],
        };
        entries.iter_mut().map(|(_, v)| v)
    }
}

impl<K, V> SmallMap<K, V> {
    /// Entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator {
        self.slice().iter().map(|(k, v)| (k, v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator {
        self.slice().iter().map(|(k, _)| k)
    }

    /// Values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.slice().iter().map(|(_, v)| v)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.slice().len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.slice().is_empty()
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries = None;
    }
}

impl<K: Ord + Clone, V: Clone> FromIterator<(K, V)> for SmallMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut m = SmallMap::new();
        m.extend(iter);
        m
    }
}

impl<K: Ord + Clone, V: Clone> Extend<(K, V)> for SmallMap<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Ord + Clone, V: Clone, const N: usize> From<[(K, V); N]> for SmallMap<K, V> {
    fn from(entries: [(K, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<'a, K, V> IntoIterator for &'a SmallMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.slice().iter().map(|(k, v)| (k, v))
    }
}

impl<K: Clone, V: Clone> IntoIterator for SmallMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries
            .map(|a| Arc::try_unwrap(a).unwrap_or_else(|shared| (*shared).clone()))
            .unwrap_or_default()
            .into_iter()
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> std::ops::Index<&Q> for SmallMap<K, V> {
    type Output = V;

    /// Panics when the key is missing, like `BTreeMap`'s index (tests and callers that
    /// just checked the key).
    fn index(&self, key: &Q) -> &V {
        match self.get(key) {
            Some(v) => v,
            None => panic!("key not in SmallMap"),
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for SmallMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Serialize, V: Serialize> Serialize for SmallMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.slice() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> Deserialize<'de> for SmallMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Through a BTreeMap: the same duplicate-key rule (the last wins) and order.
        let map = std::collections::BTreeMap::<K, V>::deserialize(d)?;
        let entries: Vec<(K, V)> = map.into_iter().collect();
        Ok(SmallMap {
            entries: (!entries.is_empty()).then(|| Arc::new(entries)),
        })
    }
}

#[cfg(test)]
mod tests;
