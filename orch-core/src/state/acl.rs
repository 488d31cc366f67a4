//! The ACL tables: policies, tokens and roles, the bootstrap marker, and resolving a
//! presented secret into the caller's [`Acl`].
//!
//! Policies are parsed when applied (a stored policy always parses) and their rules kept
//! beside them, so resolving a token on every request parses nothing. Tokens are found
//! by the hash of their secret; the secret itself never reaches the state (see
//! [`crate::model::acl`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::changes::{Changes, Outcome};
use super::{Response, StateError, StateStore, table};
use crate::acl::{Acl, AclError, PolicyRules, parse_rules, valid_name};
use crate::model::acl::{ANONYMOUS_POLICY, AclPolicy, AclRole, AclToken, JobAcl, token_type};

/// Most policies, tokens and roles the cluster keeps (each), so no caller can grow the
/// state without bound.
pub const MAX_ACL_OBJECTS: usize = 100_000;
/// Most objects one ACL command may write or delete.
pub const MAX_ACL_BATCH: usize = 1_000;

/// Create or replace policies (`ACL.UpsertPolicies`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AclPolicyUpsert {
    /// The policies; their rules must parse.
    pub policies: Vec<AclPolicy>,
}

/// Delete policies by name; an unknown name refuses the whole command.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AclPolicyDelete {
    /// Policy names.
    pub names: Vec<String>,
}

/// Create tokens (unknown accessor) or update them (known accessor: name, policies,
/// roles and `Global` change; secret, type, creation and expiration stay).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AclTokenUpsert {
    /// The tokens, each with the hash of its secret.
    pub tokens: Vec<AclToken>,
}

/// Delete tokens by accessor ID; an unknown one refuses the whole command.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AclTokenDelete {
    /// Accessor IDs.
    pub accessors: Vec<String>,
}

/// Create roles (unknown ID) or replace them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AclRoleUpsert {
    /// The roles; their policies must exist.
    pub roles: Vec<AclRole>,
}

/// Delete roles by ID; an unknown one refuses the whole command.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AclRoleDelete {
    /// Role IDs.
    pub ids: Vec<String>,
}

/// The one-time bootstrap: the first management token.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AclBootstrap {
    /// The management token to create.
    pub token: AclToken,
    /// The index an operator wrote to the reset file, to bootstrap again; 0: none.
    pub reset_index: u64,
}

/// The ACL tables of the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct AclTables {
    pub policies: BTreeMap<String, AclPolicy>,
    /// Parsed rules of each policy (derived from `policies`).
    pub rules: BTreeMap<String, Arc<PolicyRules>>,
    /// Tokens by accessor ID.
    pub tokens: BTreeMap<String, AclToken>,
    /// Secret hash → accessor ID (derived).
    pub by_secret: BTreeMap<String, String>,
    /// Roles by ID.
    pub roles: BTreeMap<String, AclRole>,
    /// Role name → ID (derived).
    pub role_by_name: BTreeMap<String, String>,
    /// Index of the bootstrap; 0 while not bootstrapped.
    pub bootstrap_index: u64,
    /// The workload each attached policy is attached to (`JobACL`), by policy name.
    pub job_acls: BTreeMap<String, JobAcl>,
}

/// What one ACL command changes. `None` means delete.
#[derive(Debug, Clone, Default)]
pub(super) struct AclChanges {
    pub policies: BTreeMap<String, Option<AclPolicy>>,
    /// Attachments of the policies written (a written policy without one has none).
    pub job_acls: BTreeMap<String, JobAcl>,
    pub tokens: BTreeMap<String, Option<AclToken>>,
    pub roles: BTreeMap<String, Option<AclRole>>,
    pub bootstrapped: bool,
}

fn invalid(msg: impl Into<String>) -> StateError {
    StateError::Invalid(msg.into())
}

fn check_batch(what: &str, n: usize) -> Result<(), StateError> {
    if n == 0 {
        return Err(invalid(format!("no {what} given")));
    }
    if n > MAX_ACL_BATCH {
        return Err(invalid(format!(
            "{n} {what} in one request; at most {MAX_ACL_BATCH} are accepted, send several requests"
        )));
    }
    Ok(())
}

impl StateStore {
    /// A policy by name.
    pub fn acl_policy(&self, name: &str) -> Option<&AclPolicy> {
        self.acl.policies.get(name)
    }

    /// Every policy, by name.
    pub fn acl_policies(&self) -> impl Iterator<Item = &AclPolicy> {
        self.acl.policies.values()
    }

    /// A token by accessor ID.
    pub fn acl_token(&self, accessor: &str) -> Option<&AclToken> {
        self.acl.tokens.get(accessor)
    }

    /// A token by the hash of its secret.
    pub fn acl_token_by_secret_hash(&self, hash: &str) -> Option<&AclToken> {
        self.acl
            .by_secret
            .get(hash)
            .and_then(|a| self.acl.tokens.get(a))
    }

    /// Every token, by accessor ID.
    pub fn acl_tokens(&self) -> impl Iterator<Item = &AclToken> {
        self.acl.tokens.values()
    }

    /// A role by ID.
    pub fn acl_role(&self, id: &str) -> Option<&AclRole> {
        self.acl.roles.get(id)
    }

    /// A role by name.
    pub fn acl_role_by_name(&self, name: &str) -> Option<&AclRole> {
        self.acl
            .role_by_name
            .get(name)
            .and_then(|id| self.acl.roles.get(id))
    }

    /// Every role, by ID.
    pub fn acl_roles(&self) -> impl Iterator<Item = &AclRole> {
        self.acl.roles.values()
    }

    /// Index of the ACL bootstrap; 0 while the cluster is not bootstrapped.
    pub fn acl_bootstrap_index(&self) -> u64 {
        self.acl.bootstrap_index
    }

    /// The rights of whoever presents a secret with hash `secret_hash` at `now` (Unix
    /// nanoseconds); `None`: no token, the `anonymous` policy's rights. Also returns the
    /// token. Policies a token names that do not exist grant nothing (as in Nomad).
    pub fn resolve_acl(
        &self,
        secret_hash: Option<&str>,
        now: i64,
    ) -> Result<(Option<&AclToken>, Acl), AclError> {
        let Some(hash) = secret_hash else {
            let anon = self.acl.rules.get(ANONYMOUS_POLICY).map(|r| &**r);
            return Ok((None, Acl::from_policies(anon)));
        };
        let token = self
            .acl_token_by_secret_hash(hash)
            .ok_or(AclError::TokenNotFound)?;
        if token.expired(now) {
            return Err(AclError::TokenExpired);
        }
        if token.is_management() {
            return Ok((Some(token), Acl::management()));
        }
        let role_policies = token
            .roles
            .iter()
            .filter_map(|link| self.acl.roles.get(&link.id))
            .flat_map(|r| r.policies.iter().map(|p| p.name.as_str()));
        let names: std::collections::BTreeSet<&str> = token
            .policies
            .iter()
            .map(String::as_str)
            .chain(role_policies)
            .collect();
        let rules = names
            .into_iter()
            .filter_map(|n| self.acl.rules.get(n).map(|r| &**r));
        Ok((Some(token), Acl::from_policies(rules)))
    }

    pub(super) fn acl_policy_upsert(&self, c: AclPolicyUpsert) -> Outcome {
        check_batch("policies", c.policies.len())?;
        let mut ch = Changes::default();
        for (i, mut p) in c.policies.into_iter().enumerate() {
            if !valid_name(&p.name) {
                return Err(invalid(format!(
                    "Policies[{i}].Name: invalid policy name {:?}; use 1 to 128 letters, digits or '-'",
                    p.name
                )));
            }
            if p.description.len() > 256 {
                return Err(invalid(format!(
                    "Policies[{i}].Description: at most 256 characters"
                )));
            }
            parse_rules(&p.rules).map_err(|e| invalid(format!("Policies[{i}].Rules: {e}")))?;
            p.create_index = self.acl.policies.get(&p.name).map_or(0, |o| o.create_index);
            if p.create_index == 0 && self.acl.policies.len() >= MAX_ACL_OBJECTS {
                return Err(invalid(format!(
                    "the cluster holds {MAX_ACL_OBJECTS} ACL policies already; delete unused ones"
                )));
            }
            ch.acl.policies.insert(p.name.clone(), Some(p));
        }
        Ok((ch, Response::default()))
    }

    pub(super) fn acl_policy_delete(&self, c: AclPolicyDelete) -> Outcome {
        check_batch("policy names", c.names.len())?;
        let mut ch = Changes::default();
        for name in c.names {
            if !self.acl.policies.contains_key(&name) {
                return Err(StateError::Conflict(format!(
                    "ACL policy {name:?} not found"
                )));
            }
            ch.acl.policies.insert(name, None);
        }
        Ok((ch, Response::default()))
    }

    pub(super) fn acl_token_upsert(&self, c: AclTokenUpsert) -> Outcome {
        check_batch("tokens", c.tokens.len())?;
        let mut ch = Changes::default();
        for (i, token) in c.tokens.into_iter().enumerate() {
            let token = self.stage_token(&format!("Tokens[{i}]"), token, &ch)?;
            ch.acl.tokens.insert(token.accessor_id.clone(), Some(token));
        }
        Ok((ch, Response::default()))
    }

    /// Validates one token of an upsert: a new one whole, an update against the stored.
    fn stage_token(&self, at: &str, mut t: AclToken, ch: &Changes) -> Result<AclToken, StateError> {
        if t.name.len() > 256 {
            return Err(invalid(format!("{at}.Name: at most 256 characters")));
        }
        if let Some(old) = self.acl.tokens.get(&t.accessor_id) {
            if t.token_type != old.token_type {
                return Err(invalid(format!(
                    "{at}.Type: a token's type cannot change ({} to {}); create a new token",
                    old.token_type, t.token_type
                )));
            }
            t.secret_hash.clone_from(&old.secret_hash);
            t.create_time = old.create_time;
            t.expiration_time = old.expiration_time;
            t.expiration_ttl = old.expiration_ttl;
            t.create_index = old.create_index;
        } else {
            t.create_index = 0;
            if t.accessor_id.is_empty() || t.accessor_id.len() > 64 {
                return Err(invalid(format!("{at}.AccessorID: a new token needs an ID")));
            }
            let hash_ok =
                t.secret_hash.len() == 64 && t.secret_hash.bytes().all(|b| b.is_ascii_hexdigit());
            if !hash_ok {
                return Err(invalid(format!("{at}.SecretHash: expected a hex SHA-256")));
            }
            let taken = self.acl.by_secret.contains_key(&t.secret_hash)
                || ch
                    .acl
                    .tokens
                    .values()
                    .flatten()
                    .any(|o| o.secret_hash == t.secret_hash);
            if taken {
                return Err(StateError::Conflict(format!(
                    "{at}.SecretID: another token already has this secret; choose another"
                )));
            }
            if self.acl.tokens.len() >= MAX_ACL_OBJECTS {
                return Err(invalid(format!(
                    "the cluster holds {MAX_ACL_OBJECTS} ACL tokens already; delete unused or expired ones"
                )));
            }
            if t.expiration_time != 0 && t.expiration_time <= t.create_time {
                return Err(invalid(format!(
                    "{at}.ExpirationTime: must be after the creation time"
                )));
            }
        }
        match t.token_type.as_str() {
            token_type::MANAGEMENT => {
                if !t.policies.is_empty() || !t.roles.is_empty() {
                    return Err(invalid(format!(
                        "{at}.Policies: a management token cannot be associated with policies or roles"
                    )));
                }
            }
            token_type::CLIENT => {
                if t.policies.is_empty() && t.roles.is_empty() {
                    return Err(invalid(format!(
                        "{at}.Policies: a client token needs at least one policy or role"
                    )));
                }
            }
            other => {
                return Err(invalid(format!(
                    "{at}.Type: invalid token type {other:?}; use client or management"
                )));
            }
        }
        if t.policies.len() > 256 || t.roles.len() > 256 {
            return Err(invalid(format!("{at}: at most 256 policies and 256 roles")));
        }
        for (j, link) in t.roles.iter_mut().enumerate() {
            let role = if link.id.is_empty() {
                self.acl_role_by_name(&link.name)
            } else {
                self.acl.roles.get(&link.id)
            };
            let Some(role) = role else {
                return Err(invalid(format!(
                    "{at}.Roles[{j}]: ACL role {:?} not found; create it first",
                    if link.id.is_empty() {
                        &link.name
                    } else {
                        &link.id
                    }
                )));
            };
            link.id.clone_from(&role.id);
            link.name.clone_from(&role.name);
        }
        t.policies.sort();
        t.policies.dedup();
        Ok(t)
    }

    pub(super) fn acl_token_delete(&self, c: AclTokenDelete) -> Outcome {
        check_batch("token accessor IDs", c.accessors.len())?;
        let mut ch = Changes::default();
        for a in c.accessors {
            if !self.acl.tokens.contains_key(&a) {
                return Err(StateError::Conflict(format!("ACL token {a:?} not found")));
            }
            ch.acl.tokens.insert(a, None);
        }
        Ok((ch, Response::default()))
    }

    pub(super) fn acl_role_upsert(&self, c: AclRoleUpsert) -> Outcome {
        check_batch("roles", c.roles.len())?;
        let mut ch = Changes::default();
        for (i, mut r) in c.roles.into_iter().enumerate() {
            let at = format!("Roles[{i}]");
            if r.id.is_empty() || r.id.len() > 64 {
                return Err(invalid(format!("{at}.ID: a role needs an ID")));
            }
            if !valid_name(&r.name) {
                return Err(invalid(format!(
                    "{at}.Name: invalid role name {:?}; use 1 to 128 letters, digits or '-'",
                    r.name
                )));
            }
            if r.description.len() > 256 {
                return Err(invalid(format!("{at}.Description: at most 256 characters")));
            }
            if let Some(other) = self.acl.role_by_name.get(&r.name).filter(|id| **id != r.id) {
                return Err(StateError::Conflict(format!(
                    "{at}.Name: role {other} is already named {:?}",
                    r.name
                )));
            }
            if r.policies.is_empty() || r.policies.len() > 256 {
                return Err(invalid(format!("{at}.Policies: give 1 to 256 policies")));
            }
            for (j, p) in r.policies.iter().enumerate() {
                if !self.acl.policies.contains_key(&p.name) {
                    return Err(invalid(format!(
                        "{at}.Policies[{j}]: ACL policy {:?} not found; create it first",
                        p.name
                    )));
                }
            }
            r.create_index = self.acl.roles.get(&r.id).map_or(0, |o| o.create_index);
            if r.create_index == 0 && self.acl.roles.len() >= MAX_ACL_OBJECTS {
                return Err(invalid(format!(
                    "the cluster holds {MAX_ACL_OBJECTS} ACL roles already; delete unused ones"
                )));
            }
            ch.acl.roles.insert(r.id.clone(), Some(r));
        }
        Ok((ch, Response::default()))
    }

    pub(super) fn acl_role_delete(&self, c: AclRoleDelete) -> Outcome {
        check_batch("role IDs", c.ids.len())?;
        let mut ch = Changes::default();
        for id in c.ids {
            if !self.acl.roles.contains_key(&id) {
                return Err(StateError::Conflict(format!("ACL role {id:?} not found")));
            }
            ch.acl.roles.insert(id, None);
        }
        Ok((ch, Response::default()))
    }

    pub(super) fn acl_bootstrap(&self, c: AclBootstrap) -> Outcome {
        let done = self.acl.bootstrap_index;
        if done != 0 && c.reset_index != done {
            return Err(StateError::Conflict(format!(
                "ACL bootstrap already done (reset index: {done})"
            )));
        }
        if !c.token.is_management() {
            return Err(invalid("the bootstrap token must be a management token"));
        }
        let mut ch = Changes::default();
        let token = self.stage_token("Token", c.token, &ch)?;
        ch.acl.tokens.insert(token.accessor_id.clone(), Some(token));
        ch.acl.bootstrapped = true;
        Ok((ch, Response::default()))
    }

    /// Writes an ACL change set; returns the tables it changed.
    pub(super) fn commit_acl(&mut self, index: u64, ch: AclChanges) -> Vec<&'static str> {
        let mut dirty = Vec::new();
        if !ch.policies.is_empty() {
            dirty.push(table::ACL_POLICY);
        }
        for (name, p) in ch.policies {
            self.acl.rules.remove(&name);
            self.acl.policies.remove(&name);
            // A policy is replaced whole: its attachment too.
            self.acl.job_acls.remove(&name);
            if let Some(mut p) = p {
                p.create_index = if p.create_index == 0 {
                    index
                } else {
                    p.create_index
                };
                p.modify_index = index;
                self.acl.insert_policy(p);
            }
        }
        self.acl.job_acls.extend(ch.job_acls);
        if !ch.tokens.is_empty() || ch.bootstrapped {
            dirty.push(table::ACL_TOKEN);
        }
        for (accessor, t) in ch.tokens {
            if let Some(old) = self.acl.tokens.remove(&accessor) {
                self.acl.by_secret.remove(&old.secret_hash);
            }
            if let Some(mut t) = t {
                t.create_index = if t.create_index == 0 {
                    index
                } else {
                    t.create_index
                };
                t.modify_index = index;
                self.acl.insert_token(t);
            }
        }
        if !ch.roles.is_empty() {
            dirty.push(table::ACL_ROLE);
        }
        for (id, r) in ch.roles {
            if let Some(old) = self.acl.roles.remove(&id) {
                self.acl.role_by_name.remove(&old.name);
            }
            if let Some(mut r) = r {
                r.create_index = if r.create_index == 0 {
                    index
                } else {
                    r.create_index
                };
                r.modify_index = index;
                self.acl.insert_role(r);
            }
        }
        if ch.bootstrapped {
            self.acl.bootstrap_index = index;
        }
        dirty
    }
}

impl AclTables {
    /// Stores a policy with its parsed rules (a stored policy always parsed once).
    pub fn insert_policy(&mut self, p: AclPolicy) {
        if let Ok(rules) = parse_rules(&p.rules) {
            self.rules.insert(p.name.clone(), Arc::new(rules));
        }
        self.policies.insert(p.name.clone(), p);
    }

    /// Stores a token and its secret index.
    pub fn insert_token(&mut self, t: AclToken) {
        self.by_secret
            .insert(t.secret_hash.clone(), t.accessor_id.clone());
        self.tokens.insert(t.accessor_id.clone(), t);
    }

    /// Stores a role and its name index.
    pub fn insert_role(&mut self, r: AclRole) {
        self.role_by_name.insert(r.name.clone(), r.id.clone());
        self.roles.insert(r.id.clone(), r);
    }
}

#[cfg(test)]
mod tests;
mod workload;

pub use workload::{AclPolicyAttach, MAX_JOB_ACL_FIELD};
