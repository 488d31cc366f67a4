//! The cluster-scaling hook's pure half (an orch extension beside the group autoscaler):
//! a policy watches the unplaced allocations of one node pool (optionally one node
//! class) and decides when the operator's commands must add nodes (`scale_out` with a
//! count) or remove them (`scale_in` with the IDs of the nodes to drain), within
//! `min`/`max` and a cooldown. The leader's loop (orch-daemon) runs the commands and
//! drains the nodes.
//!
//! * **Out**: when blocked evaluations of jobs in the pool leave allocations unplaced,
//!   enough nodes to hold them: per dimension, the unplaced asks (CPU, memory) over the
//!   capacity of the pool's largest node, rounded up; at least one; at most
//!   `max - current`.
//! * **In**: when nothing is unplaced, the nodes beyond what the pool's live
//!   allocations need (the same arithmetic over what they use, never below `min`),
//!   emptiest first (the lowest dominant share of its own capacity, then ID), so as
//!   little work as possible migrates.

use crate::model::{Evaluation, Nanos, Node, Usage, eval_status};
use crate::state::StateStore;

/// One cluster-scaling policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterPolicy {
    /// The policy's name (its label in the agent config).
    pub name: String,
    /// The node pool it scales (`default` when unset).
    pub node_pool: String,
    /// Only nodes of this class count and are removed (empty: every class).
    pub node_class: String,
    /// Fewest nodes to keep.
    pub min: u64,
    /// Most nodes to have.
    pub max: u64,
    /// Time after an action before the next one.
    pub cooldown: Nanos,
}

/// What the policy calls for now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterAction {
    /// Nothing, and why.
    None(String),
    /// Add `count` nodes for `unplaced` waiting allocations.
    ScaleOut {
        /// Nodes to add.
        count: u64,
        /// Allocations waiting in the pool.
        unplaced: u64,
    },
    /// Drain and remove these nodes, emptiest first.
    ScaleIn {
        /// Node IDs.
        node_ids: Vec<String>,
    },
}

impl ClusterPolicy {
    /// Whether `node` belongs to what the policy scales (any status).
    pub fn covers(&self, node: &Node) -> bool {
        node.node_pool == self.node_pool
            && (self.node_class.is_empty() || node.node_class == self.node_class)
    }
}

/// The newest blocked evaluation of each job.
fn blocked_by_job(s: &StateStore) -> Vec<&Evaluation> {
    let mut by_job = std::collections::BTreeMap::<(&str, &str), &Evaluation>::new();
    for e in s.evals().filter(|e| e.status == eval_status::BLOCKED) {
        let slot = by_job
            .entry((e.namespace.as_str(), e.job_id.as_str()))
            .or_insert(e);
        if e.create_index > slot.create_index {
            *slot = e;
        }
    }
    by_job.into_values().collect()
}

/// Allocations unplaced in the policy's pool and what they ask for in total.
pub fn unplaced_demand(s: &StateStore, p: &ClusterPolicy) -> (u64, Usage) {
    let mut count = 0u64;
    let mut ask = Usage::default();
    for e in blocked_by_job(s) {
        let Some(job) = s.job(&e.namespace, &e.job_id) else {
            continue;
        };
        if job.node_pool != p.node_pool {
            continue;
        }
        for (group, n) in crate::broker::unplaced_of(e) {
            let Some(tg) = job.task_groups.iter().find(|g| g.name == group) else {
                continue;
            };
            count = count.saturating_add(n);
            let one = tg.ask();
            ask.add(&Usage {
                cpu_mhz: one.cpu_mhz.saturating_mul(n),
                cores: one.cores.saturating_mul(n),
                memory_mb: one.memory_mb.saturating_mul(n),
                disk_mb: one.disk_mb.saturating_mul(n),
            });
        }
    }
    (count, ask)
}

/// Nodes to hold `demand` given nodes of `cap`: per dimension, rounded up.
fn nodes_for(demand: &Usage, cap: &Usage) -> u64 {
    let per = |d: u64, c: u64| if d == 0 { 0 } else { d.div_ceil(c.max(1)) };
    per(demand.cpu_mhz, cap.cpu_mhz).max(per(demand.memory_mb, cap.memory_mb))
}

/// A node's use as the larger fraction of its CPU and memory, in millionths (exact).
fn fullness(used: &Usage, cap: &Usage) -> u64 {
    let part = |u: u64, c: u64| u.saturating_mul(1_000_000) / c.max(1);
    part(used.cpu_mhz, cap.cpu_mhz).max(part(used.memory_mb, cap.memory_mb))
}

/// What `p` calls for in the state as it is, `last_action` being when it last acted.
pub fn decide_cluster(
    s: &StateStore,
    p: &ClusterPolicy,
    last_action: Option<Nanos>,
    now: Nanos,
) -> ClusterAction {
    if let Some(at) = last_action
        && now < at.saturating_add(p.cooldown)
    {
        return ClusterAction::None("cooldown".into());
    }
    let nodes: Vec<&Node> = s
        .nodes()
        .filter(|n| p.covers(n) && n.is_schedulable())
        .collect();
    let current = nodes.len() as u64;
    let template = nodes
        .iter()
        .map(|n| n.capacity())
        .max_by_key(|c| (c.cpu_mhz, c.memory_mb));
    let (unplaced, demand) = unplaced_demand(s, p);
    if unplaced > 0 {
        let needed = template.map_or(1, |cap| nodes_for(&demand, &cap).max(1));
        let count = needed.min(p.max.saturating_sub(current));
        if count == 0 {
            return ClusterAction::None(format!(
                "{unplaced} allocations unplaced, but the pool has its maximum of {} nodes",
                p.max
            ));
        }
        return ClusterAction::ScaleOut { count, unplaced };
    }
    let Some(cap) = template else {
        return ClusterAction::None("no nodes".into());
    };
    let mut by_fullness: Vec<(u64, &str, Usage)> = nodes
        .iter()
        .map(|n| {
            let mut used = Usage::default();
            for a in s.allocs_by_node(&n.id) {
                used.add(&a.usage());
            }
            (fullness(&used, &n.capacity()), n.id.as_str(), used)
        })
        .collect();
    let mut total = Usage::default();
    for (_, _, used) in &by_fullness {
        total.add(used);
    }
    let keep = nodes_for(&total, &cap).max(p.min);
    if current <= keep {
        return ClusterAction::None("nothing unplaced and no spare nodes".into());
    }
    by_fullness.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let node_ids = by_fullness
        .iter()
        .take((current - keep) as usize)
        .map(|(_, id, _)| (*id).to_owned())
        .collect();
    ClusterAction::ScaleIn { node_ids }
}

#[cfg(test)]
mod tests;
