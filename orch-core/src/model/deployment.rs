//! A deployment: the rollout of one job version, tracked per group. Nomad's JSON shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::wire::{Nanos, Timestamp};

/// Deployment status values.
pub mod deployment_status {
    /// Rolling out.
    pub const RUNNING: &str = "running";
    /// Paused by a user.
    pub const PAUSED: &str = "paused";
    /// Failed; may have auto-reverted.
    pub const FAILED: &str = "failed";
    /// Every group healthy.
    pub const SUCCESSFUL: &str = "successful";
    /// Superseded or the job stopped.
    pub const CANCELLED: &str = "cancelled";
    /// Values that mean the deployment is still in progress.
    pub const ACTIVE: &[&str] = &[
        RUNNING,
        PAUSED,
        "blocked",
        "unblocking",
        "initializing",
        "pending",
    ];
    /// All values, for validation.
    pub const ALL: &[&str] = &[
        RUNNING,
        PAUSED,
        FAILED,
        SUCCESSFUL,
        CANCELLED,
        "blocked",
        "unblocking",
        "initializing",
        "pending",
    ];
}

/// A rollout of one job version.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Deployment {
    /// Deployment UUID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Namespace of the job.
    #[serde(rename = "Namespace")]
    pub namespace: String,
    /// Job ID.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Job version being rolled out.
    #[serde(rename = "JobVersion")]
    pub job_version: u64,
    /// Job modify index of that version.
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    /// Job spec modify index of that version.
    #[serde(rename = "JobSpecModifyIndex")]
    pub job_spec_modify_index: u64,
    /// Job create index (tells apart a purged and re-registered job).
    #[serde(rename = "JobCreateIndex")]
    pub job_create_index: u64,
    /// Always false: orch has no multiregion deployments.
    #[serde(rename = "IsMultiregion")]
    pub is_multiregion: bool,
    /// Per group progress.
    #[serde(rename = "TaskGroups")]
    pub task_groups: BTreeMap<String, DeploymentState>,
    /// See [`deployment_status`].
    #[serde(rename = "Status")]
    pub status: String,
    /// Why.
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
    /// Priority of evaluations it creates.
    #[serde(rename = "EvalPriority")]
    pub eval_priority: i32,
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

impl Deployment {
    /// Still rolling out (running, paused, ...).
    pub fn active(&self) -> bool {
        deployment_status::ACTIVE.contains(&self.status.as_str())
    }
}

/// Progress of one group in a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeploymentState {
    /// Canary allocation IDs.
    #[serde(rename = "PlacedCanaries")]
    pub placed_canaries: Vec<String>,
    /// Revert on failure.
    #[serde(rename = "AutoRevert")]
    pub auto_revert: bool,
    /// Promote canaries once healthy.
    #[serde(rename = "AutoPromote")]
    pub auto_promote: bool,
    /// Deadline for progress.
    #[serde(rename = "ProgressDeadline")]
    pub progress_deadline: Nanos,
    /// Time by which the next allocation must be healthy.
    #[serde(rename = "RequireProgressBy")]
    pub require_progress_by: Timestamp,
    /// Canaries promoted.
    #[serde(rename = "Promoted")]
    pub promoted: bool,
    /// Canaries wanted.
    #[serde(rename = "DesiredCanaries")]
    pub desired_canaries: u32,
    /// Allocations wanted.
    #[serde(rename = "DesiredTotal")]
    pub desired_total: u32,
    /// Allocations placed.
    #[serde(rename = "PlacedAllocs")]
    pub placed_allocs: u32,
    /// Allocations healthy.
    #[serde(rename = "HealthyAllocs")]
    pub healthy_allocs: u32,
    /// Allocations unhealthy.
    #[serde(rename = "UnhealthyAllocs")]
    pub unhealthy_allocs: u32,
}
