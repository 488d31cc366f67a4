//! Linearizable reads (Raft's read index): before a default (non-stale) read, the server
//! learns the leader's commit index as of now, with the leader's leadership confirmed by
//! a quorum, and waits until its own state has applied that far.
//!
//! Why: every server answers reads from its own copy of the state. Without this a
//! follower that fell behind, or a deposed leader on the minority side of a partition,
//! answered with old data after a newer write had been acknowledged, which the nemesis'
//! linearizability check caught at once. `?stale` reads skip the barrier, as in Nomad.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use openraft::error::{CheckIsLeaderError, RaftError as OpenRaftError};
use serde::{Deserialize, Serialize};

use super::http::{RpcState, known_leader, leader_moves_from};
use super::lease::Standing;
use super::membership::post_json;
use super::network::HttpNetwork;
use super::types::{NodeId, OrchRaft};
use crate::server::ReplicateError;

/// The leader-side route: confirms leadership and answers the read index.
pub const READ_INDEX_PATH: &str = "/raft/read-index";

/// How long a read waits for a confirmed read index and for applying up to it.
pub const BARRIER_WAIT: Duration = Duration::from_secs(5);

/// How long the leader waits for a quorum to confirm it still leads.
const CONFIRM_WAIT: Duration = Duration::from_secs(3);

/// The leader's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ReadIndexReply {
    /// Reads that see the log through this index are linearizable.
    Index(u64),
    /// This server does not lead.
    NotLeader,
    /// Leadership could not be confirmed.
    Failed(String),
}

/// `POST /raft/read-index` on the leader.
pub async fn read_index_handler(State(rpc): State<RpcState>) -> Json<ReadIndexReply> {
    Json(rpc.reads.confirmed(&rpc.raft).await)
}

/// Shares leadership confirmations between concurrent requests: every request waits
/// for a confirmation round that started after it arrived (so it sees every write
/// acknowledged before it), and one round serves every request that arrived while the
/// previous one ran. Without it each request cost the leader a heartbeat round of its
/// own, and registrations fell from about 5,800/s to 3,250/s.
#[derive(Clone)]
pub struct ReadIndexBatcher {
    inner: std::sync::Arc<BatcherInner>,
}

struct BatcherInner {
    rounds: std::sync::Mutex<Rounds>,
    /// The last finished round and its answer.
    done: tokio::sync::watch::Sender<(u64, ReadIndexReply)>,
}

#[derive(Default)]
struct Rounds {
    /// The number of the newest round started.
    started: u64,
    /// A round is running.
    running: bool,
    /// A request arrived while it ran: another round follows.
    pending: bool,
}

impl Default for ReadIndexBatcher {
    fn default() -> Self {
        let (done, _) = tokio::sync::watch::channel((0, ReadIndexReply::NotLeader));
        ReadIndexBatcher {
            inner: std::sync::Arc::new(BatcherInner {
                rounds: std::sync::Mutex::default(),
                done,
            }),
        }
    }
}

impl ReadIndexBatcher {
    /// The read index of a confirmation round that started after this call.
    pub async fn confirmed(&self, raft: &OrchRaft) -> ReadIndexReply {
        let mut rx = self.inner.done.subscribe();
        let (target, start) = {
            let mut r = self.inner.rounds.lock().unwrap_or_else(|e| e.into_inner());
            if r.running {
                r.pending = true;
                (r.started + 1, false)
            } else {
                r.started += 1;
                r.running = true;
                (r.started, true)
            }
        };
        if start {
            tokio::spawn(run_rounds(self.clone(), raft.clone()));
        }
        loop {
            {
                let (round, reply) = &*rx.borrow_and_update();
                if *round >= target {
                    return reply.clone();
                }
            }
            if rx.changed().await.is_err() {
                return ReadIndexReply::Failed("the read-index batcher stopped".into());
            }
        }
    }
}

/// Runs confirmation rounds while requests keep arriving.
async fn run_rounds(batcher: ReadIndexBatcher, raft: OrchRaft) {
    loop {
        let round = batcher
            .inner
            .rounds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .started;
        let reply = confirmed_read_index(&raft).await;
        batcher.inner.done.send_replace((round, reply));
        let mut r = batcher
            .inner
            .rounds
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if r.pending {
            r.pending = false;
            r.started += 1;
        } else {
            r.running = false;
            return;
        }
    }
}

/// The read index, with leadership confirmed by a quorum now.
async fn confirmed_read_index(raft: &OrchRaft) -> ReadIndexReply {
    match tokio::time::timeout(CONFIRM_WAIT, raft.get_read_log_id()).await {
        Ok(Ok((read, _applied))) => ReadIndexReply::Index(read.map_or(0, |l| l.index)),
        Ok(Err(OpenRaftError::APIError(CheckIsLeaderError::ForwardToLeader(_)))) => {
            ReadIndexReply::NotLeader
        }
        Ok(Err(e)) => ReadIndexReply::Failed(e.to_string()),
        Err(_) => ReadIndexReply::Failed(format!(
            "no quorum confirmed the leader within {CONFIRM_WAIT:?}"
        )),
    }
}

/// Waits until a read on this server is linearizable: the leader's confirmed read
/// index (asked over `network` when another server leads) is applied here. A server cut
/// off from the cluster (`standing`) answers at once that it cannot.
pub async fn barrier(
    raft: &OrchRaft,
    network: &HttpNetwork,
    me: NodeId,
    reads: &ReadIndexBatcher,
    standing: &Standing,
) -> Result<(), ReplicateError> {
    let deadline = tokio::time::Instant::now() + BARRIER_WAIT;
    loop {
        if let Some(why) = standing.cut_off() {
            return Err(ReplicateError::NoLeader(why));
        }
        let answer = match known_leader(raft) {
            Some((id, _)) if id == me => tokio::select! {
                r = reads.confirmed(raft) => Ok(r),
                why = standing.lost() => return Err(ReplicateError::NoLeader(why)),
            },
            Some((_, addr)) => tokio::select! {
                r = post_json(network, &addr, READ_INDEX_PATH, &()) => r,
                () = leader_moves_from(raft, &addr) => Err(format!("{addr} no longer leads")),
                why = standing.lost() => return Err(ReplicateError::NoLeader(why)),
            },
            None => Err("an election is in progress".to_string()),
        };
        let why = match answer {
            Ok(ReadIndexReply::Index(index)) => return applied(raft, index, deadline).await,
            Ok(ReadIndexReply::NotLeader) => "leadership is changing".to_string(),
            Ok(ReadIndexReply::Failed(m)) | Err(m) => m,
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(ReplicateError::NoLeader(why));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn applied(
    raft: &OrchRaft,
    index: u64,
    deadline: tokio::time::Instant,
) -> Result<(), ReplicateError> {
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    raft.wait(Some(left.max(Duration::from_millis(100))))
        .applied_index_at_least(Some(index), "read barrier")
        .await
        .map(|_| ())
        .map_err(|e| {
            ReplicateError::NoLeader(format!(
                "this server has not applied the leader's index {index} in time ({e})"
            ))
        })
}
