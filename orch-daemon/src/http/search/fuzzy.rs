//! Fuzzy matches of one `/v1/search/fuzzy` context: names that contain the text
//! (case-insensitively), each with the `Scope` that locates it, closest first.
//!
//! As Nomad's: the `jobs` context also matches the jobs' groups, services (group and
//! task), tasks, and the `image`, `command` and `class` of each task's config, each
//! under its own key; `all` adds prefix matches of the kinds identified only by UUIDs
//! or generated IDs (deployments, evaluations, volumes, quotas, scaling policies).

use std::collections::BTreeMap;

use orch_core::model::{Job, Task};
use orch_core::state::StateStore;
use serde_json::{Value, json};

use super::super::QueryOpts;

/// The fuzzy contexts Nomad accepts (besides `all`).
pub const CONTEXTS: [&str; 6] = [
    "jobs",
    "allocs",
    "nodes",
    "node_pools",
    "plugins",
    "namespaces",
];

/// Kinds `all` searches by ID prefix instead (Nomad's "prefix matching when fuzzy
/// searching").
pub const PREFIX_IN_ALL: [&str; 5] = ["deployment", "evals", "volumes", "quotas", "scaling_policy"];

/// One match: the name that matched and where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The matched name (`ID` in the response).
    pub id: String,
    /// Namespace, job, group, task: as much as locates the object.
    pub scope: Vec<String>,
    /// Where in the name the text starts (closer matches first).
    position: usize,
}

impl Match {
    /// The response's `{"ID", "Scope"}` (no `Scope` for kinds that need none).
    pub fn to_json(&self) -> Value {
        if self.scope.is_empty() {
            json!({"ID": self.id})
        } else {
            json!({"ID": self.id, "Scope": self.scope})
        }
    }
}

/// Collects matches by result key (`jobs`, `groups`, `tasks`, ...).
struct Found<'t> {
    text: &'t str,
    by_key: BTreeMap<&'static str, Vec<Match>>,
}

impl Found<'_> {
    fn offer(&mut self, key: &'static str, name: &str, scope: &[&str]) {
        if let Some(position) = name.to_lowercase().find(self.text) {
            self.by_key.entry(key).or_default().push(Match {
                id: name.to_string(),
                scope: scope.iter().map(|s| s.to_string()).collect(),
                position,
            });
        }
    }
}

/// The matches of `context` (one of [`CONTEXTS`]) for `text` (already lower-case), by
/// result key, each list sorted closest first: an exact name, then by where the text
/// starts in the name, then by the shorter name, then by name and scope.
pub fn matches(
    s: &StateStore,
    q: &QueryOpts,
    context: &str,
    text: &str,
) -> BTreeMap<&'static str, Vec<Match>> {
    let mut found = Found {
        text,
        by_key: BTreeMap::new(),
    };
    match context {
        "jobs" => {
            for job in s.jobs().filter(|j| q.sees(&j.namespace)) {
                offer_job(&mut found, job);
            }
        }
        "allocs" => {
            for a in s.allocs().filter(|a| q.sees(&a.namespace)) {
                found.offer("allocs", &a.name, &[&a.namespace, &a.id]);
            }
        }
        "nodes" if q.authz.node_read() => {
            for n in s.nodes() {
                found.offer("nodes", &n.name, &[&n.id]);
            }
        }
        "node_pools" => {
            let pools = s.node_pools();
            for p in pools.filter(|p| q.authz.node_pool_level(&p.name).allows_read()) {
                found.offer("node_pools", &p.name, &[&p.name]);
            }
        }
        "plugins" if q.authz.plugin_read() => {
            for id in s.csi_plugins().into_keys() {
                found.offer("plugins", &id, &[]);
            }
        }
        "namespaces" => {
            for n in s.namespaces().filter(|n| q.authz.allows_any(&n.name)) {
                found.offer("namespaces", &n.name, &[]);
            }
        }
        _ => {}
    }
    let mut by_key = found.by_key;
    for list in by_key.values_mut() {
        closest_first(list);
    }
    by_key
}

/// Sorts matches closest first: an exact name, then by where the text starts in the
/// name, then by the shorter name, then by name and scope (a total order: the same
/// state always answers in the same order).
fn closest_first(list: &mut [Match]) {
    list.sort_by(|a, b| {
        let (ka, kb) = (
            (a.position, a.id.len(), &a.id, &a.scope),
            (b.position, b.id.len(), &b.id, &b.scope),
        );
        ka.cmp(&kb)
    });
}

/// A job, its groups, their services, and their tasks' names, services and configs.
fn offer_job(found: &mut Found<'_>, job: &Job) {
    let (ns, id) = (job.namespace.as_str(), job.id.as_str());
    found.offer("jobs", id, &[ns]);
    for g in &job.task_groups {
        found.offer("groups", &g.name, &[ns, id]);
        for svc in &g.services {
            found.offer("services", &svc.name, &[ns, id, &g.name]);
        }
        for t in &g.tasks {
            found.offer("tasks", &t.name, &[ns, id, &g.name]);
            for svc in &t.services {
                found.offer("services", &svc.name, &[ns, id, &g.name, &t.name]);
            }
            for (key, name) in config_names(t) {
                found.offer(key, name, &[ns, id, &g.name, &t.name]);
            }
        }
    }
}

/// The task config's `image` (docker), `command` (exec, raw_exec) and `class` (java)
/// when they are strings.
fn config_names(t: &Task) -> impl Iterator<Item = (&'static str, &str)> {
    [
        ("images", "image"),
        ("commands", "command"),
        ("classes", "class"),
    ]
    .into_iter()
    .filter_map(|(key, field)| t.config.0.get(field)?.as_str().map(|v| (key, v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, position: usize) -> Match {
        Match {
            id: id.into(),
            scope: vec![],
            position,
        }
    }

    #[test]
    fn closest_matches_come_first() {
        let mut found = Found {
            text: "py",
            by_key: BTreeMap::new(),
        };
        for name in ["happy", "spy", "py", "python", "PyPI", "web"] {
            found.offer("jobs", name, &[]);
        }
        let mut list = found.by_key.remove("jobs").unwrap();
        closest_first(&mut list);
        let ids: Vec<&str> = list.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["py", "PyPI", "python", "spy", "happy"]);
        assert_eq!(m("x", 0).to_json(), json!({"ID": "x"}));
    }
}
