//! `PUT /v1/var/:path`: create or replace a variable (`?cas=`), and the lock operations
//! (`?lock-acquire`, `?lock-renew`, `?lock-release`) Nomad's locks API describes.
//!
//! The items are sealed here with the keyring's active key before the command is
//! proposed, so the Raft log only ever carries ciphertext. Limits: the items' JSON at
//! most 64 KiB, at most `MAX_VARIABLE_ITEMS` keys, string values only (Nomad's type).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::acl::VarCap;
use orch_core::model::variable::{
    MAX_VARIABLE_BYTES, MAX_VARIABLE_ITEMS, VariableEncrypted, VariableLock,
};
use orch_core::state::{Command, VarApply, VarOp};
use serde_json::{Map, Value};

use super::keyring::{aad, active_key};
use super::query::{Api, Params, Query, json_body};
use super::vars::{cas_param, check_var, checked_path, conflict, full_json, is_conflict};
use super::{ApiError, ApiState, QueryOpts};

/// Nomad's bounds and defaults of a lock's TTL and delay.
const MIN_LOCK_TTL: i64 = 10_000_000_000;
const MAX_LOCK_TTL: i64 = 24 * 3600 * 1_000_000_000;
const DEFAULT_LOCK_TTL: i64 = 15_000_000_000;
const DEFAULT_LOCK_DELAY: i64 = 15_000_000_000;

/// Which operation the query names.
fn op_of(q: &QueryOpts) -> Result<VarOp, ApiError> {
    let ops: Vec<VarOp> = [
        ("lock-acquire", VarOp::LockAcquire),
        ("lock-renew", VarOp::LockRenew),
        ("lock-release", VarOp::LockRelease),
    ]
    .into_iter()
    .filter(|(name, _)| q.raw.contains_key(*name))
    .map(|(_, op)| op)
    .collect();
    match ops.as_slice() {
        [] => Ok(VarOp::Set),
        [op] => Ok(*op),
        _ => Err(ApiError::bad_request(
            "only one of lock-acquire, lock-renew and lock-release may be given",
        )),
    }
}

/// The body's `Items`: a map of strings, within the limits.
fn items_of(body: &Value) -> Result<Option<Map<String, Value>>, ApiError> {
    let items = match body.get("Items") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(ApiError::bad_request("Items must be an object of strings")),
    };
    if items.len() > MAX_VARIABLE_ITEMS {
        return Err(ApiError::bad_request(format!(
            "Items has {} keys; at most {MAX_VARIABLE_ITEMS} are allowed",
            items.len()
        )));
    }
    if let Some((k, _)) = items.iter().find(|(_, v)| !v.is_string()) {
        return Err(ApiError::bad_request(format!("Items.{k} must be a string")));
    }
    if items.keys().any(|k| k.is_empty()) {
        return Err(ApiError::bad_request("Items keys must not be empty"));
    }
    Ok(Some(items.clone()))
}

fn duration_field(lock: &Value, name: &str, default: i64) -> Result<i64, ApiError> {
    match lock.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::String(s)) if s.is_empty() => Ok(default),
        Some(Value::String(s)) => orch_core::duration::parse_go_duration(s)
            .map_err(|e| ApiError::bad_request(format!("Lock.{name} {s:?}: {e}"))),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| ApiError::bad_request(format!("Lock.{name} must be a duration"))),
        Some(_) => Err(ApiError::bad_request(format!(
            "Lock.{name} must be a duration such as \"15s\""
        ))),
    }
}

/// The body's `Lock` as the operation needs it (acquire: a fresh ID and checked TTL).
fn lock_of(api: &ApiState, body: &Value, op: VarOp) -> Result<Option<VariableLock>, ApiError> {
    let lock = body.get("Lock").filter(|l| !l.is_null());
    if let Some(l) = lock
        && !l.is_object()
    {
        return Err(ApiError::bad_request("Lock must be an object"));
    }
    let id = lock
        .and_then(|l| l.get("ID"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if op != VarOp::LockAcquire {
        if matches!(op, VarOp::LockRenew | VarOp::LockRelease) && id.is_empty() {
            return Err(ApiError::bad_request(
                "Lock.ID is required to renew or release a lock",
            ));
        }
        return Ok((!id.is_empty()).then(|| VariableLock {
            id,
            ..VariableLock::default()
        }));
    }
    let empty = Value::Object(Map::new());
    let l = lock.unwrap_or(&empty);
    let ttl = duration_field(l, "TTL", DEFAULT_LOCK_TTL)?;
    if !(MIN_LOCK_TTL..=MAX_LOCK_TTL).contains(&ttl) {
        return Err(ApiError::bad_request(
            "Lock.TTL must be between 10s and 24h",
        ));
    }
    let lock_delay = duration_field(l, "LockDelay", DEFAULT_LOCK_DELAY)?;
    if !(0..=MAX_LOCK_TTL).contains(&lock_delay) {
        return Err(ApiError::bad_request(
            "Lock.LockDelay must be between 0s and 24h",
        ));
    }
    Ok(Some(VariableLock {
        id: api.new_id(),
        ttl,
        lock_delay,
        expires_at: 0,
    }))
}

/// `PUT /v1/var/:path[?cas=|?lock-acquire|?lock-renew|?lock-release]`.
pub async fn write(
    State(api): Api,
    Path(path): Path<String>,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let path = checked_path(&path)?;
    let body = json_body(&body)?;
    let ns = match body.get("Namespace").and_then(Value::as_str) {
        Some(ns) if !ns.is_empty() => ns.to_string(),
        _ => q.ns().to_string(),
    };
    if let Some(p) = body.get("Path").and_then(Value::as_str)
        && !p.is_empty()
        && p != path
    {
        return Err(ApiError::bad_request(format!(
            "Path {p:?} in the body does not match the request path {path:?}"
        )));
    }
    check_var(&q, &ns, &path, VarCap::Write)?;
    if api.state.read().namespace(&ns).is_none() {
        return Err(ApiError::bad_request(format!(
            "namespace {ns:?} does not exist"
        )));
    }
    let op = op_of(&q)?;
    let items = items_of(&body)?;
    if op == VarOp::Set && items.as_ref().is_none_or(Map::is_empty) {
        return Err(ApiError::bad_request(
            "variable missing required Items object",
        ));
    }
    let mut var = VariableEncrypted {
        namespace: ns.clone(),
        path: path.clone(),
        lock: lock_of(&api, &body, op)?,
        ..VariableEncrypted::default()
    };
    // A lock acquired on a variable that does not exist creates it, empty unless items
    // are given (how `var lock` makes a lock-only variable).
    let items = match items {
        None if op == VarOp::LockAcquire && api.state.read().variable(&ns, &path).is_none() => {
            Some(Map::new())
        }
        other => other,
    };
    if let Some(items) = items.filter(|_| matches!(op, VarOp::Set | VarOp::LockAcquire)) {
        seal_into(&api, &mut var, &items).await?;
        let bytes = var.ciphertext.len() as u64;
        let over = api
            .state
            .read()
            .variables_quota_exceeded(&ns, &path, bytes, &api.agent.region);
        if let Some(why) = over {
            return Err(ApiError::bad_request(why));
        }
    }
    let cmd = Command::VarApply(VarApply {
        op,
        var,
        check_index: cas_param(&q)?,
        now: (api.now)(),
    });
    match api.replicator.propose(cmd).await {
        Ok(r) => answer(&api, r.index, &ns, &path, op).await,
        Err(e) if is_conflict(&e) => Ok(conflict(&api, &q, &ns, &path).await),
        Err(e) => Err(e.into()),
    }
}

/// Seals `items` into `var` with the active key, within the size limit.
async fn seal_into(
    api: &ApiState,
    var: &mut VariableEncrypted,
    items: &Map<String, Value>,
) -> Result<(), ApiError> {
    let plain = serde_json::to_vec(items).unwrap_or_default();
    if plain.len() > MAX_VARIABLE_BYTES {
        return Err(ApiError::bad_request(format!(
            "variables are limited to {MAX_VARIABLE_BYTES} bytes of items; these are {}",
            plain.len()
        )));
    }
    let key = active_key(api).await?;
    let (nonce, ciphertext) = key
        .seal(&aad(&var.namespace, &var.path), &plain)
        .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    (var.key_id, var.nonce, var.ciphertext) = (key.id, nonce, ciphertext);
    Ok(())
}

/// The stored variable: with its items for writes and acquires, metadata for renew and
/// release (Nomad's answers).
async fn answer(
    api: &ApiState,
    index: u64,
    ns: &str,
    path: &str,
    op: VarOp,
) -> Result<Response, ApiError> {
    let v = api.state.read().variable(ns, path).cloned();
    let Some(v) = v else {
        return Ok(api.reply(index, &Value::Null));
    };
    let body = match op {
        VarOp::LockRenew | VarOp::LockRelease => Value::Object(v.metadata_json()),
        _ => full_json(api, &v).await?,
    };
    Ok(api.reply(index, &body))
}
