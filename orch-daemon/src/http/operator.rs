//! Operator endpoints: the Raft configuration with each server's progress
//! (`/v1/operator/raft/configuration`, `/v1/operator/autopilot/health`) and membership
//! changes: `DELETE /v1/operator/raft/peer` (`nomad operator raft remove-peer`) and
//! `PUT /v1/agent/force-leave` (`nomad server force-leave`).
//!
//! Both remove a server from the Raft configuration through the [`Replicator`]
//! (the leader makes the change; a follower forwards it). orch has no gossip layer, so
//! force-leave is exactly a Raft removal: the server's Raft ID is derived from its name
//! ([`crate::raft::node_id_from_name`]).
//!
//! [`Replicator`]: crate::server::Replicator

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use serde_json::{Value, json};

use super::query::{Api, Params, Query};
use super::{ApiError, ApiState};
use crate::server::{PeerTarget, RemovePeerError};

/// `DELETE /v1/operator/raft/peer?id=<raft id>` or `?address=<host:port>`.
pub async fn remove_peer(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let target = peer_target(&raw, "remove")?;
    remove(&api, target).await
}

/// `PUT /v1/operator/raft/transfer-leadership?id=<raft id>` or `?address=<host:port>`:
/// makes that server the leader (forwarded to the leader from any server).
pub async fn transfer_leadership(
    State(api): Api,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let target = peer_target(&raw, "make leader")?;
    match api.replicator.transfer_leadership(target).await {
        Ok(_) => Ok(api.reply(api.state.latest_index().max(1), &json!({}))),
        Err(e @ crate::server::TransferError::Refused(_)) => {
            Err(ApiError::bad_request(e.to_string()))
        }
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            e.to_string(),
        )),
    }
}

/// The server an `id=` or `address=` parameter names (exactly one of them).
fn peer_target(
    raw: &std::collections::BTreeMap<String, String>,
    what: &str,
) -> Result<PeerTarget, ApiError> {
    let id = raw.get("id").filter(|s| !s.is_empty());
    let address = raw.get("address").filter(|s| !s.is_empty());
    match (id, address) {
        (Some(_), Some(_)) => Err(ApiError::bad_request(format!(
            "give either id= or address= to name the peer to {what}, not both"
        ))),
        (None, None) => Err(ApiError::bad_request(format!(
            "missing id= or address= naming the peer to {what}; see `orch operator raft list-peers`"
        ))),
        (Some(id), None) => Ok(PeerTarget::Id(id.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "peer ID {id:?} is not an orch Raft ID (a decimal number); see the ID column of `orch operator raft list-peers`"
            ))
        })?)),
        (None, Some(addr)) => Ok(PeerTarget::Address(addr.clone())),
    }
}

/// `PUT /v1/agent/force-leave?node=<name>`: removes the server named `name` (or
/// `name.<region>`, as `server members` prints it) from the Raft configuration.
pub async fn force_leave(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let Some(node) = raw.get("node").filter(|s| !s.is_empty()) else {
        return Err(ApiError::bad_request(
            "missing node= naming the server to remove; see `orch server members`",
        ));
    };
    if super::query::go_bool_param(&raw, "prune")? {
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

/// `PUT /v1/agent/join?address=<serf addr>&address=...`: joins this server to the
/// cluster of any of the addresses (`nomad server join`). Nomad's answer:
/// `{"error": "...", "num_joined": N}`, the errors of the addresses that failed.
pub async fn join(
    State(api): Api,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, ApiError> {
    let addrs: Vec<String> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "address")
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    if addrs.is_empty() {
        return Err(ApiError::bad_request(
            "address: at least one server address (host:port of its serf port) is required",
        ));
    }
    if addrs.len() > 64 {
        return Err(ApiError::bad_request("address: at most 64 addresses"));
    }
    let mut joined = 0;
    let mut errors = Vec::new();
    for addr in addrs {
        match api.replicator.join(addr.clone()).await {
            Ok(()) => joined += 1,
            Err(e) => errors.push(format!("{addr}: {e}")),
        }
    }
    let body = json!({"error": errors.join("; "), "num_joined": joined});
    Ok(api.reply(api.state.latest_index().max(1), &body))
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

/// A duration in milliseconds as Go prints it (`"0s"`, `"12ms"`), `""` when unknown.
fn go_millis(ms: Option<u64>) -> String {
    ms.map_or(String::new(), |ms| {
        orch_core::duration::format_go_duration(
            i64::try_from(ms)
                .unwrap_or(i64::MAX)
                .saturating_mul(1_000_000),
        )
    })
}

/// Every member with its progress as the leader sees it (autopilot's fields), named
/// as `/v1/agent/members` names servers (`<name>.<region>`; its address when it does
/// not answer who it is).
async fn servers_with_progress(api: &ApiState) -> Vec<Value> {
    let leader = api.replicator.leader_addr();
    let health = api.replicator.health();
    // Every other member and what it answered; this server is the one not listed.
    let mut others: std::collections::BTreeMap<String, Option<String>> = api
        .replicator
        .peer_agents()
        .await
        .into_iter()
        .map(|(m, agent)| (m.addr, agent.map(|a| format!("{}.{}", a.name, a.region))))
        .collect();
    api.replicator
        .members()
        .into_iter()
        .map(|m| {
            let p =
                m.id.parse::<u64>()
                    .ok()
                    .and_then(|id| health.servers.get(&id));
            let name = match others.remove(&m.addr) {
                Some(Some(name)) => name,
                Some(None) => m.addr.clone(),
                None => format!("{}.{}", api.agent.name, api.agent.region),
            };
            json!({"ID": m.id, "Node": name, "Address": m.addr,
                   "Leader": leader.as_deref() == Some(m.addr.as_str()),
                   "Voter": m.voter, "RaftProtocol": "3",
                   "LastContact": go_millis(p.and_then(|p| p.last_contact_ms)),
                   "LastIndex": p.map_or(0, |p| p.last_index),
                   "TrailingLogs": p.map_or(0, |p| p.lag),
                   "Healthy": p.is_some_and(|p| p.healthy)})
        })
        .collect()
}

/// `GET /v1/operator/raft/configuration`: every member; `ID` is the Raft ID that
/// `DELETE /v1/operator/raft/peer?id=` takes. Beyond Nomad's fields each server has
/// autopilot's `LastContact`, `LastIndex` and `Healthy`, and `TrailingLogs`, the entries
/// it trails the leader by.
pub async fn raft_configuration(State(api): Api) -> Response {
    let servers = servers_with_progress(&api).await;
    let index = api.state.latest_index();
    api.reply(index.max(1), &json!({"Servers": servers, "Index": index}))
}

/// `GET /v1/operator/autopilot/health`: Nomad's autopilot health of the servers; 429
/// when any voter is unhealthy, as Nomad answers.
pub async fn autopilot_health(State(api): Api) -> Response {
    let health = api.replicator.health();
    let servers: Vec<Value> = servers_with_progress(&api)
        .await
        .into_iter()
        .map(|s| {
            let p = s["ID"]
                .as_str()
                .and_then(|id| id.parse::<u64>().ok())
                .and_then(|id| health.servers.get(&id));
            let stable_since = p
                .map(|p| p.stable_since_nanos)
                .filter(|n| *n > 0)
                .map_or_else(
                    // Go's zero time, which its client parses: not known yet.
                    || json!("0001-01-01T00:00:00Z"),
                    |n| json!(orch_core::model::Timestamp(n)),
                );
            let mut server = json!({"ID": s["ID"], "Name": s["Node"], "Address": s["Address"],
                   "SerfStatus": "alive", "Version": api.agent.version,
                   "Leader": s["Leader"], "Voter": s["Voter"], "Healthy": s["Healthy"],
                   "LastIndex": s["LastIndex"], "LastTerm": p.map_or(0, |p| p.last_term),
                   "StableSince": stable_since});
            // Go's client parses it as a duration: left out when never heard from.
            if s["LastContact"] != "" {
                server["LastContact"] = s["LastContact"].clone();
            }
            server
        })
        .collect();
    let voters: Vec<&Value> = servers.iter().filter(|s| s["Voter"] == true).collect();
    let healthy_voters = voters.iter().filter(|s| s["Healthy"] == true).count();
    let healthy = healthy_voters == voters.len();
    // Voters that may fail with the quorum kept, counting only healthy ones.
    let quorum = voters.len() / 2 + 1;
    let tolerance = healthy_voters.saturating_sub(quorum);
    let leader = servers
        .iter()
        .find(|s| s["Leader"] == true)
        .map_or(Value::String(String::new()), |s| s["ID"].clone());
    let body = json!({"Healthy": healthy, "FailureTolerance": tolerance, "Leader": leader,
                      "Voters": voters.iter().map(|s| s["ID"].clone()).collect::<Vec<_>>(),
                      "Servers": servers});
    let mut resp = api.reply(api.state.latest_index().max(1), &body);
    if !healthy {
        *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    }
    resp
}
