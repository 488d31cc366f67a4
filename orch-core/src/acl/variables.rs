//! The `variables` rules inside a `namespace` rule:
//!
//! ```hcl
//! namespace "default" {
//!   variables {
//!     path "app/*"    { capabilities = ["read", "list"] }
//!     path "app/db/*" { capabilities = ["deny"] }
//!   }
//! }
//! ```
//!
//! Capabilities are Nomad's: `read`, `write`, `list`, `destroy`, `deny` (deny wins).
//! A namespace `policy` grants variables too, as in Nomad: `read` gives read and list on
//! every path, `write` adds write and destroy. A path is matched by its exact rule, else
//! the closest glob.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::AclError;

/// One variables capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarCap {
    /// Read a variable's items.
    Read,
    /// Create or change a variable.
    Write,
    /// List variables' metadata.
    List,
    /// Delete a variable.
    Destroy,
}

/// A set of variables capabilities; `deny` is its own bit that empties the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VarCaps(u8);

const DENY: u8 = 1 << 7;

fn bit(c: VarCap) -> u8 {
    match c {
        VarCap::Read => 1,
        VarCap::Write => 2,
        VarCap::List => 4,
        VarCap::Destroy => 8,
    }
}

impl VarCaps {
    /// Read and list (a namespace's `read` policy).
    pub const READ: VarCaps = VarCaps(1 | 4);
    /// Everything (a namespace's `write` policy).
    pub const WRITE: VarCaps = VarCaps(1 | 2 | 4 | 8);

    /// The union of two sets (`deny` in either: deny).
    pub fn union(self, other: VarCaps) -> VarCaps {
        VarCaps(self.0 | other.0)
    }

    /// Whether `cap` is granted.
    pub fn allows(self, cap: VarCap) -> bool {
        self.0 & DENY == 0 && self.0 & bit(cap) != 0
    }

    fn from_name(name: &str) -> Option<VarCaps> {
        Some(VarCaps(match name {
            "read" => bit(VarCap::Read),
            "write" => bit(VarCap::Write),
            "list" => bit(VarCap::List),
            "destroy" => bit(VarCap::Destroy),
            "deny" => DENY,
            _ => return None,
        }))
    }
}

/// Path glob → capabilities of one namespace.
pub type VarRules = BTreeMap<String, VarCaps>;

/// Parses a `variables { path "..." { capabilities = [...] } }` block.
pub fn parse_variables(what: &str, v: &Value) -> Result<VarRules, AclError> {
    let mut rules = VarRules::new();
    for body in blocks(what, v)? {
        if let Some(k) = body.keys().find(|k| *k != "path") {
            return Err(AclError::Rules(format!(
                "{what} variables: unknown key {k:?}; allowed: path"
            )));
        }
        let Some(paths) = body.get("path") else {
            continue;
        };
        for outer in blocks(what, paths)? {
            for (path, inner) in outer {
                for rule in blocks(what, &inner)? {
                    let caps = path_caps(&format!("{what} variables path {path:?}"), &rule)?;
                    let slot = rules.entry(path.clone()).or_default();
                    *slot = slot.union(caps);
                    if rules.len() > super::policy::MAX_LABELED_RULES {
                        return Err(AclError::Rules(format!("{what}: too many variables paths")));
                    }
                }
            }
        }
    }
    Ok(rules)
}

fn path_caps(what: &str, body: &Map<String, Value>) -> Result<VarCaps, AclError> {
    if let Some(k) = body.keys().find(|k| *k != "capabilities") {
        return Err(AclError::Rules(format!(
            "{what}: unknown key {k:?}; allowed: capabilities"
        )));
    }
    let Some(Value::Array(list)) = body.get("capabilities") else {
        return Err(AclError::Rules(format!(
            "{what}: capabilities must be a list of strings"
        )));
    };
    let mut caps = VarCaps::default();
    for c in list.iter().take(64) {
        let c = c.as_str().and_then(VarCaps::from_name).ok_or_else(|| {
            AclError::Rules(format!(
                "{what}: invalid capability {c}; use read, write, list, destroy or deny"
            ))
        })?;
        caps = caps.union(c);
    }
    Ok(caps)
}

fn blocks(what: &str, v: &Value) -> Result<Vec<Map<String, Value>>, AclError> {
    match v {
        Value::Object(m) => Ok(vec![m.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Object(m) => Ok(m.clone()),
                _ => Err(AclError::Rules(format!(
                    "{what}: variables must be a block"
                ))),
            })
            .collect(),
        _ => Err(AclError::Rules(format!(
            "{what}: variables must be a block"
        ))),
    }
}

/// The capabilities `path` gets from `rules`: its exact rule, else the closest glob.
pub fn caps_for_path(rules: &VarRules, path: &str) -> VarCaps {
    if let Some(c) = rules.get(path) {
        return *c;
    }
    rules
        .iter()
        .filter(|(p, _)| p.contains('*') && super::compiled::glob_matches(p, path))
        .min_by_key(|(p, _)| path.len().saturating_sub(p.len() - p.matches('*').count()))
        .map(|(_, c)| *c)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_rule_wins_and_deny_empties() {
        let v: Value = serde_json::json!({"path": {
            "app/*": {"capabilities": ["read", "list"]},
            "app/db/*": {"capabilities": ["deny", "read"]},
            "ops": {"capabilities": ["write"]}
        }});
        let r = parse_variables("namespace \"default\"", &v).unwrap();
        assert!(caps_for_path(&r, "app/web").allows(VarCap::Read));
        assert!(!caps_for_path(&r, "app/web").allows(VarCap::Write));
        assert!(!caps_for_path(&r, "app/db/pw").allows(VarCap::Read));
        assert!(caps_for_path(&r, "ops").allows(VarCap::Write));
        assert!(!caps_for_path(&r, "other").allows(VarCap::List));
        let bad = serde_json::json!({"path": {"x": {"capabilities": ["fly"]}}});
        assert!(parse_variables("n", &bad).is_err());
    }
}
