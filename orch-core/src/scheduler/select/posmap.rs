//! A `u32` per node position, for the few positions that have one.
//!
//! The placer kept two such maps as dense vectors of one `u32` per eligible node (the
//! plan's usage overlay, a group's allocations per node), each zeroed per evaluation:
//! 40 KB apiece at 10,000 nodes, written whole for an evaluation that touches a few
//! dozen positions (churn's ~20-placement evaluations spent about a tenth of their
//! instructions there). This keeps one bit per position, so "none" is still one
//! read, and the values of the marked positions in a small hash table.

/// Values for some positions of `0..n`.
#[derive(Debug, Clone, Default)]
pub struct PosMap {
    /// Positions are `0..len`.
    len: usize,
    /// One bit per position: whether it has a value.
    bits: Vec<u64>,
    /// Open addressing (linear probing) over a power-of-two table: the key of each
    /// slot ([`EMPTY`] when free) and its value. Never iterated, so its layout
    /// decides nothing but speed.
    keys: Vec<u32>,
    values: Vec<u32>,
    used: usize,
}

/// A free slot of [`PosMap`]'s table.
const EMPTY: u32 = u32::MAX;

impl PosMap {
    /// An empty map over positions `0..n`.
    pub fn new(n: usize) -> Self {
        PosMap {
            len: n,
            bits: vec![0; n.div_ceil(64)],
            keys: Vec::new(),
            values: Vec::new(),
            used: 0,
        }
    }

    /// A map over `0..n` counting each position of `positions` (those at or past `n`
    /// are left out).
    pub fn counting(n: usize, positions: &[u32]) -> Self {
        let mut map = PosMap::new(n);
        map.grow_to(positions.len());
        for &p in positions {
            if let Some(c) = map.entry(p as usize, 0) {
                *c += 1;
            }
        }
        map
    }

    /// Whether `pos` has a value.
    #[inline]
    pub fn contains(&self, pos: usize) -> bool {
        self.bits
            .get(pos / 64)
            .is_some_and(|w| w & (1 << (pos % 64)) != 0)
    }

    /// The slot of `key` in the table, or the free one it would take.
    #[inline]
    fn slot(&self, key: u32) -> usize {
        let mask = self.keys.len() - 1;
        let mut i = (key.wrapping_mul(0x9E37_79B9) as usize) & mask;
        while self.keys[i] != key && self.keys[i] != EMPTY {
            i = (i + 1) & mask;
        }
        i
    }

    /// The value at `pos`, if any.
    #[inline]
    pub fn get(&self, pos: usize) -> Option<u32> {
        if !self.contains(pos) {
            return None;
        }
        self.values.get(self.slot(pos as u32)).copied()
    }

    /// Room for `more` keys beyond those held, at most half full.
    fn grow_to(&mut self, more: usize) {
        let want = ((self.used + more) * 2).next_power_of_two().max(16);
        if want <= self.keys.len() {
            return;
        }
        let old: Vec<(u32, u32)> = self
            .keys
            .iter()
            .zip(&self.values)
            .filter(|(k, _)| **k != EMPTY)
            .map(|(k, v)| (*k, *v))
            .collect();
        self.keys = vec![EMPTY; want];
        self.values = vec![0; want];
        for (k, v) in old {
            let i = self.slot(k);
            self.keys[i] = k;
            self.values[i] = v;
        }
    }

    /// The value at `pos` to change, set to `init` first if it had none (`None`
    /// when `pos` is out of range).
    pub fn entry(&mut self, pos: usize, init: u32) -> Option<&mut u32> {
        if pos >= self.len {
            return None;
        }
        if !self.contains(pos) {
            self.grow_to(1);
            let i = self.slot(pos as u32);
            self.keys[i] = pos as u32;
            self.values[i] = init;
            self.used += 1;
            if let Some(w) = self.bits.get_mut(pos / 64) {
                *w |= 1 << (pos % 64);
            }
            return self.values.get_mut(i);
        }
        let i = self.slot(pos as u32);
        self.values.get_mut(i)
    }
}

#[cfg(test)]
mod tests {
    use super::PosMap;
    use proptest::prelude::*;

    proptest! {
        /// Counting, then adding, gives what a dense vector of counters gives.
        #[test]
        fn matches_a_dense_vector(
            n in 0usize..300,
            first in proptest::collection::vec(0u32..320, 0..200),
            more in proptest::collection::vec(0usize..320, 0..50),
        ) {
            let mut dense = vec![0u32; n];
            for &p in &first {
                if let Some(c) = dense.get_mut(p as usize) {
                    *c += 1;
                }
            }
            let mut map = PosMap::counting(n, &first);
            for &p in &more {
                if let Some(c) = dense.get_mut(p) {
                    *c += 1;
                }
                if let Some(c) = map.entry(p, 0) {
                    *c += 1;
                }
            }
            for (p, &c) in dense.iter().enumerate() {
                prop_assert_eq!(map.get(p).unwrap_or(0), c);
                prop_assert_eq!(map.contains(p), c > 0);
            }
            prop_assert_eq!(map.get(n + 5), None);
        }
    }
}
