//! `/v1/search` (ID prefix search) and `/v1/search/fuzzy` (substring search over names),
//! as Nomad's UI and CLI use them to complete IDs (`nomad status <prefix>`).
//!
//! Prefix contexts orch has objects for: `jobs`, `evals`, `allocs`, `nodes`,
//! `deployment` (Nomad's singular spelling; `deployments` is accepted), `node_pools`,
//! `plugins`, `volumes` (CSI), `namespaces`, `quotas` and `all`, so `orch status
//! <prefix>` finds every kind it has a `status` verb for. Each context shows only what
//! the caller may read (Nomad's rule). Nomad's other contexts (scaling policies,
//! variables, host volumes, ...) answer 501 naming them.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use orch_core::state::StateStore;
use serde_json::{Value, json};

use super::query::{Api, Params, Query, json_body};
use super::{ApiError, QueryOpts};

/// Matches returned per context before `Truncations` says more exist (Nomad's 20).
pub const PREFIX_LIMIT: usize = 20;
/// Fuzzy matches returned per context (Nomad's `limit_results` default).
pub const FUZZY_LIMIT: usize = 100;
/// Shortest fuzzy search text (Nomad's `min_term_length` default).
pub const FUZZY_MIN_TERM: usize = 2;

const PREFIX_CONTEXTS: [&str; 10] = [
    "jobs",
    "evals",
    "allocs",
    "nodes",
    "deployment",
    "node_pools",
    "plugins",
    "volumes",
    "namespaces",
    "quotas",
];
const FUZZY_CONTEXTS: [&str; 4] = ["jobs", "groups", "tasks", "nodes"];
const NOMAD_ONLY: &[&str] = &[
    "plugins",
    "volumes",
    "node_pools",
    "namespaces",
    "quotas",
    "scaling_policy",
    "variables",
    "services",
    "host_volumes",
    "recommendations",
];

/// Which contexts a request's `Context` selects.
fn contexts(context: &str, known: &'static [&'static str]) -> Result<Vec<&'static str>, ApiError> {
    let context = if context == "deployments" {
        "deployment"
    } else {
        context
    };
    if context == "all" {
        return Ok(known.to_vec());
    }
    if let Some(c) = known.iter().find(|c| **c == context) {
        return Ok(vec![*c]);
    }
    if NOMAD_ONLY.contains(&context) {
        return Err(ApiError::not_implemented(&format!(
            "Search in the {context:?} context"
        )));
    }
    Err(ApiError::bad_request(format!(
        "Context: invalid search context {context:?}; use one of {} or all",
        known.join(", ")
    )))
}

fn required_string(body: &Value, name: &str) -> Result<String, ApiError> {
    match super::query::field::<String>(body, name)? {
        Some(s) => Ok(s),
        None => Err(ApiError::bad_request(format!(
            "{name}: missing; send {{\"{name}\": \"...\", \"Context\": \"all\"}}"
        ))),
    }
}

/// IDs in one context starting with `prefix`, at most `limit + 1` (to detect truncation).
fn prefix_matches(
    s: &StateStore,
    q: &QueryOpts,
    context: &str,
    prefix: &str,
    limit: usize,
) -> Vec<String> {
    // Each context as (namespace, ID); nodes have no namespace and match any.
    let objects: Box<dyn Iterator<Item = (Option<&str>, &str)> + '_> = match context {
        "jobs" => Box::new(
            s.jobs()
                .map(|j| (Some(j.namespace.as_str()), j.id.as_str())),
        ),
        "evals" => Box::new(
            s.evals()
                .map(|e| (Some(e.namespace.as_str()), e.id.as_str())),
        ),
        "allocs" => Box::new(
            s.allocs()
                .map(|a| (Some(a.namespace.as_str()), a.id.as_str())),
        ),
        "nodes" if q.authz.node_read() => Box::new(s.nodes().map(|n| (None, n.id.as_str()))),
        "deployment" => Box::new(
            s.deployments()
                .map(|d| (Some(d.namespace.as_str()), d.id.as_str())),
        ),
        "node_pools" => Box::new(
            s.node_pools()
                .filter(|p| q.authz.node_pool_level(&p.name).allows_read())
                .map(|p| (None, p.name.as_str())),
        ),
        "volumes" => Box::new(
            s.csi_volumes()
                .map(|v| (Some(v.namespace.as_str()), v.id.as_str())),
        ),
        "namespaces" => Box::new(
            s.namespaces()
                .filter(|n| q.authz.allows_any(&n.name))
                .map(|n| (None, n.name.as_str())),
        ),
        "quotas" if q.authz.quota_read() => {
            Box::new(s.quotas().map(|quota| (None, quota.name.as_str())))
        }
        "plugins" if q.authz.plugin_read() => {
            // Plugins are derived (a map built on read), so they are matched here.
            return s
                .csi_plugins()
                .into_keys()
                .filter(|id| id.starts_with(prefix))
                .take(limit + 1)
                .collect();
        }
        _ => return Vec::new(),
    };
    objects
        .filter(|(ns, id)| ns.is_none_or(|ns| q.sees(ns)) && id.starts_with(prefix))
        .map(|(_, id)| id.to_string())
        .take(limit + 1)
        .collect()
}

/// `PUT/POST /v1/search` `{"Prefix", "Context"}` → `{"Matches", "Truncations"}`.
pub async fn prefix(
    State(api): Api,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let body = json_body(&body)?;
    let prefix = super::query::field::<String>(&body, "Prefix")?.unwrap_or_default();
    let context = required_string(&body, "Context")?;
    let contexts = contexts(&context, &PREFIX_CONTEXTS)?;
    let mut matches = BTreeMap::new();
    let mut truncations = BTreeMap::new();
    let index = {
        let s = api.state.read();
        for c in contexts {
            let mut ids = prefix_matches(&s, &q, c, &prefix, PREFIX_LIMIT);
            truncations.insert(c, ids.len() > PREFIX_LIMIT);
            ids.truncate(PREFIX_LIMIT);
            matches.insert(c, ids);
        }
        s.latest_index()
    };
    Ok(api.reply(
        index.max(1),
        &json!({
            "Matches": matches, "Truncations": truncations,
            "Index": index, "KnownLeader": api.known_leader(), "LastContact": api.last_contact_ms(),
        }),
    ))
}

/// Fuzzy matches of one context: `{"ID": name, "Scope": [...]}` where `name` contains
/// `text` (case-insensitively).
fn fuzzy_matches(s: &StateStore, q: &QueryOpts, context: &str, text: &str) -> Vec<Value> {
    let hit = |name: &str| name.to_lowercase().contains(text);
    let mut out = Vec::new();
    match context {
        "jobs" => {
            for j in s.jobs().filter(|j| q.sees(&j.namespace) && hit(&j.id)) {
                out.push(json!({"ID": j.id, "Scope": [j.namespace]}));
            }
        }
        "groups" => {
            for j in s.jobs().filter(|j| q.sees(&j.namespace)) {
                for g in j.task_groups.iter().filter(|g| hit(&g.name)) {
                    out.push(json!({"ID": g.name, "Scope": [j.namespace, j.id]}));
                }
            }
        }
        "tasks" => {
            for j in s.jobs().filter(|j| q.sees(&j.namespace)) {
                for g in &j.task_groups {
                    for t in g.tasks.iter().filter(|t| hit(&t.name)) {
                        out.push(json!({"ID": t.name, "Scope": [j.namespace, j.id, g.name]}));
                    }
                }
            }
        }
        "nodes" if q.authz.node_read() => {
            for n in s.nodes().filter(|n| hit(&n.name)) {
                out.push(json!({"ID": n.name, "Scope": [n.id]}));
            }
        }
        _ => {}
    }
    out
}

/// `PUT/POST /v1/search/fuzzy` `{"Text", "Context"}`: names containing the text, with
/// the scope that locates them (namespace, job, group).
pub async fn fuzzy(State(api): Api, Query(raw): Params, body: Bytes) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let body = json_body(&body)?;
    let text = required_string(&body, "Text")?;
    if text.chars().count() < FUZZY_MIN_TERM {
        return Err(ApiError::bad_request(format!(
            "Text: fuzzy search needs at least {FUZZY_MIN_TERM} characters, got {text:?}"
        )));
    }
    let context = required_string(&body, "Context")?;
    let contexts = contexts(&context, &FUZZY_CONTEXTS)?;
    let text = text.to_lowercase();
    let mut matches = BTreeMap::new();
    let mut truncations = BTreeMap::new();
    let index = {
        let s = api.state.read();
        for c in contexts {
            let mut found = fuzzy_matches(&s, &q, c, &text);
            truncations.insert(c, found.len() > FUZZY_LIMIT);
            found.truncate(FUZZY_LIMIT);
            matches.insert(c, found);
        }
        s.latest_index()
    };
    Ok(api.reply(
        index.max(1),
        &json!({
            "Matches": matches, "Truncations": truncations,
            "Index": index, "KnownLeader": api.known_leader(), "LastContact": api.last_contact_ms(),
        }),
    ))
}
