//! The cluster-scaling hook (an orch extension beside the group autoscaler): for each
//! `autoscaler { cluster "<name>" { ... } }` policy of the agent config, the leader asks
//! `orch_core::autoscale::cluster::decide_cluster` every `interval` and runs the
//! operator's commands: `scale_out <count>` when allocations of the pool wait for room,
//! `scale_in <node-id>...` when nodes are spare, after starting a drain of those nodes
//! (emptiest first) so their work moves before the machines go. `dry_run` only logs.
//!
//! Commands run through `/bin/sh -c '<command> "$@"'` with the arguments after it, so a
//! command may carry its own words (`scale_out = "/opt/cloud.sh add"`), and see
//! `ORCH_CLUSTER_POLICY`, `ORCH_NODE_POOL` and `ORCH_UNPLACED` in their environment.
//! The cooldown is kept in memory on the leader; a new leader (and a fresh start) waits
//! one cooldown before its first action, while clients register and work arrives.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use orch_core::autoscale::cluster::{ClusterAction, ClusterPolicy, decide_cluster};
use orch_core::model::{DrainStrategy, wire::SECOND};
use orch_core::state::{Command, NodeDrain};

use crate::clock::now_nanos;
use crate::server::{Replicator, StateHandle};

/// Longest a command may run before it is killed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// How long drained nodes' allocations get to migrate (Nomad's default drain deadline).
const DRAIN_DEADLINE: i64 = 3600 * SECOND;

/// One policy as the agent config gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterHook {
    /// What to watch and the bounds.
    pub policy: ClusterPolicy,
    /// How often it is evaluated.
    pub interval: Duration,
    /// Log the decision instead of acting.
    pub dry_run: bool,
    /// Command run with the number of nodes to add.
    pub scale_out: String,
    /// Command run with the IDs of the nodes being drained for removal.
    pub scale_in: String,
}

/// Runs the policies while this server leads.
pub async fn run(state: StateHandle, replicator: Arc<dyn Replicator>, hooks: Vec<ClusterHook>) {
    if hooks.is_empty() {
        return;
    }
    let mut next: BTreeMap<String, i64> = BTreeMap::new();
    let mut last_action: BTreeMap<String, i64> = BTreeMap::new();
    let mut was_leader = false;
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if !replicator.is_leader() {
            next.clear();
            was_leader = false;
            continue;
        }
        if !was_leader {
            // A new leader (or a fresh start) waits one cooldown before its first
            // action: clients are still registering and work still being submitted.
            was_leader = true;
            let now = now_nanos();
            for hook in &hooks {
                last_action.insert(hook.policy.name.clone(), now);
            }
        }
        for hook in &hooks {
            let now = now_nanos();
            let name = &hook.policy.name;
            if next.get(name).is_some_and(|t| now < *t) {
                continue;
            }
            let interval = i64::try_from(hook.interval.as_nanos()).unwrap_or(i64::MAX);
            next.insert(name.clone(), now.saturating_add(interval));
            let action = {
                let s = state.read();
                decide_cluster(&s, &hook.policy, last_action.get(name).copied(), now)
            };
            if act(hook, &action, replicator.as_ref()).await {
                last_action.insert(name.clone(), now);
            }
        }
    }
}

/// Carries out one decision; whether it counts as an action (starts the cooldown).
async fn act(hook: &ClusterHook, action: &ClusterAction, replicator: &dyn Replicator) -> bool {
    let name = &hook.policy.name;
    match action {
        ClusterAction::None(why) => {
            tracing::debug!(policy = %name, %why, "cluster scaling: nothing to do");
            false
        }
        ClusterAction::ScaleOut { count, unplaced } => {
            tracing::info!(policy = %name, count, unplaced, dry_run = hook.dry_run, "cluster scaling: scale out");
            if !hook.dry_run {
                command(hook, &hook.scale_out, &[count.to_string()], *unplaced).await;
            }
            true
        }
        ClusterAction::ScaleIn { node_ids } => {
            tracing::info!(policy = %name, nodes = ?node_ids, dry_run = hook.dry_run, "cluster scaling: scale in");
            if hook.dry_run {
                return true;
            }
            for id in node_ids {
                let drain = NodeDrain {
                    node_id: id.clone(),
                    drain_strategy: Some(DrainStrategy {
                        deadline: DRAIN_DEADLINE,
                        ..DrainStrategy::default()
                    }),
                    mark_eligible: false,
                    drain_complete: false,
                    now: now_nanos(),
                };
                if let Err(e) = replicator.propose(Command::NodeDrain(drain)).await {
                    tracing::warn!(policy = %name, node = %id, error = %e, "cluster scaling: drain failed");
                    return false;
                }
            }
            command(hook, &hook.scale_in, node_ids, 0).await;
            true
        }
    }
}

/// Runs `cmd` with `args`; failures are logged (the next interval decides again).
async fn command(hook: &ClusterHook, cmd: &str, args: &[String], unplaced: u64) {
    let name = &hook.policy.name;
    let mut c = tokio::process::Command::new("/bin/sh");
    c.arg("-c")
        .arg(format!("{cmd} \"$@\""))
        .arg("orch-cluster-scale")
        .args(args)
        .env("ORCH_CLUSTER_POLICY", name)
        .env("ORCH_NODE_POOL", &hook.policy.node_pool)
        .env("ORCH_UNPLACED", unplaced.to_string())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    match tokio::time::timeout(COMMAND_TIMEOUT, c.output()).await {
        Ok(Ok(out)) if out.status.success() => {
            tracing::info!(policy = %name, command = %cmd, "cluster scaling: command done");
        }
        Ok(Ok(out)) => tracing::warn!(
            policy = %name, command = %cmd, status = %out.status,
            stderr = %String::from_utf8_lossy(&out.stderr),
            "cluster scaling: command failed"
        ),
        Ok(Err(e)) => {
            tracing::warn!(policy = %name, command = %cmd, error = %e, "cluster scaling: command could not start");
        }
        Err(_) => {
            tracing::warn!(policy = %name, command = %cmd, "cluster scaling: command timed out")
        }
    }
}
