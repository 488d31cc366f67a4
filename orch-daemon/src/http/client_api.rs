//! Endpoints orch's client agents use to join and stay alive. Nomad's clients use RPC
//! for this (`Node.Register`, `Node.UpdateStatus`); orch's speak HTTP under
//! `/v1/internal/`, so they are not mistaken for Nomad's public API.
//!
//! Heartbeat timers live on the leader (the server that runs the reaper). A client may
//! send these calls to any server: a follower forwards them to the same endpoint on the
//! leader's RPC port (which keeps the client endpoints, see [`super::rpc_port`]) over
//! the servers' own link ([`ApiState::peers`]: TLS and the cluster secret), as Nomad's
//! servers forward `Node.*` RPCs.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use orch_core::model::{Node, node_status};
use orch_core::state::{Command, NodeRegister, compute_class};
use serde_json::{Value, json};

use super::ApiState;
use super::query::{ApiError, json_body};

/// Marks a call a follower forwarded, so it is never forwarded twice.
const FORWARDED: &str = "x-orch-forwarded";
/// How long a forwarded client call may take.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

fn no_leader(why: String) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("No cluster leader ({why}); retry once a leader is elected"),
    )
}

/// Sends a client call to the leader's HTTP API and relays its answer, when this server
/// is not the leader. `None`: this server leads, handle the call here.
async fn forward_if_follower(
    api: &ApiState,
    headers: &axum::http::HeaderMap,
    path: &str,
    body: &Bytes,
) -> Option<Result<Response, ApiError>> {
    // Wait out an election, as writes do (`RaftReplicator` waits for a leader too).
    let deadline = tokio::time::Instant::now() + FORWARD_TIMEOUT;
    let rpc = loop {
        if api.replicator.is_leader() {
            return None;
        }
        if headers.contains_key(FORWARDED) {
            return Some(Err(no_leader(
                "the server this call was forwarded to is not the leader either".into(),
            )));
        }
        if let Some(addr) =
            leader_elsewhere(api.replicator.leader_addr(), &api.replicator.members())
        {
            break addr;
        }
        if tokio::time::Instant::now() >= deadline {
            return Some(Err(no_leader("an election is in progress".into())));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    Some(forward(&api.peers, &rpc, path, body, headers).await)
}

/// The leader to forward to: the known one, unless this server is the only member (a
/// one-server cluster whose leader is this server, still settling in). Members, not
/// voters: a server that joined as a learner sees one voter, the leader, and must
/// still forward to it.
fn leader_elsewhere(leader: Option<String>, members: &[crate::server::Member]) -> Option<String> {
    leader.filter(|a| !matches!(members, [only] if only.addr == *a))
}

/// Sends the call to the same client endpoint on the leader's RPC port (kept there for
/// clients, see [`super::rpc_port`]), with this server's TLS identity and secret, and
/// the node's token (the leader checks the node's secret again).
async fn forward(
    peers: &crate::tls::Link,
    rpc: &str,
    path: &str,
    body: &Bytes,
    headers: &axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let mut req = peers.client().request(Method::PUT, peers.url(rpc, path));
    if let Some(token) = headers.get(super::auth::TOKEN_HEADER) {
        req = req.header(super::auth::TOKEN_HEADER, token.as_bytes());
    }
    let resp = req
        .header(FORWARDED, "1")
        .header("content-type", "application/json")
        .timeout(FORWARD_TIMEOUT)
        .body(body.clone())
        .send()
        .await
        .map_err(|e| no_leader(format!("forwarding to the leader at {rpc}: {e}")))?;
    let status = resp.status();
    let mut relayed = Vec::new();
    for name in ["content-type", "x-nomad-index", "x-nomad-knownleader"] {
        if let Some(v) = resp.headers().get(name) {
            relayed.push((HeaderName::from_static(name), v.clone()));
        }
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| no_leader(format!("reading the leader's answer: {e}")))?;
    let mut out = Response::new(axum::body::Body::from(bytes));
    *out.status_mut() = status;
    for (k, v) in relayed {
        out.headers_mut().insert(k, v);
    }
    out.headers_mut().insert(
        HeaderName::from_static(FORWARDED),
        HeaderValue::from_static("1"),
    );
    Ok(out)
}

fn leader(api: &ApiState) -> Result<&Arc<crate::server::Leader>, ApiError> {
    api.leader.as_ref().ok_or_else(|| {
        ApiError::bad_request("this agent runs no server: send client calls to a server")
    })
}

/// `PUT /v1/internal/node/register` `{"Node": {...}}`: registers (or re-registers) a
/// client node as ready and starts its heartbeat timer; answers `{HeartbeatTTL, Index}`.
pub async fn register(
    State(api): State<Arc<ApiState>>,
    headers: axum::http::HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    if let Some(r) = forward_if_follower(&api, &headers, "/v1/internal/node/register", &bytes).await
    {
        return r;
    }
    let body = json_body(&bytes)?;
    let mut raw = body.get("Node").cloned().unwrap_or(body);
    orch_core::model::wire::strip_nulls(&mut raw);
    let mut node: Node =
        serde_json::from_value(raw).map_err(|e| ApiError::bad_request(format!("Node: {e}")))?;
    if node.id.is_empty() {
        return Err(ApiError::bad_request(
            "Node.ID: missing node ID; the client must send its UUID",
        ));
    }
    node.status = node_status::READY.into();
    node.computed_class = compute_class(&node);
    let leader = leader(&api)?;
    let id = node.id.clone();
    let r = api
        .replicator
        .propose(Command::NodeRegister(NodeRegister {
            node,
            now: (api.now)(),
        }))
        .await?;
    leader.node_changed(&id).await?;
    let ttl = leader.heartbeat(&id);
    Ok(api.reply(
        r.index,
        &json!({ "HeartbeatTTL": ttl.as_nanos() as u64, "Index": r.index }),
    ))
}

/// `PUT /v1/internal/node/{id}/heartbeat` `{"Status": "ready"}`: resets the node's
/// heartbeat timer and, when the status changes, records it and re-evaluates.
pub async fn heartbeat(
    State(api): State<Arc<ApiState>>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let path = format!("/v1/internal/node/{id}/heartbeat");
    if let Some(r) = forward_if_follower(&api, &headers, &path, &bytes).await {
        return r;
    }
    let body = json_body(&bytes)?;
    let status = body
        .get("Status")
        .and_then(Value::as_str)
        .unwrap_or(node_status::READY)
        .to_string();
    if !node_status::ALL.contains(&status.as_str()) {
        return Err(ApiError::bad_request(format!(
            "Status: unknown node status {status:?}; expected one of {:?}",
            node_status::ALL
        )));
    }
    let current = api.state.read().node(&id).map(|n| n.status.clone());
    let Some(current) = current else {
        return Err(ApiError::not_found("node not found"));
    };
    let leader = leader(&api)?;
    if current != status {
        leader.set_node_status(&id, &status).await?;
    }
    let ttl = leader.heartbeat(&id);
    let index = api.state.latest_index();
    Ok(api.reply(
        index,
        &json!({ "HeartbeatTTL": ttl.as_nanos() as u64, "Index": index }),
    ))
}

/// One allocation's client-owned state as clients send it (Nomad's `Allocation` subset
/// that `Node.UpdateAlloc` reads).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientAllocUpdate {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "ClientStatus")]
    client_status: String,
    #[serde(rename = "ClientDescription", default)]
    client_description: String,
    #[serde(rename = "TaskStates", default)]
    task_states: std::collections::BTreeMap<String, orch_core::model::TaskState>,
    #[serde(rename = "DeploymentStatus", default)]
    deployment_status: Option<orch_core::model::AllocDeploymentStatus>,
}

/// `PUT /v1/internal/node/{id}/allocs` `{"Allocs": [...]}`: a client reports its
/// allocations' status and task states. Failed allocations of live jobs get an
/// `alloc-failure` evaluation with the update, so the scheduler reschedules them
/// (Nomad's `Node.UpdateAlloc`). Any server accepts it; writes are forwarded by Raft.
pub async fn update_allocs(
    State(api): State<Arc<ApiState>>,
    Path(node_id): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Result<Response, ApiError> {
    let raw = body
        .get("Allocs")
        .cloned()
        .ok_or_else(|| ApiError::bad_request("Allocs: missing list of allocation updates"))?;
    let updates: Vec<ClientAllocUpdate> =
        serde_json::from_value(raw).map_err(|e| ApiError::bad_request(format!("Allocs: {e}")))?;
    let mut allocs = Vec::with_capacity(updates.len());
    let mut evals = Vec::new();
    {
        let s = api.state.read();
        if s.node(&node_id).is_none() {
            return Err(ApiError::not_found("node not found: register it first"));
        }
        let mut jobs_with_eval = std::collections::BTreeSet::new();
        for (i, u) in updates.into_iter().enumerate() {
            if !orch_core::model::client_status::ALL.contains(&u.client_status.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "Allocs[{i}].ClientStatus: unknown status {:?}; expected one of {:?}",
                    u.client_status,
                    orch_core::model::client_status::ALL
                )));
            }
            let Some(alloc) = s.alloc(&u.id) else {
                continue; // Garbage-collected meanwhile: nothing to update.
            };
            if alloc.node_id != node_id {
                return Err(ApiError::bad_request(format!(
                    "Allocs[{i}].ID: allocation {} is not placed on node {node_id}",
                    u.id
                )));
            }
            let failed_now = u.client_status == orch_core::model::client_status::FAILED
                && alloc.client_status != u.client_status;
            if failed_now
                && let Some(job) = s.job(&alloc.namespace, &alloc.job_id)
                && !job.stop
                && jobs_with_eval.insert((job.namespace.clone(), job.id.clone()))
            {
                let mut eval = api.new_eval(
                    &job.namespace,
                    &job.id,
                    &job.job_type,
                    job.priority,
                    orch_core::model::trigger::ALLOC_FAILURE,
                );
                eval.node_id = node_id.clone();
                evals.push(eval);
            }
            allocs.push(orch_core::state::AllocClientState {
                id: u.id,
                client_status: u.client_status,
                client_description: u.client_description,
                task_states: u.task_states,
                deployment_status: u.deployment_status,
            });
        }
    }
    if allocs.is_empty() {
        let index = api.state.latest_index();
        return Ok(api.reply(index, &json!({ "Index": index })));
    }
    let r = api
        .replicator
        .propose(Command::AllocClientUpdate(
            orch_core::state::AllocClientUpdate {
                allocs,
                evals,
                now: (api.now)(),
            },
        ))
        .await?;
    Ok(api.reply(r.index, &json!({ "Index": r.index })))
}

#[cfg(test)]
mod tests {
    use super::leader_elsewhere;
    use crate::server::Member;

    fn member(addr: &str, voter: bool) -> Member {
        Member {
            id: addr.into(),
            addr: addr.into(),
            voter,
        }
    }

    /// A learner (joined, not yet promoted) forwards to the leader, the only voter.
    #[test]
    fn a_learner_forwards_to_the_leader_and_a_lone_server_waits() {
        let leader = Some("10.0.0.1:4647".to_string());
        let learner_view = [
            member("10.0.0.1:4647", true),
            member("10.0.0.2:4647", false),
        ];
        assert_eq!(leader_elsewhere(leader.clone(), &learner_view), leader);
        let alone = [member("10.0.0.1:4647", true)];
        assert_eq!(leader_elsewhere(leader.clone(), &alone), None);
        assert_eq!(leader_elsewhere(None, &learner_view), None);
    }
}
