//! Deployment commands (status changes, promotion, allocation health) and the per-group
//! counters allocations keep up to date as they are placed and report health.

use std::collections::BTreeSet;

use super::allocs::check_unique;
use super::changes::{Changes, Outcome};
use super::{
    DeploymentAllocHealth, DeploymentPromote, DeploymentStatusUpdate, JobStability, Response,
    StateError, StateStore,
};
use crate::model::{Allocation, Deployment, Evaluation, Timestamp, deployment_status};

/// Refuses statuses Nomad does not have.
pub(super) fn validate_status(id: &str, status: &str) -> Result<(), StateError> {
    if deployment_status::ALL.contains(&status) {
        Ok(())
    } else {
        Err(StateError::Invalid(format!(
            "deployment {id:?}: unknown status {status:?}; use one of {}",
            deployment_status::ALL.join(", ")
        )))
    }
}

fn healthy_of(a: Option<&Allocation>) -> Option<bool> {
    a.and_then(|a| a.deployment_status.as_ref())
        .and_then(|s| s.healthy)
}

impl StateStore {
    pub(super) fn active_deployment(
        &self,
        id: &str,
        action: &str,
    ) -> Result<&Deployment, StateError> {
        let d = self
            .deployments
            .get(id)
            .ok_or_else(|| StateError::DeploymentNotFound(id.to_string()))?;
        if !d.active() {
            return Err(StateError::Conflict(format!(
                "can't {action} terminal deployment {id:?} (status {:?}); update the job to start a new deployment",
                d.status
            )));
        }
        Ok(d)
    }

    /// Keeps a deployment's group counters in step with one allocation change: a new
    /// member counts as placed; a health change moves it between healthy and unhealthy.
    /// Writes nothing when nothing changes.
    pub(super) fn track_deployment(
        &self,
        ch: &mut Changes,
        old: Option<&Allocation>,
        new: &Allocation,
    ) {
        if new.deployment_id.is_empty() {
            return;
        }
        let old = old.filter(|o| o.deployment_id == new.deployment_id);
        let placed = old.is_none();
        let before = healthy_of(old);
        let after = healthy_of(Some(new));
        if !placed && before == after {
            return;
        }
        let has_group = ch
            .deployment(self, &new.deployment_id)
            .is_some_and(|d| d.task_groups.contains_key(new.task_group.as_str()));
        if !has_group {
            return;
        }
        let Some(state) = ch
            .deployment_mut(self, &new.deployment_id)
            .and_then(|d| d.task_groups.get_mut(new.task_group.as_str()))
        else {
            return;
        };
        if placed {
            state.placed_allocs = state.placed_allocs.saturating_add(1);
            let canary = new.deployment_status.as_ref().is_some_and(|d| d.canary);
            if canary && !state.placed_canaries.contains(&new.id) {
                state.placed_canaries.push(new.id.clone());
            }
        }
        // Nomad's progress deadline: the first placement starts the clock; every newly
        // healthy allocation pushes it out to its health time plus the deadline.
        if state.progress_deadline > 0 {
            if placed && state.require_progress_by == Timestamp(0) {
                state.require_progress_by =
                    Timestamp(new.modify_time.saturating_add(state.progress_deadline));
            } else if after == Some(true) && before != after {
                let at = new
                    .deployment_status
                    .as_ref()
                    .map_or(0, |d| d.timestamp.0)
                    .max(new.modify_time);
                let by = Timestamp(at.saturating_add(state.progress_deadline));
                if by > state.require_progress_by {
                    state.require_progress_by = by;
                }
            }
        }
        if before != after {
            match before {
                Some(true) => state.healthy_allocs = state.healthy_allocs.saturating_sub(1),
                Some(false) => state.unhealthy_allocs = state.unhealthy_allocs.saturating_sub(1),
                None => {}
            }
            match after {
                Some(true) => state.healthy_allocs = state.healthy_allocs.saturating_add(1),
                Some(false) => state.unhealthy_allocs = state.unhealthy_allocs.saturating_add(1),
                None => {}
            }
        }
    }

    /// Marks the job version a deployment rolled out stable (Nomad does this whenever a
    /// deployment succeeds, whoever decides it), unless the job was purged and
    /// re-registered since.
    pub(super) fn stage_deployed_version_stable(&self, ch: &mut Changes, d: &Deployment) {
        if let Ok((stable, _)) = self.job_stability(JobStability {
            namespace: d.namespace.clone(),
            job_id: d.job_id.clone(),
            version: d.job_version,
            stable: true,
        }) && self
            .job(&d.namespace, &d.job_id)
            .is_some_and(|j| j.create_index == d.job_create_index || d.job_create_index == 0)
        {
            ch.jobs.extend(stable.jobs);
            ch.version_stability.extend(stable.version_stability);
        }
    }

    pub(super) fn stage_deployment_eval(
        &self,
        ch: &mut Changes,
        response: &mut Response,
        index: u64,
        eval: Option<Evaluation>,
    ) -> Result<(), StateError> {
        if let Some(e) = eval {
            response.eval_id.clone_from(&e.id);
            response.eval_create_index = index;
            self.stage_evals(ch, [e])?;
        }
        Ok(())
    }

    /// Sets the status of an active deployment. Success marks the deployed job version
    /// stable (Nomad does the same), which makes it an auto-revert target.
    pub(super) fn deployment_status_update(
        &self,
        index: u64,
        c: DeploymentStatusUpdate,
    ) -> Outcome {
        validate_status(&c.deployment_id, &c.status)?;
        let d = self.active_deployment(&c.deployment_id, "change the status of")?;
        let mut ch = Changes::default();
        let mut response = Response::default();
        if c.status == deployment_status::SUCCESSFUL {
            self.stage_deployed_version_stable(&mut ch, d);
        }
        if let Some(dm) = ch.deployment_mut(self, &c.deployment_id) {
            dm.status = c.status;
            dm.status_description = c.status_description;
            dm.modify_time = c.now;
        }
        self.stage_deployment_eval(&mut ch, &mut response, index, c.eval)?;
        Ok((ch, response))
    }

    /// Promotes canaries once enough of them are healthy (Nomad's rules and wording).
    pub(super) fn deployment_promote(&self, index: u64, c: DeploymentPromote) -> Outcome {
        let d = self.active_deployment(&c.deployment_id, "promote")?;
        let groups: BTreeSet<String> = match &c.groups {
            None => d.task_groups.keys().cloned().collect(),
            Some(list) => {
                for g in list {
                    if !d.task_groups.contains_key(g) {
                        return Err(StateError::Invalid(format!(
                            "deployment {:?} has no task group {g:?}; promote one of: {}",
                            d.id,
                            d.task_groups.keys().cloned().collect::<Vec<_>>().join(", ")
                        )));
                    }
                }
                list.iter().cloned().collect()
            }
        };
        let mut have_canaries = false;
        let mut canaries: Vec<String> = Vec::new();
        for g in &groups {
            let Some(state) = d.task_groups.get(g) else {
                continue;
            };
            if state.desired_canaries == 0 {
                continue;
            }
            have_canaries = true;
            let healthy = state
                .placed_canaries
                .iter()
                .filter(|id| {
                    healthy_of(self.allocs.get(&super::Id::new(id)).map(|a| &**a)) == Some(true)
                })
                .count();
            if healthy < state.desired_canaries as usize {
                return Err(StateError::Conflict(format!(
                    "Task group {g:?} has {healthy}/{} healthy allocations; wait for its canaries to become healthy before promoting",
                    state.desired_canaries
                )));
            }
            canaries.extend(state.placed_canaries.iter().cloned());
        }
        if !have_canaries {
            return Err(StateError::Conflict(
                "no canaries to promote; the selected groups place no canaries".into(),
            ));
        }
        let mut ch = Changes::default();
        if let Some(dm) = ch.deployment_mut(self, &c.deployment_id) {
            for (name, state) in dm.task_groups.iter_mut() {
                if !groups.contains(name) {
                    continue;
                }
                state.promoted = true;
                if state.progress_deadline > 0 && state.require_progress_by != Timestamp(0) {
                    state.require_progress_by =
                        Timestamp(c.now.saturating_add(state.progress_deadline));
                }
            }
            let waiting = dm
                .task_groups
                .values()
                .any(|s| s.desired_canaries > 0 && !s.promoted);
            if dm.status == deployment_status::RUNNING && !waiting {
                dm.status_description = "Deployment is running".to_string();
            }
            dm.modify_time = c.now;
        }
        for id in canaries {
            if let Some(a) = ch.alloc_mut(self, &id)
                && let Some(ds) = a.deployment_status.as_mut()
                && ds.canary
            {
                ds.canary = false;
                ds.modify_index = index;
                a.alloc_modify_index = index;
                a.modify_time = c.now;
            }
        }
        let mut response = Response::default();
        self.stage_deployment_eval(&mut ch, &mut response, index, c.eval)?;
        Ok((ch, response))
    }

    /// Records health decided by the deployment watcher (or an operator for `manual`
    /// health checks) and moves the deployment's counters accordingly.
    pub(super) fn deployment_alloc_health(&self, index: u64, c: DeploymentAllocHealth) -> Outcome {
        check_unique(
            "allocation",
            c.healthy
                .iter()
                .chain(c.unhealthy.iter())
                .map(String::as_str),
        )?;
        self.active_deployment(&c.deployment_id, "set health of allocations for")?;
        let mut ch = Changes::default();
        let marks = c
            .healthy
            .iter()
            .map(|id| (id, true))
            .chain(c.unhealthy.iter().map(|id| (id, false)));
        for (id, healthy) in marks {
            let old = self
                .allocs
                .get(&super::Id::new(id))
                .ok_or_else(|| StateError::AllocNotFound(id.clone()))?;
            if old.deployment_id != c.deployment_id {
                return Err(StateError::Invalid(format!(
                    "alloc {id:?} is not part of deployment {:?}; set health only for the deployment's allocations",
                    c.deployment_id
                )));
            }
            let mut a = (**old).clone();
            let ds = a.deployment_status.get_or_insert_with(Default::default);
            ds.healthy = Some(healthy);
            ds.timestamp = Timestamp(c.now);
            ds.modify_index = index;
            a.modify_time = c.now;
            self.track_deployment(&mut ch, Some(old), &a);
            ch.allocs.insert(a.id.clone(), Some(std::sync::Arc::new(a)));
        }
        if let Some(dm) = ch.deployment_mut(self, &c.deployment_id) {
            dm.modify_time = c.now;
        }
        let mut response = Response::default();
        self.stage_deployment_eval(&mut ch, &mut response, index, c.eval)?;
        Ok((ch, response))
    }
}

#[cfg(test)]
mod tests;
