//! `PUT /v1/node/:id/purge`: removes a node from the servers' state (Nomad's
//! `Node.Deregister`), with the evaluations that replace its work.
//!
//! A node without live allocations is deregistered at once. A node still holding
//! live allocations is first marked `down`, as a missed heartbeat would: the
//! evaluations mark its allocations lost and place replacements; a background task
//! then deregisters it once none of its allocations is live (bounded by
//! [`PURGE_WAIT`]). A client still running re-registers on its next heartbeat, as in
//! Nomad.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::model::node_status;
use orch_core::state::{Command, EvalUpsert, NodeDeregister, NodeStatusUpdate};
use serde_json::json;

use super::query::{Api, Params, Query};
use super::{ApiError, ApiState, QueryOpts};

/// Longest a purge waits for a node's allocations to stop before giving up on removing
/// it (it stays `down`, and the GC removes it later).
pub const PURGE_WAIT: Duration = Duration::from_secs(300);

/// `PUT/POST /v1/node/:id/purge`.
pub async fn purge(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    if !q.authz.node_write() {
        return Err(super::auth::permission_denied());
    }
    let (evals, live) = {
        let s = api.state.read();
        let node = super::nodes::find_node(&s, &id)?;
        let live = s
            .allocs_by_node(&id)
            .iter()
            .filter(|a| !a.terminal())
            .count();
        (super::nodes::node_evals(&api, &s, &node), live)
    };
    let node_index = if live == 0 {
        deregister(&api, &id).await?
    } else {
        let now = crate::clock::now_nanos();
        let status = NodeStatusUpdate {
            node_id: id.clone(),
            status: node_status::DOWN.into(),
            now,
        };
        let r = api
            .replicator
            .propose(Command::NodeStatusUpdate(status))
            .await?;
        tokio::spawn(deregister_when_idle(Arc::clone(&api), id.clone()));
        r.index
    };
    let ids: Vec<String> = evals.iter().map(|e| e.id.clone()).collect();
    let eval_index = if evals.is_empty() {
        0
    } else {
        let r = api
            .replicator
            .propose(Command::EvalUpsert(EvalUpsert { evals }))
            .await?;
        r.index
    };
    let index = eval_index.max(node_index);
    Ok(api.reply(
        index,
        &json!({"EvalIDs": ids, "EvalCreateIndex": eval_index, "NodeModifyIndex": node_index,
                "Index": index}),
    ))
}

async fn deregister(api: &ApiState, id: &str) -> Result<u64, ApiError> {
    let cmd = Command::NodeDeregister(NodeDeregister {
        node_ids: vec![id.to_string()],
    });
    Ok(api.replicator.propose(cmd).await?.index)
}

/// Deregisters node `id` once none of its allocations is live, polling the state.
async fn deregister_when_idle(api: Arc<ApiState>, id: String) {
    let deadline = tokio::time::Instant::now() + PURGE_WAIT;
    while tokio::time::Instant::now() < deadline {
        let live = {
            let s = api.state.read();
            if s.node(&id).is_none() {
                return;
            }
            s.allocs_by_node(&id).iter().any(|a| !a.terminal())
        };
        if !live {
            match deregister(&api, &id).await {
                Ok(_) => return,
                Err(e) => {
                    tracing::debug!(node = %id, error = %e.message, "purge: deregister failed, retrying")
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tracing::warn!(node = %id, "purge: the node's allocations did not stop within {PURGE_WAIT:?}; it stays down until the GC removes it");
}
