//! Job submissions in the store: the source each job version was registered from
//! (Nomad's `job_submission` table), written by `JobRegisterSubmitted` and kept exactly
//! as long as the version it belongs to (pruned with the version history, removed with
//! a purge).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::changes::Outcome;
use super::{JobKey, JobRegister, StateStore};
use crate::model::{Job, JobSubmission};

/// Table name for [`StateStore::index`].
pub const JOB_SUBMISSIONS_TABLE: &str = "job_submission";

/// `Job.Register` with the source it was written as: the job is registered exactly as
/// by [`JobRegister`], and the source is stored at the version the registration leaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRegisterSubmitted {
    /// The registration.
    pub register: JobRegister,
    /// The source; its namespace, job ID, version and index are set by the store.
    pub submission: JobSubmission,
}

/// Submissions by `(namespace, job ID, version)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct SubmissionTable {
    by_version: BTreeMap<(String, String, u64), JobSubmission>,
}

impl SubmissionTable {
    /// The snapshot's section: every submission in key order.
    pub(super) fn section(&self) -> Vec<JobSubmission> {
        self.by_version.values().cloned().collect()
    }

    /// Rebuilds the table from [`Self::section`].
    pub(super) fn from_section(subs: Vec<JobSubmission>) -> Self {
        let by_version = subs
            .into_iter()
            .map(|s| ((s.namespace.clone(), s.job_id.clone(), s.version), s))
            .collect();
        SubmissionTable { by_version }
    }

    /// Stores `sub` when its version is one the history holds. Returns whether it did.
    pub(super) fn insert(
        &mut self,
        sub: JobSubmission,
        versions: Option<&BTreeMap<u64, Arc<Job>>>,
    ) -> bool {
        if !versions.is_some_and(|v| v.contains_key(&sub.version)) {
            return false;
        }
        let k = (sub.namespace.clone(), sub.job_id.clone(), sub.version);
        self.by_version.insert(k, sub);
        true
    }

    /// Drops the job's submissions whose version the history no longer holds (all of
    /// them when it holds none). Returns whether any was dropped.
    pub(super) fn prune(
        &mut self,
        (ns, id): &JobKey,
        versions: Option<&BTreeMap<u64, Arc<Job>>>,
    ) -> bool {
        let stale: Vec<u64> = self
            .by_version
            .range((ns.clone(), id.clone(), 0)..=(ns.clone(), id.clone(), u64::MAX))
            .map(|((_, _, v), _)| *v)
            .filter(|v| !versions.is_some_and(|m| m.contains_key(v)))
            .collect();
        for v in &stale {
            self.by_version.remove(&(ns.clone(), id.clone(), *v));
        }
        !stale.is_empty()
    }

    fn get(&self, namespace: &str, id: &str, version: u64) -> Option<&JobSubmission> {
        self.by_version
            .get(&(namespace.to_string(), id.to_string(), version))
    }
}

impl StateStore {
    /// The source job version `version` was submitted as, if it was sent and is kept.
    pub fn job_submission(
        &self,
        namespace: &str,
        id: &str,
        version: u64,
    ) -> Option<&JobSubmission> {
        self.submissions.get(namespace, id, version)
    }

    pub(super) fn job_register_submitted(&self, index: u64, c: JobRegisterSubmitted) -> Outcome {
        self.job_register_submitted_versioned(index, c, false)
    }

    /// [`Self::job_register_submitted`]; `changed_beside` as
    /// [`Self::job_register_versioned`] takes it.
    pub(super) fn job_register_submitted_versioned(
        &self,
        index: u64,
        c: JobRegisterSubmitted,
        changed_beside: bool,
    ) -> Outcome {
        let (namespace, job_id) = c.register.job.key();
        let (mut ch, response) = self.job_register_versioned(index, c.register, changed_beside)?;
        ch.submissions.push(JobSubmission {
            namespace,
            job_id,
            version: response.job_version,
            job_index: index,
            ..c.submission
        });
        Ok((ch, response))
    }

    /// Stores the submissions of a commit (after its versions were recorded) and drops
    /// the ones whose version is gone. Returns whether the table changed.
    pub(super) fn commit_submissions(
        &mut self,
        subs: Vec<JobSubmission>,
        pruned: &[JobKey],
    ) -> bool {
        let mut dirty = false;
        for k in pruned {
            dirty |= self.submissions.prune(k, self.job_versions.get(k));
        }
        for s in subs {
            let k = (s.namespace.clone(), s.job_id.clone());
            dirty |= self.submissions.insert(s, self.job_versions.get(&k));
        }
        dirty
    }
}

#[cfg(test)]
mod tests;
