//! Object IDs kept inline in the store's big maps and indexes.
//!
//! The store keys a million allocations (and their indexes) by 36-byte UUIDs. With
//! `String` keys every comparison of a B-tree search follows a pointer to the heap, a
//! cache miss per comparison once the maps outgrow the cache; and every copy of an ID in
//! an index is one more heap block. `Id` holds up to 38 bytes inline (any UUID) and
//! orders exactly as the string does (byte-wise), so the maps iterate in the same order.

use std::cmp::Ordering;
use std::fmt;

const INLINE: usize = 38;

/// An ID string, inline when short (UUIDs are), boxed otherwise.
#[derive(Clone)]
pub struct Id(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl Id {
    /// The key of `s`.
    pub fn new(s: &str) -> Id {
        if s.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            Id(Repr::Inline {
                len: s.len() as u8,
                bytes,
            })
        } else {
            Id(Repr::Heap(s.into()))
        }
    }

    /// The ID as a string.
    pub fn as_str(&self) -> &str {
        // Always valid: the bytes came from a `str` and are cut at its length.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The ID's bytes (valid UTF-8: they came from a `str`).
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Heap(s) => s.as_bytes(),
        }
    }
}

impl PartialEq for Id {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Id {}

impl PartialOrd for Id {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Id {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&String::from_utf8_lossy(self.as_bytes()), f)
    }
}

#[cfg(test)]
mod tests;
