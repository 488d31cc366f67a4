//! Endpoints orch's client agents use to join and stay alive. Nomad's clients use RPC
//! for this (`Node.Register`, `Node.UpdateStatus`); orch's speak HTTP under
//! `/v1/internal/`, so they are not mistaken for Nomad's public API.
//!
//! Heartbeat timers live on the leader (the server that runs the reaper), so clients
//! send these to the leader.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::model::{Node, node_status};
use orch_core::state::{Command, NodeRegister, compute_class};
use serde_json::{Value, json};

use super::ApiState;
use super::query::ApiError;

fn leader(api: &ApiState) -> Result<&Arc<crate::server::Leader>, ApiError> {
    api.leader.as_ref().ok_or_else(|| {
        ApiError::bad_request("this agent runs no server: send client calls to a server")
    })
}

/// `PUT /v1/internal/node/register` `{"Node": {...}}`: registers (or re-registers) a
/// client node as ready and starts its heartbeat timer; answers `{HeartbeatTTL, Index}`.
pub async fn register(
    State(api): State<Arc<ApiState>>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
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
    body: Option<Json<Value>>,
) -> Result<Response, ApiError> {
    let status = body
        .as_ref()
        .and_then(|b| b.get("Status"))
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
