//! The server side of the peer RPCs, plus write forwarding and joining.
//!
//! Routes (all `POST`):
//! - `/raft/append`, `/raft/vote`, `/raft/snapshot`: openraft's RPCs; postcard request,
//!   postcard `Result<reply, openraft::error::RaftError>` response.
//! - `/raft/forward`: a follower's client writes (postcard `Vec<Command>`, see
//!   [`super::forwarder`]) executed by the leader; replies a postcard `Vec<ForwardReply>`.
//! - `/raft/join`: JSON [`JoinRequest`] `{"node_id": .., "addr": ".."}` (easy to send by
//!   hand); the leader adds the server as a learner, then promotes it to voter. Replies
//!   a JSON [`JoinReply`].
//! - `/raft/remove`: JSON `PeerTarget`; the leader removes the server from the
//!   membership (see [`super::membership`]).
//! - `GET /raft/health`: this server's JSON [`RaftHealth`](crate::server::RaftHealth)
//!   (see [`super::health`]).
//!
//! [`raft_router`]'s routes are mounted behind the server's
//! [`PeerGuard`](crate::tls::PeerGuard) (the cluster secret, the server role under
//! `verify_server_hostname`); [`HTTP_ADDR_PATH`] stays open, since client agents ask it.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::post;
use openraft::BasicNode;
use openraft::error::{ClientWriteError, RaftError as OpenraftError};
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use orch_core::state::Command;
use serde::{Deserialize, Serialize};

use super::batcher::{BatchError, ProposalBatcher};
use super::health::{Contacts, HEALTH_PATH, SharedHealth};
use super::network::POSTCARD;
use super::types::{ApplyResult, NodeId, OrchRaft, TypeConfig};

/// The leader's answer to a forwarded write.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ForwardReply {
    /// Committed and applied; the state machine's result (which may be a refusal).
    Applied(ApplyResult),
    /// The receiver is not the leader (any more); retry at the leader if one is known.
    NotLeader {
        /// The leader's ID and RPC address, if the receiver knows them.
        leader: Option<(NodeId, String)>,
    },
    /// Replication failed; the write may or may not commit.
    Failed(String),
}

/// Asks the leader to add a server as a voter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinRequest {
    /// The joining server's Raft ID.
    pub node_id: NodeId,
    /// The joining server's RPC address (`host:port`) as peers must dial it.
    pub addr: String,
}

/// The answer to a [`JoinRequest`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum JoinReply {
    /// The server is a voter now.
    Joined,
    /// Not the leader; ask `leader` (RPC address) if known.
    NotLeader {
        /// The leader's RPC address, if known.
        leader: Option<String>,
    },
    /// The membership change failed (e.g. another one was in progress); retry.
    Failed(String),
}

/// Path where a server's RPC listener tells its HTTP API address (plain text, 404 until
/// the API listens), so a follower can forward client calls that must reach the leader's
/// HTTP API (heartbeats, which reset timers only the leader keeps).
pub const HTTP_ADDR_PATH: &str = "/raft/http-addr";

/// Path where a server's RPC listener tells who it is (JSON
/// [`PeerAgent`](crate::server::PeerAgent), 404 until the API listens), for
/// `/v1/agent/members` on any server.
pub const MEMBER_PATH: &str = "/raft/member";

/// Holds who this server is once the agent has bound its HTTP API.
pub type HttpAddrSlot = std::sync::Arc<std::sync::OnceLock<crate::server::PeerAgent>>;

/// The open `GET` [`HTTP_ADDR_PATH`] and [`MEMBER_PATH`] routes, answering from `slot`.
pub fn http_addr_router(slot: HttpAddrSlot) -> Router {
    let not_yet = || {
        (
            StatusCode::NOT_FOUND,
            "this server's HTTP API is not listening yet; retry",
        )
            .into_response()
    };
    let addr_slot = slot.clone();
    Router::new()
        .route(
            HTTP_ADDR_PATH,
            axum::routing::get(move || {
                let slot = addr_slot.clone();
                async move {
                    match slot.get() {
                        Some(me) => (StatusCode::OK, me.http_addr.clone()).into_response(),
                        None => not_yet(),
                    }
                }
            }),
        )
        .route(
            MEMBER_PATH,
            axum::routing::get(move || {
                let slot = slot.clone();
                async move {
                    match slot.get() {
                        Some(me) => Json(me.clone()).into_response(),
                        None => not_yet(),
                    }
                }
            }),
        )
}

/// What the RPC handlers need: the Raft instance, the batcher forwarded writes join, and
/// the replication health they record contacts in and answer.
#[derive(Clone)]
pub struct RpcState {
    /// The Raft instance.
    pub raft: OrchRaft,
    /// Where forwarded writes go.
    pub batcher: ProposalBatcher,
    /// Contacts from the leader are recorded here.
    pub contacts: Arc<Contacts>,
    /// This server's latest replication health.
    pub health: SharedHealth,
    /// Leadership transfers.
    pub transfer: super::transfer::TransferContext,
    /// Leadership confirmations shared by concurrent linearizable requests.
    pub reads: super::read_index::ReadIndexBatcher,
    /// Answers votes, campaigning when a candidate's log is behind this server's.
    pub campaigner: super::election::Campaigner,
}

impl axum::extract::FromRef<RpcState> for super::transfer::TransferContext {
    fn from_ref(s: &RpcState) -> Self {
        s.transfer.clone()
    }
}

impl axum::extract::FromRef<RpcState> for OrchRaft {
    fn from_ref(s: &RpcState) -> OrchRaft {
        s.raft.clone()
    }
}

impl axum::extract::FromRef<RpcState> for SharedHealth {
    fn from_ref(s: &RpcState) -> SharedHealth {
        s.health.clone()
    }
}

impl axum::extract::FromRef<RpcState> for ProposalBatcher {
    fn from_ref(s: &RpcState) -> ProposalBatcher {
        s.batcher.clone()
    }
}

/// The largest peer request body a server accepts. Every peer request must fit: an
/// AppendEntries carries at most [`MAX_APPEND_BYTES`](super::log_store::MAX_APPEND_BYTES)
/// or one entry of at most [`MAX_ENTRY_BYTES`](super::batcher::MAX_ENTRY_BYTES), a
/// snapshot chunk at most [`SNAPSHOT_CHUNK_BYTES`](super::node::SNAPSHOT_CHUNK_BYTES),
/// and a forwarded batch as much as an entry. axum's default of 2 MiB refused every
/// snapshot chunk (3 MiB in openraft), so a server that needed a snapshot never caught up.
pub const MAX_PEER_BODY_BYTES: usize = 64 << 20;

const _: () = {
    assert!(super::node::SNAPSHOT_CHUNK_BYTES as usize + (1 << 20) < MAX_PEER_BODY_BYTES);
    assert!(super::batcher::MAX_ENTRY_BYTES + (1 << 20) < MAX_PEER_BODY_BYTES);
    assert!(super::log_store::MAX_APPEND_BYTES < MAX_PEER_BODY_BYTES);
};

/// The routes of the Raft RPC listener; mount it on the server's RPC address.
pub fn raft_router(state: RpcState) -> Router {
    Router::new()
        .route("/raft/append", post(append))
        .route("/raft/vote", post(vote))
        .route("/raft/snapshot", post(snapshot))
        .route(HEALTH_PATH, axum::routing::get(health))
        .route(super::forwarder::FORWARD_PATH, post(forward))
        .route(
            super::read_index::READ_INDEX_PATH,
            post(super::read_index::read_index_handler),
        )
        .route("/raft/join", post(join))
        .route(
            super::membership::REMOVE_PATH,
            post(super::membership::remove_handler),
        )
        .route(
            super::transfer::TRANSFER_PATH,
            post(super::transfer::transfer_handler),
        )
        .route(
            super::transfer::PAUSE_PATH,
            post(super::transfer::pause_handler),
        )
        .route(
            super::transfer::ELECT_PATH,
            post(super::transfer::elect_handler),
        )
        .route_layer(axum::middleware::from_fn(record_rpc))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_PEER_BODY_BYTES))
        .with_state(state)
}

/// Counts and times every server-to-server call (`nomad.rpc.request`) by route.
async fn record_rpc(req: axum::extract::Request, next: axum::middleware::Next) -> HttpResponse {
    let started = std::time::Instant::now();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let resp = next.run(req).await;
    crate::telemetry::measure(
        "nomad.rpc.request",
        vec![("path", route.clone())],
        started.elapsed(),
    );
    crate::telemetry::incr("nomad.rpc.request_count", vec![("path", route)], 1);
    resp
}

fn postcard_reply<T: Serialize>(value: &T) -> HttpResponse {
    match postcard::to_allocvec(value) {
        Ok(bytes) => ([(header::CONTENT_TYPE, POSTCARD)], bytes).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("could not encode the reply ({e}); this is a bug in orch"),
        )
            .into_response(),
    }
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    postcard::from_bytes(body).map_err(|e| {
        format!(
            "could not decode the postcard body ({e}); all servers must run the same orch version"
        )
    })
}

fn bad_request(message: String) -> HttpResponse {
    (StatusCode::BAD_REQUEST, message).into_response()
}

async fn append(State(rpc): State<RpcState>, body: Bytes) -> HttpResponse {
    let req: AppendEntriesRequest<TypeConfig> = match decode(&body) {
        Ok(r) => r,
        Err(m) => return bad_request(m),
    };
    let reply = rpc.raft.append_entries(req).await;
    if reply.is_ok() {
        rpc.contacts.heard_from_leader();
    }
    postcard_reply(&reply)
}

async fn vote(State(rpc): State<RpcState>, body: Bytes) -> HttpResponse {
    let req: VoteRequest<NodeId> = match decode(&body) {
        Ok(r) => r,
        Err(m) => return bad_request(m),
    };
    // A candidate reached this server: it is not cut off (see `raft::lease`).
    rpc.contacts.heard_from_peer();
    postcard_reply(&rpc.campaigner.vote(req).await)
}

/// How long a chunk of a snapshot holds this server's elections off: far longer than
/// the gap between two chunks or an install on a loaded machine.
const SNAPSHOT_ELECTION_HOLD_MS: u64 = 30_000;

/// A chunk of a snapshot the leader streams to this server.
///
/// A server receiving a snapshot holds its elections off from the first chunk until the
/// install is done. It needs the snapshot because it is behind the leader's log, so no
/// up-to-date voter would elect it: an election of its would only raise the term. And
/// openraft's leader steps down when a replication reply carries a higher vote, so on a
/// loaded machine, where the gap between two chunks or the install of the last one
/// outlasts the election timeout, every transfer was cut off by such an election and
/// started again from the first chunk: the server never caught up
/// (tests/raft_catchup.rs, with 34 MB of state beside three compiling builds). It still
/// votes meanwhile, and if the leader is gone for good the hold lapses.
async fn snapshot(State(rpc): State<RpcState>, body: Bytes) -> HttpResponse {
    let req: InstallSnapshotRequest<TypeConfig> = match decode(&body) {
        Ok(r) => r,
        Err(m) => return bad_request(m),
    };
    let switch = &rpc.transfer.switch;
    switch.pause(&rpc.raft, SNAPSHOT_ELECTION_HOLD_MS);
    let (vote, done) = (req.vote, req.done);
    touch_leader_vote(&rpc.raft, vote).await;
    let reply = rpc.raft.install_snapshot(req).await;
    if reply.is_ok() {
        touch_leader_vote(&rpc.raft, vote).await;
        rpc.contacts.heard_from_leader();
    }
    if done || reply.is_err() {
        // Installed (the timer was just refreshed) or refused: elections as usual.
        switch.pause(&rpc.raft, 0);
    }
    postcard_reply(&reply)
}

/// Tells the local Raft core that the leader holding `vote` is alive, as its heartbeat
/// would: an empty AppendEntries with no previous log ID checks the vote and refreshes
/// the election timer, and changes no log, commit index or state.
///
/// openraft 0.9 sends a follower no heartbeat while a snapshot is in flight to it, and a
/// snapshot chunk alone does not reset the follower's election timer. A snapshot that
/// takes longer to stream than the election timeout (tens of megabytes on a loaded
/// machine) made the follower call an election mid-transfer; the higher term deposed
/// the leader, the transfer restarted from the first chunk, and the follower never
/// caught up (tests/raft_catchup.rs). The Raft paper has a follower reset its timer on
/// every RPC from the current leader, InstallSnapshot included.
async fn touch_leader_vote(raft: &OrchRaft, vote: openraft::Vote<NodeId>) {
    if !vote.is_committed() {
        return;
    }
    let heartbeat = AppendEntriesRequest::<TypeConfig> {
        vote,
        prev_log_id: None,
        entries: Vec::new(),
        leader_commit: None,
    };
    if let Err(e) = raft.append_entries(heartbeat).await {
        tracing::debug!(error = %e, "raft: a snapshot chunk's vote was not accepted as a heartbeat");
    }
}

/// `GET` [`HEALTH_PATH`]: this server's replication health (followers read the
/// leader's to learn how far they trail).
async fn health(State(health): State<SharedHealth>) -> Json<crate::server::RaftHealth> {
    Json(health.read().unwrap_or_else(|e| e.into_inner()).clone())
}

/// The leader's RPC address as this server knows it.
pub(crate) fn known_leader(raft: &OrchRaft) -> Option<(NodeId, String)> {
    // Borrowed, not cloned: every write asks, and metrics carry the whole membership.
    let rx = raft.metrics();
    let metrics = rx.borrow();
    let id = metrics.current_leader?;
    let node = metrics.membership_config.membership().get_node(&id)?;
    Some((id, node.addr.clone()))
}

/// Returns once `addr` is no longer the leader this server knows (an election elsewhere
/// made another server leader, or none is known). A call in flight to a leader that was
/// cut off would otherwise hang until its timeout while the cluster already has a new
/// leader; racing it against this lets the caller answer or retry at once.
pub(crate) async fn leader_moves_from(raft: &OrchRaft, addr: &str) {
    let mut rx = raft.metrics();
    loop {
        if known_leader(raft).is_none_or(|(_, a)| a != addr) {
            return;
        }
        if rx.changed().await.is_err() {
            // Raft stopped: nothing will change any more.
            std::future::pending::<()>().await;
        }
    }
}

async fn forward(State(batcher): State<ProposalBatcher>, body: Bytes) -> HttpResponse {
    let cmds: Vec<Command> = match decode(&body) {
        Ok(c) => c,
        Err(m) => return bad_request(m),
    };
    let reply: Vec<ForwardReply> = batcher
        .write_all(cmds)
        .await
        .into_iter()
        .map(|r| match r {
            Ok(result) => ForwardReply::Applied(result),
            Err(BatchError::ForwardToLeader(leader)) => ForwardReply::NotLeader { leader },
            Err(BatchError::Failed(e)) => ForwardReply::Failed(e),
        })
        .collect();
    postcard_reply(&reply)
}

async fn join(State(raft): State<OrchRaft>, Json(req): Json<JoinRequest>) -> Json<JoinReply> {
    let node = BasicNode {
        addr: req.addr.clone(),
    };
    let not_leader = |raft: &OrchRaft| JoinReply::NotLeader {
        leader: known_leader(raft).map(|(_, addr)| addr),
    };
    // A non-voter until autopilot promotes it (`raft::autopilot`): caught up first
    // (`blocking`), then healthy for ServerStabilizationTime.
    let reply = match raft.add_learner(req.node_id, node, true).await {
        Ok(_) => JoinReply::Joined,
        Err(OpenraftError::APIError(ClientWriteError::ForwardToLeader(_))) => not_leader(&raft),
        Err(e) => JoinReply::Failed(e.to_string()),
    };
    tracing::info!(node_id = req.node_id, addr = %req.addr, ?reply, "raft join");
    Json(reply)
}
