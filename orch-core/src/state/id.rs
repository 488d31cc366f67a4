//! Object IDs kept compact in the store's big maps and indexes.
//!
//! The store keys a million allocations (and their five indexes) by 36-byte UUIDs. With
//! `String` keys every comparison of a B-tree search follows a pointer to the heap, a
//! cache miss per comparison once the maps outgrow the cache; and every copy of an ID in
//! an index is one more heap block. An `Id` holds a canonical UUID (lowercase hex,
//! `8-4-4-4-12`, what orch generates) as its 16 bytes, 24 bytes in all, compared as two
//! integers; any other ID is kept as a boxed string. Either way it orders exactly as the
//! string does (byte-wise), so the maps iterate in the same order.

use std::cmp::Ordering;
use std::fmt;

/// An ID string: a canonical UUID as its 16 bytes, anything else boxed.
#[derive(Clone)]
pub struct Id(Repr);

#[derive(Clone)]
enum Repr {
    /// A lowercase `8-4-4-4-12` UUID. Its hex digits sort as their values, and the
    /// dashes sit at fixed places, so the bytes order as the string.
    Uuid([u8; 16]),
    Text(Box<str>),
}

/// Where the dashes of a canonical UUID are.
const DASHES: [usize; 4] = [8, 13, 18, 23];

/// Where each byte's two hex digits start in a canonical UUID.
const PAIRS: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/// The 16 bytes of a canonical lowercase UUID, `None` for any other string. Eight
/// digits at a time (a placement parses five to ten IDs: the digit-by-digit table
/// decode was about a twentieth of c1m's churn phase).
fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || DASHES.iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let word = |at: [usize; 2]| -> Option<u32> {
        let mut w = [0u8; 8];
        w[..4].copy_from_slice(&b[at[0]..at[0] + 4]);
        w[4..].copy_from_slice(&b[at[1]..at[1] + 4]);
        hex8(u64::from_be_bytes(w))
    };
    // The 32 digits as four runs of eight, dashes skipped: 0..8, 9..13 + 14..18,
    // 19..23 + 24..28, 28..36.
    let words = [
        word([0, 4])?,
        word([9, 14])?,
        word([19, 24])?,
        word([28, 32])?,
    ];
    let mut out = [0u8; 16];
    for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_be_bytes());
    }
    Some(out)
}

/// Eight ASCII characters (the first in the top byte) as the value of the eight
/// lowercase hex digits they are, `None` if any is not one: each byte is decoded as
/// if it were a digit, and the byte that value encodes must be the byte read.
fn hex8(v: u64) -> Option<u32> {
    const LOW: u64 = 0x0101_0101_0101_0101;
    // `'0'..='9'` keep their low nibble; `'a'..='f'` (bit 6 set) add 9 to theirs.
    let n = (v & (0x0f * LOW)) + ((v >> 6) & LOW) * 9;
    // Every per-byte sum below stays under 256, so no byte carries into the next.
    if (n + 0x70 * LOW) & (0x80 * LOW) != 0 {
        return None; // some value above 15
    }
    let letters = ((n + 0x06 * LOW) & (0x10 * LOW)) >> 4;
    if n + 0x30 * LOW + letters * 0x27 != v {
        return None;
    }
    // Nibbles to bytes to words: pair, then pair the pairs.
    let pairs = (n | (n >> 4)) & 0x00ff_00ff_00ff_00ff;
    let quads = (pairs | (pairs >> 8)) & 0x0000_ffff_0000_ffff;
    Some(((quads | (quads >> 16)) & 0xffff_ffff) as u32)
}

/// The canonical text of a UUID's bytes.
fn format_uuid(u: &[u8; 16]) -> [u8; 36] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'-'; 36];
    for (byte, &at) in u.iter().zip(&PAIRS) {
        out[at] = HEX[usize::from(byte >> 4)];
        out[at + 1] = HEX[usize::from(byte & 0xf)];
    }
    out
}

impl Id {
    /// The key of `s`.
    pub fn new(s: &str) -> Id {
        match parse_uuid(s) {
            Some(u) => Id(Repr::Uuid(u)),
            None => Id(Repr::Text(s.into())),
        }
    }

    /// A well-mixed 64-bit hash of the ID, the same on every run (no random keys):
    /// for the store's hashed allocation table (`alloc_table`).
    pub(super) fn hash64(&self) -> u64 {
        const MIX: u64 = 0x9e37_79b9_7f4a_7c15;
        let folded = match &self.0 {
            Repr::Uuid(u) => {
                let mut a = [0u8; 8];
                let mut b = [0u8; 8];
                a.copy_from_slice(&u[..8]);
                b.copy_from_slice(&u[8..]);
                u64::from_le_bytes(a) ^ u64::from_le_bytes(b).rotate_left(29).wrapping_mul(MIX)
            }
            Repr::Text(s) => s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, c| {
                (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01b3)
            }),
        };
        let h = folded.wrapping_mul(MIX);
        h ^ (h >> 31)
    }

    /// Calls `f` with the ID as a string (formatted on the stack for a UUID).
    fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match &self.0 {
            Repr::Uuid(u) => {
                let text = format_uuid(u);
                // Always valid: ASCII hex digits and dashes.
                f(std::str::from_utf8(&text).unwrap_or_default())
            }
            Repr::Text(s) => f(s),
        }
    }
}

impl PartialEq for Id {
    fn eq(&self, other: &Self) -> bool {
        // A string has one representation, so different kinds are different IDs.
        match (&self.0, &other.0) {
            (Repr::Uuid(a), Repr::Uuid(b)) => a == b,
            (Repr::Text(a), Repr::Text(b)) => a == b,
            _ => false,
        }
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
        match (&self.0, &other.0) {
            (Repr::Uuid(a), Repr::Uuid(b)) => {
                let half = |u: &[u8; 16], i: usize| {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(&u[i..i + 8]);
                    u64::from_be_bytes(w)
                };
                half(a, 0)
                    .cmp(&half(b, 0))
                    .then_with(|| half(a, 8).cmp(&half(b, 8)))
            }
            (Repr::Text(a), Repr::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            _ => self.with_str(|a| other.with_str(|b| a.cmp(b))),
        }
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_str(|s| f.write_str(s))
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_str(|s| fmt::Debug::fmt(s, f))
    }
}

#[cfg(test)]
mod tests;
