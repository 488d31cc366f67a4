//! Autopilot, run by the leader on each health refresh: dead-server cleanup and the
//! promotion of stable non-voters.
//!
//! Cleanup: with `CleanupDeadServers` on, a voter the leader has not heard from for
//! [`AutopilotConfiguration::dead_after_nanos`] is removed from the Raft configuration,
//! as Nomad's autopilot removes failed servers.
//!
//! orch has no gossip layer to declare a server failed, so "dead" is silence, measured
//! only since this server became leader (a new leader never removes at once). Safety,
//! as Nomad's: one server per refresh; never below `MinQuorum` voters; never when half
//! or more of the voters look dead (that is more likely this leader cut off than the
//! others gone). A removed server that comes back rejoins (`agent::bootstrap`'s
//! rejoin watch), as a Nomad server rejoins through gossip.
//!
//! Promotion: a server joining a running cluster comes in as a non-voter (a Raft
//! learner) and becomes a voter once it has been healthy (caught up, in contact) for
//! `ServerStabilizationTime`, as Nomad's autopilot promotes, so a server that flaps
//! while it starts never counts towards the quorum. Servers that form the cluster
//! together (`bootstrap_expect`) are voters from the start.

use std::time::{Duration, Instant};

use openraft::ServerState;
use orch_core::model::AutopilotConfiguration;

use super::membership::{RemoveReply, remove_on_leader};
use super::types::{NodeId, OrchRaft};
use crate::server::{PeerTarget, RaftHealth};

type Metrics = openraft::RaftMetrics<NodeId, openraft::BasicNode>;

/// The cleanup's memory between refreshes: since when this server leads.
#[derive(Debug, Default)]
pub(super) struct DeadServerCleanup {
    leading_since: Option<Instant>,
}

impl DeadServerCleanup {
    /// Removes one dead voter if the configuration asks for it and it is safe.
    pub(super) async fn run(
        &mut self,
        raft: &OrchRaft,
        metrics: &Metrics,
        health: &RaftHealth,
        config: &AutopilotConfiguration,
    ) {
        if metrics.state != ServerState::Leader {
            self.leading_since = None;
            return;
        }
        let since = *self.leading_since.get_or_insert_with(Instant::now);
        if !config.cleanup_dead_servers {
            return;
        }
        let dead_after =
            Duration::from_nanos(u64::try_from(config.dead_after_nanos()).unwrap_or(u64::MAX));
        let led_for = since.elapsed();
        let voters: Vec<NodeId> = metrics.membership_config.membership().voter_ids().collect();
        let dead: Vec<NodeId> = voters
            .iter()
            .copied()
            .filter(|id| *id != metrics.id)
            .filter(|id| {
                let silent = health.servers.get(id).map_or(led_for, |p| {
                    p.last_contact_ms.map_or(led_for, Duration::from_millis)
                });
                silent.min(led_for) > dead_after
            })
            .collect();
        let Some(&victim) = dead.first() else {
            return;
        };
        if dead.len() * 2 >= voters.len() || voters.len() - 1 < config.min_quorum as usize {
            tracing::warn!(
                dead = dead.len(),
                voters = voters.len(),
                min_quorum = config.min_quorum,
                "autopilot: not removing dead servers (too many look dead, or MinQuorum would not hold)"
            );
            return;
        }
        match remove_on_leader(raft, &PeerTarget::Id(victim)).await {
            RemoveReply::Removed { id, addr } => {
                tracing::info!(id, %addr, silent_for = ?dead_after, "autopilot: removed a dead server")
            }
            other => {
                tracing::warn!(id = victim, reply = ?other, "autopilot: removing a dead server failed")
            }
        }
    }
}

/// Promotes every non-voter that has been healthy for `ServerStabilizationTime`.
pub(super) async fn promote_stable_servers(
    raft: &OrchRaft,
    metrics: &Metrics,
    health: &RaftHealth,
    config: &AutopilotConfiguration,
) {
    if metrics.state != ServerState::Leader {
        return;
    }
    let stable = stable_learners(
        metrics,
        health,
        config.server_stabilization_time_nanos,
        crate::clock::now_nanos(),
    );
    if stable.is_empty() {
        return;
    }
    let change = openraft::ChangeMembers::AddVoterIds(stable.clone());
    match raft.change_membership(change, false).await {
        Ok(_) => tracing::info!(ids = ?stable, "autopilot: promoted stable servers to voters"),
        Err(e) => tracing::warn!(ids = ?stable, error = %e, "autopilot: promoting servers failed"),
    }
}

/// The non-voters healthy without a break for at least `stabilization` nanoseconds at
/// `now` (Unix nanoseconds).
fn stable_learners(
    metrics: &Metrics,
    health: &RaftHealth,
    stabilization: i64,
    now: i64,
) -> std::collections::BTreeSet<NodeId> {
    let membership = metrics.membership_config.membership();
    let voters: std::collections::BTreeSet<NodeId> = membership.voter_ids().collect();
    membership
        .nodes()
        .map(|(id, _)| *id)
        .filter(|id| !voters.contains(id))
        .filter(|id| {
            health.servers.get(id).is_some_and(|p| {
                p.healthy
                    && p.stable_since_nanos > 0
                    && now.saturating_sub(p.stable_since_nanos) >= stabilization
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ServerProgress;

    fn metrics_with(voters: &[NodeId], learners: &[NodeId]) -> Metrics {
        let nodes = voters
            .iter()
            .chain(learners)
            .map(|id| (*id, openraft::BasicNode::new(format!("127.0.0.1:{id}"))));
        let membership = openraft::Membership::new(
            vec![voters.iter().copied().collect()],
            nodes.collect::<std::collections::BTreeMap<_, _>>(),
        );
        let mut m = Metrics::new_initial(voters[0]);
        m.state = ServerState::Leader;
        m.membership_config =
            std::sync::Arc::new(openraft::StoredMembership::new(None, membership));
        m
    }

    fn progress(healthy: bool, stable_since_nanos: i64) -> ServerProgress {
        ServerProgress {
            healthy,
            stable_since_nanos,
            ..ServerProgress::default()
        }
    }

    #[test]
    fn only_learners_healthy_for_the_whole_stabilization_time_are_promoted() {
        let metrics = metrics_with(&[1], &[2, 3, 4]);
        let mut health = RaftHealth::default();
        health.servers.insert(1, progress(true, 1));
        health.servers.insert(2, progress(true, 100));
        health.servers.insert(3, progress(true, 950));
        health.servers.insert(4, progress(false, 10));
        let ids = |s: std::collections::BTreeSet<NodeId>| s.into_iter().collect::<Vec<_>>();
        // Stable for 900 of the 1,000 needed: 2 only; the voter and the unhealthy never.
        assert_eq!(
            ids(stable_learners(&metrics, &health, 1_000, 1_000)),
            Vec::<u64>::new()
        );
        assert_eq!(ids(stable_learners(&metrics, &health, 1_000, 1_100)), [2]);
        assert_eq!(
            ids(stable_learners(&metrics, &health, 1_000, 5_000)),
            [2, 3]
        );
        // With no stabilization time, every healthy learner at once.
        assert_eq!(ids(stable_learners(&metrics, &health, 0, 950)), [2, 3]);
    }
}
