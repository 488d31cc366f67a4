//! Releases (deployment groups): several jobs, one rollout, one rollback (README,
//! "Beyond Nomad: workflows"). The release watcher's decisions, pure functions of the
//! replicated state, so a new leader picks up where the old one stopped:
//!
//! - a running release whose jobs all rolled out ([`job_outcome`]: the deployment of the
//!   version it registered succeeded, or, without deployments, every group runs
//!   healthy) succeeds;
//! - one whose job failed (its deployment failed or was cancelled, or the job was
//!   stopped, purged or registered again outside the release) fails;
//! - a failed release, while it is the latest of its name, brings each of its jobs
//!   still at the version it registered back to that job's version in the name's last
//!   successful release (`RollbackTo`), and stops the jobs that release did not have.
//!   A revert changes the job's version, so it is never repeated.

use crate::model::release_status;
use crate::model::{JobDependency, Release, ReleaseJob, deployment_status, job_condition};
use crate::state::StateStore;

/// Where one job of a release stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Still rolling out.
    Rolling,
    /// Rolled out.
    Done,
    /// Failed: why.
    Failed(String),
}

/// One thing the release watcher wants committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The release succeeded or failed.
    Status {
        /// The release.
        id: String,
        /// `successful` or `failed`.
        status: String,
        /// Why.
        description: String,
    },
    /// Bring a job back to its version of the last successful release.
    Revert {
        /// Namespace.
        namespace: String,
        /// Job.
        job_id: String,
        /// The version to register again.
        version: u64,
        /// The version it must still be at (check-and-set).
        prior_version: u64,
    },
    /// Stop a job the last successful release did not have.
    Stop {
        /// Namespace.
        namespace: String,
        /// Job.
        job_id: String,
    },
}

/// Where `rj` of a release stands.
pub fn job_outcome(s: &StateStore, rj: &ReleaseJob) -> JobOutcome {
    let (ns, id) = (rj.namespace.as_str(), rj.job_id.as_str());
    let deployment = s
        .deployments_by_job(ns, id)
        .into_iter()
        .filter(|d| d.job_version == rj.job_version)
        .max_by_key(|d| d.create_index);
    if let Some(d) = deployment {
        return match d.status.as_str() {
            deployment_status::SUCCESSFUL => JobOutcome::Done,
            deployment_status::FAILED | deployment_status::CANCELLED => {
                JobOutcome::Failed(format!(
                    "deployment of job {id:?} {}: {}",
                    d.status, d.status_description
                ))
            }
            _ => JobOutcome::Rolling,
        };
    }
    let Some(job) = s.job(ns, id) else {
        return JobOutcome::Failed(format!("job {id:?} was purged"));
    };
    if job.stop {
        return JobOutcome::Failed(format!("job {id:?} was stopped"));
    }
    if job.version != rj.job_version {
        return JobOutcome::Failed(format!(
            "job {id:?} was registered again outside the release (version {})",
            job.version
        ));
    }
    if job.is_template() {
        return JobOutcome::Done;
    }
    let healthy = JobDependency {
        job: id.to_string(),
        condition: job_condition::HEALTHY.into(),
    };
    match crate::workflow::job_deps::unmet(s, ns, &healthy) {
        None => JobOutcome::Done,
        Some(_) => JobOutcome::Rolling,
    }
}

/// The verdict on a running release, if it has one.
pub fn verdict(s: &StateStore, r: &Release) -> Option<Step> {
    let mut all_done = true;
    for rj in &r.jobs {
        match job_outcome(s, rj) {
            JobOutcome::Done => {}
            JobOutcome::Rolling => all_done = false,
            JobOutcome::Failed(why) => {
                let back = if r.rollback_to == 0 {
                    "; no successful release to roll back to".to_string()
                } else {
                    format!(
                        "; rolling back to release version {}{}",
                        r.rollback_to,
                        lost_versions(s, r)
                    )
                };
                return Some(Step::Status {
                    id: r.id.clone(),
                    status: release_status::FAILED.into(),
                    description: format!("Release failed: {why}{back}"),
                });
            }
        }
    }
    all_done.then(|| Step::Status {
        id: r.id.clone(),
        status: release_status::SUCCESSFUL.into(),
        description: "Release successful: every job rolled out".into(),
    })
}

/// The jobs of `r` whose version in its rollback target the history no longer keeps
/// (`JOB_TRACKED_VERSIONS`), as a note for the failure description.
fn lost_versions(s: &StateStore, r: &Release) -> String {
    let Some(target) = s.release_version(&r.name, r.rollback_to) else {
        return String::new();
    };
    let lost: Vec<String> = target
        .jobs
        .iter()
        .filter(|t| {
            s.job_version(&t.namespace, &t.job_id, t.job_version)
                .is_none()
        })
        .filter(|t| {
            r.jobs
                .iter()
                .any(|j| j.job_id == t.job_id && j.namespace == t.namespace)
        })
        .map(|t| {
            format!(
                "{:?} (version {} is no longer in its history)",
                t.job_id, t.job_version
            )
        })
        .collect();
    if lost.is_empty() {
        String::new()
    } else {
        format!(", except job {} which stays", lost.join(", "))
    }
}

/// The reverts and stops a failed release still needs.
pub fn rollback(s: &StateStore, r: &Release) -> Vec<Step> {
    let mut out = Vec::new();
    if r.status != release_status::FAILED || r.rollback_to == 0 {
        return out;
    }
    let newer = s
        .releases()
        .any(|o| o.name == r.name && o.version > r.version);
    let Some(target) = s.release_version(&r.name, r.rollback_to) else {
        return out;
    };
    if newer {
        return out;
    }
    for rj in &r.jobs {
        let Some(job) = s.job(&rj.namespace, &rj.job_id) else {
            continue;
        };
        if job.stop || job.version != rj.job_version {
            continue;
        }
        let before = target
            .jobs
            .iter()
            .find(|t| t.namespace == rj.namespace && t.job_id == rj.job_id);
        match before {
            // A version the job's history no longer keeps cannot be registered again:
            // that job stays (the release's description names it).
            Some(t)
                if s.job_version(&t.namespace, &t.job_id, t.job_version)
                    .is_none() => {}
            Some(t) if t.job_version != job.version => out.push(Step::Revert {
                namespace: rj.namespace.clone(),
                job_id: rj.job_id.clone(),
                version: t.job_version,
                prior_version: job.version,
            }),
            Some(_) => {}
            None => out.push(Step::Stop {
                namespace: rj.namespace.clone(),
                job_id: rj.job_id.clone(),
            }),
        }
    }
    out
}

/// Everything the release watcher should do now, in order.
pub fn decide(s: &StateStore) -> Vec<Step> {
    let mut out = Vec::new();
    for r in s.releases() {
        if r.running() {
            out.extend(verdict(s, r));
        } else {
            out.extend(rollback(s, r));
        }
    }
    out
}
