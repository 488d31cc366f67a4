//! `/v1/quotas`, `/v1/quota/:name` and quota usage (`/v1/quota-usages`,
//! `/v1/quota/usage/:name`): quota specifications as Nomad Enterprise's API has them.
//! Usage is computed on read from the allocations (`StateStore::quota_usage`).

use super::query::Query;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::model::{QuotaSpec, QuotaUsage};
use orch_core::state::{Command, QuotaDelete, QuotaUpsert, StateStore, ns_table, table};
use serde_json::{Value, json};

use super::namespaces::is_empty;
use super::query::{Api, Params, blocking_read, json_body};
use super::{ApiError, ApiState};

fn quotas_index(s: &StateStore) -> u64 {
    s.index(ns_table::QUOTAS)
}

/// Usage changes with allocations and namespaces as well as with the specifications.
fn usage_index(s: &StateStore) -> u64 {
    quotas_index(s)
        .max(s.index(table::ALLOCS))
        .max(s.index(ns_table::NAMESPACES))
}

/// `GET /v1/quotas?prefix=`: every quota specification, by name.
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    blocking_read(&api, raw, quotas_index, |s, q| {
        Ok(s.quotas()
            .filter(|x| x.name.starts_with(&q.prefix))
            .cloned()
            .collect::<Vec<QuotaSpec>>())
    })
    .await
}

/// `GET /v1/quota/:name`.
pub async fn get_quota(
    State(api): Api,
    Path(name): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    blocking_read(&api, raw, quotas_index, |s, _| {
        s.quota(&name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("quota {name:?} not found")))
    })
    .await
}

/// `GET /v1/quota-usages?prefix=` (also `/v1/quota/usages`): usage of every quota.
pub async fn usages(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let region = api.agent.region.clone();
    blocking_read(&api, raw, usage_index, move |s, q| {
        Ok(s.quotas()
            .filter(|x| x.name.starts_with(&q.prefix))
            .filter_map(|x| s.quota_usage(&x.name, &region))
            .collect::<Vec<QuotaUsage>>())
    })
    .await
}

/// `GET /v1/quota/usage/:name`.
pub async fn usage(
    State(api): Api,
    Path(name): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let region = api.agent.region.clone();
    blocking_read(&api, raw, usage_index, move |s, _| {
        s.quota_usage(&name, &region)
            .ok_or_else(|| ApiError::not_found(format!("quota {name:?} not found")))
    })
    .await
}

/// `POST/PUT /v1/quota/:name`: create or update; the body's `Name` must match.
pub async fn upsert_named(
    State(api): Api,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let spec = decode_quota(&json_body(&body)?, Some(&name))?;
    upsert(&api, spec).await
}

/// `POST/PUT /v1/quota`: create or update the body's quota specification.
pub async fn upsert_body(State(api): Api, body: Bytes) -> Result<Response, ApiError> {
    let spec = decode_quota(&json_body(&body)?, None)?;
    upsert(&api, spec).await
}

async fn upsert(api: &ApiState, spec: QuotaSpec) -> Result<Response, ApiError> {
    let cmd = Command::QuotaUpsert(QuotaUpsert { quotas: vec![spec] });
    let r = api.replicator.propose(cmd).await?;
    Ok(api.reply(r.index, &json!({ "Index": r.index })))
}

/// `DELETE /v1/quota/:name`: refused while a namespace names the quota.
pub async fn delete(State(api): Api, Path(name): Path<String>) -> Result<Response, ApiError> {
    if api.state.read().quota(&name).is_none() {
        return Err(ApiError::not_found(format!("quota {name:?} not found")));
    }
    let cmd = Command::QuotaDelete(QuotaDelete { names: vec![name] });
    let r = api.replicator.propose(cmd).await?;
    Ok(api.reply(r.index, &json!({ "Index": r.index })))
}

const SPEC_FIELDS: &[&str] = &[
    "Name",
    "Description",
    "Limits",
    "Hash",
    "CreateIndex",
    "ModifyIndex",
];
const LIMIT_FIELDS: &[&str] = &["Region", "RegionLimit", "VariablesLimit", "Hash"];
const RESOURCE_FIELDS: &[&str] = &["CPU", "MemoryMB", "MemoryMaxMB", "Cores"];

/// Refuses fields of `obj` outside `known` that carry a value, naming them by `path`.
fn refuse_unknown(obj: &Value, known: &[&str], path: &str) -> Result<(), ApiError> {
    for (k, v) in obj.as_object().into_iter().flatten() {
        if !known.contains(&k.as_str()) && !is_empty(v) {
            return Err(ApiError::bad_request(format!(
                "{path}.{k}: not supported by orch quotas (supported: {}); remove the field",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// Decodes a `QuotaSpec` body. `RegionLimit` accepts only the dimensions orch limits
/// (`CPU`, `MemoryMB`, `MemoryMaxMB`, `Cores`); a negative value (Nomad's "none
/// allowed") is refused with a 400 naming the field.
pub fn decode_quota(body: &Value, path_name: Option<&str>) -> Result<QuotaSpec, ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the body must be a JSON QuotaSpec object ({\"Name\": ..., \"Limits\": [...]})",
        ));
    }
    refuse_unknown(body, SPEC_FIELDS, "QuotaSpec")?;
    for (i, l) in body
        .get("Limits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        refuse_unknown(l, LIMIT_FIELDS, &format!("QuotaSpec.Limits[{i}]"))?;
        if let Some(r) = l.get("RegionLimit") {
            let path = format!("QuotaSpec.Limits[{i}].RegionLimit");
            refuse_unknown(r, RESOURCE_FIELDS, &path)?;
            for (k, v) in r.as_object().into_iter().flatten() {
                if v.as_i64().is_some_and(|n| n < 0) {
                    return Err(ApiError::bad_request(format!(
                        "{path}.{k}: {v} is not supported; use 0 for unlimited or a positive limit"
                    )));
                }
            }
        }
    }
    let mut clean = body.clone();
    orch_core::model::wire::strip_nulls(&mut clean);
    retain_known(&mut clean);
    let mut spec: QuotaSpec = serde_json::from_value(clean)
        .map_err(|e| ApiError::bad_request(format!("QuotaSpec: {e}; fix the field's type")))?;
    match path_name {
        Some(p) if spec.name.is_empty() => spec.name = p.to_string(),
        Some(p) if spec.name != p => {
            return Err(ApiError::bad_request(format!(
                "quota name {:?} does not match the URL's {p:?}; send the same name in both",
                spec.name
            )));
        }
        _ => {}
    }
    spec.validate().map_err(ApiError::bad_request)?;
    Ok(spec)
}

/// Drops the (empty) fields [`refuse_unknown`] let pass, so the typed decode sees only
/// what it knows.
fn retain_known(v: &mut Value) {
    let Some(o) = v.as_object_mut() else { return };
    o.retain(|k, _| SPEC_FIELDS.contains(&k.as_str()));
    for l in o
        .get_mut("Limits")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(lo) = l.as_object_mut() {
            lo.retain(|k, _| LIMIT_FIELDS.contains(&k.as_str()));
            if let Some(r) = lo.get_mut("RegionLimit").and_then(Value::as_object_mut) {
                r.retain(|k, _| RESOURCE_FIELDS.contains(&k.as_str()));
            }
        }
    }
}
