//! `/v1/acl/bootstrap` and `/v1/acl/token(s)`: creating, reading, updating and deleting
//! tokens.
//!
//! A secret is a fresh UUID made here (or the operator's `BootstrapSecret`); only its
//! hash travels through Raft. The secret appears in exactly two answers: the one that
//! created the token, and `token/self` (the caller sent it). Everywhere else
//! `SecretID` is empty.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::model::acl::{AclToken, AclTokenRoleLink, token_type};
use orch_core::state::{AclBootstrap, AclTokenDelete, AclTokenUpsert, Command, StateStore, table};
use serde_json::{Value, json};

use super::{commit, require_enabled};
use crate::http::auth::{Authz, permission_denied, secret_hash};
use crate::http::query::{Api, Params, Query, field, json_body};
use crate::http::{ApiError, ApiState, QueryOpts};
use crate::server::acl_view::token_json;

fn acl_token_index(s: &StateStore) -> u64 {
    s.index(table::ACL_TOKEN)
}

/// `POST /v1/acl/bootstrap`: the first management token, once (again only with the
/// index written to the reset file).
pub async fn bootstrap(State(api): Api, body: Bytes) -> Result<Response, ApiError> {
    require_enabled(&api)?;
    let v = json_body(&body)?;
    let secret: String = field::<String>(&v, "BootstrapSecret")?
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| api.new_id());
    check_secret(&secret)?;
    let reset_index = read_reset_index(&api)?;
    let now = (api.now)();
    let token = AclToken {
        accessor_id: api.new_id(),
        secret_hash: secret_hash(&secret),
        name: "Bootstrap Token".into(),
        token_type: token_type::MANAGEMENT.into(),
        global: true,
        create_time: now,
        ..AclToken::default()
    };
    let accessor = token.accessor_id.clone();
    let index = commit(
        &api,
        Command::AclBootstrap(AclBootstrap { token, reset_index }),
    )
    .await?;
    created(&api, index, &accessor, &secret)
}

/// The index in the reset file, 0 when there is none.
fn read_reset_index(api: &ApiState) -> Result<u64, ApiError> {
    let Some(path) = &api.acl.bootstrap_reset_file else {
        return Ok(0);
    };
    match std::fs::read_to_string(path) {
        Ok(text) => text.trim().parse().map_err(|_| {
            ApiError::bad_request(format!(
                "{}: expected the reset index (a number) from the bootstrap error message",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading {}: {e}", path.display()),
        )),
    }
}

fn check_secret(secret: &str) -> Result<(), ApiError> {
    if secret.len() < 8 || secret.len() > 128 || secret.chars().any(char::is_whitespace) {
        return Err(ApiError::bad_request(
            "BootstrapSecret: use 8 to 128 characters without spaces (a UUID is best)",
        ));
    }
    Ok(())
}

/// The answer to a create: the stored token with its secret.
fn created(api: &ApiState, index: u64, accessor: &str, secret: &str) -> Result<Response, ApiError> {
    let s = api.state.read();
    let t = s
        .acl_token(accessor)
        .ok_or_else(|| ApiError::not_found("ACL token not found"))?;
    Ok(api.reply(index, &token_json(t, Some(secret))))
}

/// `GET /v1/acl/tokens`: management only; `prefix` on the accessor ID.
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    require_enabled(&api)?;
    let q = QueryOpts::parse(raw)?;
    q.authz.check_management()?;
    let index = api.block(&q, acl_token_index).await;
    let body: Vec<Value> = api
        .state
        .read()
        .acl_tokens()
        .filter(|t| t.accessor_id.starts_with(&q.prefix))
        .map(|t| token_json(t, None))
        .collect();
    Ok(api.reply(index, &body))
}

/// `GET /v1/acl/token/self`: the caller's own token (anonymous without one).
pub async fn token_self(
    State(api): Api,
    headers: axum::http::HeaderMap,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    require_enabled(&api)?;
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, acl_token_index).await;
    let secret = crate::http::auth::presented_secret(&headers);
    match q.authz.token() {
        Some(t) => Ok(api.reply(index, &token_json(t, secret.as_deref()))),
        None => Ok(api.reply(
            index,
            &json!({
                "AccessorID": "anonymous",
                "SecretID": "anonymous",
                "Name": "Anonymous Token",
                "Type": token_type::CLIENT,
                "Policies": [orch_core::model::acl::ANONYMOUS_POLICY],
                "Roles": [],
                "Global": false,
            }),
        )),
    }
}

/// `GET /v1/acl/token/:accessor`: management, or the token itself.
pub async fn read(
    State(api): Api,
    Path(accessor): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    require_enabled(&api)?;
    let q = QueryOpts::parse(raw)?;
    may_read(&q.authz, &accessor)?;
    let index = api.block(&q, acl_token_index).await;
    let s = api.state.read();
    let t = s
        .acl_token(&accessor)
        .ok_or_else(|| ApiError::not_found("ACL token not found"))?;
    Ok(api.reply(index, &token_json(t, None)))
}

/// `POST /v1/acl/token`: creates a token (or, with an `AccessorID`, updates it).
pub async fn create(State(api): Api, authz: Authz, body: Bytes) -> Result<Response, ApiError> {
    require_enabled(&api)?;
    authz.check_management()?;
    let v = json_body(&body)?;
    if let Some(accessor) = field::<String>(&v, "AccessorID")?.filter(|a| !a.is_empty()) {
        return apply_update(&api, &accessor, &v).await;
    }
    let secret = api.new_id();
    let mut token = token_from_body(&v)?;
    token.accessor_id = api.new_id();
    token.secret_hash = secret_hash(&secret);
    token.create_time = (api.now)();
    set_expiration(&api, &mut token, &v)?;
    let accessor = token.accessor_id.clone();
    let cmd = Command::AclTokenUpsert(AclTokenUpsert {
        tokens: vec![token],
    });
    let index = commit(&api, cmd).await?;
    created(&api, index, &accessor, &secret)
}

/// `POST /v1/acl/token/:accessor`: updates name, policies, roles and `Global`.
pub async fn update(
    State(api): Api,
    Path(accessor): Path<String>,
    authz: Authz,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_enabled(&api)?;
    authz.check_management()?;
    let v = json_body(&body)?;
    apply_update(&api, &accessor, &v).await
}

async fn apply_update(api: &ApiState, accessor: &str, v: &Value) -> Result<Response, ApiError> {
    let Some(old) = api.state.read().acl_token(accessor).cloned() else {
        return Err(ApiError::not_found("ACL token not found"));
    };
    let mut token = token_from_body(v)?;
    if v.get("Type").is_none() {
        token.token_type = old.token_type.clone();
    }
    token.accessor_id = old.accessor_id;
    let cmd = Command::AclTokenUpsert(AclTokenUpsert {
        tokens: vec![token],
    });
    let index = commit(api, cmd).await?;
    let s = api.state.read();
    let t = s
        .acl_token(accessor)
        .ok_or_else(|| ApiError::not_found("ACL token not found"))?;
    Ok(api.reply(index, &token_json(t, None)))
}

/// `DELETE /v1/acl/token/:accessor`.
pub async fn delete(
    State(api): Api,
    Path(accessor): Path<String>,
    authz: Authz,
) -> Result<Response, ApiError> {
    let exists = |s: &StateStore| s.acl_token(&accessor).is_some();
    let cmd = Command::AclTokenDelete(AclTokenDelete {
        accessors: vec![accessor.clone()],
    });
    super::delete_object(&api, &authz, "ACL token not found", exists, cmd).await
}

/// The fields a caller sets: `Name`, `Type`, `Policies`, `Roles`, `Global`.
fn token_from_body(v: &Value) -> Result<AclToken, ApiError> {
    let roles: Vec<Value> = field(v, "Roles")?.unwrap_or_default();
    let roles = roles
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let id: String = field(r, "ID")?.unwrap_or_default();
            let name: String = field(r, "Name")?.unwrap_or_default();
            if id.is_empty() && name.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "Roles[{i}]: name a role by ID or Name"
                )));
            }
            Ok(AclTokenRoleLink { id, name })
        })
        .collect::<Result<_, _>>()?;
    Ok(AclToken {
        name: field(v, "Name")?.unwrap_or_default(),
        token_type: field::<String>(v, "Type")?
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| token_type::CLIENT.into()),
        policies: field(v, "Policies")?.unwrap_or_default(),
        roles,
        global: field(v, "Global")?.unwrap_or(false),
        ..AclToken::default()
    })
}

/// `ExpirationTTL` (nanoseconds or a Go duration) or `ExpirationTime` (RFC 3339), within
/// the agent's `token_min_expiration_ttl` and `token_max_expiration_ttl`.
fn set_expiration(api: &ApiState, t: &mut AclToken, v: &Value) -> Result<(), ApiError> {
    let ttl = match v.get("ExpirationTTL") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::bad_request("ExpirationTTL: expected non-negative nanoseconds")
        })?,
        Some(Value::String(s)) if s.is_empty() => 0,
        Some(Value::String(s)) => orch_core::duration::parse_go_duration(s)
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "ExpirationTTL: {s:?} is not a duration such as 1h or 30m"
                ))
            })?,
        Some(_) => return Err(ApiError::bad_request("ExpirationTTL: expected a duration")),
    };
    let at: Option<String> = field(v, "ExpirationTime")?;
    let at = match at.filter(|s| !s.is_empty() && s != "0001-01-01T00:00:00Z") {
        None => 0,
        Some(s) => crate::clock::parse_rfc3339_nanos(&s).ok_or_else(|| {
            ApiError::bad_request(format!("ExpirationTime: {s:?} is not an RFC 3339 time"))
        })?,
    };
    if ttl != 0 && at != 0 {
        return Err(ApiError::bad_request(
            "ExpirationTTL and ExpirationTime: set one of them, not both",
        ));
    }
    let expires = if ttl != 0 {
        t.create_time.saturating_add(ttl)
    } else {
        at
    };
    if expires == 0 {
        return Ok(());
    }
    let lifetime = expires.saturating_sub(t.create_time);
    let (min, max) = (api.acl.token_min_ttl_nanos, api.acl.token_max_ttl_nanos);
    if lifetime < min || lifetime > max {
        return Err(ApiError::bad_request(format!(
            "ExpirationTTL: the token would live {}; it must live between {} and {} (the agent's acl token_min_expiration_ttl and token_max_expiration_ttl)",
            orch_core::duration::format_go_duration(lifetime),
            orch_core::duration::format_go_duration(min),
            orch_core::duration::format_go_duration(max),
        )));
    }
    t.expiration_time = expires;
    t.expiration_ttl = ttl;
    Ok(())
}

/// Token reads: management, or the token itself.
fn may_read(authz: &Authz, accessor: &str) -> Result<(), ApiError> {
    if authz.is_management() || authz.token().is_some_and(|t| t.accessor_id == accessor) {
        Ok(())
    } else {
        Err(permission_denied())
    }
}
