//! orch's releases (README, "Beyond Nomad: workflows"): several jobs deployed as one.
//! Nomad has none. A release registers all its jobs in one Raft entry; it succeeds when
//! every job's rollout has, and when any fails, every job of the release goes back to
//! its version of the name's last successful release (`core::workflow::release`).

use serde::{Deserialize, Serialize};

/// The statuses of a [`Release`].
pub mod release_status {
    /// Its jobs are rolling out.
    pub const RUNNING: &str = "running";
    /// Every job's rollout succeeded.
    pub const SUCCESSFUL: &str = "successful";
    /// A job's rollout failed; the release's jobs were rolled back.
    pub const FAILED: &str = "failed";
}

/// One job of a release, at the version the release registered.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ReleaseJob {
    /// The job's namespace.
    #[serde(rename = "Namespace")]
    pub namespace: String,
    /// The job.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// The version the release's registration left.
    #[serde(rename = "JobVersion")]
    pub job_version: u64,
}

/// A release: a named set of jobs rolled out, and rolled back, together.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Release {
    /// Unique ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// The name the release spec gives; releases of one name form its history.
    #[serde(rename = "Name")]
    pub name: String,
    /// 1 for the name's first release, then one more each time.
    #[serde(rename = "Version")]
    pub version: u64,
    /// Its jobs.
    #[serde(rename = "Jobs")]
    pub jobs: Vec<ReleaseJob>,
    /// One of [`release_status`].
    #[serde(rename = "Status")]
    pub status: String,
    /// Why it has its status (which job failed, what was rolled back to).
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
    /// The version of the name's release a failure rolls back to (0: none).
    #[serde(rename = "RollbackTo")]
    pub rollback_to: u64,
    /// When it was submitted (Unix nanoseconds).
    #[serde(rename = "SubmitTime")]
    pub submit_time: i64,
    /// Raft index of its creation.
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    /// Raft index of its last change.
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

impl Release {
    /// Whether its jobs are still rolling out.
    pub fn running(&self) -> bool {
        self.status == release_status::RUNNING
    }
}
