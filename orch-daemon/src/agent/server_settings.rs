//! The `server` block turned into the settings the server's parts start with: Raft's
//! (timings, snapshots, the disk reserve, peer security) and the leader's (schedulers,
//! heartbeats, garbage collection, the autoscaler). Each bad value is an error naming it.

use std::time::Duration;

use super::config::AgentConfig;
use crate::raft::RaftConfig;
use crate::server::LeaderConfig;

/// The Raft settings of the `server` block (dev mode: quick elections).
pub(super) fn raft_config(
    config: &AgentConfig,
    security: &crate::tls::AgentSecurity,
    node_id: crate::raft::NodeId,
    bind: &str,
    data_dir: &std::path::Path,
) -> Result<RaftConfig, String> {
    let mut raft_config =
        RaftConfig::new(node_id, format!("{bind}:{}", config.ports.rpc), data_dir);
    if config.dev {
        raft_config.heartbeat_ms = 100;
        raft_config.election_timeout_min_ms = 300;
        raft_config.election_timeout_max_ms = 600;
    }
    if let Some(n) = config.server.raft_snapshot_threshold {
        if n == 0 {
            return Err(
                "server.raft_snapshot_threshold must be at least 1 (entries between snapshots)"
                    .into(),
            );
        }
        raft_config.snapshot_every = n;
    }
    if let Some(n) = config.server.raft_trailing_logs {
        raft_config.logs_to_keep = n;
    }
    if let Some(mb) = config.server.disk_reserve_mb {
        raft_config.disk_reserve_bytes = mb.checked_mul(1024 * 1024).ok_or_else(|| {
            format!("server.disk_reserve_mb = {mb} is too large; give MiB, for example 64")
        })?;
    }
    raft_config.network.security = security.clone();
    if !config.dev && security.secret.is_none() && security.rpc_tls().is_none() {
        tracing::warn!(
            "peer endpoints (raft, join, forwarding) are unauthenticated: set server.encrypt to a shared base64 key, or tls.rpc with verify_server_hostname"
        );
    }
    Ok(raft_config)
}

/// The leader's settings from the `server` block (durations are Go's).
pub(super) fn leader_config(config: &AgentConfig) -> Result<LeaderConfig, String> {
    let duration = |v: &Option<String>, name: &str| -> Result<Option<Duration>, String> {
        v.as_deref()
            .map(|s| {
                crate::http::query::parse_go_duration(s)
                    .ok_or_else(|| format!("server.{name}: {s:?} is not a duration like \"10s\""))
            })
            .transpose()
    };
    let defaults = LeaderConfig::default();
    Ok(LeaderConfig {
        workers: config.server.num_schedulers.unwrap_or(defaults.workers),
        heartbeat_ttl: duration(&config.server.min_heartbeat_ttl, "min_heartbeat_ttl")?
            .unwrap_or(defaults.heartbeat_ttl),
        heartbeat_grace: duration(&config.server.heartbeat_grace, "heartbeat_grace")?
            .unwrap_or(defaults.heartbeat_grace),
        max_heartbeats_per_second: config
            .server
            .max_heartbeats_per_second
            .unwrap_or(defaults.max_heartbeats_per_second),
        gc: crate::server::gc::GcConfig {
            eval_threshold: duration(&config.server.eval_gc_threshold, "eval_gc_threshold")?
                .unwrap_or(defaults.gc.eval_threshold),
            job_threshold: duration(&config.server.job_gc_threshold, "job_gc_threshold")?
                .unwrap_or(defaults.gc.job_threshold),
            deployment_threshold: duration(
                &config.server.deployment_gc_threshold,
                "deployment_gc_threshold",
            )?
            .unwrap_or(defaults.gc.deployment_threshold),
            node_threshold: duration(&config.server.node_gc_threshold, "node_gc_threshold")?
                .unwrap_or(defaults.gc.node_threshold),
            ..defaults.gc.clone()
        },
        autoscaler: crate::server::autoscaler::AutoscalerConfig {
            prometheus_address: config.autoscaler.prometheus_address.clone(),
            cluster: crate::agent::config::cluster_hooks(&config.autoscaler.cluster)?,
        },
        ..defaults
    })
}
