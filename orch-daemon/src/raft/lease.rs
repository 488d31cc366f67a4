//! Whether this server is in touch with the cluster, so a request it cannot serve fails
//! at once instead of waiting out the caller's patience.
//!
//! Why: openraft 0.9 has no leader lease of its own (hashicorp raft's
//! `LeaderLeaseTimeout`): a leader cut off from every other server keeps leading its
//! minority side, and every write or linearizable read sent to it waits for a quorum
//! that never answers; a follower cut off from the leader forwards to it and waits too.
//! The nemesis measured clients stuck on such servers for their whole timeout (3 s) while
//! the majority side had long elected a new leader. Here:
//! - a leader that has not heard from a quorum of voters for the lease (the followers'
//!   leader lease, openraft's `election_timeout_max`: after it they may elect another
//!   leader; at least [`LEASE_FLOOR`]) is cut off;
//! - any other server that no peer has reached or answered for three leases (no
//!   leader's heartbeat, no candidate's vote request, no answer to its own) is cut off.
//!   A server in an election on the majority side hears the candidates, so it holds
//!   requests until the new leader is known, as before.
//!
//! A cut-off server refuses linearizable requests with the reason, and requests already
//! waiting are let go ([`Standing::lost`]); the client retries another server.
//! Safety does not depend on this: reads are still confirmed by a quorum (`read_index`)
//! and writes committed by one. [`spawn`] re-evaluates every [`REFRESH`].

use std::sync::Arc;
use std::time::Duration;

use openraft::ServerState;
use tokio::sync::watch;

use super::health::Contacts;
use super::types::{NodeId, OrchRaft};

/// How often the standing is re-evaluated.
pub const REFRESH: Duration = Duration::from_millis(50);

/// The shortest lease judged by: a loaded machine delays heartbeats by hundreds of
/// milliseconds, and a server refusing requests for that is worse than one holding them.
pub const LEASE_FLOOR: Duration = Duration::from_secs(1);

/// Whether this server is cut off, as last evaluated: `Some(reason)` when it is.
#[derive(Clone)]
pub struct Standing {
    rx: watch::Receiver<Option<String>>,
}

impl Standing {
    /// Why this server is cut off now, if it is.
    pub fn cut_off(&self) -> Option<String> {
        self.rx.borrow().clone()
    }

    /// Returns the reason once this server is cut off (at once if it is now); pends
    /// forever if the evaluation stopped (Raft shut down).
    pub async fn lost(&self) -> String {
        let mut rx = self.rx.clone();
        loop {
            if let Some(why) = rx.borrow_and_update().clone() {
                return why;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// What the evaluation reads.
pub struct LeaseInputs {
    /// This server's Raft.
    pub raft: OrchRaft,
    /// When peers and the leader were last heard from.
    pub contacts: Arc<Contacts>,
    /// The followers' leader lease (openraft's `election_timeout_max`); judged by at
    /// least [`LEASE_FLOOR`].
    pub lease: Duration,
}

/// Starts evaluating the standing every [`REFRESH`] until Raft shuts down.
pub fn spawn(inputs: LeaseInputs) -> Standing {
    let (tx, rx) = watch::channel(None);
    let lease = inputs.lease.max(LEASE_FLOOR);
    tokio::spawn(async move {
        loop {
            let why = {
                let metrics = inputs.raft.metrics();
                let m = metrics.borrow();
                if m.running_state.is_err() || m.state == ServerState::Shutdown {
                    return;
                }
                evaluate(&m, &inputs.contacts, lease)
            };
            tx.send_if_modified(|old| {
                let changed = *old != why;
                *old = why;
                changed
            });
            tokio::time::sleep(REFRESH).await;
        }
    });
    Standing { rx }
}

type Metrics = openraft::RaftMetrics<NodeId, openraft::BasicNode>;

/// Why a server with these metrics and contacts is cut off, if it is. A server that has
/// not heard from anyone yet (just started: its peers' answers or the leader's first
/// heartbeat are on their way) is not.
pub(super) fn evaluate(m: &Metrics, contacts: &Contacts, lease: Duration) -> Option<String> {
    let ms = |d: Duration| d.as_millis();
    if m.state == ServerState::Leader {
        let voters: Vec<NodeId> = m.membership_config.membership().voter_ids().collect();
        let silence = contacts.quorum_silence(m.id, &voters)?;
        return (silence > lease).then(|| {
            format!(
                "this server leads but has not heard from a quorum of the servers for {} ms (it may be cut off from them)",
                ms(silence)
            )
        });
    }
    // Not leading: cut off only when no peer at all reached or answered this server for
    // a long while. Holding a request through an election is better for the client
    // than refusing it: a server refusing fast sends the client on to the next server,
    // and when that is the unreachable old leader it waits there until its own timeout.
    let silence = contacts.since_any_peer()?;
    (silence > lease * 3).then(|| {
        let leader = match m.current_leader {
            Some(id) if id != m.id => format!("the leader (server {id})"),
            _ => "a leader".to_string(),
        };
        format!(
            "this server has heard from no other server for {} ms and cannot reach {leader}; it may be cut off from them",
            ms(silence)
        )
    })
}

#[cfg(test)]
mod tests;
