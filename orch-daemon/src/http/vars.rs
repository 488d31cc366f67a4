//! Nomad Variables: `GET /v1/vars` (metadata; `prefix`, `namespace` incl. `*`,
//! `filter`, `per_page`/`next_token`) and `/v1/var/:path` (read, write with `?cas=`,
//! delete with `?cas=`; the lock operations are in [`super::vars_write`]).
//!
//! ACL: the `variables` path rules of the caller's namespace rule (`list` to see a
//! variable in a list, `read` for its items, `write`, `destroy`); a namespace `read`
//! policy grants read and list, `write` everything. A conflicting `?cas=` answers 409
//! with the current variable, as Nomad's API does.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use orch_core::acl::VarCap;
use orch_core::model::variable::VariableEncrypted;
use orch_core::state::{Command, StateStore, VARIABLES_TABLE, VarApply, VarOp};
use serde_json::Value;

use super::auth::permission_denied;
use super::list::ListOpts;
use super::query::{Api, Params, Query};
use super::{ApiError, ApiState, QueryOpts};

/// The variable routes, merged into [`super::router`].
pub fn routes() -> axum::Router<std::sync::Arc<ApiState>> {
    use axum::routing::get;
    axum::Router::new().route("/v1/vars", get(list)).route(
        "/v1/var/{*path}",
        get(read)
            .put(super::vars_write::write)
            .post(super::vars_write::write)
            .delete(delete),
    )
}

/// The index blocking variable queries watch.
pub fn vars_index(s: &StateStore) -> u64 {
    s.index(VARIABLES_TABLE).max(1)
}

/// A 403 unless the caller holds `cap` on `path` in `namespace`.
pub fn check_var(q: &QueryOpts, namespace: &str, path: &str, cap: VarCap) -> Result<(), ApiError> {
    if q.authz.allows_variable(namespace, path, cap) {
        Ok(())
    } else {
        Err(permission_denied())
    }
}

/// The full variable JSON (metadata and decrypted items).
pub async fn full_json(api: &ApiState, v: &VariableEncrypted) -> Result<Value, ApiError> {
    let items = super::keyring::open_items(api, v).await?;
    let mut m = v.metadata_json();
    m.insert("Items".into(), Value::Object(items));
    Ok(Value::Object(m))
}

/// The path of `/v1/var/:path`, checked as Nomad does (a 400 naming the rule).
pub fn checked_path(path: &str) -> Result<String, ApiError> {
    let path = path.trim_start_matches('/');
    orch_core::model::variable::validate_variable_path(path).map_err(ApiError::bad_request)?;
    Ok(path.to_string())
}

/// `GET /v1/vars`: the metadata of the variables the caller may list.
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let (q, opts) = ListOpts::parse(raw)?;
    let index = api.block(&q, vars_index).await;
    let (body, next) = {
        let s = api.state.read();
        let items = s
            .variables()
            .filter(|v| q.namespace == "*" || v.namespace == q.namespace)
            .filter(|v| v.path.starts_with(&q.prefix))
            .filter(|v| q.authz.allows_variable(&v.namespace, &v.path, VarCap::List))
            .map(|v| {
                let key = (v.namespace.clone(), v.path.clone());
                (key, Value::Object(v.metadata_json()))
            });
        // The token is `namespace.path` (namespaces hold no `.`), compared as the pair
        // the table is ordered by.
        opts.page(
            items,
            |t| {
                let (ns, path) = t.split_once('.').unwrap_or((t, ""));
                (ns.to_string(), path.to_string())
            },
            |(ns, path)| format!("{ns}.{path}"),
        )
    };
    Ok(super::list::reply(&api, index, &body, next))
}

/// The query, namespace and checked path of a request on one variable, once the
/// caller is known to hold `cap` on it.
fn var_request(
    raw: super::query::RawParams,
    path: &str,
    cap: VarCap,
) -> Result<(QueryOpts, String, String), ApiError> {
    let q = QueryOpts::parse(raw)?;
    let path = checked_path(path)?;
    let ns = q.ns().to_string();
    check_var(&q, &ns, &path, cap)?;
    Ok((q, ns, path))
}

/// `GET /v1/var/:path`: the variable with its items, or Nomad's 404; blocking on the
/// variables table with `?index=` (what templates watch).
pub async fn read(
    State(api): Api,
    Path(path): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let (q, ns, path) = var_request(raw, &path, VarCap::Read)?;
    let index = api.block(&q, vars_index).await;
    let v = api.state.read().variable(&ns, &path).cloned();
    let Some(v) = v else {
        let mut resp = (StatusCode::NOT_FOUND, "variable not found").into_response();
        api.set_meta(&mut resp, index);
        return Ok(resp);
    };
    Ok(api.reply(index, &full_json(&api, &v).await?))
}

/// `?cas=`: the modify index a write or delete expects.
pub fn cas_param(q: &QueryOpts) -> Result<Option<u64>, ApiError> {
    match q.raw.get("cas").map(String::as_str) {
        None | Some("") => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "Invalid cas {s:?}: use the variable's ModifyIndex (0: must not exist)"
            ))
        }),
    }
}

/// Nomad's 409: the conflicting variable as it is now (items only for readers).
pub async fn conflict(api: &ApiState, q: &QueryOpts, ns: &str, path: &str) -> Response {
    let current = api.state.read().variable(ns, path).cloned();
    let body = match current {
        Some(v) if q.authz.allows_variable(ns, path, VarCap::Read) => full_json(api, &v)
            .await
            .unwrap_or_else(|_| Value::Object(v.metadata_json())),
        Some(v) => Value::Object(v.metadata_json()),
        None => Value::Null,
    };
    let mut resp = (StatusCode::CONFLICT, axum::Json(body)).into_response();
    api.set_meta(&mut resp, api.state.read().index(VARIABLES_TABLE));
    resp
}

/// Whether a refused proposal is a variable conflict (409).
pub fn is_conflict(e: &crate::server::ReplicateError) -> bool {
    matches!(e, crate::server::ReplicateError::Rejected(orch_core::state::StateError::Conflict(m))
        if m.starts_with(orch_core::state::VAR_CONFLICT))
}

/// `DELETE /v1/var/:path[?cas=]`.
pub async fn delete(
    State(api): Api,
    Path(path): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let (q, ns, path) = var_request(raw, &path, VarCap::Destroy)?;
    let check_index = cas_param(&q)?;
    let var = VariableEncrypted {
        namespace: ns.clone(),
        path: path.clone(),
        ..VariableEncrypted::default()
    };
    let cmd = Command::VarApply(VarApply {
        op: VarOp::Delete,
        var,
        check_index,
        now: (api.now)(),
    });
    match api.replicator.propose(cmd).await {
        Ok(r) => {
            let mut resp = StatusCode::OK.into_response();
            api.set_meta(&mut resp, r.index);
            Ok(resp)
        }
        Err(e) if is_conflict(&e) => Ok(conflict(&api, &q, &ns, &path).await),
        Err(e) => Err(e.into()),
    }
}
