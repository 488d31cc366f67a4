//! ACL checks of the `/v1/client/...` endpoints (logs, files, stats, signals).
//!
//! On a server agent the ACL guard has already resolved the caller; the check here adds
//! the allocation's namespace, which only the state knows. A client-only agent has no
//! state: it asks a server (`GET /v1/internal/acl/authorize`) with the caller's token
//! and remembers the answer for the agent's `acl.token_ttl`, as Nomad's clients cache
//! resolved tokens.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::StatusCode;
use orch_core::acl::NsCap;

use super::auth::{Authz, presented_secret, secret_hash};
use super::query::ApiError;
use crate::server::StateHandle;

/// Most answers a client agent remembers; the oldest half is dropped past it.
const MAX_CACHED: usize = 4096;

/// `(secret hash, allocation, capability)`: what one cached answer is about.
type CacheKey = (String, String, &'static str);

/// A client-only agent's way to authorize callers: ask a server, cache the answer.
pub struct RemoteAcl {
    servers: Vec<String>,
    /// The servers' RPC ports keep `/v1/internal/...` (TLS and secret as configured).
    link: crate::tls::Link,
    ttl: Duration,
    cache: Mutex<HashMap<CacheKey, (Instant, bool)>>,
}

impl RemoteAcl {
    /// Asks `servers` (`host:port` of their RPC ports) through `link`, caching
    /// answers for `ttl`.
    pub fn new(servers: Vec<String>, link: crate::tls::Link, ttl: Duration) -> Self {
        RemoteAcl {
            servers,
            link,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the caller's `secret` grants `cap` on allocation `alloc` (`cap` `node-read`
    /// with an empty `alloc`: node reads).
    async fn allows(
        &self,
        secret: Option<&str>,
        alloc: &str,
        cap: &'static str,
    ) -> Result<bool, ApiError> {
        let key = (
            secret.map(secret_hash).unwrap_or_default(),
            alloc.to_string(),
            cap,
        );
        if let Ok(cache) = self.cache.lock()
            && let Some((at, ok)) = cache.get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok(*ok);
        }
        let ok = self.ask(secret, alloc, cap).await?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MAX_CACHED {
                let ttl = self.ttl;
                cache.retain(|_, (at, _)| at.elapsed() < ttl);
            }
            if cache.len() < MAX_CACHED {
                cache.insert(key, (Instant::now(), ok));
            }
        }
        Ok(ok)
    }

    async fn ask(&self, secret: Option<&str>, alloc: &str, cap: &str) -> Result<bool, ApiError> {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("alloc", alloc)
            .append_pair("cap", cap)
            .finish();
        self.ask_path(secret, &format!("/v1/internal/acl/authorize?{query}"))
            .await
    }

    /// The JSON a server answers `path` with for the caller's `secret` (403 is a 403).
    async fn get_json(
        &self,
        secret: Option<&str>,
        path: &str,
    ) -> Result<serde_json::Value, ApiError> {
        match self.first_answer(secret, path).await? {
            Some(r) => r
                .json()
                .await
                .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, e.to_string())),
            None => Err(super::auth::permission_denied()),
        }
    }

    /// Whether a server answers `path` (an authorize endpoint) with success for the
    /// caller's `secret`: 403 is no.
    async fn ask_path(&self, secret: Option<&str>, path: &str) -> Result<bool, ApiError> {
        Ok(self.first_answer(secret, path).await?.is_some())
    }

    /// The first server's success for `GET path` as the caller (`None`: a 403); any
    /// other answer is retried on the next server.
    async fn first_answer(
        &self,
        secret: Option<&str>,
        path: &str,
    ) -> Result<Option<reqwest::Response>, ApiError> {
        let mut last = String::from("no servers configured");
        for server in &self.servers {
            let base = server.trim_end_matches('/');
            let mut req = self
                .link
                .client()
                .get(self.link.url(base, path))
                .timeout(Duration::from_secs(10));
            if let Some(s) = secret {
                req = req.header(super::auth::TOKEN_HEADER, s);
            }
            match req.send().await {
                Ok(r) if r.status().is_success() => return Ok(Some(r)),
                Ok(r) if r.status() == reqwest::StatusCode::FORBIDDEN => return Ok(None),
                Ok(r) => last = format!("{base}: {}", r.status()),
                Err(e) => last = format!("{base}: {e}"),
            }
        }
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "cannot check the caller's ACL token with a server ({last}); retry when a server is reachable"
            ),
        ))
    }
}

/// What a check needs of a request, taken out of it first (a `Request` cannot be held
/// across an `.await` in a handler).
pub struct Caller {
    /// The guard's answer (nobody when no guard ran).
    pub authz: Authz,
    /// The presented token secret.
    pub secret: Option<String>,
}

impl Caller {
    /// The caller of `req`.
    pub fn of(req: &Request) -> Caller {
        Caller {
            authz: req
                .extensions()
                .get::<Authz>()
                .cloned()
                .unwrap_or_else(Authz::nobody),
            secret: presented_secret(req.headers()),
        }
    }
}

/// How a `/v1/client/...` handler authorizes its caller.
#[derive(Clone, Default)]
pub enum ClientAcl {
    /// ACLs are off on this agent.
    #[default]
    Off,
    /// A server agent: the guard's [`Authz`] plus the state's allocation namespaces.
    Local(StateHandle),
    /// A client-only agent: ask the servers.
    Remote(std::sync::Arc<RemoteAcl>),
}

impl ClientAcl {
    /// Whether the caller of `req` has `cap` in allocation `alloc`'s namespace; an
    /// allocation the state does not know goes on (the handler answers 404).
    pub async fn check_alloc(&self, req: &Caller, alloc: &str, cap: NsCap) -> Result<(), ApiError> {
        match self {
            ClientAcl::Off => Ok(()),
            ClientAcl::Local(state) => {
                let authz = req.authz.clone();
                let ns = state.read().alloc_stub(alloc).map(|a| a.namespace.clone());
                match ns {
                    Some(ns) => authz.check(&ns, cap),
                    None if authz.enforced() && !authz.is_management() => {
                        Err(super::auth::permission_denied())
                    }
                    None => Ok(()),
                }
            }
            ClientAcl::Remote(remote) => {
                if remote
                    .allows(req.secret.as_deref(), alloc, cap.name())
                    .await?
                {
                    Ok(())
                } else {
                    Err(super::auth::permission_denied())
                }
            }
        }
    }

    /// Whether the caller of `req` may read node data (host stats).
    pub async fn check_node_read(&self, req: &Caller) -> Result<(), ApiError> {
        self.check_node(req, NODE_READ).await
    }

    /// Whether the caller of `req` holds `cap`: node data read or written
    /// (`NODE_READ`, `NODE_WRITE`) or the agent's settings (`AGENT_READ`, `AGENT_WRITE`).
    pub async fn check_node(&self, req: &Caller, cap: &'static str) -> Result<(), ApiError> {
        let allowed = match self {
            ClientAcl::Off => true,
            ClientAcl::Local(_) if cap == NODE_WRITE => req.authz.node_write(),
            ClientAcl::Local(_) if cap == AGENT_READ => req.authz.agent_level().allows_read(),
            ClientAcl::Local(_) if cap == AGENT_WRITE => req.authz.agent_level().allows_write(),
            ClientAcl::Local(_) => req.authz.node_read(),
            ClientAcl::Remote(remote) => remote.allows(req.secret.as_deref(), "", cap).await?,
        };
        if allowed {
            Ok(())
        } else {
            Err(super::auth::permission_denied())
        }
    }
}

impl ClientAcl {
    /// Whether the caller has `cap` in `namespace` (controller operations a user
    /// asked for through the servers).
    pub async fn check_namespace(
        &self,
        req: &Caller,
        ns: &str,
        cap: NsCap,
    ) -> Result<(), ApiError> {
        let allowed = match self {
            ClientAcl::Off => true,
            ClientAcl::Local(_) => req.authz.allows(ns, cap),
            ClientAcl::Remote(remote) => {
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("namespace", ns)
                    .append_pair("cap", cap.name())
                    .finish();
                let path = format!("/v1/internal/acl/authorize?{query}");
                remote.ask_path(req.secret.as_deref(), &path).await?
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(super::auth::permission_denied())
        }
    }

    /// Whether the caller presented node `node`'s secret and `alloc` runs there (and,
    /// with `previous`, replaces that allocation): a node may have a controller
    /// publish volumes for its own allocations, and fetch the disk they migrate.
    pub async fn check_node_claim(
        &self,
        req: &Caller,
        node: &str,
        alloc: &str,
        previous: Option<&str>,
    ) -> Result<(), ApiError> {
        let allowed = match self {
            ClientAcl::Off => true,
            ClientAcl::Local(state) => local_node_claim(state, req, node, alloc, previous),
            ClientAcl::Remote(remote) => {
                // The serializer is not Send: build the query before any await.
                let query = {
                    let mut q = url::form_urlencoded::Serializer::new(String::new());
                    q.append_pair("alloc", alloc);
                    if let Some(p) = previous {
                        q.append_pair("previous", p);
                    }
                    q.finish()
                };
                let path = format!(
                    "/v1/internal/node/{}/csi/authorize?{query}",
                    crate::http::client_csi::path_segment(node)
                );
                remote.ask_path(req.secret.as_deref(), &path).await?
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(super::auth::permission_denied())
        }
    }
}

impl ClientAcl {
    /// Whether namespace `ns` holds a volume of plugin `plugin` with provider ID
    /// `external_id` that the caller may read: a controller operation on an existing
    /// volume is then about the caller's own volume, not another namespace's.
    pub async fn check_volume_in_namespace(
        &self,
        req: &Caller,
        ns: &str,
        plugin: &str,
        external_id: &str,
    ) -> Result<(), ApiError> {
        let found = match self {
            ClientAcl::Off => true,
            ClientAcl::Local(state) => state.read().csi_volumes().any(|v| {
                v.namespace == ns && v.plugin_id == plugin && v.external_id == external_id
            }),
            ClientAcl::Remote(remote) => {
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("type", "csi")
                    .append_pair("namespace", ns)
                    .append_pair("plugin_id", plugin)
                    .finish();
                let list = remote
                    .get_json(req.secret.as_deref(), &format!("/v1/volumes?{query}"))
                    .await?;
                list.as_array()
                    .into_iter()
                    .flatten()
                    .any(|v| v["ExternalID"] == external_id)
            }
        };
        if found {
            Ok(())
        } else {
            Err(super::auth::permission_denied())
        }
    }
}

/// [`ClientAcl::check_node_claim`] on a server agent: its own state answers.
fn local_node_claim(
    state: &StateHandle,
    req: &Caller,
    node: &str,
    alloc: &str,
    previous: Option<&str>,
) -> bool {
    let s = state.read();
    let secret_ok = s.node(node).is_some_and(|n| {
        !n.secret_id.is_empty()
            && req
                .secret
                .as_deref()
                .is_some_and(|given| super::auth::constant_time_eq(&n.secret_id, given))
    });
    secret_ok
        && s.alloc_stub(alloc).is_some_and(|a| {
            a.node_id.as_str() == node && previous.is_none_or(|p| a.previous_allocation == p)
        })
}

/// The `cap` of an authorize call that asks for `node` read.
pub const NODE_READ: &str = "node-read";
/// The `cap` of an authorize call that asks for `node` write.
pub const NODE_WRITE: &str = "node-write";
/// The `cap` of an authorize call that asks for `agent` read.
pub const AGENT_READ: &str = "agent-read";
/// The `cap` of an authorize call that asks for `agent` write.
pub const AGENT_WRITE: &str = "agent-write";
