//! [`RaftReplicator`]: the daemon's write path through Raft.

use std::time::Duration;

use openraft::ServerState;
use orch_core::state::{Command, Response};

use super::batcher::{BatchError, ProposalBatcher};
use super::forwarder::Forwarder;

use super::health::SharedHealth;
use super::http::{ForwardReply, known_leader};
use super::network::{CallError, HttpNetwork};
use super::types::{ApplyResult, NodeId, OrchRaft};
use crate::server::{
    Member, PeerTarget, RaftHealth, RemovePeerFuture, ReplicateError, Replicator, StateHandle,
};

/// `crate::server`'s `ProposeFuture` (not re-exported there).
type ProposeFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Response, ReplicateError>> + Send + 'a>,
>;

/// How long a write waits for a leader (elections take a few election timeouts).
const LEADER_WAIT: Duration = Duration::from_secs(10);

/// Commits commands through Raft. On the leader a write goes straight into the log; on a
/// follower it is forwarded to the leader over `POST /raft/forward`. Either way the call
/// returns once the entry is committed and applied on the server that executed it.
///
/// A forwarded write additionally waits (up to [`LOCAL_APPLY_WAIT`]) until this server's
/// own state has applied it, keeping the [`Replicator`] promise that an `Ok` write is
/// visible locally (read-your-writes on followers).
#[derive(Clone)]
pub struct RaftReplicator {
    raft: OrchRaft,
    batcher: ProposalBatcher,
    forwarder: Forwarder,
    node_id: NodeId,
    /// This server as it asks to join (`orch server join`).
    me: super::http::JoinRequest,
    /// Leadership transfers.
    transfer: super::transfer::TransferContext,
    network: HttpNetwork,
    state: StateHandle,
    health: SharedHealth,
    reads: super::read_index::ReadIndexBatcher,
    /// Whether this server is cut off: then writes fail at once, and waiting ones let go.
    standing: super::lease::Standing,
}

/// How long a follower waits for a forwarded write to be applied locally. The leader
/// tells followers the new commit index with its next heartbeat, so this is normally one
/// heartbeat interval; past it the write is returned anyway (it is committed).
pub const LOCAL_APPLY_WAIT: Duration = Duration::from_secs(5);

/// How long `orch server join` tries one address.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

fn into_result(result: ApplyResult) -> Result<Response, ReplicateError> {
    result.0.map_err(|e| ReplicateError::Rejected(e.into()))
}

impl RaftReplicator {
    /// A replicator writing through `raft` via `batcher` (this server is `me`,
    /// applying to `state`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        transfer: super::transfer::TransferContext,
        batcher: ProposalBatcher,
        forwarder: Forwarder,
        me: super::http::JoinRequest,
        state: StateHandle,
        health: SharedHealth,
        reads: super::read_index::ReadIndexBatcher,
        standing: super::lease::Standing,
    ) -> Self {
        RaftReplicator {
            raft: transfer.raft.clone(),
            network: transfer.network.clone(),
            transfer,
            batcher,
            forwarder,
            node_id: me.node_id,
            me,
            state,
            health,
            reads,
            standing,
        }
    }

    /// Runs `call` unless this server is cut off first (`raft::lease`): the write was
    /// handed on, so its fate is then unknown.
    async fn unless_cut_off<T>(
        &self,
        call: impl std::future::Future<Output = T>,
    ) -> Result<T, ReplicateError> {
        tokio::select! {
            r = call => Ok(r),
            why = self.standing.lost() => Err(ReplicateError::Failed(format!(
                "{why}; the write may or may not have been applied"
            ))),
        }
    }

    /// Waits until the local state has applied a forwarded write's result.
    async fn applied_locally(&self, result: ApplyResult) -> Result<Response, ReplicateError> {
        let response = into_result(result)?;
        let after = response.index.saturating_sub(1);
        if self.state.wait_past(after, LOCAL_APPLY_WAIT).await <= after {
            tracing::warn!(
                index = response.index,
                "forwarded write committed but not yet applied on this server"
            );
        }
        Ok(response)
    }

    async fn write(&self, cmd: Command) -> Result<Response, ReplicateError> {
        let deadline = tokio::time::Instant::now() + LEADER_WAIT;
        loop {
            // A cut-off server cannot commit: the client had better try another.
            if let Some(why) = self.standing.cut_off() {
                return Err(ReplicateError::NoLeader(why));
            }
            // A follower that knows the leader forwards at once; otherwise Raft says
            // whether this server leads, or who does.
            let leader = match known_leader(&self.raft) {
                Some((id, addr)) if id != self.node_id => Some((id, addr)),
                _ => match self.unless_cut_off(self.batcher.write(cmd.clone())).await? {
                    Ok(result) => return into_result(result),
                    Err(BatchError::ForwardToLeader(leader)) => leader,
                    Err(BatchError::Failed(e)) => return Err(ReplicateError::Failed(e)),
                },
            };
            let why = match leader {
                Some((id, _)) if id == self.node_id => {
                    // Stale hint about ourselves (leadership just changed): retry.
                    "leadership is changing".to_string()
                }
                Some((_, addr)) => match self
                    .unless_cut_off(self.forwarder.forward(&addr, cmd.clone()))
                    .await?
                {
                    Ok(ForwardReply::Applied(result)) => {
                        return self.applied_locally(result).await;
                    }
                    Ok(ForwardReply::NotLeader { .. }) => format!("{addr} is no longer the leader"),
                    Ok(ForwardReply::Failed(m)) => return Err(ReplicateError::Failed(m)),
                    // Nothing was sent: safe to retry.
                    Err(e @ CallError::Unreachable { .. }) => e.to_string(),
                    // The write may have been applied: retrying could apply it twice.
                    Err(e @ CallError::Failed { .. }) => {
                        return Err(ReplicateError::Failed(format!(
                            "forwarding to the leader: {e}; the write may or may not have been applied"
                        )));
                    }
                },
                None => "an election is in progress".to_string(),
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(ReplicateError::NoLeader(why));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Replicator for RaftReplicator {
    fn propose(&self, cmd: Command) -> ProposeFuture<'_> {
        Box::pin(self.write(cmd))
    }

    fn health(&self) -> RaftHealth {
        self.health
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn last_applied_term(&self) -> u64 {
        let rx = self.raft.metrics();
        let metrics = rx.borrow();
        metrics.last_applied.map_or(0, |l| l.leader_id.term)
    }

    fn read_barrier(&self) -> crate::server::ReadBarrierFuture<'_> {
        Box::pin(super::read_index::barrier(
            &self.raft,
            &self.network,
            self.node_id,
            &self.reads,
            &self.standing,
        ))
    }

    fn is_leader(&self) -> bool {
        // Borrowed, not cloned: this runs on every write and metrics carry the membership.
        let rx = self.raft.metrics();
        let metrics = rx.borrow();
        metrics.state == ServerState::Leader && metrics.current_leader == Some(self.node_id)
    }

    fn leader_addr(&self) -> Option<String> {
        known_leader(&self.raft).map(|(_, addr)| addr)
    }

    fn peers(&self) -> Vec<String> {
        let metrics = self.raft.metrics().borrow().clone();
        let membership = metrics.membership_config.membership();
        membership
            .voter_ids()
            .filter_map(|id| membership.get_node(&id).map(|n| n.addr.clone()))
            .collect()
    }

    fn members(&self) -> Vec<Member> {
        let metrics = self.raft.metrics().borrow().clone();
        let membership = metrics.membership_config.membership();
        let voters: std::collections::BTreeSet<NodeId> = membership.voter_ids().collect();
        membership
            .nodes()
            .map(|(id, node)| Member {
                id: id.to_string(),
                addr: node.addr.clone(),
                voter: voters.contains(id),
            })
            .collect()
    }

    fn peer_agents(&self) -> crate::server::PeerAgentsFuture<'_> {
        Box::pin(async move {
            let others: Vec<Member> = self
                .members()
                .into_iter()
                .filter(|m| m.id != self.node_id.to_string())
                .collect();
            let asks = others.into_iter().map(|m| async move {
                let url = self.network.url(&m.addr, super::http::MEMBER_PATH);
                let answer = self
                    .network
                    .http()
                    .get(url)
                    .timeout(Duration::from_secs(1))
                    .send()
                    .await;
                let agent = match answer {
                    Ok(r) if r.status().is_success() => r.json().await.ok(),
                    _ => None,
                };
                (m, agent)
            });
            futures_util::future::join_all(asks).await
        })
    }

    fn join(&self, addr: String) -> crate::server::JoinFuture<'_> {
        Box::pin(async move {
            super::membership::join_cluster(&self.network, &self.me, &addr, JOIN_TIMEOUT)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn transfer_leadership(&self, target: PeerTarget) -> crate::server::TransferFuture<'_> {
        Box::pin(async move {
            use super::transfer::TransferReply;
            match super::transfer::transfer(&self.transfer, &target).await {
                TransferReply::Transferred { id, addr } => Ok((id, addr)),
                TransferReply::Refused(e) => Err(crate::server::TransferError::Refused(e)),
                TransferReply::NotLeader { .. } => Err(crate::server::TransferError::Failed(
                    "no leader to transfer from: an election is in progress; retry".into(),
                )),
                TransferReply::Failed(e) => Err(crate::server::TransferError::Failed(e)),
            }
        })
    }

    fn remove_peer(&self, target: PeerTarget) -> RemovePeerFuture<'_> {
        Box::pin(
            async move { super::membership::remove_peer(&self.raft, &self.network, &target).await },
        )
    }
}
