//! Forming a cluster from `bootstrap_expect` and `retry_join`, as Nomad's servers do.
//!
//! Every server lists the others' serf addresses. Each round a server first tries to
//! join (which works as soon as any of them leads); otherwise it asks each address who
//! it is (`GET /serf/id`). Once `bootstrap_expect` distinct servers answer and none is
//! part of a cluster yet, the one with the smallest node ID initializes the cluster with
//! all of them as voters; the others simply start following it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::raft::{NodeId, OrchRaft, RaftNode};

/// Who a server is, answered on its serf port.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerIdentity {
    /// Raft node ID.
    pub node_id: NodeId,
    /// Raft RPC address peers use.
    pub rpc_addr: String,
    /// Whether it already belongs to a cluster.
    pub initialized: bool,
}

#[derive(Clone)]
struct IdentityState {
    raft: OrchRaft,
    node_id: NodeId,
    rpc_addr: Arc<String>,
}

/// The `/serf/id` route for the serf port, behind the server's peer guard (the
/// cluster secret, the server role under TLS).
pub fn identity_router(node: &RaftNode) -> Router {
    let state = IdentityState {
        raft: node.raft().clone(),
        node_id: node.node_id(),
        rpc_addr: Arc::new(node.advertise_addr().to_string()),
    };
    node.security().peer_guard().protect(
        Router::new()
            .route("/serf/id", get(identity))
            .with_state(state),
    )
}

async fn identity(State(s): State<IdentityState>) -> Json<ServerIdentity> {
    let initialized = s.raft.is_initialized().await.unwrap_or(false);
    Json(ServerIdentity {
        node_id: s.node_id,
        rpc_addr: s.rpc_addr.to_string(),
        initialized,
    })
}

/// Joins an existing cluster through `joins`, or forms one with `expect` servers.
/// `retry_max` of 0 retries forever; rounds are `interval` apart. A server restarted on its data dir is already a
/// member: it starts at once and rejoins through Raft (and, if it was removed meanwhile,
/// through the membership watch), instead of holding its API back until a leader
/// answers, which during an election or a rolling restart took longer than 30 s.
pub async fn form_or_join(
    node: &RaftNode,
    joins: &[String],
    expect: u32,
    retry_max: u32,
    interval: Duration,
) -> Result<(), String> {
    if node.raft().is_initialized().await.unwrap_or(false) {
        return Ok(());
    }
    // The serf port speaks what the RPC port does: TLS and the cluster secret.
    let link = node.peer_link();
    let me = node.node_id();
    for round in 0u32.. {
        if node.raft().is_initialized().await.unwrap_or(false)
            && node.raft().metrics().borrow().current_leader.is_some()
        {
            return Ok(()); // Someone added us.
        }
        for addr in joins {
            match node.join(addr, Duration::from_secs(1)).await {
                Ok(()) => return Ok(()),
                // A refusal is not a cluster still starting: say so every time.
                Err(e) if e.to_string().contains("HTTP 403") => {
                    tracing::warn!(error = %e, "join refused")
                }
                Err(e) => tracing::debug!(error = %e, "join: retrying"),
            }
        }
        if expect > 1 {
            let mut found: BTreeMap<NodeId, String> =
                BTreeMap::from([(me, node.advertise_addr().to_string())]);
            let mut someone_initialized = false;
            for addr in joins {
                let url = link.url(addr, "/serf/id");
                if let Ok(r) = link
                    .client()
                    .get(url)
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                    && let Ok(id) = r.json::<ServerIdentity>().await
                {
                    someone_initialized |= id.initialized && id.node_id != me;
                    found.insert(id.node_id, id.rpc_addr);
                }
            }
            let smallest = found.keys().next().copied();
            if !someone_initialized && found.len() >= expect as usize && smallest == Some(me) {
                node.initialize(found).await.map_err(|e| e.to_string())?;
                return Ok(());
            }
        }
        if retry_max > 0 && round + 1 >= retry_max {
            break;
        }
        tokio::time::sleep(interval).await;
    }
    Err(format!(
        "could not join or form a cluster through {joins:?}; check the addresses name the other servers' serf ports"
    ))
}
