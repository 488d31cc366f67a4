//! Calling an election at once when a vote request shows that this server, not the
//! candidate, should lead.
//!
//! Why: openraft 0.9 draws each server's election timeout once, at start. When the
//! leader is lost, the follower with the shortest timeout campaigns first; if its log is
//! behind another follower's (the old leader's last entries reached only some servers:
//! common under a steady write load), it cannot win, and openraft makes it wait two
//! upper bounds more (`smaller_log_timeout`). The follower holding the longer log waits
//! out its own, longer timeout, and its first candidacy often collides with the failed
//! candidate's term (a lower node ID loses the tie) and needs one timeout more. The
//! nemesis measured 3.3-3.9 s from a partitioned leader to a new one that way, against
//! 1.6-2.2 s otherwise (`benches/README.md`).
//!
//! Here a server that refuses a vote because the candidate's log is behind its own
//! campaigns as soon as its leader lease has lapsed (at once if it has; the refusal may
//! have been for the lease, since openraft checks that first) unless it hears from the
//! leader meanwhile: its own election is due anyway, one election timeout later. If it
//! loses that round to the short-log candidate's vote of the same term (a tie broken by
//! node ID), it campaigns again at once, a bounded number of times. Safety is openraft's: votes
//! still go only to a candidate whose log is at least as up to date as the voter's.
//! Paused elections (a snapshot install or a leadership transfer, see
//! [`ElectionSwitch`]) are respected.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use openraft::ServerState;
use openraft::raft::{VoteRequest, VoteResponse};

use super::health::Contacts;
use super::transfer::ElectionSwitch;
use super::types::{NodeId, OrchRaft};

/// Candidacies one refused vote may start (the first, and retries after losing a
/// round to a same-term vote).
const ATTEMPTS: usize = 3;

/// What a server answering vote requests needs to decide whether to campaign.
#[derive(Clone)]
pub struct Campaigner {
    raft: OrchRaft,
    contacts: Arc<Contacts>,
    switch: ElectionSwitch,
    /// The followers' leader lease (openraft's `election_timeout_max`).
    lease: Duration,
    /// How long one round of votes may take before openraft's own timers take over.
    round: Duration,
    running: Arc<AtomicBool>,
    /// When this server started: until it hears from a leader, its lease counts from
    /// here (a server just restarted must not take its silence for the leader's loss).
    started: tokio::time::Instant,
}

/// What one candidacy came to.
#[derive(Debug, PartialEq, Eq)]
enum Round {
    /// This server leads, or follows a leader it knows.
    Settled,
    /// It follows a higher vote with no leader yet: it lost a tie of the term.
    LostTie,
    /// Still undecided when the round's time ran out.
    Undecided,
}

impl Campaigner {
    /// The campaigner of `raft`, judging leader contact by `contacts`.
    pub fn new(
        raft: OrchRaft,
        contacts: Arc<Contacts>,
        switch: ElectionSwitch,
        lease: Duration,
        election_timeout_min: Duration,
    ) -> Campaigner {
        Campaigner {
            raft,
            contacts,
            switch,
            lease,
            round: election_timeout_min / 2,
            running: Arc::default(),
            started: tokio::time::Instant::now(),
        }
    }

    /// Answers a peer's vote request, and campaigns in the background when the answer
    /// shows this server should lead (see the module doc).
    pub async fn vote(
        &self,
        req: VoteRequest<NodeId>,
    ) -> Result<VoteResponse<NodeId>, openraft::error::RaftError<NodeId>> {
        let resp = self.raft.vote(req.clone()).await?;
        if self.refusal_calls_for_campaign(&req, &resp) {
            let me = self.clone();
            let candidate = req.vote.leader_id().voted_for();
            tokio::spawn(async move { me.campaign(candidate).await });
        }
        Ok(resp)
    }

    fn refusal_calls_for_campaign(
        &self,
        req: &VoteRequest<NodeId>,
        resp: &VoteResponse<NodeId>,
    ) -> bool {
        let m = self.raft.metrics().borrow().clone();
        let is_voter = m
            .membership_config
            .membership()
            .voter_ids()
            .any(|v| v == m.id);
        refused_for_a_shorter_log(req, resp)
            && is_voter
            && m.state != ServerState::Leader
            && req.vote.leader_id().term >= m.current_term
            && !self.switch.paused()
    }

    /// How long the lease of the leader last heard from (or, before any, of the one
    /// this server would have heard from since it started) still runs; zero once lapsed.
    fn lease_left(&self) -> Duration {
        let since = self
            .contacts
            .since_leader()
            .unwrap_or_else(|| self.started.elapsed());
        self.lease.saturating_sub(since)
    }

    /// Campaigns until this server leads or a leader newer than the lost one is known,
    /// at most [`ATTEMPTS`] times; one campaign at a time. A round lost to a same-term
    /// vote is retried only when that vote is the short-log `candidate`'s (which cannot
    /// win): lost to another server, that one may hold as long a log, and a retry would
    /// only duel with it (five servers refusing one candidate at once).
    ///
    /// A follower's metrics still name the lost leader (its vote for it stays committed
    /// after the lease), so "a leader is known" means a committed vote of a later term.
    async fn campaign(&self, candidate: Option<NodeId>) {
        if self.running.swap(true, Ordering::SeqCst) {
            return;
        }
        let lost_term = self.raft.metrics().borrow().current_term;
        // Refused for the lease, the candidate still says the leader is gone: campaign
        // when the lease lapses, unless the leader is heard from meanwhile.
        let left = self.lease_left();
        if !left.is_zero() {
            tokio::time::sleep(left + Duration::from_millis(1)).await;
        }
        for _ in 0..ATTEMPTS {
            if self.switch.paused() || !self.lease_left().is_zero() {
                break;
            }
            let before = self.raft.metrics().borrow().clone();
            if before.state == ServerState::Leader
                || (before.vote.is_committed() && before.vote.leader_id().term > lost_term)
            {
                break;
            }
            tracing::info!(
                term = before.current_term,
                "raft: campaigning now: a candidate with a shorter log asked for this server's vote"
            );
            if self.raft.trigger().elect().await.is_err() {
                break;
            }
            if self.await_round(before.current_term).await != Round::LostTie {
                break;
            }
            let winner = self.raft.metrics().borrow().vote.leader_id().voted_for();
            if winner != candidate {
                break;
            }
        }
        self.running.store(false, Ordering::SeqCst);
    }

    /// Waits up to `round` for the candidacy started in the term after `term` to settle.
    async fn await_round(&self, term: u64) -> Round {
        let mut metrics = self.raft.metrics();
        let deadline = tokio::time::Instant::now() + self.round;
        loop {
            let outcome = {
                let m = metrics.borrow_and_update();
                let vote_term = m.vote.leader_id().term;
                if m.state == ServerState::Leader || (m.vote.is_committed() && vote_term > term) {
                    Some(Round::Settled)
                } else if m.state == ServerState::Follower
                    && !m.vote.is_committed()
                    && vote_term > term
                    && m.vote.leader_id().voted_for() != Some(m.id)
                {
                    Some(Round::LostTie)
                } else {
                    None
                }
            };
            if let Some(outcome) = outcome {
                return outcome;
            }
            if tokio::time::timeout_at(deadline, metrics.changed())
                .await
                .map_or(true, |changed| changed.is_err())
            {
                return Round::Undecided;
            }
        }
    }
}

/// Whether `resp` refused `req` because the candidate's last log ID is behind this
/// server's (a refusal for the leader's lease or a vote of its own looks the same on the
/// wire, hence the caller's other checks).
fn refused_for_a_shorter_log(req: &VoteRequest<NodeId>, resp: &VoteResponse<NodeId>) -> bool {
    !resp.vote_granted && resp.last_log_id.as_ref() > req.last_log_id.as_ref()
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, LogId, Vote};

    use super::*;

    fn log_id(term: u64, index: u64) -> Option<LogId<NodeId>> {
        Some(LogId::new(CommittedLeaderId::new(term, 1), index))
    }

    #[test]
    fn only_a_refusal_over_a_shorter_log_counts() {
        let req = VoteRequest::new(Vote::new(3, 2), log_id(2, 10));
        let refused = |last| VoteResponse::new(Vote::new(2, 1), last, false);
        assert!(refused_for_a_shorter_log(&req, &refused(log_id(2, 12))));
        assert!(refused_for_a_shorter_log(&req, &refused(log_id(3, 1))));
        assert!(!refused_for_a_shorter_log(&req, &refused(log_id(2, 10))));
        assert!(!refused_for_a_shorter_log(&req, &refused(log_id(1, 40))));
        let granted = VoteResponse::new(Vote::new(3, 2), log_id(2, 12), true);
        assert!(!refused_for_a_shorter_log(&req, &granted));
    }
}
