//! Nomad's cluster-wide `AutopilotConfiguration`: what
//! `/v1/operator/autopilot/configuration` reads and writes, replicated through Raft so
//! whichever server leads applies the same thresholds to server health and dead-server
//! cleanup. Defaults are Nomad's.

use serde::{Deserialize, Serialize};

/// The replicated autopilot configuration (durations in nanoseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutopilotConfiguration {
    /// Remove servers the leader has not heard from for
    /// [`AutopilotConfiguration::dead_after_nanos`] from the Raft configuration.
    pub cleanup_dead_servers: bool,
    /// A server the leader has not heard from for longer is unhealthy.
    pub last_contact_threshold_nanos: i64,
    /// A server trailing the leader by more entries is unhealthy.
    pub max_trailing_logs: u64,
    /// Dead-server cleanup never leaves fewer voters than this.
    pub min_quorum: u32,
    /// How long a server must be healthy before it counts as stable; also how long it
    /// must be out of contact before cleanup treats it as dead (orch has no gossip layer
    /// to declare it failed sooner).
    pub server_stabilization_time_nanos: i64,
    /// Enterprise-only in Nomad; always false here (the API refuses true).
    pub enable_redundancy_zones: bool,
    /// Enterprise-only in Nomad; always false here.
    pub disable_upgrade_migration: bool,
    /// Enterprise-only in Nomad; always false here.
    pub enable_custom_upgrades: bool,
    /// Raft index that first stored it (0 for the defaults never written).
    pub create_index: u64,
    /// Raft index of the last change; the check-and-set compares against it.
    pub modify_index: u64,
}

impl Default for AutopilotConfiguration {
    fn default() -> Self {
        AutopilotConfiguration {
            cleanup_dead_servers: true,
            last_contact_threshold_nanos: 200_000_000,
            max_trailing_logs: 250,
            min_quorum: 0,
            server_stabilization_time_nanos: 10_000_000_000,
            enable_redundancy_zones: false,
            disable_upgrade_migration: false,
            enable_custom_upgrades: false,
            create_index: 0,
            modify_index: 0,
        }
    }
}

/// The shortest time out of contact after which cleanup removes a server, whatever
/// the stabilization time says: long enough for a restart of the agent to finish.
pub const MIN_DEAD_AFTER_NANOS: i64 = 30_000_000_000;

impl AutopilotConfiguration {
    /// How long the leader must not have heard from a server before cleanup removes it.
    pub fn dead_after_nanos(&self) -> i64 {
        self.server_stabilization_time_nanos
            .saturating_mul(3)
            .max(MIN_DEAD_AFTER_NANOS)
    }
}
