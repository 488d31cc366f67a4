//! Change sets and their commit: the second, infallible half of applying a command.
//!
//! Handlers validate and describe their effect as a [`Changes`] value while only reading
//! the store; [`StateStore::commit`] then writes it, stamps indexes, keeps the derived
//! indexes and the normalized alloc job specs in step, recomputes job statuses and bumps
//! table indexes. Because stamping happens here, every stored object's
//! `CreateIndex <= ModifyIndex <= latest_index` holds by construction.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{Id, JOB_TRACKED_VERSIONS, JobKey, JobVersionKey, StateStore, key};
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
    /// Behind an `Arc`: a B-tree node of the change set holds eleven values inline, so
    /// plain allocations (near a kilobyte each) would be shifted on every insert of a
    /// big plan, and the commit stores this very `Arc` without moving the allocation.
    pub allocs: BTreeMap<String, Option<Arc<Allocation>>>,
    /// Stops and preemptions of stored allocations, as the fields they set
    /// ([`super::alloc_edit`]); never an ID `allocs` holds.
    pub alloc_edits: Vec<super::alloc_edit::AllocEdit>,
    /// Whether `alloc_edits` is in ID order.
    pub edits_sorted: bool,
    pub deployments: BTreeMap<String, Option<Deployment>>,
    pub services: BTreeMap<String, Option<crate::model::ServiceRegistration>>,
    /// Periodic launch records to write (removed with their job's purge).
    pub periodic_launches: BTreeMap<JobKey, PeriodicLaunch>,
    /// Scaling events to record: `(job, group, event)`.
    pub scaling_events: Vec<(JobKey, String, crate::model::ScalingEvent)>,
    /// ACL policies, tokens, roles and the bootstrap marker.
    pub acl: super::acl::AclChanges,
    pub namespaces: BTreeMap<String, Option<crate::model::Namespace>>,
    pub quotas: BTreeMap<String, Option<crate::model::QuotaSpec>>,
    /// CSI volumes and plugin reports.
    pub csi: super::csi::CsiChanges,
    /// A new scheduler configuration.
    pub scheduler_config: Option<crate::model::SchedulerConfiguration>,
    /// A new autopilot configuration.
    pub autopilot_config: Option<crate::model::AutopilotConfiguration>,
    /// Node pools to store (created by an operator, or by a node registering into one).
    pub node_pools: BTreeMap<String, Option<crate::model::NodePool>>,
    /// Job sources to store at the versions they name.
    pub submissions: Vec<crate::model::JobSubmission>,
    /// Nodes' new `LastDrain` records.
    pub last_drains: BTreeMap<String, crate::model::node::DrainMetadata>,
    /// Variables to store (sealed) or remove.
    pub variables: BTreeMap<super::VarKey, Option<crate::model::variable::VariableEncrypted>>,
    /// orch's metric gates: job versions' and deployments' readings.
    pub gates: super::gates::GateChanges,
    /// Releases to store or remove.
    pub releases: BTreeMap<String, Option<crate::model::Release>>,
    /// Root keys to store or remove.
    pub root_keys: BTreeMap<String, Option<crate::model::variable::RootKeyMeta>>,
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
    /// Namespaces stored.
    pub namespaces: Vec<String>,
    /// Node pools stored.
    pub node_pools: Vec<String>,
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
        self.materialize_edit(store, id);
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

/// [`overlay_mut`] over the store's allocations, keyed by [`Id`].
fn overlay_mut_id<'a>(
    over: &'a mut BTreeMap<String, Option<Arc<Allocation>>>,
    base: &super::alloc_table::AllocTable,
    id: &str,
) -> Option<&'a mut Allocation> {
    // One search of the overlay whether the allocation is staged already or not.
    let staged = match over.entry(id.to_string()) {
        std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
        // Shared until written: `make_mut` below copies it once.
        std::collections::btree_map::Entry::Vacant(v) => {
            v.insert(Some(Arc::clone(base.get(&Id::new(id))?)))
        }
    };
    staged.as_mut().map(Arc::make_mut)
}

pub(super) fn index_insert<K: Ord>(index: &mut BTreeMap<K, BTreeSet<String>>, k: K, id: &str) {
    index.entry(k).or_default().insert(id.to_string());
}

pub(super) fn index_remove<K: Ord>(index: &mut BTreeMap<K, BTreeSet<String>>, k: &K, id: &str) {
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
pub(super) fn prune_versions(versions: &mut BTreeMap<u64, Arc<Job>>) {
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

    pub(super) fn index_eval_keys(&mut self, modify_index: u64, id: &str, job: JobKey) {
        self.evals_by_modify.insert((modify_index, id.to_string()));
        index_insert(&mut self.evals_by_job, job, id);
    }

    /// Files a stored allocation (of job `job`) in the derived indexes and its node's
    /// live set.
    pub(super) fn index_alloc(&mut self, a: &std::sync::Arc<Allocation>, job: &JobKey) {
        let priority = self.spec_priority(a, job);
        let id = Id::new(&a.id);
        let entry = self.index_alloc_keyed(a, id.clone(), priority);
        self.allocs_by_job
            .entry(job.clone())
            .or_default()
            .insert(id, entry);
    }

    /// [`Self::index_alloc`] but for the per-job index, whose entry it returns for the
    /// caller to file (a commit files a run of one job's allocations with one search
    /// of that index, `commit::JobIndexBatch`). The allocation's ID arrives parsed;
    /// the node's is parsed once for the node table and the per-node index.
    /// `priority` is [`Self::spec_priority`]'s answer, which a commit of many
    /// allocations of one job version looks up once.
    pub(super) fn index_alloc_keyed(
        &mut self,
        a: &std::sync::Arc<Allocation>,
        id: Id,
        priority: Option<i32>,
    ) -> super::JobAlloc {
        let node = Id::new(&a.node_id);
        self.allocs_by_modify.push(a.modify_index, id.clone());
        let usage = a.usage();
        let mut slot = None;
        if usage != crate::model::Usage::default() {
            let live = super::LiveAlloc {
                id: id.clone(),
                usage,
                priority,
            };
            slot = Some(self.nodes.add_live_keyed(&a.node_id, node.clone(), live));
        }
        let entry = super::JobAlloc::new(a, slot.or_else(|| self.nodes.slot(&a.node_id)));
        // The allocation's key is parsed once for all the indexes.
        self.allocs_by_node.file(node, id.clone());
        self.allocs_by_eval.file(Id::new(&a.eval_id), id);
        entry
    }

    /// The priority of the spec an allocation of `job` runs: the job's current
    /// version is nearly always the one.
    pub(super) fn spec_priority(&self, a: &Allocation, job: &JobKey) -> Option<i32> {
        match self.jobs.get(job) {
            Some(j) if j.version == a.job_version => Some(j.priority),
            _ => self
                .alloc_jobs
                .get(&(a.namespace.to_string(), a.job_id.to_string(), a.job_version))
                .map(|j| j.priority),
        }
    }

    /// Files a stored job under the watch lists it belongs to (and out of the others).
    pub(super) fn index_job(&mut self, k: &JobKey) {
        let (periodic, scaling, system) = self.jobs.get(k).map_or((false, false, false), |j| {
            let live = !j.stop && !j.is_template();
            let scaling = live
                && j.task_groups
                    .iter()
                    .any(|g| g.scaling.as_ref().is_some_and(|s| s.enabled));
            let system = live
                && (j.job_type == crate::model::job_type::SYSTEM
                    || j.job_type == crate::model::job_type::SYSBATCH);
            (j.is_periodic_active(), scaling, system)
        });
        for (set, member) in [
            (&mut self.periodic_jobs, periodic),
            (&mut self.scaling_jobs, scaling),
            (&mut self.system_jobs, system),
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
        let allocs = self.job_allocs(&k);
        let mut has_alloc = false;
        for a in allocs.filter(|a| a.create_index >= job.create_index) {
            has_alloc = true;
            if !a.terminal() {
                return job_status::RUNNING;
            }
        }
        // Lazily too: a job blocked for long holds hundreds of evaluations, and the
        // first pending one decides.
        let evals = self
            .evals_by_job
            .get(&k)
            .into_iter()
            .flatten()
            .filter_map(|id| self.evals.get(id));
        let mut has_eval = false;
        for e in evals.filter(|e| e.create_index >= job.create_index) {
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
