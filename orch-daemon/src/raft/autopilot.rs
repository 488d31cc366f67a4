//! Autopilot's dead-server cleanup, run by the leader on each health refresh: with
//! `CleanupDeadServers` on, a voter the leader has not heard from for
//! [`AutopilotConfiguration::dead_after_nanos`] is removed from the Raft configuration,
//! as Nomad's autopilot removes failed servers.
//!
//! orch has no gossip layer to declare a server failed, so "dead" is silence, measured
//! only since this server became leader (a new leader never removes at once). Safety,
//! as Nomad's: one server per refresh; never below `MinQuorum` voters; never when half
//! or more of the voters look dead (that is more likely this leader cut off than the
//! others gone). A removed server that comes back rejoins (`agent::bootstrap`'s
//! rejoin watch), as a Nomad server rejoins through gossip.

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
