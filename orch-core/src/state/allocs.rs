//! Allocation commands: committing a scheduler plan, client status updates and desired
//! transitions.
//!
//! Index rules (Nomad's): a server-side change (plan placement, in-place update, stop,
//! preemption) sets `AllocModifyIndex`; a client update only moves `ModifyIndex`.
//! Allocations are stored without their job; the spec of `(namespace, job, version)` is
//! kept once in the store's alloc job table.

use super::alloc_edit::{AllocEdit, EditStrs};
use super::changes::{Changes, Outcome};
use super::{
    AllocClientUpdate, AllocDesiredTransitionUpdate, AllocPreemption, AllocStop, ApplyPlanResults,
    DeploymentUpdate, JobVersionKey, Response, StateError, StateStore, key,
};
use crate::model::{
    Allocation, Deployment, Job, Str, client_status, deployment_status, desired_status,
};

fn validate_client_status(alloc_id: &str, status: &str) -> Result<(), StateError> {
    if client_status::ALL.contains(&status) {
        Ok(())
    } else {
        Err(StateError::Invalid(format!(
            "allocation {alloc_id:?}: unknown client status {status:?}; use one of {}",
            client_status::ALL.join(", ")
        )))
    }
}

fn validate_desired_status(alloc_id: &str, status: &str) -> Result<(), StateError> {
    if [
        desired_status::RUN,
        desired_status::STOP,
        desired_status::EVICT,
    ]
    .contains(&status)
    {
        Ok(())
    } else {
        Err(StateError::Invalid(format!(
            "allocation {alloc_id:?}: unknown desired status {status:?}; use run, stop or evict"
        )))
    }
}

/// Refuses empty and repeated IDs in one command: each object changes once per command,
/// which keeps deployment counters and index stamping unambiguous.
pub(super) fn check_unique<'a>(
    what: &str,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<(), StateError> {
    // Sorted and compared side by side: a plan carries hundreds of IDs, and a set
    // built one insert at a time compared strings through pointers on every step.
    let mut sorted: Vec<&str> = Vec::new();
    for id in ids {
        if id.is_empty() {
            return Err(StateError::Invalid(format!(
                "{what} with an empty ID; every {what} needs its UUID"
            )));
        }
        sorted.push(id);
    }
    sorted.sort_unstable();
    match sorted.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(StateError::Invalid(format!(
            "{what} {:?} appears more than once in one command; list each {what} once",
            w[0]
        ))),
        None => Ok(()),
    }
}

impl StateStore {
    /// The spec an allocation of `(namespace, job_id)` at `version` runs: the job must
    /// still exist, and the version must be known (kept for other allocations, tracked,
    /// or current).
    fn job_spec_for(
        &self,
        namespace: &str,
        job_id: &str,
        version: u64,
    ) -> Result<&Job, StateError> {
        let k = key(namespace, job_id);
        if !self.jobs.contains_key(&k) {
            return Err(StateError::JobNotFound {
                namespace: namespace.to_string(),
                job_id: job_id.to_string(),
            });
        }
        self.alloc_jobs
            .get(&(namespace.to_string(), job_id.to_string(), version))
            .or_else(|| {
                self.job_versions
                    .get(&k)
                    .and_then(|v| v.get(&version))
                    .map(|j| &**j)
            })
            .ok_or_else(|| StateError::JobVersionNotFound {
                namespace: namespace.to_string(),
                job_id: job_id.to_string(),
                version,
            })
    }

    pub(super) fn apply_plan_results(&self, index: u64, c: ApplyPlanResults) -> Outcome {
        check_unique(
            "allocation",
            c.allocs_to_upsert
                .iter()
                .map(|a| a.id.as_str())
                .chain(c.allocs_stopped.iter().map(|s| s.alloc_id.as_str()))
                .chain(c.allocs_preempted.iter().map(|p| p.alloc_id.as_str())),
        )?;
        let mut ch = Changes::default();
        self.stage_plan_deployments(&mut ch, c.deployment, c.deployment_updates, c.now)?;
        let links = self.stage_placements(&mut ch, index, c.allocs_to_upsert, c.now)?;
        self.stage_plan_stops(&mut ch, index, c.allocs_stopped, c.allocs_preempted, c.now)?;
        self.link_replacements(&mut ch, links);
        check_unique("evaluation", c.evals.iter().map(|e| e.id.as_str()))?;
        self.stage_evals(&mut ch, c.evals)?;
        if !c.eval_id.is_empty() {
            // Touch the plan's evaluation so its ModifyIndex tells the worker the plan landed.
            ch.eval_mut(self, &c.eval_id)
                .ok_or_else(|| StateError::EvalNotFound(c.eval_id.clone()))?;
        }
        Ok((ch, Response::default()))
    }

    /// The plan's new deployment and its updates of existing ones (an update of a
    /// deployment that is no longer active is ignored: the plan is older than the
    /// watcher's or an operator's decision).
    fn stage_plan_deployments(
        &self,
        ch: &mut Changes,
        deployment: Option<Deployment>,
        updates: Vec<DeploymentUpdate>,
        now: i64,
    ) -> Result<(), StateError> {
        if let Some(d) = deployment {
            if d.id.is_empty() {
                return Err(StateError::Invalid(
                    "plan deployment has an empty ID; the scheduler must assign it a UUID".into(),
                ));
            }
            super::deployments::validate_status(&d.id, &d.status)?;
            if self.job(&d.namespace, &d.job_id).is_none() {
                return Err(StateError::JobNotFound {
                    namespace: d.namespace,
                    job_id: d.job_id,
                });
            }
            ch.deployments.insert(d.id.clone(), Some(d));
        }
        for u in updates {
            super::deployments::validate_status(&u.deployment_id, &u.status)?;
            let d = ch
                .deployment(self, &u.deployment_id)
                .ok_or_else(|| StateError::DeploymentNotFound(u.deployment_id.clone()))?;
            if !d.active() {
                continue;
            }
            if u.status == deployment_status::SUCCESSFUL {
                let d = d.clone();
                self.stage_deployed_version_stable(ch, &d);
            }
            if let Some(d) = ch.deployment_mut(self, &u.deployment_id) {
                d.status = u.status;
                d.status_description = u.status_description;
                d.modify_time = now;
            }
        }
        Ok(())
    }

    /// Stages the plan's placements and in-place updates; returns the (replaced,
    /// replacement) pairs to link once everything is staged.
    fn stage_placements(
        &self,
        ch: &mut Changes,
        index: u64,
        allocs: Vec<Allocation>,
        now: i64,
    ) -> Result<Vec<(String, String)>, StateError> {
        let mut links = Vec::new();
        // A plan's allocations are nearly always of one job version: look its spec up
        // (and stage it) once, not once per allocation.
        let mut last_spec: Option<(JobVersionKey, &Job)> = None;
        let mut shared = SharedFields::default();
        for mut a in allocs {
            if let Some(job) = a.job.take() {
                a.job_version = job.version;
            }
            let cached = last_spec.as_ref().filter(|((ns, id, v), _)| {
                *ns == a.namespace && *id == a.job_id && *v == a.job_version
            });
            let (spec, fresh) = match cached {
                Some((_, spec)) => (*spec, false),
                None => (
                    self.job_spec_for(&a.namespace, &a.job_id, a.job_version)?,
                    true,
                ),
            };
            // One probe of the hashed table, whether the ID is fresh or not.
            let old = self.allocs.get(&super::Id::new(&a.id)).map(|o| &**o);
            self.prepare_placement(&mut a, spec, old, index, now)?;
            shared.share(&mut a);
            if fresh {
                let spec_key = (a.namespace.to_string(), a.job_id.to_string(), a.job_version);
                if !self.alloc_jobs.contains_key(&spec_key) {
                    ch.alloc_jobs.insert(spec_key.clone(), spec.clone());
                }
                last_spec = Some((spec_key, spec));
            }
            self.track_deployment(ch, old, &a);
            if !a.previous_allocation.is_empty() {
                links.push((a.previous_allocation.clone(), a.id.clone()));
            }
            ch.allocs.insert(a.id.clone(), Some(std::sync::Arc::new(a)));
        }
        Ok(links)
    }

    /// Checks one placement against its node and job and fills what the store owns:
    /// default statuses, the node name, times, and for an in-place update what the client
    /// owns (task states, client status unless the scheduler declares it lost or
    /// unknown, deployment health) and the replacement link.
    fn prepare_placement(
        &self,
        a: &mut Allocation,
        spec: &Job,
        old: Option<&Allocation>,
        index: u64,
        now: i64,
    ) -> Result<(), StateError> {
        // One search by ID for the node and its shared names.
        let slot = self.nodes.slot(&a.node_id);
        let node = slot
            .and_then(|s| self.nodes.node_at(s))
            .ok_or_else(|| StateError::NodeNotFound(a.node_id.to_string()))?;
        if spec.group(&a.task_group).is_none() {
            return Err(StateError::Invalid(format!(
                "allocation {:?} is for task group {:?}, which job {:?} version {} does not have; place allocations for the job's groups",
                a.id, a.task_group, a.job_id, a.job_version
            )));
        }
        if a.desired_status.is_empty() {
            a.desired_status = desired_status::RUN.into();
        }
        validate_desired_status(&a.id, &a.desired_status)?;
        if a.client_status.is_empty() {
            a.client_status = client_status::PENDING.into();
        }
        validate_client_status(&a.id, &a.client_status)?;
        if let Some((id, name)) = slot.and_then(|s| self.nodes.shared_names_at(s)) {
            a.node_id.share(id);
            if a.node_name.is_empty() {
                a.node_name = name.clone();
            } else {
                a.node_name.share(name);
            }
        } else if a.node_name.is_empty() {
            a.node_name = node.name.as_str().into();
        }
        match old {
            Some(o) => {
                a.create_time = o.create_time;
                a.task_states.clone_from(&o.task_states);
                if a.client_status != client_status::LOST
                    && a.client_status != client_status::UNKNOWN
                {
                    a.client_status.clone_from(&o.client_status);
                    a.client_description.clone_from(&o.client_description);
                }
                if a.deployment_status.is_none() {
                    a.deployment_status.clone_from(&o.deployment_status);
                }
                // The replacement link is the store's: an update planned on an older
                // snapshot must not erase it.
                if a.next_allocation.is_empty() {
                    a.next_allocation.clone_from(&o.next_allocation);
                }
            }
            None => a.create_time = now,
        }
        a.alloc_modify_index = index;
        a.modify_time = now;
        Ok(())
    }

    /// The plan's stops and preemptions of existing allocations, staged as the fields
    /// they set ([`super::alloc_edit`]).
    fn stage_plan_stops(
        &self,
        ch: &mut Changes,
        index: u64,
        stopped: Vec<AllocStop>,
        preempted: Vec<AllocPreemption>,
        now: i64,
    ) -> Result<(), StateError> {
        let mut strs = EditStrs::default();
        let shared = |none: bool, status: &str| {
            if none {
                Str::default()
            } else {
                Str::from(status)
            }
        };
        let (stop, evict) = (
            shared(stopped.is_empty(), desired_status::STOP),
            shared(preempted.is_empty(), desired_status::EVICT),
        );
        for s in stopped {
            if let Some(cs) = &s.client_status {
                validate_client_status(&s.alloc_id, cs)?;
            }
            let edit = AllocEdit {
                key: super::Id::new(&s.alloc_id),
                id: s.alloc_id,
                desired_status: stop.clone(),
                desired_description: s.desired_description,
                client_status: s.client_status.map(|cs| strs.client(cs)),
                preempted_by: None,
                next_allocation: None,
                alloc_modify_index: index,
                modify_time: now,
            };
            stage_edit(self, ch, edit)?;
        }
        for p in preempted {
            let edit = AllocEdit {
                key: super::Id::new(&p.alloc_id),
                id: p.alloc_id,
                desired_status: evict.clone(),
                desired_description: format!("Preempted by alloc ID {}", p.preempted_by),
                client_status: None,
                preempted_by: Some(p.preempted_by),
                next_allocation: None,
                alloc_modify_index: index,
                modify_time: now,
            };
            stage_edit(self, ch, edit)?;
        }
        ch.sort_edits();
        Ok(())
    }

    /// Nomad's upsertAllocsImpl: the allocation a placement replaces points forward to
    /// it (`NextAllocation`), which is how the reconciler knows a failed or stopped
    /// allocation was already replaced and must not be rescheduled or counted again.
    /// Only `ModifyIndex` moves: nothing the client runs changed.
    fn link_replacements(&self, ch: &mut Changes, links: Vec<(String, String)>) {
        for (prev, next) in links {
            if let Some(edit) = ch.alloc_edit_mut(&prev) {
                // Stopped by this plan: the edit writes the link with the rest.
                edit.next_allocation = Some(next);
                continue;
            }
            let staged = match ch.allocs.get(&prev) {
                Some(a) => a.as_deref(),
                None => self.allocs.get(&super::Id::new(&prev)).map(|p| &**p),
            };
            if staged.is_some_and(|p| p.next_allocation != next)
                && let Some(p) = ch.alloc_mut(self, &prev)
            {
                p.next_allocation = next;
            }
        }
    }

    pub(super) fn alloc_client_update(&self, index: u64, c: AllocClientUpdate) -> Outcome {
        check_unique("allocation", c.allocs.iter().map(|a| a.id.as_str()))?;
        check_unique("evaluation", c.evals.iter().map(|e| e.id.as_str()))?;
        let mut ch = Changes::default();
        for u in c.allocs {
            validate_client_status(&u.id, &u.client_status)?;
            let old = self
                .allocs
                .get(&super::Id::new(&u.id))
                .ok_or_else(|| StateError::AllocNotFound(u.id.clone()))?;
            let mut a = (**old).clone();
            a.client_status = u.client_status.into();
            a.client_description = u.client_description;
            a.task_states = u.task_states;
            if let Some(mut ds) = u.deployment_status {
                ds.canary = old.deployment_status.as_ref().is_some_and(|s| s.canary);
                ds.modify_index = index;
                a.deployment_status = Some(ds);
            }
            a.modify_time = c.now;
            self.track_deployment(&mut ch, Some(old), &a);
            ch.allocs.insert(a.id.clone(), Some(std::sync::Arc::new(a)));
        }
        self.stage_evals(&mut ch, c.evals)?;
        Ok((ch, Response::default()))
    }

    pub(super) fn alloc_desired_transition(&self, c: AllocDesiredTransitionUpdate) -> Outcome {
        check_unique("evaluation", c.evals.iter().map(|e| e.id.as_str()))?;
        let mut ch = Changes::default();
        for (id, t) in c.transitions {
            let a = ch
                .alloc_mut(self, &id)
                .ok_or_else(|| StateError::AllocNotFound(id.clone()))?;
            let d = &mut a.desired_transition;
            if t.migrate.is_some() {
                d.migrate = t.migrate;
            }
            if t.reschedule.is_some() {
                d.reschedule = t.reschedule;
            }
            if t.force_reschedule.is_some() {
                d.force_reschedule = t.force_reschedule;
            }
            if t.no_shutdown_delay.is_some() {
                d.no_shutdown_delay = t.no_shutdown_delay;
            }
        }
        self.stage_evals(&mut ch, c.evals)?;
        Ok((ch, Response::default()))
    }
}

/// Stages one stop or preemption; refused when the allocation does not exist.
fn stage_edit(store: &StateStore, ch: &mut Changes, edit: AllocEdit) -> Result<(), StateError> {
    ch.edit_alloc(store, edit)
        .map_err(StateError::AllocNotFound)
}

#[cfg(test)]
mod tests;

/// The strings the allocations of one plan repeat (namespace, job, group, evaluation,
/// statuses), kept once: each allocation takes the previous one's text when equal, so
/// a plan decoded from the log stores one copy of each however many it places.
#[derive(Default)]
struct SharedFields(Option<[Str; 6]>);

impl SharedFields {
    fn share(&mut self, a: &mut Allocation) {
        let fields = [
            &mut a.namespace,
            &mut a.job_id,
            &mut a.task_group,
            &mut a.eval_id,
            &mut a.desired_status,
            &mut a.client_status,
        ];
        match &mut self.0 {
            Some(last) => {
                for (field, seen) in fields.into_iter().zip(last.iter_mut()) {
                    field.share(seen);
                    if !field.ptr_eq(seen) {
                        seen.clone_from(field);
                    }
                }
            }
            None => self.0 = Some(fields.map(|f| f.clone())),
        }
    }
}
