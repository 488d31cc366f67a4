//! [`Acl`]: a token's policies merged into one object every request is checked against.
//!
//! Merging follows Nomad: capabilities of rules with the same name are united, `deny`
//! in any of them wins; coarse levels take the highest, `deny` winning. A namespace is
//! looked up by its exact rule first, else by the closest matching glob (the one that
//! leaves the fewest characters to the `*`), else it gets nothing.

use std::collections::BTreeMap;

use super::caps::{Level, NsCap, NsCaps, VolumeCaps};
use super::policy::PolicyRules;

/// What one caller may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    management: bool,
    namespaces: BTreeMap<String, NsCaps>,
    host_volumes: BTreeMap<String, VolumeCaps>,
    node_pools: BTreeMap<String, Level>,
    node: Level,
    agent: Level,
    operator: Level,
    quota: Level,
    plugin: Level,
    variables: BTreeMap<String, super::variables::VarRules>,
}

impl Acl {
    /// Everything allowed: management tokens.
    pub fn management() -> Acl {
        Acl {
            management: true,
            ..Acl::default()
        }
    }

    /// The merge of these policies' rules (none: nothing allowed).
    pub fn from_policies<'a>(policies: impl IntoIterator<Item = &'a PolicyRules>) -> Acl {
        let mut acl = Acl::default();
        for p in policies {
            for (name, caps) in &p.namespaces {
                let slot = acl.namespaces.entry(name.clone()).or_default();
                *slot = slot.union(*caps);
            }
            for (name, caps) in &p.host_volumes {
                let slot = acl.host_volumes.entry(name.clone()).or_default();
                *slot = slot.union(*caps);
            }
            for (name, level) in &p.node_pools {
                let slot = acl.node_pools.entry(name.clone()).or_default();
                *slot = slot.merge(*level);
            }
            acl.node = acl.node.merge(p.node);
            acl.agent = acl.agent.merge(p.agent);
            acl.operator = acl.operator.merge(p.operator);
            acl.quota = acl.quota.merge(p.quota);
            acl.plugin = acl.plugin.merge(p.plugin);
            for (ns, rules) in &p.variables {
                let slot = acl.variables.entry(ns.clone()).or_default();
                for (path, caps) in rules {
                    let c = slot.entry(path.clone()).or_default();
                    *c = c.union(*caps);
                }
            }
        }
        acl
    }

    /// Whether this is a management ACL.
    pub fn is_management(&self) -> bool {
        self.management
    }

    /// Whether `cap` is granted in `namespace`.
    pub fn allows_namespace(&self, namespace: &str, cap: NsCap) -> bool {
        self.management || self.namespace_caps(namespace).allows(cap)
    }

    /// Whether any capability is granted in `namespace` (what makes it visible).
    pub fn allows_any_in_namespace(&self, namespace: &str) -> bool {
        self.management || self.namespace_caps(namespace).any()
    }

    /// Whether `cap` is granted in at least one namespace (a `namespace=*` request).
    pub fn allows_in_some_namespace(&self, cap: NsCap) -> bool {
        self.management || self.namespaces.values().any(|c| c.allows(cap))
    }

    /// The capabilities `namespace` gets: its exact rule, else the closest glob.
    fn namespace_caps(&self, namespace: &str) -> NsCaps {
        if let Some(c) = self.namespaces.get(namespace) {
            return *c;
        }
        closest_glob(&self.namespaces, namespace).unwrap_or_default()
    }

    /// Whether a host volume may be mounted (`read_write` or read-only).
    pub fn allows_host_volume(&self, name: &str, read_write: bool) -> bool {
        if self.management {
            return true;
        }
        let caps = match self.host_volumes.get(name) {
            Some(c) => *c,
            None => closest_glob(&self.host_volumes, name).unwrap_or_default(),
        };
        caps.allows_mount(read_write)
    }

    /// The `node_pool` rule for `pool`: its exact rule, else the closest glob
    /// (management: write).
    pub fn node_pool(&self, pool: &str) -> Level {
        if self.management {
            return Level::Write;
        }
        match self.node_pools.get(pool) {
            Some(l) => *l,
            None => closest_glob(&self.node_pools, pool).unwrap_or_default(),
        }
    }

    /// Whether any node pool rule grants something (Nomad's `AllowNodePoolSearch`).
    pub fn any_node_pool(&self) -> bool {
        self.management || self.node_pools.values().any(|l| l.allows_read())
    }

    /// Whether `cap` is granted on the variable at `path` in `namespace`: the
    /// namespace's exact rule else its closest glob, then the path's likewise.
    pub fn allows_variable(&self, namespace: &str, path: &str, cap: super::VarCap) -> bool {
        if self.management {
            return true;
        }
        let rules = self.variables.get(namespace).or_else(|| {
            self.variables
                .iter()
                .filter(|(p, _)| p.contains('*') && glob_matches(p, namespace))
                .min_by_key(|(p, _)| {
                    namespace
                        .len()
                        .saturating_sub(p.len() - p.matches('*').count())
                })
                .map(|(_, r)| r)
        });
        rules.is_some_and(|r| super::variables::caps_for_path(r, path).allows(cap))
    }

    /// The `node` rule (management: write).
    pub fn node(&self) -> Level {
        self.coarse(self.node)
    }

    /// The `agent` rule.
    pub fn agent(&self) -> Level {
        self.coarse(self.agent)
    }

    /// The `operator` rule.
    pub fn operator(&self) -> Level {
        self.coarse(self.operator)
    }

    /// The `quota` rule.
    pub fn quota(&self) -> Level {
        self.coarse(self.quota)
    }

    /// The `plugin` rule.
    pub fn plugin(&self) -> Level {
        self.coarse(self.plugin)
    }

    fn coarse(&self, level: Level) -> Level {
        if self.management { Level::Write } else { level }
    }
}

/// The value of the glob rule closest to `name`: among the patterns with `*` that match
/// it, the one whose literal part is longest (ties: the smallest pattern, for
/// determinism).
fn closest_glob<T: Copy>(rules: &BTreeMap<String, T>, name: &str) -> Option<T> {
    rules
        .iter()
        .filter(|(pattern, _)| pattern.contains('*') && glob_matches(pattern, name))
        .min_by_key(|(pattern, _)| {
            name.len()
                .saturating_sub(pattern.len() - pattern.matches('*').count())
        })
        .map(|(_, v)| *v)
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(at) => rest = &rest[at + mid.len()..],
            None => return false,
        }
    }
    true
}
