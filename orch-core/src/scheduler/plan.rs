//! A scheduler's plan: the allocations it wants to create, update, stop and preempt,
//! grouped by node so the plan applier can check and commit node by node.

use std::collections::BTreeMap;

use crate::model::{Allocation, Deployment, Evaluation, Job};
use crate::state::{AllocPreemption, AllocStop, ApplyPlanResults, Command, DeploymentUpdate};

/// What one evaluation proposes. Nothing here is true until the plan applier has verified
/// it against the latest state and committed it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Evaluation that produced it.
    pub eval_id: String,
    /// Priority of that evaluation (plans queue by it).
    pub priority: i32,
    /// Commit all or nothing (`Job.AllAtOnce`).
    pub all_at_once: bool,
    /// The job version the placements are for (`None` when stopping a purged job).
    pub job: Option<Job>,
    /// Allocations to stop, by node.
    pub node_update: BTreeMap<String, Vec<AllocStop>>,
    /// New or updated allocations, by node.
    pub node_allocation: BTreeMap<String, Vec<Allocation>>,
    /// Allocations to evict to make room, by node.
    pub node_preemptions: BTreeMap<String, Vec<AllocPreemption>>,
    /// Deployment to create or update.
    pub deployment: Option<Deployment>,
    /// Status changes of other deployments.
    pub deployment_updates: Vec<DeploymentUpdate>,
    /// Evaluations to create with the plan (follow-ups, preempted jobs).
    pub evals: Vec<Evaluation>,
    /// State index the scheduler planned against.
    pub snapshot_index: u64,
}

impl Plan {
    /// True when the plan changes nothing.
    pub fn is_no_op(&self) -> bool {
        self.node_update.is_empty()
            && self.node_allocation.is_empty()
            && self.node_preemptions.is_empty()
            && self.deployment.is_none()
            && self.deployment_updates.is_empty()
            && self.evals.is_empty()
    }

    /// Adds a placement or in-place update.
    pub fn append_alloc(&mut self, alloc: Allocation) {
        // Most placements go to a node the plan already uses: no key copied for those.
        match self.node_allocation.get_mut(alloc.node_id.as_str()) {
            Some(v) => v.push(alloc),
            None => {
                // Room for a few: a node usually takes several of a plan's placements,
                // and each growth moves every (near-kilobyte) allocation again.
                let node = alloc.node_id.to_string();
                let mut v = Vec::with_capacity(4);
                v.push(alloc);
                self.node_allocation.insert(node, v);
            }
        }
    }

    /// Adds a stop.
    pub fn append_stop(&mut self, node_id: &str, stop: AllocStop) {
        self.node_update
            .entry(node_id.to_string())
            .or_default()
            .push(stop);
    }

    /// Number of allocations placed or updated.
    pub fn placed(&self) -> usize {
        self.node_allocation.values().map(Vec::len).sum()
    }
}

/// What the plan applier committed of a plan.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanResult {
    /// The committed part (a subset of the plan, whole nodes at a time).
    pub accepted: Plan,
    /// Nodes whose part was refused because it no longer fit, with the reason.
    pub rejected_nodes: BTreeMap<String, String>,
    /// When some nodes were refused: the state index the scheduler must refresh to
    /// before re-planning what was not committed. Zero when everything was committed.
    pub refresh_index: u64,
}

impl PlanResult {
    /// Whether every node of the plan was committed.
    pub fn fully_committed(&self) -> bool {
        self.rejected_nodes.is_empty()
    }

    /// [`to_command`](Self::to_command), moving the accepted part instead of copying it.
    pub fn into_command(self, now: i64) -> Command {
        let p = self.accepted;
        // Sized once: a flattening collect grows the vector by doubling, moving
        // every (near-kilobyte) allocation again at each step.
        let mut allocs_to_upsert = Vec::with_capacity(p.placed());
        for allocs in p.node_allocation.into_values() {
            allocs_to_upsert.extend(allocs);
        }
        Command::ApplyPlanResults(ApplyPlanResults {
            allocs_to_upsert,
            allocs_stopped: p.node_update.into_values().flatten().collect(),
            allocs_preempted: p.node_preemptions.into_values().flatten().collect(),
            deployment: p.deployment,
            deployment_updates: p.deployment_updates,
            evals: p.evals,
            eval_id: p.eval_id,
            now,
        })
    }

    /// The Raft command that commits the accepted part.
    pub fn to_command(&self, now: i64) -> Command {
        let p = &self.accepted;
        let mut allocs_to_upsert = Vec::with_capacity(p.placed());
        for allocs in p.node_allocation.values() {
            allocs_to_upsert.extend(allocs.iter().cloned());
        }
        Command::ApplyPlanResults(ApplyPlanResults {
            allocs_to_upsert,
            allocs_stopped: p.node_update.values().flatten().cloned().collect(),
            allocs_preempted: p.node_preemptions.values().flatten().cloned().collect(),
            deployment: p.deployment.clone(),
            deployment_updates: p.deployment_updates.clone(),
            evals: p.evals.clone(),
            eval_id: p.eval_id.clone(),
            now,
        })
    }
}
