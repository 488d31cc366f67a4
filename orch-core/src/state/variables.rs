//! Nomad Variables and the keyring's root key metadata in the store.
//!
//! Items arrive already encrypted (the daemon seals them with a root key before
//! proposing), so the state, the Raft log and snapshots never hold plaintext; the store
//! only checks the rules every replica must agree on: check-and-set on the modify index
//! (`?cas=`), locks (held until `expires_at`, then blocked for `lock_delay` more),
//! the root key a variable names must exist, and limits.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::changes::{Changes, Outcome};
use super::{Response, StateError, StateStore};
use crate::model::variable::{
    MAX_ROOT_KEYS, MAX_VARIABLE_BYTES, MAX_VARIABLES, RootKeyMeta, RootKeyState, VariableEncrypted,
    VariableLock, validate_variable_path,
};

/// Table name of the variables for [`StateStore::index`].
pub const VARIABLES_TABLE: &str = "variables";
/// Table name of the root keys for [`StateStore::index`].
pub const ROOT_KEYS_TABLE: &str = "root_keys";

/// The prefix of every conflict message of [`VarApply`], so the API can answer Nomad's
/// 409 carrying the current variable instead of a plain 400.
pub const VAR_CONFLICT: &str = "variable conflict: ";

/// `(namespace, path)`: how variables are keyed.
pub type VarKey = (String, String);

/// What a [`VarApply`] does (Nomad's `VarOp*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VarOp {
    /// Create or replace the items.
    Set,
    /// Remove the variable.
    Delete,
    /// Take the lock (items replaced when new ones are sent).
    LockAcquire,
    /// Extend the held lock by its TTL.
    LockRenew,
    /// Drop the lock.
    LockRelease,
}

/// One variable operation (Nomad's `Variables.Apply`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VarApply {
    /// The operation.
    pub op: VarOp,
    /// Namespace, path, sealed items (empty ciphertext: keep the current items) and, for
    /// lock operations or writes to a locked variable, the lock with the holder's ID.
    pub var: VariableEncrypted,
    /// `?cas=`: the modify index the variable must have (0: must not exist).
    pub check_index: Option<u64>,
    /// Unix nanoseconds of the request.
    pub now: i64,
}

/// Add a root key (`keyring rotate`); an active one makes every other inactive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootKeyUpsert {
    /// The key's metadata (no key material).
    pub key: RootKeyMeta,
}

/// Remove an inactive root key no variable uses (`DELETE /v1/operator/keyring/key/:id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootKeyDelete {
    /// The key's ID.
    pub key_id: String,
}

/// The tables: variables by namespace and path, root keys by ID.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct VarTables {
    pub vars: BTreeMap<VarKey, VariableEncrypted>,
    pub keys: BTreeMap<String, RootKeyMeta>,
}

/// The snapshot's section of the variables and root keys.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct VarSection {
    pub vars: Vec<VariableEncrypted>,
    pub keys: Vec<RootKeyMeta>,
}

impl VarTables {
    pub(super) fn section(&self) -> VarSection {
        VarSection {
            vars: self.vars.values().cloned().collect(),
            keys: self.keys.values().cloned().collect(),
        }
    }

    pub(super) fn from_section(s: VarSection) -> Self {
        VarTables {
            vars: s
                .vars
                .into_iter()
                .map(|v| ((v.namespace.clone(), v.path.clone()), v))
                .collect(),
            keys: s.keys.into_iter().map(|k| (k.key_id.clone(), k)).collect(),
        }
    }
}

fn conflict(what: &str) -> StateError {
    StateError::Conflict(format!("{VAR_CONFLICT}{what}"))
}

impl StateStore {
    /// A variable by namespace and path.
    pub fn variable(&self, namespace: &str, path: &str) -> Option<&VariableEncrypted> {
        self.vars
            .vars
            .get(&(namespace.to_string(), path.to_string()))
    }

    /// Every variable, by namespace and path.
    pub fn variables(&self) -> impl Iterator<Item = &VariableEncrypted> {
        self.vars.vars.values()
    }

    /// The root keys, by ID.
    pub fn root_keys(&self) -> impl Iterator<Item = &RootKeyMeta> {
        self.vars.keys.values()
    }

    /// A root key by ID.
    pub fn root_key(&self, id: &str) -> Option<&RootKeyMeta> {
        self.vars.keys.get(id)
    }

    /// The active root key, if the keyring has one.
    pub fn active_root_key(&self) -> Option<&RootKeyMeta> {
        self.vars
            .keys
            .values()
            .filter(|k| k.state == RootKeyState::Active)
            .max_by_key(|k| k.create_index)
    }

    /// Sealed bytes the variables of `namespace` hold (what a quota's `VariablesLimit`
    /// counts, as Nomad counts the encrypted data), without the one at `except`.
    pub fn variables_bytes(&self, namespace: &str, except: Option<&str>) -> u64 {
        self.vars
            .vars
            .range((namespace.to_string(), String::new())..)
            .take_while(|((ns, _), _)| ns == namespace)
            .filter(|((_, p), _)| Some(p.as_str()) != except)
            .map(|(_, v)| v.ciphertext.len() as u64)
            .sum()
    }

    /// Why storing `bytes` sealed bytes at `path` in `namespace` would exceed the
    /// `VariablesLimit` (MiB, shared by the quota's namespaces) of the namespace's quota
    /// in `region`, or `None` when it fits or no limit applies.
    pub fn variables_quota_exceeded(
        &self,
        namespace: &str,
        path: &str,
        bytes: u64,
        region: &str,
    ) -> Option<String> {
        let (spec, limit) = self.quota_limit_for(namespace, region)?;
        let mib = limit.variables_limit.filter(|l| *l > 0)?;
        let used: u64 = self
            .namespaces_of_quota(&spec.name)
            .map(|ns| self.variables_bytes(ns, (ns == namespace).then_some(path)))
            .sum();
        let cap = (mib as u64).saturating_mul(1024 * 1024);
        (used.saturating_add(bytes) > cap).then(|| {
            format!(
                "quota {:?} exceeded: its VariablesLimit is {mib} MiB and the variables of its namespaces would hold {} bytes; delete variables or raise the limit",
                spec.name,
                used.saturating_add(bytes)
            )
        })
    }

    pub(super) fn var_apply(&self, index: u64, c: VarApply) -> Outcome {
        let key = (c.var.namespace.clone(), c.var.path.clone());
        validate_variable_path(&c.var.path).map_err(StateError::Invalid)?;
        if c.var.ciphertext.len() > MAX_VARIABLE_BYTES + 64 {
            return Err(StateError::Invalid(format!(
                "variable is {} bytes encrypted; at most {MAX_VARIABLE_BYTES} are allowed",
                c.var.ciphertext.len()
            )));
        }
        let current = self.vars.vars.get(&key);
        if let Some(ci) = c.check_index {
            let have = current.map_or(0, |v| v.modify_index);
            if have != ci {
                return Err(conflict(&format!(
                    "check-and-set index {ci} does not match the current index {have}"
                )));
            }
        }
        let next = match c.op {
            VarOp::Set | VarOp::Delete => Self::var_write(current, &c)?,
            VarOp::LockAcquire => Some(self.var_lock_acquire(current, &c)?),
            VarOp::LockRenew | VarOp::LockRelease => Some(Self::var_lock_change(current, &c)?),
        };
        if let Some(v) = &next {
            if !self.vars.keys.contains_key(&v.key_id) {
                return Err(StateError::Invalid(format!(
                    "root key {:?} is not in the keyring",
                    v.key_id
                )));
            }
            if current.is_none() && self.vars.vars.len() >= MAX_VARIABLES {
                return Err(StateError::Invalid(format!(
                    "the cluster holds {MAX_VARIABLES} variables, the most allowed; delete some first"
                )));
            }
        }
        let mut ch = Changes::default();
        ch.variables
            .insert(key, next.map(|v| stamp(v, current, index, c.now)));
        Ok((ch, Response::default()))
    }

    /// `Set` and `Delete`: refused while another holder's lock is held.
    fn var_write(
        current: Option<&VariableEncrypted>,
        c: &VarApply,
    ) -> Result<Option<VariableEncrypted>, StateError> {
        if let Some(lock) = current.and_then(|v| v.lock.as_ref())
            && lock.held(c.now)
            && c.var.lock.as_ref().is_none_or(|l| l.id != lock.id)
        {
            return Err(conflict("the variable is locked; pass the lock's ID"));
        }
        if c.op == VarOp::Delete {
            return Ok(None);
        }
        if c.var.ciphertext.is_empty() {
            return Err(StateError::Invalid("variable has no items".into()));
        }
        let mut v = c.var.clone();
        v.lock = current.and_then(|v| v.lock.clone());
        Ok(Some(v))
    }

    fn var_lock_acquire(
        &self,
        current: Option<&VariableEncrypted>,
        c: &VarApply,
    ) -> Result<VariableEncrypted, StateError> {
        let Some(want) = c
            .var
            .lock
            .as_ref()
            .filter(|l| !l.id.is_empty() && l.ttl > 0)
        else {
            return Err(StateError::Invalid(
                "lock-acquire needs a lock with a positive TTL".into(),
            ));
        };
        if current
            .and_then(|v| v.lock.as_ref())
            .is_some_and(|l| l.blocks_acquire(c.now))
        {
            return Err(conflict("the variable is already locked"));
        }
        let mut v = c.var.clone();
        if v.ciphertext.is_empty() {
            let Some(cur) = current else {
                return Err(StateError::Invalid("variable has no items".into()));
            };
            (v.key_id, v.nonce, v.ciphertext) = (
                cur.key_id.clone(),
                cur.nonce.clone(),
                cur.ciphertext.clone(),
            );
        }
        v.lock = Some(VariableLock {
            expires_at: c.now.saturating_add(want.ttl),
            ..want.clone()
        });
        Ok(v)
    }

    fn var_lock_change(
        current: Option<&VariableEncrypted>,
        c: &VarApply,
    ) -> Result<VariableEncrypted, StateError> {
        let given = c.var.lock.as_ref().map(|l| l.id.as_str()).unwrap_or("");
        let Some(cur) = current else {
            return Err(conflict("the variable does not exist"));
        };
        let Some(lock) = cur
            .lock
            .as_ref()
            .filter(|l| l.id == given && !given.is_empty())
        else {
            return Err(conflict("the lock ID does not match the variable's lock"));
        };
        let mut v = cur.clone();
        if c.op == VarOp::LockRelease {
            v.lock = None;
        } else if !lock.held(c.now) {
            return Err(conflict("the lock has expired"));
        } else {
            v.lock = Some(VariableLock {
                expires_at: c.now.saturating_add(lock.ttl),
                ..lock.clone()
            });
        }
        v.modify_time = c.now;
        Ok(v)
    }

    pub(super) fn root_key_upsert(&self, index: u64, c: RootKeyUpsert) -> Outcome {
        let mut key = c.key;
        if key.key_id.is_empty() || key.public_key.len() != 32 {
            return Err(StateError::Invalid(
                "a root key needs an ID and a 32-byte public key".into(),
            ));
        }
        if !self.vars.keys.contains_key(&key.key_id) && self.vars.keys.len() >= MAX_ROOT_KEYS {
            return Err(StateError::Invalid(format!(
                "the keyring holds {MAX_ROOT_KEYS} keys; delete inactive ones first"
            )));
        }
        let mut ch = Changes::default();
        if key.state == RootKeyState::Active {
            for k in self.vars.keys.values().filter(|k| k.key_id != key.key_id) {
                if k.state == RootKeyState::Active {
                    let mut k = k.clone();
                    (k.state, k.modify_index) = (RootKeyState::Inactive, index);
                    ch.root_keys.insert(k.key_id.clone(), Some(k));
                }
            }
        }
        key.create_index = self
            .vars
            .keys
            .get(&key.key_id)
            .map_or(index, |k| k.create_index);
        key.modify_index = index;
        ch.root_keys.insert(key.key_id.clone(), Some(key));
        Ok((ch, Response::default()))
    }

    pub(super) fn root_key_delete(&self, c: RootKeyDelete) -> Outcome {
        let Some(key) = self.vars.keys.get(&c.key_id) else {
            return Err(StateError::Invalid(format!(
                "root key {:?} not found",
                c.key_id
            )));
        };
        if key.state == RootKeyState::Active {
            return Err(StateError::Conflict(
                "active root key cannot be deleted; rotate first".into(),
            ));
        }
        if self.vars.vars.values().any(|v| v.key_id == c.key_id) {
            return Err(StateError::Conflict(
                "root key in use; rotate with -full to re-encrypt its variables first".into(),
            ));
        }
        let mut ch = Changes::default();
        ch.root_keys.insert(c.key_id, None);
        Ok((ch, Response::default()))
    }

    /// Writes the staged variables and root keys; whether each table changed.
    pub(super) fn commit_variables(
        &mut self,
        vars: BTreeMap<VarKey, Option<VariableEncrypted>>,
        keys: BTreeMap<String, Option<RootKeyMeta>>,
    ) -> (bool, bool) {
        let dirty = (!vars.is_empty(), !keys.is_empty());
        for (k, v) in vars {
            match v {
                Some(v) => self.vars.vars.insert(k, v),
                None => self.vars.vars.remove(&k),
            };
        }
        for (k, v) in keys {
            match v {
                Some(v) => self.vars.keys.insert(k, v),
                None => self.vars.keys.remove(&k),
            };
        }
        dirty
    }
}

/// Sets the indexes and times the store owns.
fn stamp(
    mut v: VariableEncrypted,
    current: Option<&VariableEncrypted>,
    index: u64,
    now: i64,
) -> VariableEncrypted {
    v.create_index = current.map_or(index, |c| c.create_index);
    v.create_time = current.map_or(now, |c| c.create_time);
    v.modify_index = index;
    v.modify_time = now;
    v
}

#[cfg(test)]
mod tests;
