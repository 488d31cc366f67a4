//! Change sets and their commit: the second, infallible half of applying a command.
//!
//! Handlers validate and describe their effect as a [`Changes`] value while only reading
//! the store; [`StateStore::commit`] then writes it, stamps indexes, keeps the derived
//! indexes and the normalized alloc job specs in step, recomputes job statuses and bumps
//! table indexes. Because stamping happens here, every stored object's
//! `CreateIndex <= ModifyIndex <= latest_index` holds by construction.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{Id, JOB_TRACKED_VERSIONS, JobKey, JobVersionKey, StateStore, key, table};
use crate::model::{
    Allocation, Deployment, Evaluation, Job, Node, PeriodicLaunch, job_status, job_type,
};

/// What a handler returns: the change set to commit and the reply for the caller.
pub(super) type Outcome = Result<(Changes, super::Response), super::StateError>;

/// What a command does to one job.
#[derive(Debug, Clone)]
pub(super) enum JobChange {
    /// Store this job; `new_version` also records it in the version history.
    Put { job: Box<Job>, new_version: bool },
    /// Remove the job and its versions.
    Purge,
}

/// Everything one command changes. `None` in an object map means delete.
#[derive(Debug, Clone, Default)]
pub(super) struct Changes {
    pub jobs: BTreeMap<JobKey, JobChange>,
    /// `(job, version, stable)` for versions other than the current one.
    pub version_stability: Vec<(JobKey, u64, bool)>,
    /// Job specs newly referenced by allocations.
    pub alloc_jobs: BTreeMap<JobVersionKey, Job>,
    pub nodes: BTreeMap<String, Option<Node>>,
    pub evals: BTreeMap<String, Option<Evaluation>>,
    pub allocs: BTreeMap<String, Option<Allocation>>,
    pub deployments: BTreeMap<String, Option<Deployment>>,
    pub services: BTreeMap<String, Option<crate::model::ServiceRegistration>>,
    /// Periodic launch records to write (removed with their job's purge).
    pub periodic_launches: BTreeMap<JobKey, PeriodicLaunch>,
    /// Scaling events to record: `(job, group, event)`.
    pub scaling_events: Vec<(JobKey, String, crate::model::ScalingEvent)>,
}

/// The keys of what one command created or changed (deletions are not listed: whoever
/// needs a deleted object reads it before applying). The event stream derives its
/// events from these instead of scanning tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangedKeys {
    /// Jobs stored or whose status changed.
    pub jobs: Vec<JobKey>,
    /// Nodes stored.
    pub nodes: Vec<String>,
    /// Evaluations stored.
    pub evals: Vec<String>,
    /// Allocations stored.
    pub allocs: Vec<String>,
    /// Deployments stored.
    pub deployments: Vec<String>,
}

/// Gets an object for modification through the change set, copying it from the store on
/// first use, so several edits in one command compose.
fn overlay_mut<'a, T: Clone, B: std::borrow::Borrow<T>>(
    over: &'a mut BTreeMap<String, Option<T>>,
    base: &BTreeMap<String, B>,
    id: &str,
) -> Option<&'a mut T> {
    if !over.contains_key(id) {
        let current = base.get(id)?.borrow().clone();
        over.insert(id.to_string(), Some(current));
    }
    over.get_mut(id)?.as_mut()
}

fn overlay_get<'a, T>(
    over: &'a BTreeMap<String, Option<T>>,
    base: &'a BTreeMap<String, T>,
    id: &str,
) -> Option<&'a T> {
    match over.get(id) {
        Some(staged) => staged.as_ref(),
        None => base.get(id),
    }
}

impl Changes {
    /// An allocation to modify in this command.
    pub fn alloc_mut(&mut self, store: &StateStore, id: &str) -> Option<&mut Allocation> {
        overlay_mut_id(&mut self.allocs, &store.allocs, id)
    }

    /// An evaluation as this command currently sees it.
    pub fn eval<'a>(&'a self, store: &'a StateStore, id: &str) -> Option<&'a Evaluation> {
        overlay_get(&self.evals, &store.evals, id)
    }

    /// An evaluation to modify in this command.
    pub fn eval_mut(&mut self, store: &StateStore, id: &str) -> Option<&mut Evaluation> {
        overlay_mut(&mut self.evals, &store.evals, id)
    }

    /// A deployment as this command currently sees it.
    pub fn deployment<'a>(&'a self, store: &'a StateStore, id: &str) -> Option<&'a Deployment> {
        overlay_get(&self.deployments, &store.deployments, id)
    }

    /// A deployment to modify in this command.
    pub fn deployment_mut(&mut self, store: &StateStore, id: &str) -> Option<&mut Deployment> {
        overlay_mut(&mut self.deployments, &store.deployments, id)
    }
}

fn id_index_insert<K: Ord>(index: &mut BTreeMap<K, BTreeSet<Id>>, k: K, id: &str) {
    index.entry(k).or_default().insert(Id::new(id));
}

fn id_index_remove<K: Ord>(index: &mut BTreeMap<K, BTreeSet<Id>>, k: &K, id: &str) {
    if let Some(set) = index.get_mut(k) {
        set.remove(&Id::new(id));
        if set.is_empty() {
            index.remove(k);
        }
    }
}

/// [`overlay_mut`] over the store's allocations, keyed by [`Id`].
fn overlay_mut_id<'a>(
    over: &'a mut BTreeMap<String, Option<Allocation>>,
    base: &BTreeMap<Id, Box<Allocation>>,
    id: &str,
) -> Option<&'a mut Allocation> {
    if !over.contains_key(id) {
        let current = (**base.get(&Id::new(id))?).clone();
        over.insert(id.to_string(), Some(current));
    }
    over.get_mut(id)?.as_mut()
}

fn index_insert<K: Ord>(index: &mut BTreeMap<K, BTreeSet<String>>, k: K, id: &str) {
    index.entry(k).or_default().insert(id.to_string());
}

fn index_remove<K: Ord>(index: &mut BTreeMap<K, BTreeSet<String>>, k: &K, id: &str) {
    if let Some(set) = index.get_mut(k) {
        set.remove(id);
        if set.is_empty() {
            index.remove(k);
        }
    }
}

/// Keeps the newest [`JOB_TRACKED_VERSIONS`] versions; if the newest stable version would
/// fall out, it takes the place of the oldest kept one (as Nomad does), so auto-revert
/// always has a target.
fn prune_versions(versions: &mut BTreeMap<u64, Arc<Job>>) {
    if versions.len() <= JOB_TRACKED_VERSIONS {
        return;
    }
    let mut keep: BTreeSet<u64> = versions
        .keys()
        .rev()
        .take(JOB_TRACKED_VERSIONS)
        .copied()
        .collect();
    let newest_stable = versions
        .values()
        .rev()
        .find(|j| j.stable)
        .map(|j| j.version);
    if let Some(stable) = newest_stable
        && !keep.contains(&stable)
        && let Some(oldest) = keep.first().copied()
    {
        keep.remove(&oldest);
        keep.insert(stable);
    }
    versions.retain(|v, _| keep.contains(v));
}

impl StateStore {
    pub(super) fn index_eval(&mut self, e: &Evaluation) {
        self.index_eval_keys(e.modify_index, &e.id, key(&e.namespace, &e.job_id));
    }

    fn index_eval_keys(&mut self, modify_index: u64, id: &str, job: JobKey) {
        self.evals_by_modify.insert((modify_index, id.to_string()));
        index_insert(&mut self.evals_by_job, job, id);
    }

    pub(super) fn index_alloc(&mut self, a: &Allocation) {
        self.allocs_by_modify
            .insert((a.modify_index, Id::new(&a.id)));
        let usage = a.usage();
        if usage != crate::model::Usage::default() {
            let priority = self
                .alloc_jobs
                .get(&(a.namespace.clone(), a.job_id.clone(), a.job_version))
                .map(|j| j.priority);
            let live = super::LiveAlloc {
                id: a.id.as_str().into(),
                usage,
                priority,
            };
            self.nodes.add_live(&a.node_id, live);
        }
        id_index_insert(&mut self.allocs_by_node, Id::new(&a.node_id), &a.id);
        id_index_insert(&mut self.allocs_by_job, key(&a.namespace, &a.job_id), &a.id);
        id_index_insert(&mut self.allocs_by_eval, Id::new(&a.eval_id), &a.id);
    }

    /// Files a stored job under the watch lists it belongs to (and out of the others).
    pub(super) fn index_job(&mut self, k: &JobKey) {
        let (periodic, scaling) = self.jobs.get(k).map_or((false, false), |j| {
            let scaling = !j.stop
                && !j.is_template()
                && j.task_groups
                    .iter()
                    .any(|g| g.scaling.as_ref().is_some_and(|s| s.enabled));
            (j.is_periodic_active(), scaling)
        });
        for (set, member) in [
            (&mut self.periodic_jobs, periodic),
            (&mut self.scaling_jobs, scaling),
        ] {
            if member {
                set.insert(k.clone());
            } else {
                set.remove(k);
            }
        }
    }

    pub(super) fn index_deployment(&mut self, d: &Deployment) {
        index_insert(
            &mut self.deployments_by_job,
            key(&d.namespace, &d.job_id),
            &d.id,
        );
    }

    /// Writes a validated change set at `index`. Infallible by design.
    pub(super) fn commit(&mut self, index: u64, ch: Changes) -> ChangedKeys {
        let mut changed = ChangedKeys::default();
        let mut changed_jobs: BTreeSet<JobKey> = BTreeSet::new();
        let mut dirty: BTreeSet<&'static str> = BTreeSet::new();
        let mut touched: BTreeSet<JobKey> = BTreeSet::new();
        let mut collected: BTreeSet<JobKey> = BTreeSet::new();
        let mut record_versions: Vec<JobKey> = Vec::new();
        let mut spec_refs: BTreeSet<JobVersionKey> = BTreeSet::new();

        for (k, change) in ch.jobs {
            dirty.insert(table::JOBS);
            match change {
                JobChange::Purge => {
                    self.jobs.remove(&k);
                    self.index_job(&k);
                    if self.scaling_events.remove(&k).is_some() {
                        dirty.insert(table::SCALING_EVENT);
                    }
                    if self.job_versions.remove(&k).is_some() {
                        dirty.insert(table::JOB_VERSION);
                    }
                    if self.periodic_launches.remove(&k).is_some() {
                        dirty.insert(table::PERIODIC_LAUNCH);
                    }
                }
                JobChange::Put {
                    mut job,
                    new_version,
                } => {
                    job.create_index = self.jobs.get(&k).map_or(index, |e| e.create_index);
                    job.modify_index = index;
                    self.jobs.insert(k.clone(), Arc::from(job));
                    self.index_job(&k);
                    changed_jobs.insert(k.clone());
                    if new_version {
                        record_versions.push(k.clone());
                    }
                    touched.insert(k);
                }
            }
        }
        for (k, mut launch) in ch.periodic_launches {
            launch.create_index = self
                .periodic_launches
                .get(&k)
                .map_or(index, |l| l.create_index);
            launch.modify_index = index;
            self.periodic_launches.insert(k, launch);
            dirty.insert(table::PERIODIC_LAUNCH);
        }
        for (k, version, stable) in ch.version_stability {
            if let Some(j) = self
                .job_versions
                .get_mut(&k)
                .and_then(|m| m.get_mut(&version))
            {
                let j = Arc::make_mut(j);
                j.stable = stable;
                j.modify_index = index;
                dirty.insert(table::JOB_VERSION);
            }
        }
        if !ch.scaling_events.is_empty() {
            dirty.insert(table::SCALING_EVENT);
            self.record_scaling_events(index, ch.scaling_events);
        }
        for (k, job) in ch.alloc_jobs {
            self.alloc_jobs.entry(k).or_insert(job);
        }

        for (id, node) in ch.nodes {
            dirty.insert(table::NODES);
            let create = self.nodes.get(&id).map_or(index, |n| n.create_index);
            match node {
                Some(mut n) => {
                    n.create_index = create;
                    n.modify_index = index;
                    changed.nodes.push(id.clone());
                    self.nodes.insert(n);
                }
                None => {
                    self.nodes.remove(&id);
                }
            }
        }

        for (id, eval) in ch.evals {
            dirty.insert(table::EVALS);
            // An update replaces the stored value in place: removing and re-inserting
            // would reshape the B-tree and move whole evaluations around.
            let (old, new_key) = match eval {
                Some(mut e) => {
                    let k = key(&e.namespace, &e.job_id);
                    e.modify_index = index;
                    let old = match self.evals.get_mut(&id) {
                        Some(slot) => {
                            e.create_index = slot.create_index;
                            Some(std::mem::replace(slot, e))
                        }
                        None => {
                            e.create_index = index;
                            self.evals.insert(id.clone(), e);
                            None
                        }
                    };
                    (old, Some(k))
                }
                None => (self.evals.remove(&id), None),
            };
            if let Some(o) = &old {
                self.evals_by_modify.remove(&(o.modify_index, id.clone()));
                index_remove(&mut self.evals_by_job, &key(&o.namespace, &o.job_id), &id);
                touched.insert(key(&o.namespace, &o.job_id));
            }
            match new_key {
                Some(k) => {
                    self.index_eval_keys(index, &id, k.clone());
                    touched.insert(k);
                    changed.evals.push(id);
                }
                None => {
                    if let Some(o) = old {
                        collected.insert(key(&o.namespace, &o.job_id));
                    }
                }
            }
        }

        let alloc_ids_changed: Vec<String> = ch.allocs.keys().cloned().collect();
        for (id, alloc) in ch.allocs {
            dirty.insert(table::ALLOCS);
            let old = self.allocs.remove(&Id::new(&id));
            if let Some(o) = &old {
                self.allocs_by_modify
                    .remove(&(o.modify_index, Id::new(&id)));
                let usage = o.usage();
                if usage != crate::model::Usage::default() {
                    self.nodes.remove_live(&o.node_id, &id);
                }
                id_index_remove(&mut self.allocs_by_node, &Id::new(&o.node_id), &id);
                id_index_remove(&mut self.allocs_by_job, &key(&o.namespace, &o.job_id), &id);
                id_index_remove(&mut self.allocs_by_eval, &Id::new(&o.eval_id), &id);
                touched.insert(key(&o.namespace, &o.job_id));
                spec_refs.insert((o.namespace.clone(), o.job_id.clone(), o.job_version));
            }
            match alloc {
                Some(mut a) => {
                    a.job = None;
                    a.create_index = old.as_ref().map_or(index, |o| o.create_index);
                    a.modify_index = index;
                    self.index_alloc(&a);
                    touched.insert(key(&a.namespace, &a.job_id));
                    changed.allocs.push(id.clone());
                    self.allocs.insert(Id::new(&id), Box::new(a));
                }
                None => {
                    if let Some(o) = old {
                        collected.insert(key(&o.namespace, &o.job_id));
                    }
                }
            }
        }
        // Drop job specs no allocation refers to any more.
        for (ns, job_id, version) in spec_refs {
            let k = key(&ns, &job_id);
            let used = self.allocs_by_job.get(&k).is_some_and(|ids| {
                ids.iter()
                    .filter_map(|id| self.allocs.get(id))
                    .any(|a| a.job_version == version)
            });
            if !used {
                self.alloc_jobs.remove(&(ns, job_id, version));
            }
        }

        for (id, dep) in ch.deployments {
            dirty.insert(table::DEPLOYMENTS);
            let old = self.deployments.remove(&id);
            if let Some(o) = &old {
                index_remove(
                    &mut self.deployments_by_job,
                    &key(&o.namespace, &o.job_id),
                    &id,
                );
            }
            if let Some(mut d) = dep {
                d.create_index = old.as_ref().map_or(index, |o| o.create_index);
                d.modify_index = index;
                self.index_deployment(&d);
                changed.deployments.push(id.clone());
                self.deployments.insert(id, d);
            }
        }

        // Registrations of allocations that ended or were removed go with them, so the
        // catalog never lists a dead instance (also after a node is lost).
        let ended: Vec<String> = alloc_ids_changed
            .iter()
            .filter(|id| self.allocs.get(&Id::new(id)).is_none_or(|a| a.terminal()))
            .filter(|id| self.services_by_alloc.contains_key(*id))
            .cloned()
            .collect();
        let mut services = ch.services;
        for alloc_id in ended {
            for sid in self
                .services_by_alloc
                .get(&alloc_id)
                .cloned()
                .unwrap_or_default()
            {
                services.insert(sid, None);
            }
        }
        for (id, reg) in services {
            dirty.insert(table::SERVICES);
            let old = self.services.remove(&id);
            if let Some(o) = &old
                && let Some(set) = self.services_by_alloc.get_mut(&o.alloc_id)
            {
                set.remove(&id);
                if set.is_empty() {
                    self.services_by_alloc.remove(&o.alloc_id);
                }
            }
            if let Some(mut r) = reg {
                r.create_index = old.as_ref().map_or(index, |o| o.create_index);
                r.modify_index = index;
                index_insert(&mut self.services_by_alloc, r.alloc_id.clone(), &id);
                self.services.insert(id, r);
            }
        }

        for k in touched.iter().chain(collected.iter()) {
            let Some(job) = self.jobs.get(k) else {
                continue;
            };
            let status = self.job_status(job, collected.contains(k));
            if job.status != status
                && let Some(job) = self.jobs.get_mut(k)
            {
                // Copies the spec only if a version record still shares it.
                let job = Arc::make_mut(job);
                job.status = status.to_string();
                job.modify_index = index;
                changed_jobs.insert(k.clone());
                dirty.insert(table::JOBS);
            }
        }

        for k in record_versions {
            if let Some(job) = self.jobs.get(&k) {
                let versions = self.job_versions.entry(k).or_default();
                versions.insert(job.version, Arc::clone(job));
                prune_versions(versions);
                dirty.insert(table::JOB_VERSION);
            }
        }

        for t in dirty {
            self.table_indexes.insert(t.to_string(), index);
        }
        self.latest_index = index;
        changed.jobs = changed_jobs.into_iter().collect();
        changed
    }

    /// Nomad's `getJobStatus`: system, periodic and parameterized jobs run until stopped;
    /// otherwise any non-terminal allocation means running, any non-terminal evaluation
    /// pending, and terminal ones (or garbage-collected ones, `collected`, or a stopped job
    /// with nothing left) dead; a job with nothing at all is pending. Only
    /// allocations and evaluations of this incarnation of the job (created at or after
    /// its `CreateIndex`) count, so a purged and re-registered job starts fresh.
    pub(super) fn job_status(&self, job: &Job, collected: bool) -> &'static str {
        if job.job_type == job_type::SYSTEM || job.is_template() {
            return if job.stop {
                job_status::DEAD
            } else {
                job_status::RUNNING
            };
        }
        let k = key(&job.namespace, &job.id);
        // Lazily: the first live allocation decides, so a big job costs one lookup.
        let allocs = self
            .allocs_by_job
            .get(&k)
            .into_iter()
            .flatten()
            .filter_map(|id| self.allocs.get(id));
        let mut has_alloc = false;
        for a in allocs.filter(|a| a.create_index >= job.create_index) {
            has_alloc = true;
            if !a.terminal() {
                return job_status::RUNNING;
            }
        }
        let evals = self.collect(&self.evals_by_job, &k, &self.evals);
        let mut has_eval = false;
        for e in evals.iter().filter(|e| e.create_index >= job.create_index) {
            has_eval = true;
            if !e.terminal() {
                return job_status::PENDING;
            }
        }
        if collected || has_eval || has_alloc || job.stop {
            job_status::DEAD
        } else {
            job_status::PENDING
        }
    }
}
