//! Nomad's client endpoints: `/v1/client/fs/{logs,ls,stat,cat}/:alloc`,
//! `/v1/client/allocation/:id/{stats,signal,checks}` and `/v1/client/stats`.
//!
//! They are answered by the agent whose client runs the allocation. A server that does
//! not run it forwards the request to the node's HTTP address, as Nomad's servers
//! forward to clients, so users can point every tool at any agent.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine;
use serde_json::{Value, json};

use orch_core::acl::NsCap;

use super::query::ApiError;
use crate::client::Client;
use crate::client::driver::logs::{LogFollower, LogKind, seek_position};
use crate::server::StateHandle;

/// What the client endpoints need.
#[derive(Clone)]
pub struct ClientHttp {
    /// The local client, if this agent runs one.
    pub client: Option<Arc<Client>>,
    /// The servers' state, if this agent is a server (to find where an allocation runs).
    pub state: Option<StateHandle>,
    /// For forwarding to other agents' HTTP APIs (TLS when `tls.http`).
    pub http: crate::tls::Link,
    /// How callers are authorized.
    pub acl: super::client_acl::ClientAcl,
    /// The agent's data dir (`/v1/agent/host` reports its disk).
    pub data_dir: Option<std::path::PathBuf>,
}

/// The client routes.
pub fn client_router(ch: ClientHttp) -> Router {
    Router::new()
        .merge(super::client_csi::routes())
        .merge(super::client_meta::routes())
        .merge(super::client_servers::routes())
        .merge(super::client_exec::routes())
        .merge(super::client_gc::routes())
        .route("/v1/client/fs/logs/{alloc}", get(logs))
        .route("/v1/client/fs/ls/{alloc}", get(ls))
        .route("/v1/client/fs/stat/{alloc}", get(stat))
        .route("/v1/client/fs/cat/{alloc}", get(cat))
        .route(
            "/v1/client/fs/readat/{alloc}",
            get(super::client_file_stream::readat),
        )
        .route(
            "/v1/client/fs/stream/{alloc}",
            get(super::client_file_stream::stream),
        )
        .route("/v1/client/allocation/{alloc}/stats", get(alloc_stats))
        .route(
            "/v1/client/allocation/{alloc}/snapshot",
            get(super::migrate::snapshot),
        )
        .route(
            "/v1/client/allocation/{alloc}/signal",
            put(signal).post(signal),
        )
        .route("/v1/client/stats", get(host_stats))
        .route("/v1/client/allocation/{alloc}/checks", get(alloc_checks))
        // Nomad's server-side path to the same results (`nomad alloc checks`).
        .route("/v1/allocation/{id}/checks", get(alloc_checks))
        .route(
            "/v1/client/allocation/{alloc}/restart",
            post(restart).put(restart),
        )
        .with_state(Arc::new(ch))
}

pub(super) type Ch = State<Arc<ClientHttp>>;
type Q = Query<BTreeMap<String, String>>;

/// Where an allocation's request is answered.
pub(super) enum Target {
    Local(Arc<Client>),
    Remote(String),
}

pub(super) fn target(ch: &ClientHttp, alloc_id: &str) -> Result<Target, ApiError> {
    if let Some(c) = &ch.client
        && c.alloc_state(alloc_id).is_some()
    {
        return Ok(Target::Local(Arc::clone(c)));
    }
    let Some(state) = &ch.state else {
        return Err(ApiError::not_found(
            "Unknown allocation: not on this client",
        ));
    };
    let s = state.read();
    let Some(alloc) = s.alloc_stub(alloc_id) else {
        return Err(ApiError::not_found("Unknown allocation"));
    };
    let Some(node) = s.node(&alloc.node_id) else {
        return Err(ApiError::not_found("the allocation's node is unknown"));
    };
    if node.http_addr.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("node {} has no HTTP address to forward to", node.id),
        ));
    }
    if ch.client.as_ref().is_some_and(|c| c.node_id() == node.id) {
        return Err(ApiError::not_found(
            "Unknown allocation: this client no longer has it (garbage-collected)",
        ));
    }
    Ok(Target::Remote(node.http_addr.clone()))
}

/// Forwards the request as is to the node's agent and streams the answer back.
pub(crate) async fn forward(ch: &ClientHttp, addr: &str, req: Request) -> Response {
    forward_over(&ch.http, addr, req).await
}

/// Forwards the request as is to the agent at `addr` over `link` (its HTTP API, TLS
/// when `tls.http`) with the caller's credentials, and streams the answer back.
pub(crate) async fn forward_over(link: &crate::tls::Link, addr: &str, req: Request) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let url = link.url(addr, &path);
    let headers = req.headers().clone();
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
        .unwrap_or(reqwest::Method::GET);
    let body = match axum::body::to_bytes(req.into_body(), 1 << 20).await {
        Ok(b) => b,
        Err(e) => return ApiError::bad_request(format!("body: {e}")).into_response(),
    };
    let outgoing = link.client().request(method, &url).body(body.to_vec());
    let outgoing = super::auth::with_caller_credentials(outgoing, &headers);
    match outgoing.send().await {
        Ok(resp) => {
            let status =
                StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let ctype = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/json")
                .to_string();
            let stream = futures_util::stream::unfold(resp, |mut r| async move {
                match r.chunk().await {
                    Ok(Some(b)) => Some((Ok::<_, std::io::Error>(b), r)),
                    _ => None,
                }
            });
            (
                status,
                [(header::CONTENT_TYPE, ctype)],
                Body::from_stream(stream),
            )
                .into_response()
        }
        Err(e) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("cannot reach the agent at {addr}: {e}"),
        )
        .into_response(),
    }
}

/// The local client running `alloc` once the caller holds `cap` in its namespace, or
/// the reply to send instead: the request forwarded to the node's agent, or a refusal.
pub(super) async fn local_or_forward(
    ch: &ClientHttp,
    alloc: &str,
    req: Request,
    cap: NsCap,
) -> Result<Arc<Client>, Response> {
    let caller = super::client_acl::Caller::of(&req);
    if let Err(e) = ch.acl.check_alloc(&caller, alloc, cap).await {
        return Err(e.into_response());
    }
    match target(ch, alloc) {
        Ok(Target::Local(c)) => Ok(c),
        Ok(Target::Remote(addr)) => Err(forward(ch, &addr, req).await),
        Err(e) => Err(e.into_response()),
    }
}

/// [`local_or_forward`] in a handler: the client, or return the reply.
macro_rules! local_or_forward {
    ($ch:expr, $alloc:expr, $req:expr, $cap:expr) => {{
        match local_or_forward(&$ch, &$alloc, $req, $cap).await {
            Ok(c) => c,
            Err(reply) => return reply,
        }
    }};
}

pub(super) fn bool_param(q: &BTreeMap<String, String>, name: &str) -> Result<bool, ApiError> {
    super::query::go_bool_param(q, name)
}

/// `GET /v1/client/fs/logs/:alloc?task=&type=stdout|stderr&follow=&offset=&origin=start|end&plain=`
async fn logs(
    State(ch): Ch,
    UrlPath(alloc): UrlPath<String>,
    Query(q): Q,
    req: Request,
) -> Response {
    let client = local_or_forward!(ch, alloc, req, NsCap::ReadLogs);
    match logs_local(&client, &alloc, &q) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn logs_local(
    client: &Client,
    alloc: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let task = q
        .get("task")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::bad_request("must include task name"))?
        .clone();
    let st = client
        .alloc_state(alloc)
        .ok_or_else(|| ApiError::not_found("Unknown allocation"))?;
    if !st
        .alloc
        .job
        .as_ref()
        .and_then(|j| j.group(&st.alloc.task_group))
        .is_some_and(|g| g.tasks.iter().any(|t| t.name == task))
    {
        return Err(ApiError::bad_request(format!("unknown task name {task:?}")));
    }
    let kind = match q.get("type").map(String::as_str) {
        Some(t) => LogKind::parse(t).ok_or_else(|| {
            ApiError::bad_request(format!("type: expected stdout or stderr, got {t:?}"))
        })?,
        None => return Err(ApiError::bad_request("must include type: stdout or stderr")),
    };
    let follow = bool_param(q, "follow")?;
    let plain = bool_param(q, "plain")?;
    let offset: u64 = match q.get("offset").filter(|v| !v.is_empty()) {
        Some(v) => v.parse().map_err(|_| {
            ApiError::bad_request(format!("offset: expected a number of bytes, got {v:?}"))
        })?,
        None => 0,
    };
    let origin = match q.get("origin").map(String::as_str) {
        None | Some("") | Some("start") => crate::client::driver::logs::Origin::Start,
        Some("end") => crate::client::driver::logs::Origin::End,
        Some(o) => {
            return Err(ApiError::bad_request(format!(
                "origin: expected start or end, got {o:?}"
            )));
        }
    };
    let dir = client
        .alloc_dir(alloc)
        .ok_or_else(|| ApiError::not_found("Unknown allocation"))?;
    let log_dir = dir.logs();
    let pos = seek_position(&log_dir, &task, kind, origin, offset).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading logs: {e}"),
        )
    })?;
    let follower = LogFollower::new(&log_dir, &task, kind, pos);
    let stream = futures_util::stream::unfold(follower, move |mut f| async move {
        loop {
            match f.poll(64 * 1024) {
                Ok(Some(chunk)) => {
                    let bytes = if plain {
                        chunk.data
                    } else {
                        let frame = json!({
                            "File": format!("alloc/logs/{}", chunk.file),
                            "Offset": chunk.offset + chunk.data.len() as u64,
                            "Data": base64::engine::general_purpose::STANDARD.encode(&chunk.data),
                        });
                        let mut v = serde_json::to_vec(&frame).unwrap_or_default();
                        v.push(b'\n');
                        v
                    };
                    return Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(bytes)), f));
                }
                Ok(None) if follow => tokio::time::sleep(Duration::from_millis(200)).await,
                Ok(None) => return None,
                Err(e) => return Some((Err(e), f)),
            }
        }
    });
    Ok(stream_reply(plain, Body::from_stream(stream)))
}

/// A streamed `200` reply: plain text, or Nomad's JSON frames (`logs`, `agent/monitor`).
pub(crate) fn stream_reply(plain: bool, body: Body) -> Response {
    let ctype = if plain {
        "text/plain; charset=utf-8"
    } else {
        "application/json"
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, ctype)], body).into_response()
}

/// `GET /v1/client/fs/ls/:alloc?path=/alloc/logs`
async fn ls(State(ch): Ch, UrlPath(alloc): UrlPath<String>, Query(q): Q, req: Request) -> Response {
    let client = local_or_forward!(ch, alloc, req, NsCap::ReadFs);
    super::client_files::ls_local(&client, &alloc, &q).unwrap_or_else(|e| e.into_response())
}

/// `GET /v1/client/fs/stat/:alloc?path=...`
async fn stat(
    State(ch): Ch,
    UrlPath(alloc): UrlPath<String>,
    Query(q): Q,
    req: Request,
) -> Response {
    let client = local_or_forward!(ch, alloc, req, NsCap::ReadFs);
    super::client_files::stat_local(&client, &alloc, &q).unwrap_or_else(|e| e.into_response())
}

/// `GET /v1/client/fs/cat/:alloc?path=...`: streamed; only regular files.
async fn cat(
    State(ch): Ch,
    UrlPath(alloc): UrlPath<String>,
    Query(q): Q,
    req: Request,
) -> Response {
    let client = local_or_forward!(ch, alloc, req, NsCap::ReadFs);
    super::client_files::cat_local(&client, &alloc, &q).unwrap_or_else(|e| e.into_response())
}

/// `GET /v1/client/allocation/:id/stats`
async fn alloc_stats(State(ch): Ch, UrlPath(alloc): UrlPath<String>, req: Request) -> Response {
    let client = local_or_forward!(ch, alloc, req, NsCap::ReadJob);
    match client.alloc_stats(&alloc) {
        Some(v) => axum::Json(v).into_response(),
        None => ApiError::not_found("Unknown allocation").into_response(),
    }
}

/// `GET /v1/client/allocation/:id/checks`: the latest result of every service check.
async fn alloc_checks(State(ch): Ch, UrlPath(alloc): UrlPath<String>, req: Request) -> Response {
    let client = local_or_forward!(ch, alloc, req, NsCap::ReadJob);
    match client.alloc_checks(&alloc) {
        Some(v) => axum::Json(v).into_response(),
        None => ApiError::not_found("Unknown allocation").into_response(),
    }
}

/// `PUT /v1/client/allocation/:id/signal` `{"Signal": "SIGHUP", "Task": "web"}`
async fn signal(State(ch): Ch, UrlPath(alloc): UrlPath<String>, req: Request) -> Response {
    let (client, v) = match lifecycle_request(&ch, &alloc, req).await {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let sig = v
        .get("Signal")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("SIGKILL")
        .to_string();
    let task = v
        .get("Task")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if client.signal(&alloc, task, sig) {
        axum::Json(json!({})).into_response()
    } else {
        ApiError::not_found("Unknown allocation").into_response()
    }
}

/// `PUT /v1/client/allocation/:id/restart` `{"TaskName": "web", "AllTasks": false}`:
/// stops the task (or every running task) and starts it again at once, on the same
/// node and outside its restart policy, as Nomad's user-requested restart.
async fn restart(State(ch): Ch, UrlPath(alloc): UrlPath<String>, req: Request) -> Response {
    let (client, v) = match lifecycle_request(&ch, &alloc, req).await {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let task = match v.get("TaskName") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if t.is_empty() => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => return ApiError::bad_request("TaskName: expected a string").into_response(),
    };
    let all_tasks = match v.get("AllTasks") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return ApiError::bad_request("AllTasks: expected a boolean").into_response(),
    };
    use crate::client::alloc_runner::RestartRefused;
    match client.restart(&alloc, task, all_tasks).await {
        Some(Ok(())) => axum::Json(json!({})).into_response(),
        Some(Err(e @ RestartRefused::UnknownTask(_))) => {
            ApiError::not_found(e.to_string()).into_response()
        }
        Some(Err(e)) => ApiError::bad_request(e.to_string()).into_response(),
        None => ApiError::not_found("Unknown allocation").into_response(),
    }
}

/// The local client and the JSON body of a lifecycle request on allocation `alloc`
/// (`alloc-lifecycle` checked), or the reply: the forwarded one when another client
/// runs the allocation, or the error.
async fn lifecycle_request(
    ch: &ClientHttp,
    alloc: &str,
    req: Request,
) -> Result<(Arc<Client>, Value), Response> {
    let caller = super::client_acl::Caller::of(&req);
    ch.acl
        .check_alloc(&caller, alloc, NsCap::AllocLifecycle)
        .await
        .map_err(IntoResponse::into_response)?;
    let client = match target(ch, alloc) {
        Ok(Target::Local(c)) => c,
        Ok(Target::Remote(addr)) => return Err(forward(ch, &addr, req).await),
        Err(e) => return Err(e.into_response()),
    };
    let body = axum::body::to_bytes(req.into_body(), 1 << 16)
        .await
        .map_err(|e| ApiError::bad_request(format!("body: {e}")).into_response())?;
    if body.is_empty() {
        return Ok((client, json!({})));
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) if v.is_object() => Ok((client, v)),
        Ok(_) => Err(ApiError::bad_request("body: expected a JSON object").into_response()),
        Err(e) => Err(ApiError::bad_request(format!("body: {e}")).into_response()),
    }
}

/// `GET /v1/client/stats`: the host's cpu, memory, disk and uptime.
async fn host_stats(State(ch): Ch, Query(q): Q, req: Request) -> Response {
    let caller = super::client_acl::Caller::of(&req);
    if let Err(e) = ch.acl.check_node_read(&caller).await {
        return e.into_response();
    }
    match node_target(&ch, q.get("node_id").map(String::as_str)) {
        Ok(NodeTarget::Local(client)) => axum::Json(client.host_stats()).into_response(),
        Ok(NodeTarget::Remote(addr)) => forward(&ch, &addr, req).await,
        Err(e) => e.into_response(),
    }
}

/// Where a request about a node is answered.
pub(crate) enum NodeTarget {
    /// This agent's client is that node (or no node was named and it runs one).
    Local(Arc<Client>),
    /// The node's HTTP address, to forward to.
    Remote(String),
}

/// The client that answers for `node_id` (this agent's own when it is that node or
/// none is named), as Nomad forwards `node_id` requests.
pub(crate) fn node_target(ch: &ClientHttp, node_id: Option<&str>) -> Result<NodeTarget, ApiError> {
    if let Some(client) = &ch.client
        && node_id.is_none_or(|n| n == client.node_id())
    {
        return Ok(NodeTarget::Local(Arc::clone(client)));
    }
    let (Some(node), Some(state)) = (node_id, &ch.state) else {
        return Err(ApiError::bad_request(if ch.client.is_some() {
            "node_id names another node and this agent is no server: ask a server, or that node's agent"
        } else {
            "this agent runs no client: pass node_id=<node> to ask a client"
        }));
    };
    let addr = state.read().node(node).map(|n| n.http_addr.clone());
    match addr.filter(|a| !a.is_empty()) {
        Some(addr) => Ok(NodeTarget::Remote(addr)),
        None => Err(ApiError::not_found("Unknown node")),
    }
}
