//! Removing a server from the Raft membership (`nomad operator raft remove-peer`,
//! `nomad server force-leave`).
//!
//! Only the leader changes the membership, so the change is decided there: the leader
//! resolves the peer (by ID or RPC address) against the membership it commits, refuses
//! to remove the last voter, and calls openraft's `change_membership`. A follower
//! forwards the request to the leader over `POST /raft/remove` (JSON, like
//! `/raft/join`), the same way writes are forwarded over `/raft/forward`.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use openraft::error::{ClientWriteError, RaftError as OpenraftError};
use openraft::{ChangeMembers, ServerState};
use serde::{Deserialize, Serialize};

use super::error::RaftError;
use super::http::{JoinReply, JoinRequest, known_leader};
use super::network::HttpNetwork;
use super::types::{NodeId, OrchRaft};
use crate::server::{PeerTarget, RemovePeerError};

/// Path of the leader-side removal RPC on the Raft listener.
pub const REMOVE_PATH: &str = "/raft/remove";

/// How long a removal waits for a leader before giving up.
const LEADER_WAIT: Duration = Duration::from_secs(10);

/// The leader's answer to a removal request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RemoveReply {
    /// The server left the membership; its ID and RPC address.
    Removed {
        /// Raft ID of the removed server.
        id: NodeId,
        /// Its RPC address.
        addr: String,
    },
    /// Not the leader; ask `leader` (RPC address) if known.
    NotLeader {
        /// The leader's RPC address, if known.
        leader: Option<String>,
    },
    /// No member has this ID or address.
    Unknown(String),
    /// The peer is the only voter left.
    LastVoter(String),
    /// The membership change failed (another one in progress, storage).
    Failed(String),
}

/// Resolves `target` against the committed membership and removes it. Must run on the
/// leader; anywhere else it answers [`RemoveReply::NotLeader`].
pub async fn remove_on_leader(raft: &OrchRaft, target: &PeerTarget) -> RemoveReply {
    let metrics = raft.metrics().borrow().clone();
    if metrics.state != ServerState::Leader {
        return RemoveReply::NotLeader {
            leader: known_leader(raft).map(|(_, addr)| addr),
        };
    }
    let membership = metrics.membership_config.membership().clone();
    let found = membership.nodes().find(|(id, node)| match target {
        PeerTarget::Id(want) => *id == want,
        PeerTarget::Address(want) => node.addr == *want,
    });
    let Some((&id, node)) = found else {
        return RemoveReply::Unknown(target.to_string());
    };
    let addr = node.addr.clone();
    let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
    if voters.contains(&id) && voters.len() == 1 {
        return RemoveReply::LastVoter(addr);
    }
    let change = if voters.contains(&id) {
        ChangeMembers::RemoveVoters(BTreeSet::from([id]))
    } else {
        ChangeMembers::RemoveNodes(BTreeSet::from([id]))
    };
    // `retain = false`: a removed voter also stops being replicated to.
    let reply = match raft.change_membership(change, false).await {
        Ok(_) => RemoveReply::Removed {
            id,
            addr: addr.clone(),
        },
        Err(OpenraftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
            RemoveReply::NotLeader {
                leader: f.leader_node.map(|n| n.addr),
            }
        }
        Err(e) => RemoveReply::Failed(e.to_string()),
    };
    tracing::info!(id, %addr, ?reply, "raft remove-peer");
    reply
}

/// `POST /raft/remove`: a follower's forwarded removal, executed here if this server
/// leads.
pub async fn remove_handler(
    State(raft): State<OrchRaft>,
    Json(target): Json<PeerTarget>,
) -> Json<RemoveReply> {
    Json(remove_on_leader(&raft, &target).await)
}

/// Removes `target` from the membership from any server: locally on the leader,
/// otherwise forwarded to it, retrying while an election is in progress.
pub async fn remove_peer(
    raft: &OrchRaft,
    network: &HttpNetwork,
    target: &PeerTarget,
) -> Result<(NodeId, String), RemovePeerError> {
    let deadline = tokio::time::Instant::now() + LEADER_WAIT;
    loop {
        let reply = match remove_on_leader(raft, target).await {
            RemoveReply::NotLeader {
                leader: Some(leader),
            } => forward(network, &leader, target)
                .await
                .unwrap_or_else(|e| RemoveReply::NotLeader { leader: None }.with_note(e)),
            other => other,
        };
        let why = match reply {
            RemoveReply::Removed { id, addr } => return Ok((id, addr)),
            RemoveReply::Unknown(what) => return Err(RemovePeerError::Unknown(what)),
            RemoveReply::LastVoter(addr) => return Err(RemovePeerError::LastVoter(addr)),
            RemoveReply::Failed(m) => return Err(RemovePeerError::Failed(m)),
            RemoveReply::NotLeader { .. } => "no reachable leader".to_string(),
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(RemovePeerError::NoLeader(why));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

impl RemoveReply {
    /// Logs why a forwarded attempt did not get an answer (it is retried).
    fn with_note(self, note: String) -> Self {
        tracing::debug!(%note, "raft remove-peer: retrying");
        self
    }
}

async fn forward(
    network: &HttpNetwork,
    leader: &str,
    target: &PeerTarget,
) -> Result<RemoveReply, String> {
    post_json(network, leader, REMOVE_PATH, target).await
}

/// POSTs `body` as JSON to `path` on the server at `addr` and decodes its JSON answer:
/// how one server hands a membership decision to another (the leader).
pub(super) async fn post_json<B: Serialize, R: serde::de::DeserializeOwned>(
    network: &HttpNetwork,
    addr: &str,
    path: &str,
    body: &B,
) -> Result<R, String> {
    let resp = network
        .http()
        .post(network.url(addr, path))
        .timeout(network.request_timeout())
        .json(body)
        .send()
        .await
        .map_err(|e| format!("calling the server at {addr}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!(
            "the server at {addr} answered HTTP {}",
            resp.status()
        ));
    }
    resp.json::<R>()
        .await
        .map_err(|e| format!("decoding the answer of {addr}: {e}"))
}

/// Asks the server at `addr` (any server's RPC or serf port; followers redirect to the
/// leader) to add `me` as a voter, retrying until `timeout` passes: `orch server join`,
/// `retry_join`, and a removed server coming back.
pub async fn join_cluster(
    network: &HttpNetwork,
    me: &JoinRequest,
    addr: &str,
    timeout: Duration,
) -> Result<(), RaftError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut target = addr.to_string();
    loop {
        let message = match try_join(network, &target, me).await {
            Ok(JoinReply::Joined) => return Ok(()),
            Ok(JoinReply::NotLeader {
                leader: Some(leader),
            }) => {
                target = leader;
                format!("{addr} is not the leader")
            }
            Ok(JoinReply::NotLeader { leader: None }) => {
                target = addr.to_string();
                "the cluster has no leader yet".to_string()
            }
            Ok(JoinReply::Failed(m)) => m,
            Err(m) => {
                target = addr.to_string();
                m
            }
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(RaftError::Join {
                leader: addr.to_string(),
                message,
            });
        }
        tracing::debug!(%message, "raft join: retrying");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn try_join(
    network: &HttpNetwork,
    addr: &str,
    req: &JoinRequest,
) -> Result<JoinReply, String> {
    let resp = network
        .http()
        .post(network.url(addr, "/raft/join"))
        .timeout(network.request_timeout())
        .json(req)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    if !status.is_success() {
        let text = resp.text().await.unwrap_or_default();
        return Err(format!("{addr} answered HTTP {status}: {text}"));
    }
    resp.json::<JoinReply>().await.map_err(|e| e.to_string())
}

/// How long a server may go without a leader before it asks to join again.
const REJOIN_AFTER: Duration = Duration::from_secs(30);

/// Watches a running server's membership: after [`REJOIN_AFTER`] without a leader,
/// it asks to join again through `joins` and every peer it knew (autopilot may have
/// removed it while it was away, and nobody replicates to a removed server), as a
/// Nomad server rejoins through gossip. A server that is a member is answered at once.
pub fn spawn_rejoin_watch(
    raft: OrchRaft,
    network: HttpNetwork,
    me: JoinRequest,
    joins: Vec<String>,
) {
    tokio::spawn(async move {
        let mut leaderless_since: Option<tokio::time::Instant> = None;
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let metrics = raft.metrics().borrow().clone();
            if metrics.running_state.is_err() || metrics.state == ServerState::Shutdown {
                return;
            }
            if metrics.current_leader.is_some() {
                leaderless_since = None;
                continue;
            }
            let since = *leaderless_since.get_or_insert_with(tokio::time::Instant::now);
            if since.elapsed() < REJOIN_AFTER {
                continue;
            }
            let mut targets = joins.clone();
            for (id, node) in metrics.membership_config.membership().nodes() {
                if *id != me.node_id && !targets.contains(&node.addr) {
                    targets.push(node.addr.clone());
                }
            }
            for addr in &targets {
                if join_cluster(&network, &me, addr, Duration::from_secs(2))
                    .await
                    .is_ok()
                {
                    tracing::info!(%addr, "rejoined the cluster after a long time without a leader");
                    leaderless_since = None;
                    break;
                }
            }
        }
    });
}
