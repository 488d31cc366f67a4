//! `/v1/search` (ID prefix search) and `/v1/search/fuzzy` (substring search over names),
//! as Nomad's UI and CLI use them to complete IDs (`nomad status <prefix>`).
//!
//! Prefix contexts ([`prefix::CONTEXTS`]): every kind orch has objects of, in Nomad's
//! spelling (`deployment` singular; `deployments` is accepted), including
//! `scaling_policy` and `variables`. Fuzzy contexts ([`fuzzy::CONTEXTS`]): Nomad's. Each
//! context shows only what the caller may read (Nomad's rule). The kinds orch does not
//! have (dynamic host volumes, Enterprise recommendations) answer 501 naming them.

mod fuzzy;
mod prefix;

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use super::query::{Api, Params, Query, json_body};
use super::{ApiError, ApiState, QueryOpts};

/// Matches returned per context before `Truncations` says more exist (Nomad's 20).
pub const PREFIX_LIMIT: usize = 20;
/// Fuzzy matches returned per context (Nomad's `limit_results` default).
pub const FUZZY_LIMIT: usize = 100;
/// Shortest fuzzy search text (Nomad's `min_term_length` default).
pub const FUZZY_MIN_TERM: usize = 2;
/// Longest prefix or fuzzy text accepted (a search term, not a document).
pub const MAX_TERM: usize = 1024;

/// Contexts Nomad has and orch does not: refused by name (501), not as unknown.
const NOMAD_ONLY: &[&str] = &["host_volumes", "recommendations"];

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

/// An optional string field of at most [`MAX_TERM`] bytes.
fn term(body: &Value, name: &str) -> Result<Option<String>, ApiError> {
    match super::query::field::<String>(body, name)? {
        Some(s) if s.len() > MAX_TERM => Err(ApiError::bad_request(format!(
            "{name}: at most {MAX_TERM} bytes, got {}",
            s.len()
        ))),
        other => Ok(other),
    }
}

/// A required string field of at most [`MAX_TERM`] bytes.
fn required_term(body: &Value, name: &str) -> Result<String, ApiError> {
    term(body, name)?.ok_or_else(|| {
        ApiError::bad_request(format!(
            "{name}: missing; send {{\"{name}\": \"...\", \"Context\": \"all\"}}"
        ))
    })
}

/// The response both searches share: matches and truncations by context.
fn reply(
    api: &ApiState,
    index: u64,
    matches: BTreeMap<&str, Value>,
    truncations: BTreeMap<&str, bool>,
) -> Response {
    api.reply(
        index.max(1),
        &json!({
            "Matches": matches, "Truncations": truncations,
            "Index": index, "KnownLeader": api.known_leader(), "LastContact": api.last_contact_ms(),
        }),
    )
}

/// `PUT/POST /v1/search` `{"Prefix", "Context"}` → `{"Matches", "Truncations"}`.
pub async fn prefix(
    State(api): Api,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let body = json_body(&body)?;
    let prefix = term(&body, "Prefix")?.unwrap_or_default();
    let context = required_term(&body, "Context")?;
    let contexts = contexts(&context, &prefix::CONTEXTS)?;
    let mut matches = BTreeMap::new();
    let mut truncations = BTreeMap::new();
    let index = {
        let s = api.state.read();
        for c in contexts {
            let mut ids = prefix::matches(&s, &q, c, &prefix, PREFIX_LIMIT);
            truncations.insert(c, ids.len() > PREFIX_LIMIT);
            ids.truncate(PREFIX_LIMIT);
            matches.insert(c, json!(ids));
        }
        s.latest_index()
    };
    Ok(reply(&api, index, matches, truncations))
}

/// `PUT/POST /v1/search/fuzzy` `{"Text", "Context"}`: names containing the text, with
/// the scope that locates them (namespace, job, group, task), closest first.
pub async fn fuzzy(State(api): Api, Query(raw): Params, body: Bytes) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let body = json_body(&body)?;
    let text = required_term(&body, "Text")?;
    if text.chars().count() < FUZZY_MIN_TERM {
        return Err(ApiError::bad_request(format!(
            "Text: fuzzy search needs at least {FUZZY_MIN_TERM} characters, got {text:?}"
        )));
    }
    let context = required_term(&body, "Context")?;
    let all = context == "all";
    let contexts = contexts(&context, &fuzzy::CONTEXTS)?;
    let lower = text.to_lowercase();
    let mut matches = BTreeMap::new();
    let mut truncations = BTreeMap::new();
    let index = {
        let s = api.state.read();
        for c in contexts {
            truncations.insert(c, false);
            for (key, mut found) in fuzzy::matches(&s, &q, c, &lower) {
                truncations.insert(key, found.len() > FUZZY_LIMIT);
                found.truncate(FUZZY_LIMIT);
                let list: Vec<Value> = found.iter().map(fuzzy::Match::to_json).collect();
                matches.insert(key, json!(list));
            }
        }
        if all {
            for c in fuzzy::PREFIX_IN_ALL {
                let mut ids = prefix::matches(&s, &q, c, &text, FUZZY_LIMIT);
                truncations.insert(c, ids.len() > FUZZY_LIMIT);
                ids.truncate(FUZZY_LIMIT);
                let list: Vec<Value> = ids.into_iter().map(|id| json!({"ID": id})).collect();
                matches.insert(c, json!(list));
            }
        }
        s.latest_index()
    };
    Ok(reply(&api, index, matches, truncations))
}
