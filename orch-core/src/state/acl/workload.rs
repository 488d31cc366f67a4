//! ACL policies attached to workloads (Nomad's `JobACL`): the command that writes a
//! policy with its attachment, the lookup of a task's attached rules, and the snapshot
//! section the attachments travel in.
//!
//! The attachment is kept beside the policy rather than in `AclPolicy`, so the policy's
//! stored layout, the commands already in Raft logs and the snapshot format all stay as
//! they were; a new command (at the end of `Command`) and a named snapshot section
//! carry it.

use serde::{Deserialize, Serialize};

use super::super::changes::Outcome;
use super::super::{StateError, StateStore};
use super::{AclPolicyUpsert, invalid};
use crate::acl::Acl;
use crate::model::acl::{AclPolicy, JobAcl};

/// Longest `JobACL` field (namespace, job, group or task name) a policy may name.
pub const MAX_JOB_ACL_FIELD: usize = 512;

/// Create or replace one policy together with the workload it is attached to (`None`:
/// attached to none): what `ACL.UpsertPolicies` does with a policy's `JobACL`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AclPolicyAttach {
    /// The policy; its rules must parse.
    pub policy: AclPolicy,
    /// Its workload.
    pub job_acl: Option<JobAcl>,
}

/// The snapshot section of the attachments: policy name and workload, by name.
pub(in crate::state) type JobAclSection = Vec<(String, JobAcl)>;

impl StateStore {
    /// The workload the policy `name` is attached to, if any.
    pub fn acl_policy_job(&self, name: &str) -> Option<&JobAcl> {
        self.acl.job_acls.get(name)
    }

    /// The policies attached to a workload that match a task `task` of group `group`
    /// of job `job_id` in `namespace` (Nomad's claim policies), by name.
    pub fn workload_policies<'a>(
        &'a self,
        namespace: &'a str,
        job_id: &'a str,
        group: &'a str,
        task: &'a str,
    ) -> impl Iterator<Item = &'a AclPolicy> + 'a {
        self.acl
            .job_acls
            .iter()
            .filter(move |(_, j)| j.matches(namespace, job_id, group, task))
            .filter_map(|(name, _)| self.acl.policies.get(name))
    }

    /// The merged rules of [`Self::workload_policies`]: what the task's workload
    /// identity holds beyond its implicit rights. Nothing when none match.
    pub fn workload_acl(&self, namespace: &str, job_id: &str, group: &str, task: &str) -> Acl {
        let rules = self
            .workload_policies(namespace, job_id, group, task)
            .filter_map(|p| self.acl.rules.get(&p.name).map(|r| &**r));
        Acl::from_policies(rules)
    }

    pub(in crate::state) fn acl_policy_attach(&self, c: AclPolicyAttach) -> Outcome {
        if let Some(j) = &c.job_acl {
            if let Some(why) = j.problem() {
                return Err(invalid(format!("JobACL: {why}")));
            }
            let longest = [&j.namespace, &j.job_id, &j.group, &j.task].map(|s| s.len());
            if longest.into_iter().max().unwrap_or(0) > MAX_JOB_ACL_FIELD {
                return Err(invalid(format!(
                    "JobACL: each of Namespace, JobID, Group and Task holds at most {MAX_JOB_ACL_FIELD} bytes"
                )));
            }
        }
        let name = c.policy.name.clone();
        let (mut ch, response) = self.acl_policy_upsert(AclPolicyUpsert {
            policies: vec![c.policy],
        })?;
        if let Some(j) = c.job_acl {
            ch.acl.job_acls.insert(name, j);
        }
        Ok((ch, response))
    }

    /// The attachments, for the snapshot.
    pub(in crate::state) fn job_acl_section(&self) -> JobAclSection {
        let all = self.acl.job_acls.iter();
        all.map(|(n, j)| (n.clone(), j.clone())).collect()
    }

    /// Restores the attachments of a snapshot; each must name a restored policy.
    pub(in crate::state) fn restore_job_acls(
        &mut self,
        section: JobAclSection,
    ) -> Result<(), StateError> {
        for (name, j) in section {
            if !self.acl.policies.contains_key(&name) {
                return Err(StateError::Snapshot(format!(
                    "the snapshot attaches the unknown ACL policy {name:?} to a workload; the snapshot is corrupt, restore from another server"
                )));
            }
            self.acl.job_acls.insert(name, j);
        }
        Ok(())
    }
}
