//! Nomad's ACL API: `/v1/acl/bootstrap`, policies (here), tokens ([`tokens`]) and
//! roles ([`roles`]).
//!
//! Every write needs a management token; reads are open to management and to a token
//! for what it holds itself (its own policies, roles and token), as in Nomad. With ACLs
//! disabled these endpoints answer `400 ACL support disabled`, as Nomad's do.

pub mod roles;
pub mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use orch_core::model::acl::AclPolicy;
use orch_core::state::{AclPolicyAttach, AclPolicyDelete, Command, StateStore, table};
use serde_json::{Value, json};

use super::auth::Authz;
use super::query::{Api, Params, Query, field, json_body};
use super::{ApiError, ApiState, QueryOpts};

/// Nomad's one-time tokens hand a token's secret out again on exchange; orch keeps only
/// secret hashes, so it cannot, and says so.
const ONE_TIME_UNSUPPORTED: &str = "One-time tokens are not supported by orch: it stores only a hash of each token secret, so it cannot hand a secret out again. Create a short-lived token with an ExpirationTTL instead";

/// The ACL routes, for [`super::router_with`].
pub fn routes() -> Router<Arc<ApiState>> {
    Router::new()
        .route(
            "/v1/acl/bootstrap",
            post(tokens::bootstrap).put(tokens::bootstrap),
        )
        .route("/v1/acl/policies", get(list_policies))
        .route(
            "/v1/acl/policy/{name}",
            get(get_policy)
                .post(upsert_policy)
                .put(upsert_policy)
                .delete(delete_policy),
        )
        .route("/v1/acl/tokens", get(tokens::list))
        .route("/v1/acl/token", post(tokens::create).put(tokens::create))
        .route("/v1/acl/token/self", get(tokens::token_self))
        .route(
            "/v1/acl/token/onetime",
            post(one_time_unsupported).put(one_time_unsupported),
        )
        .route(
            "/v1/acl/token/onetime/exchange",
            post(one_time_unsupported).put(one_time_unsupported),
        )
        .route(
            "/v1/acl/token/{accessor}",
            get(tokens::read)
                .post(tokens::update)
                .put(tokens::update)
                .delete(tokens::delete),
        )
        .route("/v1/internal/acl/authorize", get(authorize))
        .route("/v1/acl/roles", get(roles::list))
        .route("/v1/acl/role", post(roles::create).put(roles::create))
        .route("/v1/acl/role/name/{name}", get(roles::read_by_name))
        .route(
            "/v1/acl/role/{id}",
            get(roles::read)
                .post(roles::update)
                .put(roles::update)
                .delete(roles::delete),
        )
}

/// `400 ACL support disabled` unless ACLs are on.
pub(crate) fn require_enabled(api: &ApiState) -> Result<(), ApiError> {
    if api.acl.enabled {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "ACL support disabled; enable it with acl { enabled = true } in the agent configuration (or -acl-enabled)",
        ))
    }
}

/// Commits an ACL command; returns its index.
pub(crate) async fn commit(api: &ApiState, cmd: Command) -> Result<u64, ApiError> {
    Ok(api.replicator.propose(cmd).await?.index)
}

/// A write's empty answer with its index, as Nomad's ACL writes answer.
pub(crate) fn write_ok(api: &ApiState, index: u64) -> Response {
    api.reply(index, &Value::Null)
}

fn acl_policy_index(s: &StateStore) -> u64 {
    s.index(table::ACL_POLICY)
}

/// The policy names a caller's token holds, directly or through roles.
pub(crate) fn held_policies(s: &StateStore, authz: &Authz) -> std::collections::BTreeSet<String> {
    let Some(t) = authz.token() else {
        return [orch_core::model::acl::ANONYMOUS_POLICY.to_string()].into();
    };
    let via_roles = t
        .roles
        .iter()
        .filter_map(|l| s.acl_role(&l.id))
        .flat_map(|r| r.policies.iter().map(|p| p.name.clone()));
    t.policies.iter().cloned().chain(via_roles).collect()
}

fn policy_stub(s: &StateStore, p: &AclPolicy) -> Value {
    json!({
        "Name": p.name,
        "Description": p.description,
        "JobACL": s.acl_policy_job(&p.name),
        "CreateIndex": p.create_index,
        "ModifyIndex": p.modify_index,
    })
}

/// `GET /v1/acl/policies`: management sees every policy, other tokens their own.
async fn list_policies(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    require_enabled(&api)?;
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, acl_policy_index).await;
    let s = api.state.read();
    let held = held_policies(&s, &q.authz);
    let body: Vec<Value> = s
        .acl_policies()
        .filter(|p| p.name.starts_with(&q.prefix))
        .filter(|p| q.authz.is_management() || held.contains(&p.name))
        .map(|p| policy_stub(&s, p))
        .collect();
    drop(s);
    Ok(api.reply(index, &body))
}

/// `GET /v1/acl/policy/:name`.
async fn get_policy(
    State(api): Api,
    Path(name): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    require_enabled(&api)?;
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, acl_policy_index).await;
    let s = api.state.read();
    if name == "self" {
        let body = self_policies(&s, &q.authz);
        drop(s);
        return Ok(api.reply(index, &body));
    }
    if !q.authz.is_management() && !held_policies(&s, &q.authz).contains(&name) {
        return Err(super::auth::permission_denied());
    }
    let p = s
        .acl_policy(&name)
        .ok_or_else(|| ApiError::not_found("ACL policy not found"))?;
    let mut body = serde_json::to_value(p).unwrap_or(Value::Null);
    body["JobACL"] = json!(s.acl_policy_job(&name));
    drop(s);
    Ok(api.reply(index, &body))
}

/// `GET /v1/acl/policy/self`: the stubs of the caller's policies: for a workload
/// identity the policies attached to its task, for a token those it holds (every
/// policy for management), as Nomad's `acl policy self` reads them.
fn self_policies(s: &StateStore, authz: &Authz) -> Vec<Value> {
    if let Some(w) = authz.workload() {
        let Some([ns, job, group, task]) = super::auth::workload_of(s, &w.claims) else {
            return Vec::new();
        };
        return s
            .workload_policies(&ns, &job, &group, &task)
            .map(|p| policy_stub(s, p))
            .collect();
    }
    let held = held_policies(s, authz);
    s.acl_policies()
        .filter(|p| authz.is_management() || held.contains(&p.name))
        .map(|p| policy_stub(s, p))
        .collect()
}

/// `POST /v1/acl/policy/:name`: body `{Name, Description, Rules, JobACL}`.
async fn upsert_policy(
    State(api): Api,
    Path(name): Path<String>,
    authz: Authz,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_enabled(&api)?;
    authz.check_management()?;
    let v = json_body(&body)?;
    let body_name: Option<String> = field(&v, "Name")?;
    if body_name
        .as_ref()
        .is_some_and(|n| !n.is_empty() && *n != name)
    {
        return Err(ApiError::bad_request(format!(
            "Name: the policy in the body is named {:?} but the URL names {name:?}; make them agree",
            body_name.unwrap_or_default()
        )));
    }
    let policy = AclPolicy {
        name,
        description: field(&v, "Description")?.unwrap_or_default(),
        rules: field(&v, "Rules")?.unwrap_or_default(),
        ..AclPolicy::default()
    };
    let cmd = Command::AclPolicyAttach(AclPolicyAttach {
        policy,
        job_acl: field(&v, "JobACL")?,
    });
    let index = commit(&api, cmd).await?;
    Ok(write_ok(&api, index))
}

/// `DELETE /v1/acl/policy/:name`.
async fn delete_policy(
    State(api): Api,
    Path(name): Path<String>,
    authz: Authz,
) -> Result<Response, ApiError> {
    let exists = |s: &StateStore| s.acl_policy(&name).is_some();
    let cmd = Command::AclPolicyDelete(AclPolicyDelete {
        names: vec![name.clone()],
    });
    delete_object(&api, &authz, "ACL policy not found", exists, cmd).await
}

/// Every ACL delete: ACLs on, a management caller, the object present (else a 404
/// with `missing`), then the command.
pub(crate) async fn delete_object(
    api: &ApiState,
    authz: &Authz,
    missing: &str,
    exists: impl FnOnce(&StateStore) -> bool,
    cmd: Command,
) -> Result<Response, ApiError> {
    require_enabled(api)?;
    authz.check_management()?;
    if !exists(&api.state.read()) {
        return Err(ApiError::not_found(missing));
    }
    let index = commit(api, cmd).await?;
    Ok(write_ok(api, index))
}

async fn one_time_unsupported(State(api): Api) -> Result<Response, ApiError> {
    require_enabled(&api)?;
    Err(ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        ONE_TIME_UNSUPPORTED,
    ))
}

/// `GET /v1/internal/acl/authorize?alloc=&cap=`: whether the caller's token grants `cap`
/// (a namespace capability, or `node-read`) on the allocation: how client-only agents
/// check callers of `/v1/client/...` (see [`super::client_acl`]). 200 yes, 403 no.
async fn authorize(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let cap = q.raw.get("cap").cloned().unwrap_or_default();
    let allowed = if cap == super::client_acl::NODE_READ {
        q.authz.node_read()
    } else if cap == super::client_acl::NODE_WRITE {
        q.authz.node_write()
    } else if cap == super::client_acl::AGENT_READ {
        q.authz.agent_level().allows_read()
    } else if cap == super::client_acl::AGENT_WRITE {
        q.authz.agent_level().allows_write()
    } else {
        let cap = orch_core::acl::NsCap::from_name(&cap)
            .ok_or_else(|| ApiError::bad_request(format!("cap: unknown capability {cap:?}")))?;
        let alloc = q.raw.get("alloc").cloned().unwrap_or_default();
        let ns = api
            .state
            .read()
            .alloc_stub(&alloc)
            .map(|a| a.namespace.to_string());
        // Without an allocation, a `namespace` names where `cap` is needed.
        let ns = ns.or_else(|| q.raw.get("namespace").filter(|_| alloc.is_empty()).cloned());
        match ns {
            Some(ns) => q.authz.allows(&ns, cap),
            None => q.authz.is_management(),
        }
    };
    if !allowed {
        return Err(super::auth::permission_denied());
    }
    Ok(api.reply(
        api.state.read().latest_index().max(1),
        &json!({"Allowed": true}),
    ))
}
