//! `/v1/acl/roles` and `/v1/acl/role/...`: named groups of policies tokens link to.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::model::acl::{AclRole, AclRolePolicyLink};
use orch_core::state::{AclRoleDelete, AclRoleUpsert, Command, StateStore, table};
use serde_json::Value;

use super::{commit, require_enabled};
use crate::http::auth::{Authz, permission_denied};
use crate::http::query::{Api, Params, Query, field, json_body};
use crate::http::{ApiError, ApiState, QueryOpts};

fn acl_role_index(s: &StateStore) -> u64 {
    s.index(table::ACL_ROLE)
}

/// Whether the caller's token links to the role (or is management).
fn holds(authz: &Authz, role_id: &str) -> bool {
    authz.is_management()
        || authz
            .token()
            .is_some_and(|t| t.roles.iter().any(|l| l.id == role_id))
}

/// `GET /v1/acl/roles`: management sees all, other tokens their own; `prefix` on the ID.
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    require_enabled(&api)?;
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, acl_role_index).await;
    let body: Vec<AclRole> = api
        .state
        .read()
        .acl_roles()
        .filter(|r| r.id.starts_with(&q.prefix) && holds(&q.authz, &r.id))
        .cloned()
        .collect();
    Ok(api.reply(index, &body))
}

/// `GET /v1/acl/role/:id`.
pub async fn read(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    require_enabled(&api)?;
    let q = QueryOpts::parse(raw)?;
    if !holds(&q.authz, &id) {
        return Err(permission_denied());
    }
    let index = api.block(&q, acl_role_index).await;
    let role = api.state.read().acl_role(&id).cloned();
    let role = role.ok_or_else(|| ApiError::not_found("ACL role not found"))?;
    Ok(api.reply(index, &role))
}

/// `GET /v1/acl/role/name/:name`.
pub async fn read_by_name(
    State(api): Api,
    Path(name): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    require_enabled(&api)?;
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, acl_role_index).await;
    let role = api.state.read().acl_role_by_name(&name).cloned();
    let role = role.ok_or_else(|| ApiError::not_found("ACL role not found"))?;
    if !holds(&q.authz, &role.id) {
        return Err(permission_denied());
    }
    Ok(api.reply(index, &role))
}

/// `POST /v1/acl/role`: creates a role; answers it with its new ID.
pub async fn create(State(api): Api, authz: Authz, body: Bytes) -> Result<Response, ApiError> {
    require_enabled(&api)?;
    authz.check_management()?;
    let v = json_body(&body)?;
    let given: Option<String> = field(&v, "ID")?;
    if given.is_some_and(|id| !id.is_empty()) {
        return Err(ApiError::bad_request(
            "ID: a new role gets its ID from the server; update an existing role at /v1/acl/role/:id",
        ));
    }
    let id = api.new_id();
    upsert(&api, role_from_body(&v, id)?).await
}

/// `POST /v1/acl/role/:id`: replaces a role.
pub async fn update(
    State(api): Api,
    Path(id): Path<String>,
    authz: Authz,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_enabled(&api)?;
    authz.check_management()?;
    let v = json_body(&body)?;
    if field::<String>(&v, "ID")?.is_some_and(|b| !b.is_empty() && b != id) {
        return Err(ApiError::bad_request(
            "ID: the body's role ID differs from the URL's",
        ));
    }
    if api.state.read().acl_role(&id).is_none() {
        return Err(ApiError::not_found("ACL role not found"));
    }
    upsert(&api, role_from_body(&v, id)?).await
}

async fn upsert(api: &ApiState, role: AclRole) -> Result<Response, ApiError> {
    let id = role.id.clone();
    let index = commit(
        api,
        Command::AclRoleUpsert(AclRoleUpsert { roles: vec![role] }),
    )
    .await?;
    let role = api.state.read().acl_role(&id).cloned();
    let role = role.ok_or_else(|| ApiError::not_found("ACL role not found"))?;
    Ok(api.reply(index, &role))
}

/// `DELETE /v1/acl/role/:id`.
pub async fn delete(
    State(api): Api,
    Path(id): Path<String>,
    authz: Authz,
) -> Result<Response, ApiError> {
    let exists = |s: &StateStore| s.acl_role(&id).is_some();
    let cmd = Command::AclRoleDelete(AclRoleDelete {
        ids: vec![id.clone()],
    });
    super::delete_object(&api, &authz, "ACL role not found", exists, cmd).await
}

fn role_from_body(v: &Value, id: String) -> Result<AclRole, ApiError> {
    let policies: Vec<Value> = field(v, "Policies")?.unwrap_or_default();
    let policies = policies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let name: Option<String> = field(p, "Name")?;
            name.filter(|n| !n.is_empty())
                .map(|name| AclRolePolicyLink { name })
                .ok_or_else(|| {
                    ApiError::bad_request(format!("Policies[{i}].Name: name the policy"))
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(AclRole {
        id,
        name: field(v, "Name")?.unwrap_or_default(),
        description: field(v, "Description")?.unwrap_or_default(),
        policies,
        ..AclRole::default()
    })
}
