//! Writing a validated change set: [`StateStore::commit`], one step per table, then the
//! bookkeeping that follows from what changed (job statuses, version records, specs no
//! allocation needs, table indexes). Infallible by design: everything that can be
//! refused was refused while the change set was built (`changes`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

mod allocs;

use super::changes::{ChangedKeys, Changes, JobChange, index_insert, index_remove, prune_versions};
use super::{Id, JobKey, JobVersionKey, StateStore, key, table};
use crate::model::{
    Deployment, Evaluation, Node, PeriodicLaunch, ScalingEvent, ServiceRegistration,
};

/// What one commit has touched so far: the keys it reports, and what the steps after
/// the writes need to know.
#[derive(Default)]
struct CommitLog {
    changed: ChangedKeys,
    changed_jobs: BTreeSet<JobKey>,
    /// Tables whose index moves to this commit's.
    dirty: BTreeSet<&'static str>,
    /// Jobs whose status may have changed.
    touched: BTreeSet<JobKey>,
    /// Jobs that lost an evaluation or allocation to garbage collection.
    collected: BTreeSet<JobKey>,
    /// Jobs registered with a new version, to record.
    record_versions: Vec<JobKey>,
    /// Job specs an old allocation referred to: dropped if none does any more.
    spec_refs: BTreeSet<JobVersionKey>,
    /// Jobs purged with their versions.
    purged: Vec<JobKey>,
}

impl StateStore {
    /// Writes a validated change set at `index`. Infallible by design.
    pub(super) fn commit(&mut self, index: u64, mut ch: Changes) -> ChangedKeys {
        ch.sort_edits();
        let mut log = CommitLog::default();
        self.commit_jobs(&mut log, index, ch.jobs);
        self.commit_job_records(
            &mut log,
            index,
            ch.periodic_launches,
            ch.version_stability,
            ch.scaling_events,
        );
        for (k, job) in ch.alloc_jobs {
            self.alloc_jobs.entry(k).or_insert(job);
        }
        let removed_nodes: Vec<String> = ch
            .nodes
            .iter()
            .filter(|(_, n)| n.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        self.commit_nodes(&mut log, index, ch.nodes);
        if self.commit_last_drains(ch.last_drains, &removed_nodes) {
            log.dirty.insert(table::NODES);
        }
        if !ch.csi.is_empty() || !removed_nodes.is_empty() {
            log.dirty
                .extend(self.commit_csi(index, ch.csi, &removed_nodes));
        }
        self.commit_evals(&mut log, index, ch.evals);
        // Only allocations with service registrations need their IDs kept past the
        // commit (most clusters' allocations have none: no copy of a million IDs).
        let alloc_ids_changed: Vec<String> = if self.services_by_alloc.is_empty() {
            Vec::new()
        } else {
            let edited = ch.alloc_edits.iter().map(|e| e.id.clone());
            ch.allocs.keys().cloned().chain(edited).collect()
        };
        self.commit_allocs(&mut log, index, ch.allocs, ch.alloc_edits);
        self.drop_unused_specs(std::mem::take(&mut log.spec_refs));
        self.commit_deployments(&mut log, index, ch.deployments);
        self.commit_services(&mut log, index, &alloc_ids_changed, ch.services);
        log.dirty.extend(self.commit_acl(index, ch.acl));
        let (ns_dirty, q_dirty, stored) =
            self.commit_namespace_tables(index, ch.namespaces, ch.quotas);
        if ns_dirty {
            log.dirty.insert(super::ns_table::NAMESPACES);
        }
        if q_dirty {
            log.dirty.insert(super::ns_table::QUOTAS);
        }
        log.changed.namespaces = stored;
        if self.commit_scheduler_config(index, ch.scheduler_config) {
            log.dirty.insert(super::SCHEDULER_CONFIG_TABLE);
        }
        log.changed.node_pools = ch
            .node_pools
            .iter()
            .filter(|(_, p)| p.is_some())
            .map(|(name, _)| name.clone())
            .collect();
        if self.commit_node_pools(index, ch.node_pools) {
            log.dirty.insert(super::NODE_POOLS_TABLE);
        }
        let (vars_dirty, keys_dirty) = self.commit_variables(ch.variables, ch.root_keys);
        if vars_dirty {
            log.dirty.insert(super::VARIABLES_TABLE);
        }
        if keys_dirty {
            log.dirty.insert(super::ROOT_KEYS_TABLE);
        }
        if self.commit_autopilot_config(index, ch.autopilot_config) {
            log.dirty.insert(super::AUTOPILOT_CONFIG_TABLE);
        }
        self.update_job_statuses(&mut log, index);
        let versioned = self.record_job_versions(&mut log);
        if self.commit_submissions(ch.submissions, &versioned) {
            log.dirty.insert(super::JOB_SUBMISSIONS_TABLE);
        }
        if self.commit_gates(ch.gates, &versioned) {
            log.dirty.insert(super::UPDATE_GATES_TABLE);
        }
        if self.commit_releases(index, ch.releases) {
            log.dirty.insert(super::RELEASES_TABLE);
        }
        for t in &log.dirty {
            self.table_indexes.insert(t.to_string(), index);
        }
        self.nodes.settle();
        self.seal_modify_log();
        self.latest_index = index;
        let mut changed = log.changed;
        changed.jobs = log.changed_jobs.into_iter().collect();
        changed
    }

    /// Stores or purges jobs (a purge takes its versions, launches and scaling events).
    fn commit_jobs(&mut self, log: &mut CommitLog, index: u64, jobs: BTreeMap<JobKey, JobChange>) {
        for (k, change) in jobs {
            log.dirty.insert(table::JOBS);
            match change {
                JobChange::Purge => {
                    if let Some(old) = self.jobs.remove(&k) {
                        self.log_job(&k, Some(old.modify_index), None);
                    }
                    self.index_job(&k);
                    if self.scaling_events.remove(&k).is_some() {
                        log.dirty.insert(table::SCALING_EVENT);
                    }
                    if self.job_versions.remove(&k).is_some() {
                        log.dirty.insert(table::JOB_VERSION);
                    }
                    if self.periodic_launches.remove(&k).is_some() {
                        log.dirty.insert(table::PERIODIC_LAUNCH);
                    }
                    log.purged.push(k);
                }
                JobChange::Put {
                    mut job,
                    new_version,
                } => {
                    let old = self.jobs.get(&k).map(|e| (e.create_index, e.modify_index));
                    job.create_index = old.map_or(index, |e| e.0);
                    job.modify_index = index;
                    self.log_job(&k, old.map(|e| e.1), Some(index));
                    self.jobs.insert(k.clone(), Arc::from(job));
                    self.index_job(&k);
                    log.changed_jobs.insert(k.clone());
                    if new_version {
                        log.record_versions.push(k.clone());
                    }
                    log.touched.insert(k);
                }
            }
        }
    }

    /// Periodic launch records, the stability of older versions and scaling events.
    fn commit_job_records(
        &mut self,
        log: &mut CommitLog,
        index: u64,
        launches: BTreeMap<JobKey, PeriodicLaunch>,
        stability: Vec<(JobKey, u64, bool)>,
        scaling_events: Vec<(JobKey, String, ScalingEvent)>,
    ) {
        for (k, mut launch) in launches {
            launch.create_index = self
                .periodic_launches
                .get(&k)
                .map_or(index, |l| l.create_index);
            launch.modify_index = index;
            self.periodic_launches.insert(k, launch);
            log.dirty.insert(table::PERIODIC_LAUNCH);
        }
        for (k, version, stable) in stability {
            if let Some(j) = self
                .job_versions
                .get_mut(&k)
                .and_then(|m| m.get_mut(&version))
            {
                let j = Arc::make_mut(j);
                j.stable = stable;
                j.modify_index = index;
                log.dirty.insert(table::JOB_VERSION);
            }
        }
        if !scaling_events.is_empty() {
            log.dirty.insert(table::SCALING_EVENT);
            self.record_scaling_events(index, scaling_events);
        }
    }

    fn commit_nodes(
        &mut self,
        log: &mut CommitLog,
        index: u64,
        nodes: BTreeMap<String, Option<Node>>,
    ) {
        for (id, node) in nodes {
            log.dirty.insert(table::NODES);
            let create = self.nodes.get(&id).map_or(index, |n| n.create_index);
            match node {
                Some(mut n) => {
                    n.create_index = create;
                    n.modify_index = index;
                    log.changed.nodes.push(id.clone());
                    self.nodes.insert(n);
                }
                None => {
                    self.nodes.remove(&id);
                }
            }
        }
    }

    fn commit_evals(
        &mut self,
        log: &mut CommitLog,
        index: u64,
        evals: BTreeMap<String, Option<Evaluation>>,
    ) {
        for (id, eval) in evals {
            log.dirty.insert(table::EVALS);
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
                log.touched.insert(key(&o.namespace, &o.job_id));
            }
            match new_key {
                Some(k) => {
                    self.index_eval_keys(index, &id, k.clone());
                    log.touched.insert(k);
                    log.changed.evals.push(id);
                }
                None => {
                    if let Some(o) = old {
                        log.collected.insert(key(&o.namespace, &o.job_id));
                    }
                }
            }
        }
    }

    /// Drops the job specs no allocation refers to any more.
    fn drop_unused_specs(&mut self, spec_refs: BTreeSet<JobVersionKey>) {
        for (ns, job_id, version) in spec_refs {
            let k = key(&ns, &job_id);
            let used = self.job_allocs(&k).any(|a| a.job_version == version);
            if !used {
                self.alloc_jobs.remove(&(ns, job_id, version));
            }
        }
    }

    fn commit_deployments(
        &mut self,
        log: &mut CommitLog,
        index: u64,
        deployments: BTreeMap<String, Option<Deployment>>,
    ) {
        for (id, dep) in deployments {
            log.dirty.insert(table::DEPLOYMENTS);
            let old = self.deployments.remove(&id);
            let new_index = dep.as_ref().map(|_| index);
            self.log_deployment(&id, old.as_ref().map(|o| o.modify_index), new_index);
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
                log.changed.deployments.push(id.clone());
                self.deployments.insert(id, d);
            }
        }
    }

    /// Service registrations, and the removal of those whose allocation ended or was
    /// removed, so the catalog never lists a dead instance (also after a node is lost).
    fn commit_services(
        &mut self,
        log: &mut CommitLog,
        index: u64,
        alloc_ids_changed: &[String],
        mut services: BTreeMap<String, Option<ServiceRegistration>>,
    ) {
        // Registrations first: most allocations have none, and a look-up in the
        // allocation map costs more.
        let ended: Vec<&String> = alloc_ids_changed
            .iter()
            .filter(|id| self.services_by_alloc.contains_key(*id))
            .filter(|id| self.allocs.get(&Id::new(id)).is_none_or(|a| a.terminal()))
            .collect();
        for alloc_id in ended {
            for sid in self
                .services_by_alloc
                .get(alloc_id)
                .cloned()
                .unwrap_or_default()
            {
                services.insert(sid, None);
            }
        }
        for (id, reg) in services {
            log.dirty.insert(table::SERVICES);
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
    }

    /// Recomputes the status of every job whose evaluations or allocations changed.
    fn update_job_statuses(&mut self, log: &mut CommitLog, index: u64) {
        for k in log.touched.iter().chain(log.collected.iter()) {
            let Some(job) = self.jobs.get(k) else {
                continue;
            };
            let status = self.job_status(job, log.collected.contains(k));
            if job.status != status
                && let Some(job) = self.jobs.get_mut(k)
            {
                // Copies the spec only if a version record still shares it.
                let job = Arc::make_mut(job);
                job.status = status.to_string();
                let old = std::mem::replace(&mut job.modify_index, index);
                self.log_job(k, Some(old), Some(index));
                log.changed_jobs.insert(k.clone());
                log.dirty.insert(table::JOBS);
            }
        }
    }

    /// Keeps a version record of each job registered with a new version. Returns the
    /// jobs whose history changed (recorded, pruned or purged), whose sources follow it.
    fn record_job_versions(&mut self, log: &mut CommitLog) -> Vec<JobKey> {
        let mut changed = std::mem::take(&mut log.purged);
        for k in std::mem::take(&mut log.record_versions) {
            if let Some(job) = self.jobs.get(&k) {
                let versions = self.job_versions.entry(k.clone()).or_default();
                versions.insert(job.version, Arc::clone(job));
                prune_versions(versions);
                log.dirty.insert(table::JOB_VERSION);
                changed.push(k);
            }
        }
        changed
    }
}
