//! An evaluation: a request to reconcile one job (or one node's system jobs) against the
//! cluster, and the scheduler's account of what it could not place. Nomad's JSON shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::wire::{Nanos, Timestamp};

/// Evaluation status values.
pub mod eval_status {
    /// Waiting for a scheduler.
    pub const PENDING: &str = "pending";
    /// Waiting for capacity; released by the blocked-evals tracker.
    pub const BLOCKED: &str = "blocked";
    /// Done.
    pub const COMPLETE: &str = "complete";
    /// Gave up after the delivery limit.
    pub const FAILED: &str = "failed";
    /// Superseded by a newer evaluation of the same job.
    pub const CANCELED: &str = "canceled";
    /// All values, for validation.
    pub const ALL: &[&str] = &[PENDING, BLOCKED, COMPLETE, FAILED, CANCELED];
}

/// Why an evaluation was created.
pub mod trigger {
    /// Job registered or updated.
    pub const JOB_REGISTER: &str = "job-register";
    /// Job stopped or purged.
    pub const JOB_DEREGISTER: &str = "job-deregister";
    /// A periodic job launched a child.
    pub const PERIODIC_JOB: &str = "periodic-job";
    /// A node changed status.
    pub const NODE_UPDATE: &str = "node-update";
    /// A node started draining.
    pub const NODE_DRAIN: &str = "node-drain";
    /// An allocation was stopped by a user.
    pub const ALLOC_STOP: &str = "alloc-stop";
    /// An allocation failed.
    pub const ALLOC_FAILURE: &str = "alloc-failure";
    /// Capacity appeared for a blocked evaluation.
    pub const QUEUED_ALLOCS: &str = "queued-allocs";
    /// A delayed reschedule became due.
    pub const FAILED_FOLLOW_UP: &str = "failed-follow-up";
    /// The plan applier gave up after repeated conflicts.
    pub const MAX_PLAN_ATTEMPTS: &str = "max-plan-attempts";
    /// A deployment needs the scheduler (promotion, next batch).
    pub const DEPLOYMENT_WATCHER: &str = "deployment-watcher";
    /// A rolling update step.
    pub const ROLLING_UPDATE: &str = "rolling-update";
    /// The job's count changed by a scale request.
    pub const JOB_SCALING: &str = "job-scaling";
    /// An allocation was preempted.
    pub const PREEMPTION: &str = "preemption";
}

/// A scheduling request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Evaluation {
    /// Evaluation UUID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Priority (the job's, unless overridden).
    #[serde(rename = "Priority")]
    pub priority: i32,
    /// Scheduler type: the job's type.
    #[serde(rename = "Type")]
    pub eval_type: String,
    /// Why it exists (see [`trigger`]).
    #[serde(rename = "TriggeredBy")]
    pub triggered_by: String,
    /// Namespace of the job.
    #[serde(rename = "Namespace")]
    pub namespace: String,
    /// Job to evaluate.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Job modify index it was created for.
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    /// Node that triggered it, for node updates.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// That node's modify index.
    #[serde(rename = "NodeModifyIndex")]
    pub node_modify_index: u64,
    /// Deployment that triggered it.
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    /// See [`eval_status`].
    #[serde(rename = "Status")]
    pub status: String,
    /// Why it has its status.
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
    /// Delay before it may run.
    #[serde(rename = "Wait")]
    pub wait: Nanos,
    /// Time before which it may not run (delayed reschedules).
    #[serde(rename = "WaitUntil")]
    pub wait_until: Timestamp,
    /// Follow-up evaluation (rolling updates).
    #[serde(rename = "NextEval")]
    pub next_eval: String,
    /// Evaluation this one follows.
    #[serde(rename = "PreviousEval")]
    pub previous_eval: String,
    /// Blocked evaluation created for what this one could not place.
    #[serde(rename = "BlockedEval")]
    pub blocked_eval: String,
    /// Per group, why placements failed.
    #[serde(rename = "FailedTGAllocs")]
    pub failed_tg_allocs: BTreeMap<String, AllocationMetric>,
    /// Node classes that were (in)eligible, for unblocking.
    #[serde(rename = "ClassEligibility")]
    pub class_eligibility: BTreeMap<String, bool>,
    /// Some constraint escaped class-based caching, so any node change may help.
    #[serde(rename = "EscapedComputedClass")]
    pub escaped_computed_class: bool,
    /// Whether the plan should be annotated (job plan).
    #[serde(rename = "AnnotatePlan")]
    pub annotate_plan: bool,
    /// Allocations still queued per group.
    #[serde(rename = "QueuedAllocations")]
    pub queued_allocations: BTreeMap<String, u64>,
    /// State index the scheduler worked from.
    #[serde(rename = "SnapshotIndex")]
    pub snapshot_index: u64,
    /// Raft index of creation.
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    /// Raft index of the last change.
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
    /// Unix nanos of creation.
    #[serde(rename = "CreateTime")]
    pub create_time: i64,
    /// Unix nanos of the last change.
    #[serde(rename = "ModifyTime")]
    pub modify_time: i64,
}

impl Evaluation {
    /// Complete, failed or canceled: nothing more will happen to it.
    pub fn terminal(&self) -> bool {
        matches!(
            self.status.as_str(),
            eval_status::COMPLETE | eval_status::FAILED | eval_status::CANCELED
        )
    }
}

/// The scheduler's account of one group's placement attempt.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AllocationMetric {
    /// Nodes looked at.
    #[serde(rename = "NodesEvaluated")]
    pub nodes_evaluated: u64,
    /// Nodes removed by constraints or classes.
    #[serde(rename = "NodesFiltered")]
    pub nodes_filtered: u64,
    /// Nodes in the job's node pool.
    #[serde(rename = "NodesInPool")]
    pub nodes_in_pool: u64,
    /// Ready nodes per datacenter.
    #[serde(rename = "NodesAvailable")]
    pub nodes_available: super::SmallMap<String, u64>,
    /// Filtered nodes per class.
    #[serde(rename = "ClassFiltered")]
    pub class_filtered: super::SmallMap<String, u64>,
    /// Filtered nodes per constraint.
    #[serde(rename = "ConstraintFiltered")]
    pub constraint_filtered: super::SmallMap<String, u64>,
    /// Feasible nodes without room.
    #[serde(rename = "NodesExhausted")]
    pub nodes_exhausted: u64,
    /// Exhausted nodes per class.
    #[serde(rename = "ClassExhausted")]
    pub class_exhausted: super::SmallMap<String, u64>,
    /// Exhausted nodes per dimension (`cpu`, `memory`, `network: port collision`...).
    #[serde(rename = "DimensionExhausted")]
    pub dimension_exhausted: super::SmallMap<String, u64>,
    /// Quotas that were hit.
    #[serde(rename = "QuotaExhausted")]
    pub quota_exhausted: Vec<String>,
    /// Score details of the best nodes.
    #[serde(rename = "ScoreMetaData")]
    pub score_meta_data: Vec<NodeScoreMeta>,
    /// Time spent placing, nanoseconds (simulated time in orch-core).
    #[serde(rename = "AllocationTime")]
    pub allocation_time: Nanos,
    /// Further identical failures folded into this one.
    #[serde(rename = "CoalescedFailures")]
    pub coalesced_failures: u64,
}

/// Scores of one candidate node.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeScoreMeta {
    /// Node.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// Per scorer (`binpack`, `job-anti-affinity`, `node-affinity`, ...).
    #[serde(rename = "Scores")]
    pub scores: BTreeMap<String, f64>,
    /// Final normalized score.
    #[serde(rename = "NormScore")]
    pub norm_score: f64,
}
