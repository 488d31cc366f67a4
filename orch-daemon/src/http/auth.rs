//! Who is calling and what they may do: the ACL guard in front of every `/v1` route.
//!
//! The guard reads the caller's token (`X-Nomad-Token`, or `Authorization: Bearer`),
//! resolves it against the replicated ACL tables ([`StateStore::resolve_acl`]) and
//! checks the rule of the matched route ([`rules::rule_for`]) before the handler runs.
//! The handler gets the result as an [`Authz`] (an extractor, and inside every
//! [`super::QueryOpts`]), so lists drop what the caller may not see and handlers of
//! objects named by ID check the object's own namespace.
//!
//! With ACLs disabled every caller may do everything, as in Nomad. Clients authenticate
//! their own calls with their node's secret, compared in constant time.

pub mod rules;

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use orch_core::acl::{Acl, AclError, Level, NsCap};
use orch_core::model::acl::AclToken;
use orch_core::state::StateStore;
use sha2::{Digest, Sha256};

use super::ApiState;
use super::query::ApiError;
use crate::server::StateHandle;
use rules::Rule;

/// The header Nomad's tools send the token in.
pub const TOKEN_HEADER: &str = "x-nomad-token";

/// The hex SHA-256 of a secret: the only form in which secrets reach the state.
pub fn secret_hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equality that takes the same time wherever the inputs differ, for secrets.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Nomad's answer to a caller without the right: 403 `Permission denied`.
pub fn permission_denied() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "Permission denied")
}

/// Who the caller is.
#[derive(Debug)]
pub enum Caller {
    /// ACLs are disabled: everything is allowed.
    Open,
    /// A token (or none: the anonymous policy) and its merged rights.
    Token {
        /// The token, `None` for anonymous.
        token: Option<Box<AclToken>>,
        /// Its rights.
        acl: Acl,
    },
    /// A client node authenticated by its secret; only its own endpoints.
    Node(String),
    /// A task presenting its workload identity: its job's variables and the service
    /// registrations of its namespace (Nomad's implicit policy), plus the rules of the
    /// policies attached to it (`JobACL`).
    Workload(Box<WorkloadCaller>),
}

/// A verified workload identity and the rules of the policies attached to its task.
#[derive(Debug)]
pub struct WorkloadCaller {
    /// The identity's claims.
    pub claims: crate::server::identity::Claims,
    /// The merged rules of the policies whose `JobACL` matches the task.
    pub acl: Acl,
}

/// The caller's rights as handlers see them.
#[derive(Debug, Clone)]
pub struct Authz {
    caller: Arc<Caller>,
    /// The capability a list needs per item (`list-jobs`, `read-job`): set by the
    /// route's rule, so [`super::QueryOpts::sees`] filters without the handler knowing.
    list_cap: Option<NsCap>,
    /// Set by the service routes' rule: list items are filtered by
    /// [`Authz::allows_service_read`] instead of `list_cap`.
    services_list: bool,
}

impl Authz {
    /// ACLs disabled: everything allowed.
    pub fn open() -> Authz {
        Authz {
            caller: Arc::new(Caller::Open),
            list_cap: None,
            services_list: false,
        }
    }

    /// Nothing allowed: what a handler gets when no guard ran (fails closed).
    pub fn nobody() -> Authz {
        Authz {
            caller: Arc::new(Caller::Token {
                token: None,
                acl: Acl::default(),
            }),
            list_cap: Some(NsCap::Deny),
            services_list: false,
        }
    }

    /// A caller with exactly these rights and no token (tests, embedders).
    pub fn for_acl(acl: Acl) -> Authz {
        Authz {
            caller: Arc::new(Caller::Token { token: None, acl }),
            list_cap: None,
            services_list: false,
        }
    }

    /// The token the caller presented, if any.
    pub fn token(&self) -> Option<&AclToken> {
        match &*self.caller {
            Caller::Token { token, .. } => token.as_deref(),
            _ => None,
        }
    }

    /// The workload identity the caller presented, if it is one.
    pub fn workload(&self) -> Option<&WorkloadCaller> {
        match &*self.caller {
            Caller::Workload(w) => Some(w),
            _ => None,
        }
    }

    /// Whether ACLs are enforced for this caller.
    pub fn enforced(&self) -> bool {
        !matches!(&*self.caller, Caller::Open)
    }

    /// Whether `cap` is granted in `namespace`.
    pub fn allows(&self, namespace: &str, cap: NsCap) -> bool {
        match &*self.caller {
            Caller::Open => true,
            Caller::Token { acl, .. } => acl.allows_namespace(namespace, cap),
            Caller::Workload(w) => w.acl.allows_namespace(namespace, cap),
            Caller::Node(_) => false,
        }
    }

    /// Whether any capability is granted in `namespace` (what makes it visible in the
    /// namespace list).
    pub fn allows_any(&self, namespace: &str) -> bool {
        match &*self.caller {
            Caller::Open => true,
            Caller::Token { acl, .. } => acl.allows_any_in_namespace(namespace),
            Caller::Workload(w) => w.acl.allows_any_in_namespace(namespace),
            Caller::Node(_) => false,
        }
    }

    /// `cap` in `namespace`, or a 403.
    pub fn check(&self, namespace: &str, cap: NsCap) -> Result<(), ApiError> {
        if self.allows(namespace, cap) {
            Ok(())
        } else {
            Err(permission_denied())
        }
    }

    /// Whether a list item in `namespace` is visible (the route's list capability).
    pub fn sees(&self, namespace: &str) -> bool {
        if self.services_list {
            return self.allows_service_read(namespace);
        }
        match self.list_cap {
            None => true,
            Some(cap) => self.allows(namespace, cap),
        }
    }

    /// The caller's level of a coarse rule (`node`, `agent`, `operator`, `quota`).
    fn level(&self, pick: fn(&Acl) -> Level) -> Level {
        match &*self.caller {
            Caller::Open => Level::Write,
            Caller::Token { acl, .. } => pick(acl),
            Caller::Workload(w) => pick(&w.acl),
            Caller::Node(_) => Level::None,
        }
    }

    /// Whether node reads are allowed (node lists, and node results of a search).
    pub fn node_read(&self) -> bool {
        self.level(Acl::node).allows_read()
    }

    /// Whether the `quota` rules allow reads (quota results of a search).
    pub fn quota_read(&self) -> bool {
        self.level(Acl::quota).allows_read()
    }

    /// Whether the `plugin` rules allow reads (plugin results of a search).
    pub fn plugin_read(&self) -> bool {
        self.level(Acl::plugin).allows_read()
    }

    /// Whether the `operator` rules allow reads (the event stream's `Operator` topic).
    pub fn operator_read(&self) -> bool {
        self.level(Acl::operator).allows_read()
    }

    /// Whether node writes are allowed (dynamic node metadata).
    pub fn node_write(&self) -> bool {
        self.level(Acl::node).allows_write()
    }

    /// The caller's level on the `node_pool` rules for `pool` (nodes' own secrets
    /// grant nothing here).
    pub fn node_pool_level(&self, pool: &str) -> Level {
        match &*self.caller {
            Caller::Open => Level::Write,
            Caller::Token { acl, .. } => acl.node_pool(pool),
            Caller::Workload(w) => w.acl.node_pool(pool),
            Caller::Node(_) => Level::None,
        }
    }

    /// Whether the caller holds `cap` on the variable at `path` in `namespace`.
    pub fn allows_variable(
        &self,
        namespace: &str,
        path: &str,
        cap: orch_core::acl::VarCap,
    ) -> bool {
        match &*self.caller {
            Caller::Open => true,
            Caller::Token { acl, .. } => acl.allows_variable(namespace, path, cap),
            Caller::Workload(w) => {
                let implicit =
                    matches!(
                        cap,
                        orch_core::acl::VarCap::Read | orch_core::acl::VarCap::List
                    ) && crate::server::identity::may_read_variable(&w.claims, namespace, path);
                implicit || w.acl.allows_variable(namespace, path, cap)
            }
            Caller::Node(_) => false,
        }
    }

    /// Whether the caller may list and read the service registrations of `namespace`:
    /// `read-job` there, or a workload identity of that namespace (Nomad's implicit
    /// workload policy lets `nomadService` work without a token).
    pub fn allows_service_read(&self, namespace: &str) -> bool {
        match &*self.caller {
            Caller::Workload(w) if w.claims.nomad_namespace == namespace => true,
            _ => self.allows(namespace, NsCap::ReadJob),
        }
    }

    /// The caller's level on the `agent` rules (a client's server list).
    pub fn agent_level(&self) -> orch_core::acl::Level {
        self.level(Acl::agent)
    }

    /// Whether this caller holds a management token (or ACLs are disabled).
    pub fn is_management(&self) -> bool {
        match &*self.caller {
            Caller::Open => true,
            Caller::Token { acl, .. } => acl.is_management(),
            Caller::Node(_) | Caller::Workload(_) => false,
        }
    }

    /// Whether the caller presented a management token; false with ACLs disabled (who
    /// may still register jobs while `RejectJobRegistration` is set: Nomad's rule).
    pub fn holds_management_token(&self) -> bool {
        matches!(&*self.caller, Caller::Token { acl, .. } if acl.is_management())
    }

    /// A management token, or a 403.
    pub fn check_management(&self) -> Result<(), ApiError> {
        if self.is_management() {
            Ok(())
        } else {
            Err(permission_denied())
        }
    }

    /// Whether the caller is the client node `node_id` (its secret was presented).
    pub fn is_node(&self, node_id: &str) -> bool {
        matches!(&*self.caller, Caller::Node(id) if id == node_id)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Authz {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Authz>()
            .cloned()
            .unwrap_or_else(Authz::nobody))
    }
}

/// `req` carrying the caller's credentials from `headers` (`X-Nomad-Token`,
/// `Authorization`), for a request forwarded to another agent on the caller's behalf.
pub fn with_caller_credentials(
    mut req: reqwest::RequestBuilder,
    headers: &axum::http::HeaderMap,
) -> reqwest::RequestBuilder {
    for name in [TOKEN_HEADER, "authorization"] {
        if let Some(v) = headers.get(name) {
            req = req.header(name, v.as_bytes());
        }
    }
    req
}

/// The secret the caller presented: `X-Nomad-Token`, else `Authorization: Bearer`.
pub fn presented_secret(headers: &axum::http::HeaderMap) -> Option<String> {
    if let Some(v) = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if !v.is_empty() {
            return Some(v.to_string());
        }
    }
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))?;
    Some(token.trim().to_string()).filter(|t| !t.is_empty())
}

/// The guard: resolves the caller, checks the route's rule, hands the handler an
/// [`Authz`]. Paths that match no route go on to the 404 handler.
pub async fn guard(State(api): State<Arc<ApiState>>, mut req: Request, next: Next) -> Response {
    if let Some(region) = query_param(req.uri().query(), "region")
        && region != api.agent.region
    {
        // orch has no federation: a request for another region is never answered from
        // this one's state (Nomad's `ErrNoRegionPath`).
        return ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "No path to region: this cluster serves region {:?} only and orch does not federate regions; drop ?region={region} or send the request to that region's servers",
                api.agent.region
            ),
        )
        .into_response();
    }
    let authz = if api.acl.enabled {
        let Some(path) = req
            .extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_string())
        else {
            return next.run(req).await;
        };
        let rule = rules::rule_for(req.method(), &path);
        match authorize(&api, &req, rule) {
            Ok(authz) => authz,
            Err(e) => return e.into_response(),
        }
    } else {
        Authz::open()
    };
    req.extensions_mut().insert(authz);
    next.run(req).await
}

/// The caller's [`Authz`] for a route with `rule`, or why it may not call it.
fn authorize(api: &ApiState, req: &Request, rule: Rule) -> Result<Authz, ApiError> {
    let secret = presented_secret(req.headers());
    if let Rule::NodeSecret = rule {
        return authorize_node(api, req.uri().path(), secret.as_deref());
    }
    if let Rule::NodeAllocs = rule
        && let Some(node) = node_caller(api, req.uri().path(), secret.as_deref())
    {
        return Ok(node);
    }
    let state = api.state.read();
    let caller = resolve(&state, secret.as_deref(), (api.now)())?;
    drop(state);
    let authz = Authz {
        caller: Arc::new(caller),
        list_cap: None,
        services_list: false,
    };
    let ns = request_namespace(req.uri().query());
    rules::check(authz, &rule, &ns)
}

/// The [`Authz`] of a secret presented inside a stream rather than as a header (the
/// first message of `alloc exec`'s websocket under `ws_handshake`).
pub fn authz_for_secret(state: &StateHandle, secret: Option<&str>) -> Result<Authz, ApiError> {
    let caller = resolve(&state.read(), secret, crate::clock::now_nanos())?;
    Ok(Authz {
        caller: Arc::new(caller),
        list_cap: None,
        services_list: false,
    })
}

/// The caller a secret stands for: anonymous without one.
fn resolve(state: &StateStore, secret: Option<&str>, now: i64) -> Result<Caller, ApiError> {
    if let Some(token) = secret.filter(|s| crate::server::identity::looks_like_jwt(s)) {
        let claims = crate::server::identity::verify(state, token, now)
            .map_err(|e| ApiError::new(StatusCode::FORBIDDEN, e.to_string()))?;
        let acl = workload_acl(state, &claims);
        return Ok(Caller::Workload(Box::new(WorkloadCaller { claims, acl })));
    }
    let hash = secret.map(secret_hash);
    match state.resolve_acl(hash.as_deref(), now) {
        Ok((token, acl)) => Ok(Caller::Token {
            token: token.cloned().map(Box::new),
            acl,
        }),
        Err(e @ (AclError::TokenNotFound | AclError::TokenExpired)) => {
            Err(ApiError::new(StatusCode::FORBIDDEN, e.to_string()))
        }
        Err(e) => Err(ApiError::bad_request(e.to_string())),
    }
}

/// The task behind `claims` as policies are attached to it (namespace, job, group,
/// task), matched as Nomad does: the allocation's group, and a dispatched or periodic
/// child as its parent job. `None` once the allocation is gone.
pub fn workload_of(
    state: &StateStore,
    claims: &crate::server::identity::Claims,
) -> Option<[String; 4]> {
    let alloc = state.alloc(&claims.nomad_allocation_id)?;
    let job = state
        .job(&alloc.namespace, &alloc.job_id)
        .filter(|j| !j.parent_id.is_empty())
        .map_or(alloc.job_id.to_string(), |j| j.parent_id.clone());
    Some([
        alloc.namespace.to_string(),
        job,
        alloc.task_group.to_string(),
        claims.nomad_task.clone(),
    ])
}

/// The rules of the policies attached to the task behind `claims`.
fn workload_acl(state: &StateStore, claims: &crate::server::identity::Claims) -> Acl {
    match workload_of(state, claims) {
        Some([ns, job, group, task]) => state.workload_acl(&ns, &job, &group, &task),
        None => Acl::default(),
    }
}

/// `/v1/internal/node/{id}/...`: the caller must present node `{id}`'s secret. A node
/// the servers do not know goes on (the handler answers `node not found`, and the
/// client registers); registration itself is checked by the state (a known node's
/// secret must match).
fn authorize_node(api: &ApiState, path: &str, secret: Option<&str>) -> Result<Authz, ApiError> {
    let Some(node_id) = node_id_in(path) else {
        // `/v1/internal/node/register`: the state machine checks the secret.
        return Ok(Authz {
            caller: Arc::new(Caller::Node(String::new())),
            list_cap: None,
            services_list: false,
        });
    };
    let known = api.state.read().node(node_id).map(|n| n.secret_id.clone());
    match (known, secret) {
        (None, _) => Ok(Authz {
            caller: Arc::new(Caller::Node(node_id.to_string())),
            list_cap: None,
            services_list: false,
        }),
        (Some(expected), Some(given))
            if !expected.is_empty() && constant_time_eq(&expected, given) =>
        {
            Ok(Authz {
                caller: Arc::new(Caller::Node(node_id.to_string())),
                list_cap: None,
                services_list: false,
            })
        }
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("Permission denied: the node secret does not match node {node_id}"),
        )),
    }
}

/// The node a `/v1/node/{id}/...` caller is, when it presents that node's secret.
fn node_caller(api: &ApiState, path: &str, secret: Option<&str>) -> Option<Authz> {
    let node_id = path.strip_prefix("/v1/node/")?.split('/').next()?;
    let secret = secret?;
    let expected = api.state.read().node(node_id)?.secret_id.clone();
    (!expected.is_empty() && constant_time_eq(&expected, secret)).then(|| Authz {
        caller: Arc::new(Caller::Node(node_id.to_string())),
        list_cap: None,
        services_list: false,
    })
}

/// The `{id}` of `/v1/internal/node/{id}/...`.
fn node_id_in(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v1/internal/node/")?;
    let (id, tail) = rest.split_once('/')?;
    (!id.is_empty() && !tail.is_empty()).then_some(id)
}

/// `?namespace=` of a request (`default` when absent, `*` for all).
fn request_namespace(query: Option<&str>) -> String {
    query_param(query, "namespace").unwrap_or_else(|| "default".to_string())
}

/// A non-empty query parameter, decoded.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query
        .into_iter()
        .flat_map(|q| url::form_urlencoded::parse(q.as_bytes()))
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests;
