//! A filter over the stored allocation IDs that answers "certainly not stored" for
//! nearly every fresh ID without a search of the million-entry allocation map.
//!
//! Staging a plan looks each placement up in the allocation map (an API client or an
//! older plan may send an update of a stored allocation), and for a new placement that
//! search of a B-tree of a million entries, a cache miss per level, finds nothing. A
//! blocked Bloom filter (two bits in one 64-bit word per ID, about 16 bits per stored
//! ID) answers most of those in one memory read. It only ever says "maybe" for a stored
//! ID, so a "maybe" is followed by the real search and the answer is exact either way.
//! Removals are not taken out (a Bloom filter cannot): they only add false "maybe"s
//! until the next rebuild, which happens when the inserts outgrow the filter's size.
//! Deterministic (no random keys), and left out of the store's equality: it is an
//! index, not state.

use super::Id;

/// Bits of filter per stored ID.
const BITS_PER_ID: usize = 16;

/// The smallest filter, in 64-bit words.
const MIN_WORDS: usize = 64;

/// See the module documentation.
#[derive(Clone, Default)]
pub(super) struct IdFilter {
    words: Vec<u64>,
    /// IDs inserted since the last rebuild (removed ones included).
    inserted: usize,
}

impl IdFilter {
    /// Whether `id` may be stored: `false` means it certainly is not.
    pub fn may_contain(&self, id: &Id) -> bool {
        if self.words.is_empty() {
            return false;
        }
        let (w, bits) = self.place(id);
        self.words[w] & bits == bits
    }

    /// Records a stored ID. Returns `false` when the filter is full and must be
    /// rebuilt from every stored ID ([`IdFilter::rebuild`]) instead.
    #[must_use]
    pub fn insert(&mut self, id: &Id) -> bool {
        if (self.inserted + 1) * BITS_PER_ID > self.words.len() * 64 {
            return false;
        }
        let (w, bits) = self.place(id);
        self.words[w] |= bits;
        self.inserted += 1;
        true
    }

    /// Starts over from the IDs stored now, with room for as many again.
    pub fn rebuild<'a>(&mut self, ids: impl ExactSizeIterator<Item = &'a Id>) {
        let want = (ids.len() * 2 * BITS_PER_ID).div_ceil(64);
        let words = want.next_power_of_two().max(MIN_WORDS);
        self.words = vec![0; words];
        self.inserted = 0;
        for id in ids {
            let (w, bits) = self.place(id);
            self.words[w] |= bits;
            self.inserted += 1;
        }
    }

    /// The word and the two bits of `id` (`words.len()` is a power of two).
    fn place(&self, id: &Id) -> (usize, u64) {
        let h = id.hash64();
        let w = (h >> 32) as usize & (self.words.len() - 1);
        (w, 1 << (h & 63) | 1 << ((h >> 6) & 63))
    }
}

impl PartialEq for IdFilter {
    /// Always equal: the filter is an index, and two stores holding the same
    /// allocations are equal whatever their filters' history.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for IdFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdFilter")
            .field("words", &self.words.len())
            .field("inserted", &self.inserted)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No stored ID is ever reported absent, across rebuilds; most absent ones are.
    #[test]
    fn never_misses_a_stored_id_and_rejects_most_others() {
        let ids: Vec<Id> = (0..5000u64)
            .map(|i| Id::new(&format!("{:08x}-0000-4000-8000-{:012x}", i * 7919, i)))
            .collect();
        let mut f = IdFilter::default();
        for (n, id) in ids.iter().enumerate() {
            if !f.insert(id) {
                f.rebuild(ids[..=n].iter());
            }
        }
        assert!(ids.iter().all(|id| f.may_contain(id)));
        let text = Id::new("not-a-uuid");
        assert!(!IdFilter::default().may_contain(&text));
        let absent = (0..5000u64)
            .map(|i| Id::new(&format!("{:08x}-1111-4000-8000-{:012x}", i, i + 99)))
            .filter(|id| f.may_contain(id))
            .count();
        assert!(
            absent < 500,
            "{absent} of 5000 absent IDs reported as maybe stored"
        );
    }
}
