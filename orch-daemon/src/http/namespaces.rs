//! `/v1/namespaces` and `/v1/namespace/:name`: namespaces as Nomad's API has them (list
//! with `prefix`, read, create or update, delete), plus the namespace check job
//! registration makes early for a clear message (the state machine makes it again, so it
//! holds on every path).
//!
//! Bodies are Nomad's `Namespace` JSON; fields orch does not implement
//! (`NodePoolConfiguration`, `VaultConfiguration`, `ConsulConfiguration`, network modes)
//! are refused by name when they carry a value (invariant 3).

use super::query::Query;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::model::{Job, Namespace};
use orch_core::state::{Command, NamespaceDelete, NamespaceUpsert, StateStore, ns_table};
use serde_json::{Value, json};

use super::query::{Api, Params, blocking_read, json_body};
use super::{ApiError, ApiState};

/// The namespace and quota routes, merged into [`super::router`].
pub fn routes() -> axum::Router<std::sync::Arc<ApiState>> {
    use super::quotas;
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/v1/namespaces", get(list))
        .route("/v1/namespace", post(upsert_body).put(upsert_body))
        .route(
            "/v1/namespace/{name}",
            get(get_namespace)
                .post(upsert_named)
                .put(upsert_named)
                .delete(delete),
        )
        .route("/v1/quotas", get(quotas::list))
        .route("/v1/quota-usages", get(quotas::usages))
        .route("/v1/quota/usages", get(quotas::usages))
        .route("/v1/quota/usage/{name}", get(quotas::usage))
        .route(
            "/v1/quota",
            post(quotas::upsert_body).put(quotas::upsert_body),
        )
        .route(
            "/v1/quota/{name}",
            get(quotas::get_quota)
                .post(quotas::upsert_named)
                .put(quotas::upsert_named)
                .delete(quotas::delete),
        )
}

fn namespaces_index(s: &StateStore) -> u64 {
    s.index(ns_table::NAMESPACES)
}

/// `GET /v1/namespaces?prefix=`: every namespace, by name.
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    blocking_read(&api, raw, namespaces_index, |s, q| {
        Ok(s.namespaces()
            .filter(|n| n.name.starts_with(&q.prefix) && q.authz.allows_any(&n.name))
            .cloned()
            .collect::<Vec<Namespace>>())
    })
    .await
}

/// `GET /v1/namespace/:name`.
pub async fn get_namespace(
    State(api): Api,
    Path(name): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    blocking_read(&api, raw, namespaces_index, |s, q| {
        if !q.authz.allows_any(&name) {
            return Err(super::auth::permission_denied());
        }
        s.namespace(&name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("namespace {name:?} not found")))
    })
    .await
}

/// `POST/PUT /v1/namespace/:name`: create or update; the body's `Name` (if set) must
/// match the path.
pub async fn upsert_named(
    State(api): Api,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ns = decode_namespace(&json_body(&body)?, Some(&name))?;
    upsert(&api, ns).await
}

/// `POST/PUT /v1/namespace`: create or update the body's namespace.
pub async fn upsert_body(State(api): Api, body: Bytes) -> Result<Response, ApiError> {
    let ns = decode_namespace(&json_body(&body)?, None)?;
    upsert(&api, ns).await
}

async fn upsert(api: &ApiState, ns: Namespace) -> Result<Response, ApiError> {
    let cmd = Command::NamespaceUpsert(NamespaceUpsert {
        namespaces: vec![ns],
    });
    let r = api.replicator.propose(cmd).await?;
    Ok(api.reply(r.index, &json!({ "Index": r.index })))
}

/// `DELETE /v1/namespace/:name`: refused for `default` and while it holds jobs.
pub async fn delete(State(api): Api, Path(name): Path<String>) -> Result<Response, ApiError> {
    if api.state.read().namespace(&name).is_none() {
        return Err(ApiError::not_found(format!("namespace {name:?} not found")));
    }
    let cmd = Command::NamespaceDelete(NamespaceDelete { names: vec![name] });
    let r = api.replicator.propose(cmd).await?;
    Ok(api.reply(r.index, &json!({ "Index": r.index })))
}

/// Fields of Nomad's `Namespace` orch reads; [`IGNORED`] ones pass when they hold
/// nothing; any other field is refused.
const KNOWN: &[&str] = &[
    "Name",
    "Description",
    "Quota",
    "Capabilities",
    "Meta",
    // orch: the namespace's fair share of the cluster for queued work (default 1).
    "Weight",
    "CreateIndex",
    "ModifyIndex",
];
const IGNORED: &[&str] = &[
    "Hash",
    "NodePoolConfiguration",
    "VaultConfiguration",
    "ConsulConfiguration",
];

/// Decodes a `Namespace` body: unknown or unsupported fields with a value are a 400
/// naming them, so nothing a user sets is silently dropped.
pub fn decode_namespace(body: &Value, path_name: Option<&str>) -> Result<Namespace, ApiError> {
    let Some(obj) = body.as_object() else {
        return Err(ApiError::bad_request(
            "the body must be a JSON Namespace object ({\"Name\": ..., \"Description\": ...})",
        ));
    };
    for (k, v) in obj {
        let ignorable = IGNORED.contains(&k.as_str()) && is_empty(v);
        if !KNOWN.contains(&k.as_str()) && !ignorable {
            return Err(ApiError::bad_request(format!(
                "Namespace.{k}: not supported by orch; remove the field"
            )));
        }
    }
    if let Some(caps) = obj.get("Capabilities").and_then(Value::as_object) {
        for (k, v) in caps {
            let known = k == "EnabledTaskDrivers" || k == "DisabledTaskDrivers";
            if !known && !is_empty(v) {
                return Err(ApiError::bad_request(format!(
                    "Namespace.Capabilities.{k}: not supported by orch (only EnabledTaskDrivers and DisabledTaskDrivers are); remove the field"
                )));
            }
        }
    }
    let mut clean = body.clone();
    if let Some(o) = clean.as_object_mut() {
        o.retain(|k, _| KNOWN.contains(&k.as_str()));
        if let Some(c) = o.get_mut("Capabilities").and_then(Value::as_object_mut) {
            c.retain(|k, _| k == "EnabledTaskDrivers" || k == "DisabledTaskDrivers");
        }
    }
    orch_core::model::wire::strip_nulls(&mut clean);
    let mut ns: Namespace = serde_json::from_value(clean)
        .map_err(|e| ApiError::bad_request(format!("Namespace: {e}; fix the field's type")))?;
    match path_name {
        Some(p) if ns.name.is_empty() => ns.name = p.to_string(),
        Some(p) if ns.name != p => {
            return Err(ApiError::bad_request(format!(
                "Namespace name {:?} does not match the URL's {p:?}; send the same name in both",
                ns.name
            )));
        }
        _ => {}
    }
    ns.validate().map_err(ApiError::bad_request)?;
    Ok(ns)
}

/// Whether a JSON value holds nothing (null, empty string, array or object, false, 0).
pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_empty),
    }
}

/// The early namespace check of job registration, in Nomad's words: a 400 naming the
/// missing namespace before anything is proposed.
pub fn check_job_namespace(api: &ApiState, job: &Job) -> Result<(), ApiError> {
    if api.state.read().namespace(&job.namespace).is_none() {
        return Err(ApiError::bad_request(format!(
            "job {:?} is in nonexistent namespace {:?}; create it first (orch namespace apply {})",
            job.id, job.namespace, job.namespace
        )));
    }
    Ok(())
}
