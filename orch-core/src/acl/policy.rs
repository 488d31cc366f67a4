//! Nomad's ACL policy language: rules in HCL or JSON, parsed into [`PolicyRules`].
//!
//! ```hcl
//! namespace "default" { policy = "read" capabilities = ["submit-job"] }
//! namespace "ops-*"   { policy = "write" }
//! node     { policy = "read" }
//! agent    { policy = "read" }
//! operator { policy = "read" }
//! quota    { policy = "read" }
//! plugin   { policy = "list" }
//! host_volume "shared" { policy = "write" }
//! ```
//!
//! JSON takes either the object form (`{"namespace": {"default": {"policy": "read"}}}`)
//! or HCL 1's list form (`{"namespace": [{"default": [{"policy": "read"}]}]}`), as Nomad
//! accepts both. Every problem is an error naming the rule and what is allowed; unknown
//! blocks and keys are refused, never ignored.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::AclError;
use super::caps::{self, Level, NsCaps, VolumeCaps};

/// Largest rules text accepted.
pub const MAX_RULES_BYTES: usize = 64 * 1024;
/// Most labeled rules (`namespace`, `host_volume`, `node_pool`) one policy may hold.
pub const MAX_LABELED_RULES: usize = 1024;

/// A policy's rules, validated, with `policy = ...` shorthands expanded into
/// capabilities.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyRules {
    /// Namespace name or glob → capabilities.
    pub namespaces: BTreeMap<String, NsCaps>,
    /// Host volume name or glob → capabilities.
    pub host_volumes: BTreeMap<String, VolumeCaps>,
    /// Node pool name or glob → level (orch has no node pool endpoints yet; kept so a
    /// Nomad policy that names pools applies unchanged).
    pub node_pools: BTreeMap<String, Level>,
    /// `node { policy }`.
    pub node: Level,
    /// `agent { policy }`.
    pub agent: Level,
    /// `operator { policy }`.
    pub operator: Level,
    /// `quota { policy }`.
    pub quota: Level,
    /// `plugin { policy }` (`list` counts as read of the list).
    pub plugin: Level,
    /// Namespace name or glob → its `variables` path rules (with what its `policy`
    /// implies for variables).
    pub variables: BTreeMap<String, super::variables::VarRules>,
}

/// Parses and validates policy rules (HCL, or JSON when the text starts with `{`).
pub fn parse_rules(text: &str) -> Result<PolicyRules, AclError> {
    if text.len() > MAX_RULES_BYTES {
        return Err(AclError::Rules(format!(
            "rules are {} bytes; at most {MAX_RULES_BYTES} are accepted, split them into several policies",
            text.len()
        )));
    }
    let value = if text.trim_start().starts_with('{') {
        serde_json::from_str::<Value>(text)
            .map_err(|e| AclError::Rules(format!("rules are not valid JSON: {e}")))?
    } else {
        let body: hcl::Value = hcl::from_str(text)
            .map_err(|e| AclError::Rules(format!("rules are not valid HCL: {e}")))?;
        serde_json::to_value(body)
            .map_err(|e| AclError::Rules(format!("rules could not be read: {e}")))?
    };
    let Value::Object(top) = value else {
        return Err(AclError::Rules("rules must be a set of blocks".into()));
    };
    let mut rules = PolicyRules::default();
    let mut any = false;
    for (key, v) in &top {
        any = true;
        add_rule(&mut rules, key, v)?;
    }
    if !any {
        return Err(AclError::Rules(
            "the policy has no rules; give at least one, such as namespace \"default\" { policy = \"read\" }".into(),
        ));
    }
    let labeled_count = rules.namespaces.len() + rules.host_volumes.len() + rules.node_pools.len();
    if labeled_count > MAX_LABELED_RULES {
        return Err(AclError::Rules(format!(
            "the policy has {labeled_count} labeled rules; at most {MAX_LABELED_RULES} are accepted"
        )));
    }
    Ok(rules)
}

/// Adds one top-level block (`namespace`, `node`, ...) to `rules`.
fn add_rule(rules: &mut PolicyRules, key: &str, v: &Value) -> Result<(), AclError> {
    match key {
        "namespace" => {
            for (name, body) in labeled(key, v)? {
                check_glob_name(key, &name)?;
                let (c, vars) = namespace_rule(&name, &body)?;
                if !vars.is_empty() {
                    let slot = rules.variables.entry(name.clone()).or_default();
                    for (path, caps) in vars {
                        let p = slot.entry(path).or_default();
                        *p = p.union(caps);
                    }
                }
                let slot = rules.namespaces.entry(name).or_default();
                *slot = slot.union(c);
            }
        }
        "host_volume" => {
            for (name, body) in labeled(key, v)? {
                check_glob_name(key, &name)?;
                let c = host_volume_rule(&name, &body)?;
                let slot = rules.host_volumes.entry(name).or_default();
                *slot = slot.union(c);
            }
        }
        "node_pool" => {
            for (name, body) in labeled(key, v)? {
                check_glob_name(key, &name)?;
                let level = level_rule(&format!("node_pool {name:?}"), &body, &["capabilities"])?;
                let slot = rules.node_pools.entry(name).or_default();
                *slot = slot.merge(level);
            }
        }
        "node" | "agent" | "operator" | "quota" => {
            let level = single_level(key, v)?;
            let slot = match key {
                "node" => &mut rules.node,
                "agent" => &mut rules.agent,
                "operator" => &mut rules.operator,
                _ => &mut rules.quota,
            };
            *slot = slot.merge(level);
        }
        "plugin" => {
            rules.plugin = rules.plugin.merge(single_level(key, v)?);
        }
        other => {
            return Err(AclError::Rules(format!(
                "unknown rule {other:?}; use namespace, host_volume, node_pool, node, agent, operator, quota or plugin"
            )));
        }
    }
    Ok(())
}

/// The bodies of a block that appears once or several times (object or list form).
fn bodies(what: &str, v: &Value) -> Result<Vec<Map<String, Value>>, AclError> {
    match v {
        Value::Object(m) => Ok(vec![m.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Object(m) => Ok(m.clone()),
                _ => Err(AclError::Rules(format!("{what} must be a block"))),
            })
            .collect(),
        _ => Err(AclError::Rules(format!("{what} must be a block"))),
    }
}

/// `(label, body)` of every labeled block (`namespace "x" { ... }`).
/// A labeled block's label and body.
type Labeled = (String, Map<String, Value>);

fn labeled(what: &str, v: &Value) -> Result<Vec<Labeled>, AclError> {
    let mut out = Vec::new();
    for outer in bodies(what, v)? {
        for (label, inner) in outer {
            for body in bodies(&format!("{what} {label:?}"), &inner)? {
                out.push((label.clone(), body));
                if out.len() > MAX_LABELED_RULES {
                    return Err(AclError::Rules(format!(
                        "more than {MAX_LABELED_RULES} {what} rules; split the policy"
                    )));
                }
            }
        }
    }
    Ok(out)
}

/// A block without a label (`node { policy = "read" }`), possibly repeated.
fn single_level(what: &str, v: &Value) -> Result<Level, AclError> {
    let mut level = Level::None;
    for body in bodies(what, v)? {
        level = level.merge(level_rule(what, &body, &[])?);
    }
    Ok(level)
}

/// Nomad's name rule for namespace, volume and pool rules: letters, digits, `-` and the
/// glob `*`, 1 to 128 characters.
fn check_glob_name(what: &str, name: &str) -> Result<(), AclError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '*' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AclError::Rules(format!(
            "invalid {what} name {name:?}: use 1 to 128 letters, digits, '-', '_' or the glob '*'"
        )))
    }
}

fn string_field(
    what: &str,
    body: &Map<String, Value>,
    key: &str,
) -> Result<Option<String>, AclError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(AclError::Rules(format!("{what}: {key} must be a string"))),
    }
}

fn list_field(what: &str, body: &Map<String, Value>, key: &str) -> Result<Vec<String>, AclError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) if items.len() <= 64 => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                _ => Err(AclError::Rules(format!(
                    "{what}: {key} must be a list of strings"
                ))),
            })
            .collect(),
        Some(_) => Err(AclError::Rules(format!(
            "{what}: {key} must be a list of at most 64 strings"
        ))),
    }
}

fn refuse_unknown(what: &str, body: &Map<String, Value>, known: &[&str]) -> Result<(), AclError> {
    match body.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(AclError::Rules(format!(
            "{what}: unknown key {k:?}; allowed: {}",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

/// `{ policy = deny|read|write }` (plugin: `list` too; pools may list capabilities).
fn level_rule(what: &str, body: &Map<String, Value>, extra: &[&str]) -> Result<Level, AclError> {
    let mut known = vec!["policy"];
    known.extend_from_slice(extra);
    refuse_unknown(what, body, &known)?;
    let policy = string_field(what, body, "policy")?.unwrap_or_default();
    let level = match (what, policy.as_str()) {
        (_, "deny") => Level::Deny,
        (_, "read") => Level::Read,
        (_, "write") if what != "plugin" => Level::Write,
        ("plugin", "list") => Level::Read,
        (_, "") => {
            if extra.contains(&"capabilities") {
                Level::None
            } else {
                return Err(AclError::Rules(format!("{what}: policy is required")));
            }
        }
        _ => {
            let allowed = if what == "plugin" {
                "deny, read or list"
            } else {
                "deny, read or write"
            };
            return Err(AclError::Rules(format!(
                "{what}: invalid policy {policy:?}; use {allowed}"
            )));
        }
    };
    let mut level = level;
    if extra.contains(&"capabilities") {
        // Node pool capabilities: read, write, delete, deny.
        for c in list_field(what, body, "capabilities")? {
            let l = match c.as_str() {
                "deny" => Level::Deny,
                "read" => Level::Read,
                "write" | "delete" => Level::Write,
                _ => {
                    return Err(AclError::Rules(format!(
                        "{what}: invalid capability {c:?}; use read, write, delete or deny"
                    )));
                }
            };
            level = level.merge(l);
        }
    }
    Ok(level)
}

/// A namespace rule's capabilities and its variables rules.
fn namespace_rule(
    name: &str,
    body: &Map<String, Value>,
) -> Result<(NsCaps, super::variables::VarRules), AclError> {
    use super::variables::VarCaps;
    let what = format!("namespace {name:?}");
    refuse_unknown(&what, body, &["policy", "capabilities", "variables"])?;
    let mut vars = match body.get("variables") {
        Some(v) => super::variables::parse_variables(&what, v)?,
        None => Default::default(),
    };
    let mut set = NsCaps::EMPTY;
    if let Some(policy) = string_field(&what, body, "policy")? {
        let implied = match policy.as_str() {
            "read" => Some(VarCaps::READ),
            "write" => Some(VarCaps::WRITE),
            _ => None,
        };
        if let Some(c) = implied {
            let slot = vars.entry("*".into()).or_default();
            *slot = slot.union(c);
        }
        set = set.union(caps::expand_namespace_policy(&policy).ok_or_else(|| {
            AclError::Rules(format!(
                "{what}: invalid policy {policy:?}; use deny, read, write or scale"
            ))
        })?);
    }
    for c in list_field(&what, body, "capabilities")? {
        set = set.union(NsCaps::from_name(&c).ok_or_else(|| {
            AclError::Rules(format!(
                "{what}: invalid capability {c:?}; use one of {}",
                caps::NAMESPACE_CAPABILITIES.join(", ")
            ))
        })?);
    }
    Ok((set, vars))
}

fn host_volume_rule(name: &str, body: &Map<String, Value>) -> Result<VolumeCaps, AclError> {
    let what = format!("host_volume {name:?}");
    refuse_unknown(&what, body, &["policy", "capabilities"])?;
    let mut set = VolumeCaps::EMPTY;
    if let Some(policy) = string_field(&what, body, "policy")? {
        set = set.union(caps::expand_volume_policy(&policy).ok_or_else(|| {
            AclError::Rules(format!(
                "{what}: invalid policy {policy:?}; use deny, read or write"
            ))
        })?);
    }
    for c in list_field(&what, body, "capabilities")? {
        set = set.union(VolumeCaps::from_name(&c).ok_or_else(|| {
            AclError::Rules(format!(
                "{what}: invalid capability {c:?}; use deny, mount-readonly or mount-readwrite"
            ))
        })?);
    }
    Ok(set)
}
