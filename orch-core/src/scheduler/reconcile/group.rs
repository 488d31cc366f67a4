//! The reconciler's driver: deployment bookkeeping for the job and the per-group pass
//! (Nomad's `Compute` and `computeGroup`). The individual steps live in [`super::steps`].

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    Allocation, Deployment, DeploymentState, Job, Node, ReschedulePolicy, TaskGroup,
    UpdateStrategy, deployment_status, desired_status,
};

use super::group_sets::GroupSets;
use super::sets::{DisconnectCfg, NameIndex, filter_by_tainted};
use super::{
    AllocStopResult, DeploymentStatusUpdate, DesiredUpdates, ReconcileInput, ReconcileResults,
    deployment_describe, describe, sort_results,
};

/// A group's part of an existing deployment is done: enough healthy allocations, and
/// its canaries (if any) promoted.
pub(super) fn deployment_group_done(s: &DeploymentState) -> bool {
    s.healthy_allocs >= s.desired_total.max(s.desired_canaries)
        && (s.desired_canaries == 0 || s.promoted)
}

/// Working state of one reconciliation.
pub(super) struct Reconciler<'a> {
    /// The job, `None` when it is stopped or purged.
    pub job: Option<&'a Job>,
    pub existing: &'a [&'a Allocation],
    pub alloc_job: &'a dyn Fn(&Allocation) -> Option<&'a Job>,
    pub tainted: &'a BTreeMap<String, Node>,
    pub missing: &'a BTreeSet<String>,
    /// The deployment of the current job version, if one exists and is not finished.
    pub deployment: Option<&'a Deployment>,
    /// A superseded or successful deployment whose unpromoted canaries must go.
    pub old_deployment: Option<&'a Deployment>,
    pub paused: bool,
    pub failed: bool,
    pub eval_id: &'a str,
    pub eval_priority: i32,
    pub now: i64,
    pub batch: bool,
    pub next_id: &'a mut dyn FnMut() -> String,
    pub r: ReconcileResults,
}

impl<'a> Reconciler<'a> {
    /// Resolves which deployment is current, cancelling a superseded one (Nomad's
    /// `cancelUnneededDeployments`).
    pub fn new(input: ReconcileInput<'a>) -> Self {
        let job = input.job.filter(|j| !j.stop);
        let mut r = ReconcileResults::default();
        let mut deployment = input.deployment;
        let mut old_deployment = None;
        if let Some(d) = input.deployment {
            match job {
                None => {
                    if d.active() {
                        r.deployment_updates
                            .push(cancel(d, deployment_describe::STOPPED_JOB));
                    }
                    deployment = None;
                }
                Some(j) if d.job_create_index != j.create_index || d.job_version != j.version => {
                    if d.active() {
                        r.deployment_updates
                            .push(cancel(d, deployment_describe::NEWER_JOB));
                    }
                    old_deployment = Some(d);
                    deployment = None;
                }
                Some(_) if d.status == deployment_status::SUCCESSFUL => {
                    old_deployment = Some(d);
                    deployment = None;
                }
                Some(_) => {}
            }
        }
        if input.batch {
            deployment = None;
        }
        let paused = deployment
            .is_some_and(|d| d.status == deployment_status::PAUSED || d.status == "pending");
        let failed = deployment.is_some_and(|d| d.status == deployment_status::FAILED);
        Reconciler {
            job,
            existing: input.existing,
            alloc_job: input.alloc_job,
            tainted: input.tainted_nodes,
            missing: input.missing_nodes,
            deployment,
            old_deployment,
            paused,
            failed,
            eval_id: input.eval_id,
            eval_priority: input.eval_priority,
            now: input.now,
            batch: input.batch,
            next_id: input.next_id,
            r,
        }
    }

    /// Runs every group and finishes the deployment bookkeeping.
    pub fn run(mut self) -> ReconcileResults {
        let mut by_group: BTreeMap<&'a str, Vec<&'a Allocation>> = BTreeMap::new();
        for &a in self.existing {
            by_group.entry(a.task_group.as_str()).or_default().push(a);
        }
        for v in by_group.values_mut() {
            super::group_sets::sort_by_name_and_id(v);
        }
        match self.job {
            None => {
                for (name, allocs) in by_group {
                    let mut du = DesiredUpdates::default();
                    self.stop_all(&allocs, &mut du);
                    self.r.desired_tg_updates.insert(name.to_string(), du);
                }
            }
            Some(job) => {
                for g in &job.task_groups {
                    by_group.entry(g.name.as_str()).or_default();
                }
                let mut complete = true;
                for (name, allocs) in by_group {
                    complete &= self.compute_group(job, name, allocs);
                }
                if let Some(d) = self.deployment.filter(|d| complete && d.active()) {
                    self.r.deployment_updates.push(DeploymentStatusUpdate {
                        deployment_id: d.id.clone(),
                        status: deployment_status::SUCCESSFUL.into(),
                        status_description: deployment_describe::SUCCESSFUL.into(),
                    });
                }
            }
        }
        let dep_id = match (&self.r.deployment, self.deployment) {
            (Some(d), _) => Some(d.id.clone()),
            (None, Some(d)) if d.active() => Some(d.id.clone()),
            _ => None,
        };
        if let Some(id) = &dep_id {
            for a in &mut self.r.inplace_update {
                if &a.deployment_id != id {
                    a.deployment_id.clone_from(id);
                    a.deployment_status = None;
                }
            }
        }
        self.r.deployment_id = dep_id;
        sort_results(&mut self.r);
        self.r
    }

    /// The spec an allocation was placed with: embedded, else looked up.
    pub fn spec_of(&self, a: &'a Allocation) -> Option<&'a Job> {
        a.job.as_deref().or_else(|| (self.alloc_job)(a))
    }

    /// The reschedule policy that governs `a`: its own version's, else the current one.
    pub fn policy_of(&self, a: &'a Allocation, tg: &'a TaskGroup) -> Option<&'a ReschedulePolicy> {
        self.spec_of(a)
            .and_then(|j| j.group(&a.task_group))
            .and_then(|g| g.reschedule_policy.as_ref())
            .or(tg.reschedule_policy.as_ref())
    }

    /// `a` runs the current job version (same version of the same registration).
    pub fn is_current(&self, job: &Job, a: &'a Allocation) -> bool {
        a.job_version == job.version
            && self
                .spec_of(a)
                .is_none_or(|s| s.create_index == job.create_index)
    }

    /// `a` runs an older version or an older registration of the job.
    pub fn is_older(&self, job: &Job, a: &'a Allocation) -> bool {
        a.job_version < job.version
            || self
                .spec_of(a)
                .is_some_and(|s| s.create_index < job.create_index)
    }

    /// Records a stop.
    pub fn stop(&mut self, a: &Allocation, client_status: Option<&str>, description: &str) {
        self.r.stop.push(AllocStopResult {
            alloc_id: a.id.clone(),
            client_status: client_status.map(str::to_string),
            description: description.to_string(),
        });
    }

    /// Stops every live allocation of a group (job stopped or group removed); those of
    /// lost nodes are also marked lost (Nomad's `filterAndStopAll`).
    fn stop_all(&mut self, allocs: &[&'a Allocation], du: &mut DesiredUpdates) {
        let t = filter_by_tainted(
            allocs,
            self.tainted,
            self.missing,
            DisconnectCfg::default(),
            self.now,
        );
        let lost: BTreeSet<&str> = t.lost.iter().map(|a| a.id.as_str()).collect();
        for &a in allocs {
            if a.terminal() {
                continue;
            }
            if lost.contains(a.id.as_str()) {
                self.stop(a, Some(crate::model::client_status::LOST), describe::LOST);
            } else {
                self.stop(a, None, describe::NOT_NEEDED);
            }
            du.stop += 1;
        }
    }

    /// Reconciles one group; returns whether its part of the deployment is complete.
    fn compute_group(&mut self, job: &'a Job, name: &str, all: Vec<&'a Allocation>) -> bool {
        let mut du = DesiredUpdates::default();
        let Some(tg) = job.group(name) else {
            self.stop_all(&all, &mut du);
            self.r.desired_tg_updates.insert(name.to_string(), du);
            return true;
        };
        let update = self.update_strategy(tg);
        let existing_dstate = self.deployment.and_then(|d| d.task_groups.get(name));
        let existing_deployment = existing_dstate.is_some();
        let mut dstate = existing_dstate
            .cloned()
            .unwrap_or_else(|| fresh_dstate(update));

        let mut sets = self.classify_group(job, tg, name, all, &mut du);
        let mut names = NameIndex::new(
            sets.untainted
                .iter()
                .chain(&sets.migrate)
                .chain(&sets.reschedule_now)
                .chain(&sets.lost)
                .copied(),
        );
        let mut is_canarying = dstate.desired_canaries != 0 && !dstate.promoted;
        let stopped = self.compute_stop(
            tg,
            &mut names,
            &sets.untainted,
            &mut sets.migrate,
            &sets.lost,
            &sets.canaries,
            is_canarying,
        );
        du.stop += stopped.len() as u64;
        sets.untainted.retain(|a| !stopped.contains(a.id.as_str()));

        let (ignored, inplace, destructive) = self.compute_updates(job, tg, &sets.untainted);
        du.ignore += ignored;
        du.in_place_update += inplace;

        let canary_ids: BTreeSet<&str> = sets.canaries.iter().map(|a| a.id.as_str()).collect();
        if is_canarying {
            sets.untainted
                .retain(|a| !canary_ids.contains(a.id.as_str()));
        }
        let requires_canaries = update.is_some_and(|u| {
            !destructive.is_empty() && sets.canaries.len() < u.canary as usize && !dstate.promoted
        });
        if let (true, Some(u)) = (requires_canaries, update) {
            self.compute_canaries(
                tg,
                u,
                &mut dstate,
                &destructive,
                &sets.canaries,
                &mut du,
                &mut names,
            );
        }
        is_canarying = dstate.desired_canaries != 0 && !dstate.promoted;
        let place_len = self.place_group(
            tg,
            update,
            &sets,
            &destructive,
            is_canarying,
            &mut names,
            &mut du,
        );
        let later_count =
            self.reschedule_unreplaced_later(job, name, std::mem::take(&mut sets.later));

        let work = destructive.len() + inplace as usize + place_len;
        let updating = !destructive.is_empty() || !self.r.inplace_update.is_empty();
        if !existing_deployment && work > 0 {
            self.deploy_group(job, name, &sets.all, update, updating, work, dstate);
        }
        self.r.desired_tg_updates.insert(name.to_string(), du);

        let changes_left = !destructive.is_empty()
            || inplace != 0
            || place_len != 0
            || !sets.migrate.is_empty()
            || !sets.reschedule_now.is_empty()
            || later_count != 0
            || requires_canaries;
        !changes_left && existing_dstate.is_some_and(deployment_group_done)
    }

    /// The group's rolling-update strategy, if it has one that applies (batch jobs and
    /// `max_parallel = 0` have none).
    fn update_strategy(&self, tg: &'a TaskGroup) -> Option<&'a UpdateStrategy> {
        if self.batch {
            None
        } else {
            tg.update.as_ref().filter(|u| u.max_parallel > 0)
        }
    }

    /// Places what the group lacks (new, replacements, destructive updates within
    /// `max_parallel`, migrations), unless the deployment is paused, failed or
    /// canarying; returns how many placements it computed.
    #[allow(clippy::too_many_arguments)]
    fn place_group(
        &mut self,
        tg: &'a TaskGroup,
        update: Option<&'a UpdateStrategy>,
        sets: &GroupSets<'a>,
        destructive: &[&'a Allocation],
        is_canarying: bool,
        names: &mut NameIndex,
        du: &mut DesiredUpdates,
    ) -> usize {
        let under = self.under_provisioned_by(
            tg,
            update,
            &sets.untainted,
            destructive.len(),
            sets.migrate.len(),
            is_canarying,
        );
        let cfg = sets.cfg;
        let place = self.compute_placements(
            tg,
            names,
            sets.untainted
                .iter()
                .filter(|a| cfg.prevent_replace || !sets.disconnecting.contains(a.id.as_str()))
                .count()
                + sets.migrate.len(),
            &sets.reschedule_now,
            &sets.lost,
            is_canarying,
        );
        let place_ready = !self.paused && !self.failed && !is_canarying;
        let place_len = place.len();
        let under = self.compute_replacements(
            place_ready,
            du,
            place,
            &sets.reschedule_now,
            &sets.disconnecting,
            under,
        );
        if place_ready {
            self.destructive_updates(tg, destructive, under, du);
        } else {
            du.ignore += destructive.len() as u64;
        }
        self.migrations(tg, &sets.migrate, is_canarying, du);
        place_len
    }

    /// The failed allocations to reschedule later, less those this plan already stops or
    /// replaces (a destructive update of a failed allocation after an auto-revert, say):
    /// only now is that known. Nomad gives them a delayed reschedule anyway, and its
    /// attribute update (desired status `run`) lands after the stop in the same plan.
    /// Returns how many are left.
    fn reschedule_unreplaced_later(
        &mut self,
        job: &Job,
        name: &str,
        later: Vec<super::sets::Later<'a>>,
    ) -> usize {
        let replaced: BTreeSet<&str> = self
            .r
            .stop
            .iter()
            .map(|s| s.alloc_id.as_str())
            .chain(
                self.r
                    .destructive_update
                    .iter()
                    .map(|d| d.stop_alloc_id.as_str()),
            )
            .collect();
        let later: Vec<_> = later
            .into_iter()
            .filter(|l| !replaced.contains(l.alloc.id.as_str()))
            .collect();
        let count = later.len();
        self.reschedule_later(job, name, later);
        count
    }

    /// Starts the group's part of a new deployment when it changes something and has an
    /// update strategy (and either ran nothing of this version yet or updates).
    #[allow(clippy::too_many_arguments)]
    fn deploy_group(
        &mut self,
        job: &'a Job,
        name: &str,
        all: &[&'a Allocation],
        update: Option<&'a UpdateStrategy>,
        updating: bool,
        work: usize,
        mut dstate: DeploymentState,
    ) {
        let had_running = all.iter().any(|a| self.is_current(job, a));
        if update.is_some() && (!had_running || updating) {
            // Nomad's DesiredTotal: the allocations this deployment changes, not the
            // count, so one that replaces a straggler of an older version (the others
            // already run this version) completes once that one is healthy.
            dstate.desired_total = u32::try_from(work).unwrap_or(u32::MAX);
            self.attach_deployment(job, name, dstate);
        }
    }

    /// Adds the group to the deployment created in this reconciliation, creating it
    /// first if this is the first group that needs one.
    fn attach_deployment(&mut self, job: &Job, name: &str, dstate: DeploymentState) {
        if self.r.deployment.is_none() {
            self.r.deployment = Some(Deployment {
                id: (self.next_id)(),
                namespace: job.namespace.clone(),
                job_id: job.id.clone(),
                job_version: job.version,
                job_modify_index: job.modify_index,
                job_spec_modify_index: job.job_modify_index,
                job_create_index: job.create_index,
                is_multiregion: false,
                task_groups: BTreeMap::new(),
                status: deployment_status::RUNNING.into(),
                status_description: deployment_describe::RUNNING.into(),
                eval_priority: self.eval_priority,
                create_index: 0,
                modify_index: 0,
                create_time: self.now,
                modify_time: self.now,
            });
        }
        if let Some(d) = &mut self.r.deployment {
            d.task_groups.insert(name.to_string(), dstate);
        }
    }

    /// Keeps reconnecting allocations unless they were meant to stop or are outdated,
    /// and stops the replacements of the ones kept (Nomad's `reconcileReconnecting`
    /// with the default preference for the original).
    pub(super) fn reconcile_reconnecting(
        &mut self,
        job: &Job,
        reconnecting: &[&'a Allocation],
        all: &[&'a Allocation],
    ) -> (Vec<&'a Allocation>, BTreeSet<&'a str>) {
        let mut by_name: BTreeMap<&str, Vec<&'a Allocation>> = BTreeMap::new();
        for &a in all {
            by_name.entry(a.name.as_str()).or_default().push(a);
        }
        let mut keep = Vec::new();
        let mut stopped = BTreeSet::new();
        for &a in reconnecting {
            let tr = &a.desired_transition;
            let stop_it = a.desired_status != desired_status::RUN
                || tr.migrate == Some(true)
                || tr.reschedule == Some(true)
                || tr.force_reschedule == Some(true)
                || self.is_older(job, a);
            if stop_it {
                self.stop(a, None, describe::NOT_NEEDED);
                stopped.insert(a.id.as_str());
                continue;
            }
            let replacements = by_name.get(a.name.as_str()).map_or(&[][..], Vec::as_slice);
            for &rep in replacements {
                if rep.id == a.id || rep.create_index <= a.create_index || rep.server_terminal() {
                    continue;
                }
                if stopped.insert(rep.id.as_str()) {
                    self.stop(rep, None, describe::RECONNECTED);
                }
            }
            let mut back = clone_without_job(a);
            back.desired_status = desired_status::RUN.into();
            self.r.reconnect_updates.insert(a.id.clone(), back);
            keep.push(a);
        }
        (keep, stopped)
    }
}

fn cancel(d: &Deployment, why: &str) -> DeploymentStatusUpdate {
    DeploymentStatusUpdate {
        deployment_id: d.id.clone(),
        status: deployment_status::CANCELLED.into(),
        status_description: why.into(),
    }
}

/// Deployment state of a group that has none yet (its `desired_total` is set once the
/// group's work is known).
fn fresh_dstate(update: Option<&UpdateStrategy>) -> DeploymentState {
    let mut s = DeploymentState::default();
    if let Some(u) = update {
        s.auto_revert = u.auto_revert;
        s.auto_promote = u.auto_promote;
        s.progress_deadline = u.progress_deadline;
    }
    s
}

/// A copy of an allocation without its embedded job, the shape plans carry.
pub(super) fn clone_without_job(a: &Allocation) -> Allocation {
    Allocation {
        id: a.id.clone(),
        namespace: a.namespace.clone(),
        eval_id: a.eval_id.clone(),
        name: a.name.clone(),
        node_id: a.node_id.clone(),
        node_name: a.node_name.clone(),
        job_id: a.job_id.clone(),
        job: None,
        task_group: a.task_group.clone(),
        allocated_resources: a.allocated_resources.clone(),
        metrics: a.metrics.clone(),
        desired_status: a.desired_status.clone(),
        desired_description: a.desired_description.clone(),
        desired_transition: a.desired_transition.clone(),
        client_status: a.client_status.clone(),
        client_description: a.client_description.clone(),
        task_states: a.task_states.clone(),
        deployment_id: a.deployment_id.clone(),
        deployment_status: a.deployment_status.clone(),
        followup_eval_id: a.followup_eval_id.clone(),
        previous_allocation: a.previous_allocation.clone(),
        next_allocation: a.next_allocation.clone(),
        reschedule_tracker: a.reschedule_tracker.clone(),
        preempted_allocations: a.preempted_allocations.clone(),
        preempted_by_allocation: a.preempted_by_allocation.clone(),
        create_index: a.create_index,
        modify_index: a.modify_index,
        alloc_modify_index: a.alloc_modify_index,
        create_time: a.create_time,
        modify_time: a.modify_time,
        job_version: a.job_version,
    }
}
