//! Membership changes: `DELETE /v1/operator/raft/peer` (`nomad operator raft
//! remove-peer`) and `PUT /v1/agent/force-leave` (`nomad server force-leave`).
//!
//! Both remove a server from the Raft configuration through the [`Replicator`]
//! (the leader makes the change; a follower forwards it). orch has no gossip layer, so
//! force-leave is exactly a Raft removal: the server's Raft ID is derived from its name
//! ([`crate::raft::node_id_from_name`]).
//!
//! [`Replicator`]: crate::server::Replicator

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::ApiError;
use super::query::{Api, Params};
use crate::server::{PeerTarget, RemovePeerError};

/// `DELETE /v1/operator/raft/peer?id=<raft id>` or `?address=<host:port>`.
pub async fn remove_peer(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let id = raw.get("id").filter(|s| !s.is_empty());
    let address = raw.get("address").filter(|s| !s.is_empty());
    let target = match (id, address) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give either id= or address= to name the peer to remove, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "missing id= or address= naming the peer to remove; see `orch operator raft list-peers`",
            ));
        }
        (Some(id), None) => PeerTarget::Id(id.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "peer ID {id:?} is not an orch Raft ID (a decimal number); see the ID column of `orch operator raft list-peers`"
            ))
        })?),
        (None, Some(addr)) => PeerTarget::Address(addr.clone()),
    };
    remove(&api, target).await
}

/// `PUT /v1/agent/force-leave?node=<name>`: removes the server named `name` (or
/// `name.<region>`, as `server members` prints it) from the Raft configuration.
pub async fn force_leave(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let Some(node) = raw.get("node").filter(|s| !s.is_empty()) else {
        return Err(ApiError::bad_request(
            "missing node= naming the server to remove; see `orch server members`",
        ));
    };
    if raw.get("prune").is_some_and(|p| p == "true") {
        return Err(ApiError::not_implemented(
            "force-leave -prune (orch keeps no gossip member list to prune; the server is removed from Raft either way)",
        ));
    }
    let suffix = format!(".{}", api.agent.region);
    let bare = node.strip_suffix(&suffix).unwrap_or(node);
    let members = api.replicator.members();
    let id = [node.as_str(), bare]
        .into_iter()
        .map(crate::raft::node_id_from_name)
        .find(|id| members.iter().any(|m| m.id == id.to_string()))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "no server named {node:?} in the Raft configuration; see `orch server members` and `orch operator raft list-peers`"
            ))
        })?;
    remove(&api, PeerTarget::Id(id)).await
}

async fn remove(api: &super::ApiState, target: PeerTarget) -> Result<Response, ApiError> {
    match api.replicator.remove_peer(target).await {
        Ok(_) => Ok(api.reply(api.state.latest_index().max(1), &serde_json::Value::Null)),
        Err(e @ (RemovePeerError::Unknown(_) | RemovePeerError::LastVoter(_))) => {
            Err(ApiError::bad_request(e.to_string()))
        }
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            e.to_string(),
        )),
    }
}
