//! orch's job-level workflow fields (README, "Beyond Nomad: workflows"): dependencies
//! between jobs. Nomad has none; every Nomad jobspec leaves them empty.

use serde::{Deserialize, Serialize};

/// `depends_on { job = "db", condition = "healthy" }` on a job or a group: its
/// allocations are not placed until the named job of the same namespace reached the
/// condition. Why on the job (not in a separate object): the dependency is part of what
/// the user registers, versioned and diffed with the rest of the spec.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct JobDependency {
    /// ID of the job waited for, in the same namespace.
    #[serde(rename = "Job")]
    pub job: String,
    /// One of [`job_condition`] (`running` once canonicalized when left empty).
    #[serde(rename = "Condition")]
    pub condition: String,
}

/// The conditions a [`JobDependency`] may wait for.
pub mod job_condition {
    /// Every group of the job has its count of allocations running.
    pub const RUNNING: &str = "running";
    /// Running, and reported healthy where the group has deployments (`update` with
    /// `max_parallel > 0`): the same health a deployment waits for.
    pub const HEALTHY: &str = "healthy";
    /// Every group's allocations completed successfully and none is left running
    /// (a batch job that finished).
    pub const COMPLETE: &str = "complete";
    /// Every condition, in documentation order.
    pub const ALL: &[&str] = &[RUNNING, HEALTHY, COMPLETE];
}
