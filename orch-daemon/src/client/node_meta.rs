//! Dynamic node metadata (Nomad's `/v1/client/metadata`, `node meta apply`): keys an
//! operator sets or removes at run time on top of the `client.meta` of the agent's
//! configuration. They are kept in the client's state directory (so a restarted
//! client keeps them) and registered with the servers at once, so constraints on
//! `${meta.*}` see them for the next evaluation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The most keys one node's dynamic metadata may hold.
pub const MAX_DYNAMIC_KEYS: usize = 256;
/// The longest key or value accepted, in bytes.
pub const MAX_META_BYTES: usize = 1024;

/// Dynamic changes: a value sets the key, `None` removes it (also a key of the
/// configuration's static `meta`).
pub type MetaChanges = BTreeMap<String, Option<String>>;

/// Why dynamic metadata was refused; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// A key that is empty, too long or not Nomad's meta key alphabet.
    #[error(
        "Meta: key {0:?} is invalid: use 1 to {MAX_META_BYTES} bytes of letters, digits, '_', '-' or '.'"
    )]
    BadKey(String),
    /// A value that is too long.
    #[error("Meta.{0}: value longer than {MAX_META_BYTES} bytes")]
    LongValue(String),
    /// Too many dynamic keys.
    #[error("Meta: at most {MAX_DYNAMIC_KEYS} dynamic keys per node")]
    TooMany,
    /// The state directory could not be written.
    #[error("saving the dynamic node metadata to {path}: {source}; check the client's state_dir")]
    Save {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// The dynamic overlay kept on disk.
pub struct DynamicMeta {
    path: PathBuf,
    overlay: MetaChanges,
}

impl DynamicMeta {
    /// Loads the overlay from `<state_dir>/node-meta.json` (empty when there is none or
    /// it cannot be read, which is logged).
    pub fn load(state_dir: &Path) -> DynamicMeta {
        let path = state_dir.join("node-meta.json");
        let overlay = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "ignoring unreadable dynamic node metadata");
                MetaChanges::new()
            }),
            Err(_) => MetaChanges::new(),
        };
        DynamicMeta { path, overlay }
    }

    /// The dynamic keys as Nomad's API shows them (`null` for a removed key).
    pub fn overlay(&self) -> &MetaChanges {
        &self.overlay
    }

    /// `static_meta` with the overlay applied: the node's meta as the servers see it.
    pub fn applied(&self, static_meta: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut meta = static_meta.clone();
        for (k, v) in &self.overlay {
            match v {
                Some(v) => meta.insert(k.clone(), v.clone()),
                None => meta.remove(k),
            };
        }
        meta
    }

    /// Checks and merges `changes` into the overlay and saves it.
    pub fn apply(&mut self, changes: MetaChanges) -> Result<(), MetaError> {
        for (k, v) in &changes {
            let key_ok = !k.is_empty()
                && k.len() <= MAX_META_BYTES
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
            if !key_ok {
                return Err(MetaError::BadKey(k.clone()));
            }
            if v.as_ref().is_some_and(|v| v.len() > MAX_META_BYTES) {
                return Err(MetaError::LongValue(k.clone()));
            }
        }
        let mut next = self.overlay.clone();
        next.extend(changes);
        if next.len() > MAX_DYNAMIC_KEYS {
            return Err(MetaError::TooMany);
        }
        let save_err = |source| MetaError::Save {
            path: self.path.clone(),
            source,
        };
        let bytes = serde_json::to_vec(&next).map_err(|e| save_err(std::io::Error::other(e)))?;
        super::state::write_atomic(&self.path, &bytes).map_err(save_err)?;
        self.overlay = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_set_and_remove_keys_and_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let static_meta: BTreeMap<String, String> = [
            ("rack".to_string(), "r1".to_string()),
            ("zone".into(), "a".into()),
        ]
        .into();
        let mut d = DynamicMeta::load(dir.path());
        d.apply(
            [
                ("gpu".to_string(), Some("yes".to_string())),
                ("zone".into(), None),
            ]
            .into(),
        )
        .unwrap();
        let again = DynamicMeta::load(dir.path());
        let meta = again.applied(&static_meta);
        assert_eq!(meta.get("gpu").map(String::as_str), Some("yes"));
        assert_eq!(meta.get("rack").map(String::as_str), Some("r1"));
        assert!(!meta.contains_key("zone"));
    }

    #[test]
    fn bad_keys_and_long_values_are_refused_and_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = DynamicMeta::load(dir.path());
        let bad = d.apply([("a b".to_string(), Some("x".to_string()))].into());
        assert!(matches!(bad, Err(MetaError::BadKey(_))));
        let long = d.apply([("k".to_string(), Some("x".repeat(MAX_META_BYTES + 1)))].into());
        assert!(matches!(long, Err(MetaError::LongValue(_))));
        assert!(d.overlay().is_empty());
        assert!(!dir.path().join("node-meta.json").exists());
    }
}
