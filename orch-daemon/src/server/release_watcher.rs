//! The leader's release watcher: carries out what `core::workflow::release::decide`
//! returns for orch's releases (deployment groups): a release's verdict, then the
//! reverts and stops of a failed one. The decisions come from the replicated state
//! only, and every revert is a check-and-set on the job's version, so a new leader
//! redoes exactly what is left.

use std::sync::Arc;
use std::time::Duration;

use orch_core::model::{Evaluation, eval_status, trigger};
use orch_core::state::{Command, JobDeregister, JobRevert, ReleaseStatusUpdate, StateStore};
use orch_core::workflow::release::{self, Step};

use super::Leader;
use crate::clock::{new_uuid, now_nanos};

/// A pending evaluation of a job a release reverts or stops.
fn job_eval(s: &StateStore, namespace: &str, job_id: &str, trigger: &str, now: i64) -> Evaluation {
    let job = s.job(namespace, job_id);
    Evaluation {
        id: new_uuid(),
        namespace: namespace.to_string(),
        priority: job.map_or(50, |j| j.priority),
        eval_type: job.map_or_else(|| "service".to_string(), |j| j.job_type.clone()),
        triggered_by: trigger.into(),
        job_id: job_id.to_string(),
        status: eval_status::PENDING.into(),
        create_time: now,
        modify_time: now,
        ..Evaluation::default()
    }
}

/// The command carrying out `step`.
pub fn command(s: &StateStore, step: &Step, now: i64) -> Command {
    match step {
        Step::Status {
            id,
            status,
            description,
        } => Command::ReleaseStatusUpdate(ReleaseStatusUpdate {
            id: id.clone(),
            status: status.clone(),
            status_description: description.clone(),
            now,
        }),
        Step::Revert {
            namespace,
            job_id,
            version,
            prior_version,
        } => Command::JobRevert(JobRevert {
            namespace: namespace.clone(),
            job_id: job_id.clone(),
            version: *version,
            enforce_prior_version: Some(*prior_version),
            eval: Some(job_eval(s, namespace, job_id, trigger::JOB_REGISTER, now)),
            now,
        }),
        Step::Stop { namespace, job_id } => Command::JobDeregister(JobDeregister {
            namespace: namespace.clone(),
            job_id: job_id.clone(),
            purge: false,
            eval: Some(job_eval(s, namespace, job_id, trigger::JOB_DEREGISTER, now)),
            now,
        }),
    }
}

impl Leader {
    /// The watcher loop: idles while this server follows; while it leads, decides
    /// after every burst of state changes and at least every second.
    pub(super) async fn release_watcher(self: Arc<Self>) {
        let mut rx = self.state.subscribe();
        loop {
            if !self.replicator.is_leader() {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            let now = now_nanos();
            let steps = release::decide(&self.state.read());
            for step in &steps {
                let cmd = command(&self.state.read(), step, now);
                if let Err(e) = self.replicator.propose(cmd).await {
                    // Refused (the job moved on) or no quorum: the next pass decides
                    // again from the new state.
                    tracing::debug!(?step, error = %e, "release watcher step not committed");
                }
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
