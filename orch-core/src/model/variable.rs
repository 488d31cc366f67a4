//! Nomad Variables as the state stores them: metadata in the clear, the items only as
//! ciphertext (the daemon encrypts before a command enters the Raft log, so no replica,
//! log entry or snapshot ever holds plaintext), and the keyring's root key metadata
//! (never the key material itself).
//!
//! Path rules are Nomad's (`structs.VariablePathRegex` and its length limit): letters,
//! digits and `-_~/.`, at most 128 characters, no empty segment, no leading or trailing
//! `/`; `nomad/` is reserved except for `nomad/jobs` and `nomad/jobs/...`.

use serde::{Deserialize, Serialize};

/// Longest variable path Nomad accepts.
pub const MAX_VARIABLE_PATH: usize = 128;
/// Largest encoded items of one variable (Nomad's 64 KiB limit).
pub const MAX_VARIABLE_BYTES: usize = 64 * 1024;
/// Most items one variable may hold (orch's bound: each key costs at least one byte).
pub const MAX_VARIABLE_ITEMS: usize = 1024;
/// Most variables the state holds (orch's bound, so the table cannot grow without end).
pub const MAX_VARIABLES: usize = 100_000;
/// Most root keys kept (a rotation adds one; old ones are deleted by an operator).
pub const MAX_ROOT_KEYS: usize = 64;

/// A variable's lock (`?lock-acquire`): its holder's ID and how long it lasts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VariableLock {
    /// The holder's ID, returned by the acquire and needed to renew or release.
    pub id: String,
    /// Time to live in nanoseconds.
    pub ttl: i64,
    /// Nanoseconds after the lock expires before another holder may acquire it.
    pub lock_delay: i64,
    /// Unix nanoseconds at which the lock expires unless renewed.
    pub expires_at: i64,
}

impl VariableLock {
    /// Whether the lock is still held at `now`.
    pub fn held(&self, now: i64) -> bool {
        !self.id.is_empty() && now < self.expires_at
    }

    /// Whether another holder may not acquire yet at `now`: held, or expired less than
    /// `lock_delay` ago.
    pub fn blocks_acquire(&self, now: i64) -> bool {
        !self.id.is_empty() && now < self.expires_at.saturating_add(self.lock_delay)
    }
}

/// One stored variable: clear metadata and encrypted items.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VariableEncrypted {
    /// Namespace of the variable.
    pub namespace: String,
    /// Path (its name).
    pub path: String,
    /// Index that created it.
    pub create_index: u64,
    /// Index of its last change.
    pub modify_index: u64,
    /// Unix nanoseconds of its creation.
    pub create_time: i64,
    /// Unix nanoseconds of its last change.
    pub modify_time: i64,
    /// Its lock; `None` when unlocked.
    pub lock: Option<VariableLock>,
    /// ID of the root key the items are encrypted with.
    pub key_id: String,
    /// The AEAD nonce (random per write).
    pub nonce: Vec<u8>,
    /// The encrypted JSON of the items, authenticated together with namespace and path.
    pub ciphertext: Vec<u8>,
}

impl VariableEncrypted {
    /// Nomad's `VariableMetadata` JSON (what `/v1/vars` lists and the `Variable` event
    /// topic carries): everything but the items, which stay sealed.
    pub fn metadata_json(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        let mut m = serde_json::Map::new();
        m.insert("Namespace".into(), json!(self.namespace));
        m.insert("Path".into(), json!(self.path));
        m.insert("CreateIndex".into(), json!(self.create_index));
        m.insert("ModifyIndex".into(), json!(self.modify_index));
        m.insert("CreateTime".into(), json!(self.create_time));
        m.insert("ModifyTime".into(), json!(self.modify_time));
        if let Some(l) = &self.lock {
            m.insert(
                "Lock".into(),
                json!({
                    "ID": l.id,
                    "TTL": crate::duration::format_go_duration(l.ttl),
                    "LockDelay": crate::duration::format_go_duration(l.lock_delay),
                }),
            );
        }
        m
    }
}

/// A root key's state in the keyring, Nomad's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum RootKeyState {
    /// Encrypts new variables and signs new identities.
    #[default]
    Active,
    /// Decrypts and verifies only.
    Inactive,
}

impl RootKeyState {
    /// Nomad's spelling (`active`, `inactive`).
    pub fn as_str(self) -> &'static str {
        match self {
            RootKeyState::Active => "active",
            RootKeyState::Inactive => "inactive",
        }
    }
}

/// A root key as the state knows it: no key material (that stays in each server's
/// keystore), only what every replica may see.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RootKeyMeta {
    /// The key's ID (a UUID): the `kid` of identities it signs.
    pub key_id: String,
    /// Encryption algorithm (`aes256-gcm`).
    pub algorithm: String,
    /// Unix nanoseconds of its creation.
    pub create_time: i64,
    /// Index that created it.
    pub create_index: u64,
    /// Index of its last change.
    pub modify_index: u64,
    /// Active or inactive.
    pub state: RootKeyState,
    /// The Ed25519 public key identities are verified with (32 bytes).
    pub public_key: Vec<u8>,
}

/// Checks a variable path as Nomad does; the error names the rule broken.
pub fn validate_variable_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("variable requires path".into());
    }
    if path.len() > MAX_VARIABLE_PATH {
        return Err(format!(
            "variable path is {} characters; at most {MAX_VARIABLE_PATH} are allowed",
            path.len()
        ));
    }
    if let Some(c) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_~/.".contains(*c)))
    {
        return Err(format!(
            "invalid path {path:?}: character {c:?} is not allowed; use letters, digits and -_~/."
        ));
    }
    if path.starts_with('/') || path.ends_with('/') || path.contains("//") {
        return Err(format!(
            "invalid path {path:?}: no leading, trailing or empty path segments"
        ));
    }
    if path.split('/').any(|s| s == "." || s == "..") {
        return Err(format!(
            "invalid path {path:?}: \".\" and \"..\" segments are not allowed"
        ));
    }
    let reserved = path == "nomad" || (path.starts_with("nomad/") && !is_jobs_path(path));
    if reserved {
        return Err(format!(
            "invalid path {path:?}: only paths under \"nomad/jobs/\" may begin with \"nomad/\""
        ));
    }
    Ok(())
}

fn is_jobs_path(path: &str) -> bool {
    path == "nomad/jobs" || path.starts_with("nomad/jobs/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked_as_nomad_does() {
        for ok in ["a", "nomad/jobs", "nomad/jobs/web/g/t", "x.y-z_~/w"] {
            assert_eq!(validate_variable_path(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "/a",
            "a/",
            "a//b",
            "a b",
            "nomad",
            "nomad/other",
            "a/../b",
            &"x".repeat(129),
        ] {
            assert!(validate_variable_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_lock_blocks_until_its_delay_has_passed() {
        let l = VariableLock {
            id: "h".into(),
            ttl: 10,
            lock_delay: 5,
            expires_at: 100,
        };
        assert!(l.held(99) && l.blocks_acquire(99));
        assert!(!l.held(100) && l.blocks_acquire(104));
        assert!(!l.blocks_acquire(105));
    }
}
