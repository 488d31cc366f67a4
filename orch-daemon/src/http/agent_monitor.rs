//! `GET /v1/agent/monitor?log_level=&plain=&log_json=`: this agent's log lines, streamed
//! as they are written (see [`crate::log_monitor`]), at the level asked for even when
//! it is more verbose than the agent's own `log_level`. Nomad's frames
//! (`{"Data": base64}` per line) unless `plain=true`. Needs `agent:read`.
//!
//! On a server, `node_id` (a client's node) or `server_id` (a server's name, or
//! `leader`) naming another agent relays the request to that agent's HTTP API, as
//! Nomad's servers do; the relayed request carries [`RELAYED_HEADER`], so it is never
//! relayed again. A client-only agent serves its own lines ([`client_routes`]).

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use serde_json::json;

use super::query::{Api, Params, Query};
use super::{ApiError, QueryOpts};
use crate::log_monitor::{LogLine, Monitor};

/// Marks a monitor request one agent relayed to another.
pub const RELAYED_HEADER: &str = "x-orch-monitor-relayed";

/// `GET /v1/agent/monitor` on a server agent.
pub async fn monitor(
    State(api): Api,
    Query(raw): Params,
    req: Request,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    match relay(&api, &q, req).await? {
        Some(relayed) => Ok(relayed),
        None => local(&q),
    }
}

/// Relays `req` once to the agent its `node_id` or `server_id` names (marked with
/// [`RELAYED_HEADER`], so it is never relayed again); `None` when this agent is the one
/// asked for and should answer itself. Shared by the per-agent endpoints (`monitor`,
/// `host`).
pub(super) async fn relay(
    api: &super::ApiState,
    q: &QueryOpts,
    mut req: Request,
) -> Result<Option<Response>, ApiError> {
    let Some(addr) = other_agent(api, q).await? else {
        return Ok(None);
    };
    if req.headers().contains_key(RELAYED_HEADER) {
        return Err(ApiError::bad_request(
            "node_id/server_id: the agent this request was relayed to is not the one named; check the ID",
        ));
    }
    req.headers_mut()
        .insert(RELAYED_HEADER, axum::http::HeaderValue::from_static("1"));
    Ok(Some(
        super::client_fs::forward_over(&api.agents, &addr, req).await,
    ))
}

/// The monitor route of a client-only agent: its own lines (`node_id` must be its
/// node when given; a server relays monitors of other agents).
pub fn client_routes(ch: super::client_fs::ClientHttp) -> axum::Router {
    axum::Router::new()
        .route("/v1/agent/monitor", axum::routing::get(client_monitor))
        .route(
            "/v1/agent/host",
            axum::routing::get(super::agent_host::client_host),
        )
        .with_state(std::sync::Arc::new(ch))
}

async fn client_monitor(
    State(ch): State<std::sync::Arc<super::client_fs::ClientHttp>>,
    Query(raw): Params,
    req: Request,
) -> Result<Response, ApiError> {
    let q = client_own_request(&ch, raw, super::client_acl::Caller::of(&req)).await?;
    local(&q)
}

/// A per-agent request (`monitor`, `host`) on a client-only agent: `agent:read` checked
/// through the servers, and `node_id` (if given) must be this node; a server relays
/// requests for other agents.
pub(super) async fn client_own_request(
    ch: &super::client_fs::ClientHttp,
    raw: super::query::RawParams,
    caller: super::client_acl::Caller,
) -> Result<QueryOpts, ApiError> {
    ch.acl
        .check_node(&caller, super::client_acl::AGENT_READ)
        .await?;
    let q = QueryOpts::parse(raw)?;
    let mine = ch.client.as_ref().map(|c| c.node_id().to_string());
    let other_node = q
        .raw
        .get("node_id")
        .filter(|n| !n.is_empty() && mine.as_deref() != Some(n.as_str()));
    if other_node.is_some() || q.raw.get("server_id").is_some_and(|s| !s.is_empty()) {
        return Err(ApiError::bad_request(
            "node_id/server_id: this client agent answers only for itself; ask a server to relay to another agent",
        ));
    }
    Ok(q)
}

/// This agent's own lines, as `q` asks.
fn local(q: &QueryOpts) -> Result<Response, ApiError> {
    let level_name = q.raw.get("log_level").map_or("info", String::as_str);
    let level = crate::log_monitor::parse_level(level_name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "log_level: {level_name:?} is not a log level: use trace, debug, info, warn or error"
        ))
    })?;
    let plain = q.flag("plain")?;
    let as_json = q.flag("log_json")?;
    let monitor = Monitor::attach(level)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let stream = futures_util::stream::unfold(monitor, move |mut m| async move {
        let line = match m.next().await? {
            Ok(line) => render(&line, as_json),
            Err(skipped) => {
                format!("[monitor] {skipped} log lines skipped: this monitor fell behind\n")
            }
        };
        let bytes = if plain {
            line.into_bytes()
        } else {
            let frame = json!({"Data": base64::engine::general_purpose::STANDARD.encode(line)});
            let mut v = serde_json::to_vec(&frame).unwrap_or_default();
            v.push(b'\n');
            v
        };
        Some((Ok::<_, std::io::Error>(Bytes::from(bytes)), m))
    });
    Ok(super::client_fs::stream_reply(
        plain,
        Body::from_stream(stream),
    ))
}

/// One line as text, or with `log_json` as Nomad's JSON log line.
fn render(line: &LogLine, as_json: bool) -> String {
    if !as_json {
        return format!("{}\n", line.text);
    }
    let v = json!({"@level": line.level.as_str().to_lowercase(), "@message": line.text});
    format!("{v}\n")
}

/// The HTTP address of the agent `node_id` / `server_id` name, when it is not this one.
async fn other_agent(api: &super::ApiState, q: &QueryOpts) -> Result<Option<String>, ApiError> {
    let me = &api.agent;
    if let Some(node) = q.raw.get("node_id").filter(|n| !n.is_empty())
        && me.node_id.as_deref() != Some(node.as_str())
    {
        let addr = api.state.read().node(node).map(|n| n.http_addr.clone());
        return match addr.filter(|a| !a.is_empty()) {
            Some(a) => Ok(Some(a)),
            None => Err(ApiError::not_found(format!(
                "node_id: no client node {node} with an HTTP address; see `orch node status`"
            ))),
        };
    }
    let Some(server) = q.raw.get("server_id").filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let named = |name: &str, region: &str| *server == name || *server == format!("{name}.{region}");
    if named(&me.name, &me.region) || (server == "leader" && api.replicator.is_leader()) {
        return Ok(None);
    }
    let leader = api.replicator.leader_addr();
    let found = api
        .replicator
        .peer_agents()
        .await
        .into_iter()
        .filter_map(|(member, agent)| Some((member, agent?)))
        .find(|(member, agent)| {
            if server == "leader" {
                leader.as_deref() == Some(member.addr.as_str())
            } else {
                named(&agent.name, &agent.region)
            }
        })
        .map(|(_, agent)| agent.http_addr)
        .filter(|a| !a.is_empty());
    match found {
        Some(addr) => Ok(Some(addr)),
        None => Err(ApiError::not_found(format!(
            "server_id: no reachable server named {server}; see `orch server members`"
        ))),
    }
}
