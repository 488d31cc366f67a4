//! Leadership transfer (`nomad operator raft transfer-leadership`). openraft 0.9 has no
//! transfer of its own, so the leader stages one with the means it has:
//!
//! 1. the target must hold the leader's whole log (waited for, a few seconds at most);
//! 2. every other voter stops calling elections for a while ([`PAUSE_PATH`], undone by
//!    a timer of its own should the leader die meanwhile), and so does the leader, which
//!    also stops its heartbeats;
//! 3. once the followers' leader lease has run out (openraft refuses votes while the
//!    leader's lease lasts), the target is told to call an election ([`ELECT_PATH`]),
//!    which it wins: its log is complete and nobody else runs;
//! 4. everything is switched back on, whatever happened.
//!
//! Followers hand the request to the leader over [`TRANSFER_PATH`], as removals.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use openraft::ServerState;
use serde::{Deserialize, Serialize};

use super::http::known_leader;
use super::membership::post_json;
use super::network::HttpNetwork;
use super::types::{NodeId, OrchRaft};
use crate::server::PeerTarget;

/// The leader-side transfer RPC.
pub const TRANSFER_PATH: &str = "/raft/transfer";
/// Pauses (or resumes, with 0) this server's elections for a number of milliseconds.
pub const PAUSE_PATH: &str = "/raft/pause-elections";
/// Makes this server call an election now.
pub const ELECT_PATH: &str = "/raft/elect";

/// How long the target may take to catch up before the transfer is refused.
const CATCH_UP: Duration = Duration::from_secs(5);

/// The leader's answer to a transfer request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum TransferReply {
    /// The target leads now.
    Transferred {
        /// Its Raft ID.
        id: NodeId,
        /// Its RPC address.
        addr: String,
    },
    /// Not the leader; ask `leader` if known.
    NotLeader {
        /// The leader's RPC address.
        leader: Option<String>,
    },
    /// The target is not a voter of the configuration (or is the leader itself).
    Refused(String),
    /// The staged election did not make the target leader.
    Failed(String),
}

/// What [`PAUSE_PATH`] takes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Pause {
    /// For how long; 0 resumes elections at once.
    pub millis: u64,
}

/// The election switch of one server: a pause ends when its timer fires unless a
/// later pause or resume replaced it.
#[derive(Clone, Default)]
pub struct ElectionSwitch {
    generation: Arc<AtomicU64>,
    paused: Arc<AtomicBool>,
}

impl ElectionSwitch {
    /// Pauses `raft`'s elections for `millis` (0: resumes them now).
    pub fn pause(&self, raft: &OrchRaft, millis: u64) {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        if millis == 0 {
            self.paused.store(false, Ordering::SeqCst);
            raft.runtime_config().elect(true);
            return;
        }
        self.paused.store(true, Ordering::SeqCst);
        raft.runtime_config().elect(false);
        let (raft, me) = (raft.clone(), self.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            if me.generation.load(Ordering::SeqCst) == generation {
                me.paused.store(false, Ordering::SeqCst);
                raft.runtime_config().elect(true);
            }
        });
    }

    /// Whether elections are paused now (nothing else may call one meanwhile:
    /// `raft::election`).
    pub fn paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }
}

/// `POST /raft/pause-elections`.
pub async fn pause_handler(State(ctx): State<TransferContext>, Json(p): Json<Pause>) -> Json<bool> {
    ctx.switch.pause(&ctx.raft, p.millis.min(60_000));
    Json(true)
}

/// `POST /raft/elect`.
pub async fn elect_handler(State(ctx): State<TransferContext>) -> Json<bool> {
    Json(ctx.raft.trigger().elect().await.is_ok())
}

/// `POST /raft/transfer`: a follower's forwarded transfer, run here if this server
/// leads.
pub async fn transfer_handler(
    State(ctx): State<TransferContext>,
    Json(target): Json<PeerTarget>,
) -> Json<TransferReply> {
    Json(transfer_on_leader(&ctx, &target).await)
}

/// What a transfer needs.
#[derive(Clone)]
pub struct TransferContext {
    /// This server's Raft.
    pub raft: OrchRaft,
    /// For calling the other servers.
    pub network: HttpNetwork,
    /// This server's election switch.
    pub switch: ElectionSwitch,
    /// The election timeout's upper bound: the followers' leader lease.
    pub lease: Duration,
}

/// Transfers leadership from any server: locally on the leader, otherwise forwarded.
pub async fn transfer(ctx: &TransferContext, target: &PeerTarget) -> TransferReply {
    match transfer_on_leader(ctx, target).await {
        TransferReply::NotLeader {
            leader: Some(leader),
        } => post_json(&ctx.network, &leader, TRANSFER_PATH, target)
            .await
            .unwrap_or_else(TransferReply::Failed),
        other => other,
    }
}

/// Stages the election that makes `target` leader. Must run on the leader.
pub async fn transfer_on_leader(ctx: &TransferContext, target: &PeerTarget) -> TransferReply {
    let metrics = ctx.raft.metrics().borrow().clone();
    if metrics.state != ServerState::Leader {
        return TransferReply::NotLeader {
            leader: known_leader(&ctx.raft).map(|(_, addr)| addr),
        };
    }
    let membership = metrics.membership_config.membership().clone();
    let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
    let found = membership.nodes().find(|(id, node)| match target {
        PeerTarget::Id(want) => *id == want,
        PeerTarget::Address(want) => node.addr == *want,
    });
    let Some((&id, node)) = found.filter(|(id, _)| voters.contains(id)) else {
        return TransferReply::Refused(format!(
            "no voter {target} in the Raft configuration; see `orch operator raft list-peers`"
        ));
    };
    if id == metrics.id {
        return TransferReply::Refused(format!("{target} already leads"));
    }
    let addr = node.addr.clone();
    if let Err(e) = wait_caught_up(&ctx.raft, id).await {
        return TransferReply::Failed(e);
    }
    let others: Vec<String> = membership
        .nodes()
        .filter(|(n, _)| **n != id && **n != metrics.id && voters.contains(n))
        .map(|(_, node)| node.addr.clone())
        .collect();
    let window = ctx.lease * 4 + Duration::from_secs(2);
    let result = stage(ctx, id, &addr, &others, window).await;
    // Everything back on, whatever happened.
    ctx.raft.runtime_config().heartbeat(true);
    ctx.switch.pause(&ctx.raft, 0);
    for other in &others {
        let _: Result<bool, String> =
            post_json(&ctx.network, other, PAUSE_PATH, &Pause { millis: 0 }).await;
    }
    tracing::info!(id, %addr, ?result, "raft transfer-leadership");
    match result {
        Ok(()) => TransferReply::Transferred { id, addr },
        Err(e) => TransferReply::Failed(e),
    }
}

/// Pauses the others, silences this leader, lets the lease run out and has the target
/// call its election; waits until it leads.
async fn stage(
    ctx: &TransferContext,
    id: NodeId,
    addr: &str,
    others: &[String],
    window: Duration,
) -> Result<(), String> {
    let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
    for other in others {
        let paused: bool = post_json(&ctx.network, other, PAUSE_PATH, &Pause { millis }).await?;
        if !paused {
            return Err(format!("{other} did not pause its elections"));
        }
    }
    ctx.switch.pause(&ctx.raft, millis);
    ctx.raft.runtime_config().heartbeat(false);
    tokio::time::sleep(ctx.lease + Duration::from_millis(200)).await;
    let _: bool = post_json(&ctx.network, addr, ELECT_PATH, &()).await?;
    let mut rx = ctx.raft.metrics();
    let waited = tokio::time::timeout(window, async {
        loop {
            if rx.borrow_and_update().current_leader == Some(id) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
    match waited {
        Ok(()) if ctx.raft.metrics().borrow().current_leader == Some(id) => Ok(()),
        _ => Err(format!(
            "{addr} did not become leader within {}s; the cluster elects as usual",
            window.as_secs()
        )),
    }
}

/// Waits until `id` holds the leader's last log entry.
async fn wait_caught_up(raft: &OrchRaft, id: NodeId) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + CATCH_UP;
    loop {
        let m = raft.metrics().borrow().clone();
        let last = m.last_log_index.unwrap_or(0);
        let matched = m
            .replication
            .as_ref()
            .and_then(|r| r.get(&id).copied().flatten())
            .map_or(0, |l| l.index);
        if matched >= last {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "the target is {} entries behind the leader after {}s; try again once it caught up",
                last - matched,
                CATCH_UP.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
