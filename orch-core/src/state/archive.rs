//! The operator snapshot archive: what `GET /v1/operator/snapshot` sends and
//! `PUT /v1/operator/snapshot` takes back (`orch operator snapshot save|restore|inspect`).
//!
//! Nomad's body is a gzipped tar of a Raft snapshot; orch's cannot be byte-compatible,
//! so it is its own small format: a fixed 68-byte header, then the state.
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `ORCHSNAP` |
//! | 8 | 4 | archive format version, little-endian `u32` (this is [`ARCHIVE_VERSION`]) |
//! | 12 | 8 | state index the snapshot was taken at, LE `u64` |
//! | 20 | 8 | Raft term of the last applied entry, LE `u64` (0 when unknown) |
//! | 28 | 8 | length of the state bytes, LE `u64` |
//! | 36 | 32 | SHA-256 of the state bytes |
//! | 68 | len | [`StateStore::snapshot`] bytes (postcard, with its own layout version) |
//!
//! Decoding never allocates from a header field: the length must equal what follows
//! the header, and the state is borrowed from the input.

use sha2::{Digest, Sha256};

use super::StateStore;

/// The archive's first bytes.
pub const MAGIC: &[u8; 8] = b"ORCHSNAP";
/// The archive layout this orch writes and reads.
pub const ARCHIVE_VERSION: u32 = 1;
/// Bytes before the state.
pub const HEADER_BYTES: usize = 68;

/// Why an archive cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// Shorter than the header.
    #[error(
        "snapshot archive is truncated: {0} bytes, shorter than its {HEADER_BYTES}-byte header"
    )]
    Truncated(usize),
    /// Not an orch archive (another format, or not a snapshot at all).
    #[error(
        "not an orch snapshot archive (it does not start with \"ORCHSNAP\"); Nomad's snapshots and other files cannot be restored into orch"
    )]
    BadMagic,
    /// Written by an orch with another archive layout.
    #[error(
        "snapshot archive version {0} is not supported (this orch reads version {ARCHIVE_VERSION})"
    )]
    Version(u32),
    /// The header's length disagrees with the bytes that follow.
    #[error(
        "snapshot archive is truncated or has trailing bytes: the header announces {announced} state bytes, {actual} follow"
    )]
    Length {
        /// The header's length.
        announced: u64,
        /// Bytes after the header.
        actual: usize,
    },
    /// The state bytes are not the ones the header's checksum was taken over.
    #[error("snapshot archive is corrupt: the SHA-256 of its state does not match its header")]
    Checksum,
}

/// A decoded archive, borrowing its state bytes from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive<'a> {
    /// State index the snapshot was taken at.
    pub index: u64,
    /// Raft term of the last applied entry (0 when unknown).
    pub term: u64,
    /// SHA-256 of `state`, as the header has it (checked).
    pub checksum: [u8; 32],
    /// [`StateStore::snapshot`] bytes.
    pub state: &'a [u8],
}

impl Archive<'_> {
    /// A short ID for the archive, as Nomad's inspect prints one: `<term>-<index>-<sha>`.
    pub fn id(&self) -> String {
        let hex: String = self.checksum[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{}-{}-{hex}", self.term, self.index)
    }
}

/// Wraps `state` (from [`StateStore::snapshot`]) in an archive.
pub fn encode(index: u64, term: u64, state: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + state.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&ARCHIVE_VERSION.to_le_bytes());
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(&term.to_le_bytes());
    out.extend_from_slice(&(state.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(state));
    out.extend_from_slice(state);
    out
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Checks the header and the checksum; the state itself is decoded by
/// [`StateStore::restore`].
pub fn decode(bytes: &[u8]) -> Result<Archive<'_>, ArchiveError> {
    if bytes.len() >= MAGIC.len() && &bytes[..MAGIC.len()] != MAGIC {
        return Err(ArchiveError::BadMagic);
    }
    if bytes.len() < HEADER_BYTES {
        return Err(ArchiveError::Truncated(bytes.len()));
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&bytes[8..12]);
    let version = u32::from_le_bytes(v);
    if version != ARCHIVE_VERSION {
        return Err(ArchiveError::Version(version));
    }
    let announced = le_u64(bytes, 28);
    let state = &bytes[HEADER_BYTES..];
    if announced != state.len() as u64 {
        return Err(ArchiveError::Length {
            announced,
            actual: state.len(),
        });
    }
    let mut checksum = [0u8; 32];
    checksum.copy_from_slice(&bytes[36..HEADER_BYTES]);
    if Sha256::digest(state).as_slice() != checksum {
        return Err(ArchiveError::Checksum);
    }
    Ok(Archive {
        index: le_u64(bytes, 12),
        term: le_u64(bytes, 20),
        checksum,
        state,
    })
}

/// Objects per table of a restored state, in a fixed order, for `snapshot inspect`.
pub fn table_counts(s: &StateStore) -> Vec<(&'static str, usize)> {
    vec![
        ("Jobs", s.jobs().count()),
        ("Nodes", s.nodes().count()),
        ("Evaluations", s.evals().count()),
        ("Allocations", s.alloc_count()),
        ("Deployments", s.deployments().count()),
        ("Services", s.services().count()),
        ("PeriodicLaunches", s.periodic_launches().count()),
        ("ACLPolicies", s.acl_policies().count()),
        ("ACLTokens", s.acl_tokens().count()),
        ("ACLRoles", s.acl_roles().count()),
        ("Namespaces", s.namespaces().count()),
        ("Quotas", s.quotas().count()),
        ("CSIVolumes", s.csi_volumes().count()),
        ("NodePools", s.node_pools().count()),
        ("Variables", s.variables().count()),
        ("RootKeys", s.root_keys().count()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let state = StateStore::new().snapshot().unwrap();
        encode(42, 3, &state)
    }

    #[test]
    fn counts_cover_the_newer_tables() {
        let counts = table_counts(&StateStore::new());
        for (table, n) in [
            ("NodePools", 2),
            ("Namespaces", 1),
            ("Variables", 0),
            ("RootKeys", 0),
        ] {
            assert!(counts.contains(&(table, n)), "{table} {n}: {counts:?}");
        }
    }

    #[test]
    fn round_trip() {
        let state = StateStore::new().snapshot().unwrap();
        let bytes = encode(42, 3, &state);
        let a = decode(&bytes).unwrap();
        assert_eq!((a.index, a.term, a.state), (42, 3, state.as_slice()));
        assert!(a.id().starts_with("3-42-"));
        assert!(StateStore::restore(a.state).is_ok());
    }

    #[test]
    fn flipped_state_byte_fails_the_checksum() {
        let mut bytes = sample();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        assert_eq!(decode(&bytes), Err(ArchiveError::Checksum));
    }

    #[test]
    fn truncated_archives_are_refused() {
        let bytes = sample();
        assert_eq!(decode(&bytes[..20]), Err(ArchiveError::Truncated(20)));
        assert!(matches!(
            decode(&bytes[..bytes.len() - 1]),
            Err(ArchiveError::Length { .. })
        ));
        assert_eq!(decode(b""), Err(ArchiveError::Truncated(0)));
    }

    #[test]
    fn wrong_magic_and_version_are_refused() {
        let mut bytes = sample();
        bytes[0] = b'X';
        assert_eq!(decode(&bytes), Err(ArchiveError::BadMagic));
        // A gzipped tar (Nomad's snapshot) starts with 1f 8b.
        assert_eq!(
            decode(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0]),
            Err(ArchiveError::BadMagic)
        );
        let mut bytes = sample();
        bytes[8] = 9;
        assert_eq!(decode(&bytes), Err(ArchiveError::Version(9)));
    }

    #[test]
    fn huge_announced_length_allocates_nothing() {
        let mut bytes = sample();
        bytes[28..36].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(decode(&bytes), Err(ArchiveError::Length { .. })));
    }
}
