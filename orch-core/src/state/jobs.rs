//! Job commands: register, deregister, scale, revert, stability.
//!
//! Versioning follows Nomad (notes §1.7): a new job is version 0 (see [`StateStore`]'s
//! `stage_job` for the one exception, a re-registered purged job whose old allocations
//! remain); a registration whose
//! spec differs from the current one (ignoring status, stability, version, indexes and
//! submit time) becomes version `old + 1` with `JobModifyIndex` and `SubmitTime` of this
//! command. **An unchanged spec writes nothing to the job** — version, `JobModifyIndex`
//! and `ModifyIndex` stay — mirroring Nomad's RPC, which skips the Raft write; an
//! evaluation sent with it is still stored.

use super::changes::{Changes, JobChange, Outcome};
use super::evals::job_eval;
use super::{
    JobDeregister, JobRegister, JobRevert, JobScale, JobStability, Response, StateError,
    StateStore, key,
};
use crate::model::{Evaluation, Job, PeriodicLaunch, job_status, job_type};

/// True when `new` differs from `old` in anything but the server-managed fields (status,
/// status description, stability, version, indexes, submit time): Nomad's `SpecChanged`.
pub fn spec_changed(old: &Job, new: &Job) -> bool {
    let mut n = new.clone();
    n.status.clone_from(&old.status);
    n.status_description.clone_from(&old.status_description);
    n.stable = old.stable;
    n.version = old.version;
    n.create_index = old.create_index;
    n.modify_index = old.modify_index;
    n.job_modify_index = old.job_modify_index;
    n.submit_time = old.submit_time;
    n != *old
}

fn validate_job(job: &Job) -> Result<(), StateError> {
    if job.id.is_empty() {
        return Err(StateError::Invalid(
            "job ID is empty; set the job's ID before registering it".into(),
        ));
    }
    if job.namespace.is_empty() {
        return Err(StateError::Invalid(format!(
            "job {:?} has an empty namespace; set Namespace (\"default\" unless namespaces are used)",
            job.id
        )));
    }
    if !job_type::ALL.contains(&job.job_type.as_str()) {
        return Err(StateError::Invalid(format!(
            "job {:?} has unknown type {:?}; use one of {}",
            job.id,
            job.job_type,
            job_type::ALL.join(", ")
        )));
    }
    Ok(())
}

/// Nomad's `EnforceIndex` check-and-set, with its error wording.
fn check_enforce_index(enforce: Option<u64>, existing: Option<&Job>) -> Result<(), StateError> {
    let reason = match (enforce, existing) {
        (None, _) | (Some(0), None) => return Ok(()),
        (Some(0), Some(_)) => "job already exists".to_string(),
        (Some(_), None) => "job does not exist".to_string(),
        (Some(n), Some(j)) if j.job_modify_index == n => return Ok(()),
        (Some(_), Some(j)) => format!(
            "job exists with conflicting job modify index: {}",
            j.job_modify_index
        ),
    };
    Err(StateError::EnforceIndex {
        expected: enforce.unwrap_or_default(),
        reason,
    })
}

impl StateStore {
    fn existing_job(&self, namespace: &str, job_id: &str) -> Result<&Job, StateError> {
        self.jobs
            .get(&key(namespace, job_id))
            .map(|j| &**j)
            .ok_or_else(|| StateError::JobNotFound {
                namespace: namespace.to_string(),
                job_id: job_id.to_string(),
            })
    }

    /// Stages `job` as the job's next version if its spec changed (or it is new).
    /// Returns the resulting `(JobModifyIndex, Version)`.
    fn stage_job(
        &self,
        index: u64,
        ch: &mut Changes,
        job: Job,
        existing: Option<&Job>,
        now: i64,
    ) -> (u64, u64) {
        self.stage_job_version(index, ch, job, existing, now, false)
    }

    /// [`Self::stage_job`], also making a new version of an unchanged spec when
    /// `changed_beside` (what the version carries beside the job, its metric gates,
    /// changed).
    fn stage_job_version(
        &self,
        index: u64,
        ch: &mut Changes,
        mut job: Job,
        existing: Option<&Job>,
        now: i64,
        changed_beside: bool,
    ) -> (u64, u64) {
        match existing {
            Some(old) if !changed_beside && !spec_changed(old, &job) => {
                return (old.job_modify_index, old.version);
            }
            Some(old) => {
                job.version = old.version.saturating_add(1);
                job.status.clone_from(&old.status);
                job.status_description.clone_from(&old.status_description);
            }
            None => {
                // Version 0, unless allocations of a purged earlier incarnation still
                // hold specs under this job ID: numbering continues past them so an
                // allocation's (job, version) always names exactly one spec.
                job.version = self
                    .alloc_jobs
                    .range((job.namespace.clone(), job.id.clone(), 0)..)
                    .take_while(|((ns, id, _), _)| *ns == job.namespace && *id == job.id)
                    .map(|((_, _, v), _)| v.saturating_add(1))
                    .max()
                    .unwrap_or(0);
                job.status = job_status::PENDING.to_string();
                job.status_description = String::new();
            }
        }
        job.stable = false;
        job.job_modify_index = index;
        job.submit_time = now;
        let version = job.version;
        ch.jobs.insert(
            job.key(),
            JobChange::Put {
                job: Box::new(job),
                new_version: true,
            },
        );
        (index, version)
    }

    /// Stages the evaluation of a job command and fills the reply.
    fn finish_job_command(
        &self,
        index: u64,
        mut ch: Changes,
        eval: Option<Evaluation>,
        (namespace, job_id): (&str, &str),
        (job_modify_index, job_version): (u64, u64),
    ) -> Outcome {
        let mut response = Response {
            job_modify_index,
            job_version,
            ..Response::default()
        };
        if let Some(e) = job_eval(eval, namespace, job_id, job_modify_index)? {
            response.eval_id.clone_from(&e.id);
            response.eval_create_index = index;
            self.stage_evals(&mut ch, [e])?;
        }
        Ok((ch, response))
    }

    pub(super) fn job_register(&self, index: u64, c: JobRegister) -> Outcome {
        self.job_register_versioned(index, c, false)
    }

    /// [`Self::job_register`]; `changed_beside`: what the registration stores beside
    /// the job (its metric gates) differs from the current version's, which makes a
    /// new version even of an unchanged spec (as any `update` change does in Nomad).
    pub(super) fn job_register_versioned(
        &self,
        index: u64,
        c: JobRegister,
        changed_beside: bool,
    ) -> Outcome {
        let mut job = c.job;
        validate_job(&job)?;
        self.check_job_namespace(&job)?;
        self.check_job_node_pool(&job)?;
        super::scaling::fill_policy_targets(&mut job);
        let existing = self.jobs.get(&job.key()).map(|j| &**j);
        check_enforce_index(c.enforce_index, existing)?;
        if c.preserve_counts
            && let Some(old) = existing
        {
            for g in &mut job.task_groups {
                if let Some(og) = old.group(&g.name) {
                    g.count = og.count;
                }
            }
        }
        let (namespace, job_id) = job.key();
        let mut ch = Changes::default();
        self.stage_periodic_launch(&mut ch, &job, c.now);
        let warnings = self.memory_max_warnings(&job);
        let result = self.stage_job_version(index, &mut ch, job, existing, c.now, changed_beside);
        let (ch, mut response) =
            self.finish_job_command(index, ch, c.eval, (&namespace, &job_id), result)?;
        response.warnings = warnings;
        Ok((ch, response))
    }

    /// Nomad's FSM bookkeeping of periodic launches: a newly active periodic parent
    /// gets its registration time as its first "launch" (so a leader that was down at the
    /// first launch time still makes it up); a child of a periodic parent records its
    /// launch time (from its ID) on the parent. Launch records only move forward.
    fn stage_periodic_launch(&self, ch: &mut Changes, job: &Job, now: i64) {
        let mut record = |ns: &str, id: &str, launch: i64| {
            let k = key(ns, id);
            let current = self.periodic_launches.get(&k);
            if current.is_none_or(|l| l.launch < launch) {
                ch.periodic_launches.insert(
                    k,
                    PeriodicLaunch {
                        namespace: ns.to_string(),
                        id: id.to_string(),
                        launch,
                        ..PeriodicLaunch::default()
                    },
                );
            }
        };
        if job.is_periodic_active() && self.periodic_launch(&job.namespace, &job.id).is_none() {
            record(&job.namespace, &job.id, now);
        }
        if !job.parent_id.is_empty()
            && let Some(parent) = self.jobs.get(&key(&job.namespace, &job.parent_id))
            && parent.periodic.is_some()
            && !parent.is_parameterized()
            && let Some(launch) = crate::periodic::launch_time(&job.id)
        {
            record(&job.namespace, &job.parent_id, launch);
        }
    }

    pub(super) fn job_deregister(&self, index: u64, c: JobDeregister) -> Outcome {
        let existing = self.existing_job(&c.namespace, &c.job_id)?;
        let mut ch = Changes::default();
        let result = if c.purge {
            ch.jobs
                .insert(key(&c.namespace, &c.job_id), JobChange::Purge);
            (index, existing.version)
        } else {
            // Already stopped: nothing to change (no extra version), the eval still counts.
            let mut stopped = existing.clone();
            stopped.stop = true;
            self.stage_job(index, &mut ch, stopped, Some(existing), c.now)
        };
        self.finish_job_command(index, ch, c.eval, (&c.namespace, &c.job_id), result)
    }

    pub(super) fn job_scale(&self, index: u64, c: JobScale) -> Outcome {
        let existing = self.existing_job(&c.namespace, &c.job_id)?;
        let event = |count: Option<i64>, previous: i64, eval_id: Option<String>| {
            crate::model::ScalingEvent {
                time: c.now,
                count,
                previous_count: previous,
                message: c.message.clone(),
                error: c.error,
                meta: c.meta.clone(),
                eval_id,
                create_index: index,
            }
        };
        if c.error {
            // An error report only: no new version, no evaluation.
            let Some(group) = existing.group(&c.group) else {
                return Err(StateError::Invalid(format!(
                    "task group {:?} specified for scaling does not exist in job; use one of the job's group names",
                    c.group
                )));
            };
            let mut ch = Changes::default();
            ch.scaling_events.push((
                key(&c.namespace, &c.job_id),
                c.group.clone(),
                event(None, i64::from(group.count), None),
            ));
            let response = Response {
                job_modify_index: existing.job_modify_index,
                job_version: existing.version,
                ..Response::default()
            };
            return Ok((ch, response));
        }
        let (count, previous) = self.checked_scale(existing, &c)?;
        let mut scaled = existing.clone();
        for g in &mut scaled.task_groups {
            if g.name == c.group {
                g.count = count;
            }
        }
        let mut ch = Changes::default();
        let eval_id = c.eval.as_ref().map(|e| e.id.clone());
        ch.scaling_events.push((
            key(&c.namespace, &c.job_id),
            c.group.clone(),
            event(Some(c.count), previous, eval_id),
        ));
        let result = self.stage_job(index, &mut ch, scaled, Some(existing), c.now);
        self.finish_job_command(index, ch, c.eval, (&c.namespace, &c.job_id), result)
    }

    /// Whether `c` may scale `existing` (Nomad's Job.Scale checks: the count's range, the
    /// group, a stopped job, the scaling policy's bounds, an active deployment): the new
    /// count and the group's count before.
    fn checked_scale(&self, existing: &Job, c: &JobScale) -> Result<(u32, i64), StateError> {
        if c.count < 0 {
            return Err(StateError::Invalid(
                "scaling action count can't be negative; give a count of 0 or more".into(),
            ));
        }
        if existing.job_type == job_type::SYSTEM && c.count > 1 {
            return Err(StateError::Invalid(
                "jobs of type \"system\" can only be scaled to 1 or 0".into(),
            ));
        }
        let max = crate::validate::MAX_GROUP_COUNT;
        let count = u32::try_from(c.count)
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| {
                StateError::Invalid(format!(
                    "scaling count {} is too large; the most a group can have is {max}",
                    c.count
                ))
            })?;
        let Some(group) = existing.group(&c.group) else {
            return Err(StateError::Invalid(format!(
                "task group {:?} specified for scaling does not exist in job; use one of the job's group names",
                c.group
            )));
        };
        if existing.stop {
            return Err(StateError::Conflict(format!(
                "job {:?} is stopped; start it again (register or revert) before scaling it",
                c.job_id
            )));
        }
        if let Some(policy) = &group.scaling {
            let min = policy.min.unwrap_or(0);
            if c.count < min {
                return Err(StateError::Conflict(format!(
                    "group count was less than scaling policy minimum: {} < {min}",
                    c.count
                )));
            }
            if let Some(max) = policy.max
                && c.count > max
            {
                return Err(StateError::Conflict(format!(
                    "group count was greater than scaling policy maximum: {} > {max}",
                    c.count
                )));
            }
        }
        if let Some(d) = self.latest_deployment_by_job(&c.namespace, &c.job_id)
            && d.active()
            && d.job_create_index == existing.create_index
        {
            return Err(StateError::Conflict(format!(
                "job scaling blocked due to active deployment {:?}; wait for it to finish or fail it first",
                d.id
            )));
        }
        Ok((count, i64::from(group.count)))
    }

    pub(super) fn job_revert(&self, index: u64, c: JobRevert) -> Outcome {
        let current = self.existing_job(&c.namespace, &c.job_id)?;
        if let Some(prior) = c.enforce_prior_version
            && current.version != prior
        {
            return Err(StateError::Conflict(format!(
                "Current job has version {}; enforcing version {prior}",
                current.version
            )));
        }
        if c.version == current.version {
            return Err(StateError::Conflict(format!(
                "can't revert to current version {}; pick an older version from the job's history",
                c.version
            )));
        }
        let old = self
            .job_version(&c.namespace, &c.job_id, c.version)
            .ok_or_else(|| StateError::JobVersionNotFound {
                namespace: c.namespace.clone(),
                job_id: c.job_id.clone(),
                version: c.version,
            })?;
        let mut ch = Changes::default();
        let result = self.stage_job(index, &mut ch, old.clone(), Some(current), c.now);
        let (mut ch, response) =
            self.finish_job_command(index, ch, c.eval, (&c.namespace, &c.job_id), result)?;
        let k = key(&c.namespace, &c.job_id);
        self.revert_gates(&mut ch, &k, c.version, response.job_version);
        Ok((ch, response))
    }

    pub(super) fn job_stability(&self, c: JobStability) -> Outcome {
        let current = self.existing_job(&c.namespace, &c.job_id)?;
        let version = self
            .job_version(&c.namespace, &c.job_id, c.version)
            .ok_or_else(|| StateError::JobVersionNotFound {
                namespace: c.namespace.clone(),
                job_id: c.job_id.clone(),
                version: c.version,
            })?;
        let mut ch = Changes::default();
        let k = key(&c.namespace, &c.job_id);
        if version.stable != c.stable {
            ch.version_stability.push((k.clone(), c.version, c.stable));
        }
        if current.version == c.version && current.stable != c.stable {
            let mut job = current.clone();
            job.stable = c.stable;
            ch.jobs.insert(
                k,
                JobChange::Put {
                    job: Box::new(job),
                    new_version: false,
                },
            );
        }
        let response = Response {
            job_modify_index: current.job_modify_index,
            job_version: current.version,
            ..Response::default()
        };
        Ok((ch, response))
    }
}

#[cfg(test)]
mod tests;
