//! One periodic launch as a command: the child job with its pending evaluation, in one
//! log entry that also records the launch on the parent. The servers' dispatcher and
//! `POST /v1/job/:id/periodic/force` propose it; the simulator applies it.

use crate::model::{Evaluation, eval_status, trigger};
use crate::state::{Command, JobRegister, StateStore};

use super::derive_child;

/// Why a launch cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchRefused {
    /// No job by that ID.
    #[error("job {0:?} not found")]
    NotFound(String),
    /// The job is not an active periodic job.
    #[error(
        "can't force launch non-periodic job {0:?}: it has no enabled periodic block, or it is stopped or parameterized"
    )]
    NotPeriodic(String),
}

/// The command launching `parent_id`'s child at `at` (Unix nanoseconds); `now` stamps
/// the evaluation, `eval_id` names it.
pub fn launch_command(
    s: &StateStore,
    namespace: &str,
    parent_id: &str,
    at: i64,
    now: i64,
    eval_id: String,
) -> Result<Command, LaunchRefused> {
    let parent = s
        .job(namespace, parent_id)
        .ok_or_else(|| LaunchRefused::NotFound(parent_id.to_string()))?;
    if !parent.is_periodic_active() {
        return Err(LaunchRefused::NotPeriodic(parent_id.to_string()));
    }
    let child = derive_child(parent, at);
    let eval = Evaluation {
        id: eval_id,
        namespace: child.namespace.clone(),
        priority: child.priority,
        eval_type: child.job_type.clone(),
        triggered_by: trigger::PERIODIC_JOB.into(),
        job_id: child.id.clone(),
        status: eval_status::PENDING.into(),
        create_time: now,
        modify_time: now,
        ..Evaluation::default()
    };
    Ok(Command::JobRegister(JobRegister {
        job: child,
        eval: Some(eval),
        enforce_index: None,
        preserve_counts: false,
        now,
    }))
}
