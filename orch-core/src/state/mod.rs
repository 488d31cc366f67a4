//! The replicated state machine: every job, node, evaluation, allocation and deployment
//! the servers know, changed only by applying [`Command`]s from the Raft log.
//!
//! Design:
//! - **Deterministic.** Time and new IDs arrive inside commands; tables are `BTreeMap`s,
//!   except the allocations (`alloc_table`: hashed with a keyless hasher, and only ever
//!   iterated sorted by ID) and the derived look-ups searched by key only (`id_map`),
//!   so applying the same log on any replica yields byte-identical snapshots.
//! - **Atomic.** Every command is first turned into a change set by a read-only
//!   handler (`&self`), which does all validation; only then is the change set committed
//!   by an infallible step. A refused command therefore changes nothing, not even the
//!   latest index.
//! - **Indexed like Nomad.** Objects carry `CreateIndex`/`ModifyIndex` (plus
//!   `JobModifyIndex` and `AllocModifyIndex`); the store tracks the latest applied index
//!   and one index per table, which blocking queries wait on.
//! - **Normalized allocations.** Allocations are stored without their embedded job; the
//!   job spec they were placed for is kept once per `(namespace, job, version)` and
//!   attached again by [`StateStore::alloc`] / [`StateStore::alloc_job`].
//!
//! Layout:
//! - `command`: the commands of the log and the store's answers (re-exported here).
//! - `changes`: change sets, what commands stage into them, and the index helpers.
//! - `commit`: writing a validated change set, one step per table, infallibly.
//! - `id`: inline allocation IDs, the keys of the allocation map and its indexes.
//! - `alloc_table`: the allocations by ID, hashed, iterated in ID order.
//! - `id_map`: hashed maps keyed by `Id` for look-ups that never show their order.
//! - `node_table`: nodes by compact slot, with the dense usage the placer reads.
//! - `jobs`: register, deregister, scale, revert, stability.
//! - `nodes`: node register, status, eligibility, drain; the node class hash.
//! - `evals`: evaluation upsert and GC, and the staging rules commands share.
//! - `allocs`: plan results, client updates and desired transitions.
//! - `deployments`: deployment status, promotion and allocation health.
//! - `scaling`: each group's scaling events.
//! - `services`: the `nomad` provider's service catalog.
//! - `sched_config`: the cluster's scheduler configuration (`SchedulerConfigSet`);
//!   `autopilot_config`: its autopilot configuration (`AutopilotConfigSet`).
//! - `acl`: ACL policies, tokens and roles; resolving a secret into an ACL.
//! - `namespaces`: namespaces and quota specifications, quota usage.
//! - `node_pools`: node pools, the pool check of job registration, a pool's scheduler
//!   configuration.
//! - `csi`: CSI volumes, the plugin instances clients report, claims derived from
//!   allocations.
//! - `snapshot`: the store as postcard bytes, and restoring it.
//! - `error`: why a command was refused.
//! - `testutil`: builders and assertions shared by the unit tests.

mod acl;
mod alloc_edit;
mod alloc_table;
mod allocs;
pub mod archive;
mod autopilot_config;
mod change_log;
mod changes;
mod command;
mod commit;
mod csi;
mod deployments;
mod error;
mod evals;
mod gates;
mod id;
mod id_map;
mod job_alloc;
mod job_submissions;
mod jobs;
mod last_drain;
mod modify_log;
mod namespaces;
mod node_pools;
mod node_table;
mod nodes;
mod plan_normalized;
mod releases;
mod restore;
mod scaling;
mod sched_config;
mod services;
mod snapshot;
#[cfg(test)]
pub(crate) mod testutil;
mod variables;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::model::{Allocation, Deployment, Evaluation, Job, Node, PeriodicLaunch};

pub use acl::{
    AclBootstrap, AclPolicyAttach, AclPolicyDelete, AclPolicyUpsert, AclRoleDelete, AclRoleUpsert,
    AclTokenDelete, AclTokenUpsert, MAX_ACL_BATCH, MAX_ACL_OBJECTS, MAX_JOB_ACL_FIELD,
};
pub use autopilot_config::{AUTOPILOT_CONFIG_TABLE, AutopilotConfigSet};
pub use changes::ChangedKeys;
pub use command::*;
pub use csi::{
    CsiClaim, CsiNodePluginsUpdate, CsiPluginView, CsiVolumeDeregister, CsiVolumeRegister,
    MAX_CSI_BATCH, MAX_CSI_VOLUMES, MAX_NODE_PLUGINS, VolumeKey, check_volume as check_csi_volume,
    csi_table,
};
pub use error::StateError;
pub use gates::{DeploymentGateUpdate, GroupGates, JobRegisterGated, UPDATE_GATES_TABLE};
pub use id::Id;
use job_alloc::{JobAlloc, JobAllocs, JobIndexBatch, NO_SLOT};
pub use job_alloc::{JobAllocRef, at_rest as alloc_at_rest};
pub use job_submissions::{JOB_SUBMISSIONS_TABLE, JobRegisterSubmitted};
pub use jobs::spec_changed;
pub use last_drain::NodeDrainMeta;
pub use namespaces::{NamespaceDelete, NamespaceUpsert, QuotaDelete, QuotaUpsert, ns_table};
pub use node_pools::{NODE_POOLS_TABLE, NodePoolDelete, NodePoolUpsert};
pub use node_table::{
    BLOCK, BlockFree, Compact, Dense, FULLNESS_BUCKETS, FullestFirst, LiveAlloc, NO_CLASS,
    NOT_IN_ORDER, NodeTable, ask_codes, codes_exceed, free_code, free_codes, fullness,
};
pub use nodes::{MAX_RETAINED_NODE_EVENTS, compute_class};
pub use plan_normalized::{ApplyPlanNormalized, CompactName, CompactText, Placement, PlacementRun};
pub use releases::{
    MAX_RELEASE_JOBS, MAX_RELEASE_NAME, MAX_RELEASES_PER_NAME, RELEASES_TABLE, ReleaseRun,
    ReleaseStatusUpdate,
};
pub use restore::SnapshotRestore;
pub use sched_config::{SCHEDULER_CONFIG_TABLE, SchedulerConfigSet};
pub use snapshot::{OLDEST_READABLE_SNAPSHOT_FORMAT, SNAPSHOT_FORMAT};
pub use variables::{
    ROOT_KEYS_TABLE, RootKeyDelete, RootKeyUpsert, VAR_CONFLICT, VARIABLES_TABLE, VarApply, VarKey,
    VarOp,
};

/// `(namespace, job ID)`: how jobs are keyed.
pub type JobKey = (String, String);

/// `(namespace, job ID, version)`: how the job specs referenced by allocations are keyed.
pub type JobVersionKey = (String, String, u64);

/// Versions of a job kept for `job versions` and reverts (Nomad's
/// `JobDefaultTrackedVersions`); the newest stable version is kept in addition.
pub const JOB_TRACKED_VERSIONS: usize = 6;

/// Names of the tables whose indexes [`StateStore::index`] reports.
pub mod table {
    /// Jobs (current versions, including status changes).
    pub const JOBS: &str = "jobs";
    /// Tracked job versions.
    pub const JOB_VERSION: &str = "job_version";
    /// Nodes.
    pub const NODES: &str = "nodes";
    /// Evaluations.
    pub const EVALS: &str = "evals";
    /// Allocations.
    pub const ALLOCS: &str = "allocs";
    /// Deployments.
    pub const DEPLOYMENTS: &str = "deployments";
    /// Service registrations (the `nomad` provider's catalog).
    pub const SERVICES: &str = "services";
    /// Periodic launch records.
    pub const PERIODIC_LAUNCH: &str = "periodic_launch";
    /// Scaling events.
    pub const SCALING_EVENT: &str = "scaling_event";
    /// ACL policies.
    pub const ACL_POLICY: &str = "acl_policy";
    /// ACL tokens (and the bootstrap marker).
    pub const ACL_TOKEN: &str = "acl_token";
    /// ACL roles.
    pub const ACL_ROLE: &str = "acl_role";
}

/// The cluster state. See the module documentation for the rules it keeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateStore {
    latest_index: u64,
    table_indexes: BTreeMap<String, u64>,
    /// Shared (`Arc`) with `job_versions` and the event stream: a registration stores
    /// one copy of its spec, however many places refer to it.
    jobs: BTreeMap<JobKey, Arc<Job>>,
    /// Behind an `Arc` (shared with `jobs` when it is the current version); a B-tree
    /// node holds eleven values inline, so unboxed specs would also cost eleven
    /// job-sized slots per job.
    job_versions: BTreeMap<JobKey, BTreeMap<u64, Arc<Job>>>,
    alloc_jobs: BTreeMap<JobVersionKey, Job>,
    /// Nodes by ID and by compact slot, with the usage of their non-terminal
    /// allocations: the scheduler's hot path reads these dense figures instead of
    /// looking nodes up by ID on every candidate.
    nodes: NodeTable,
    evals: BTreeMap<String, Evaluation>,
    /// Behind an `Arc`, shared with `allocs_by_job`, so reading a job's allocations
    /// (every evaluation does) follows no search of this table per allocation. A hash
    /// table (`alloc_table`): one probe per placement instead of a descent through a
    /// million-entry B-tree; iterated only in ID order.
    allocs: alloc_table::AllocTable,
    deployments: BTreeMap<String, Deployment>,
    services: BTreeMap<String, crate::model::ServiceRegistration>,
    periodic_launches: BTreeMap<JobKey, PeriodicLaunch>,
    /// Scaling events per job and group, newest first.
    scaling_events: BTreeMap<JobKey, BTreeMap<String, Vec<crate::model::ScalingEvent>>>,
    // Derived indexes, rebuilt on restore.
    evals_by_job: BTreeMap<JobKey, BTreeSet<String>>,
    /// Hashed (`id_map`): searched by key only, one probe per placement or stop.
    allocs_by_node: id_map::IdSets,
    /// A job's allocations themselves (the `Arc`s of `allocs`) with their nodes'
    /// slots, by ID.
    allocs_by_job: BTreeMap<JobKey, JobAllocs>,
    allocs_by_eval: id_map::IdSets,
    deployments_by_job: BTreeMap<JobKey, BTreeSet<String>>,
    /// Evaluations and allocations by `(ModifyIndex, ID)`, so watchers (the leader's
    /// feeder) find what changed since an index without scanning everything.
    evals_by_modify: BTreeSet<(u64, String)>,
    allocs_by_modify: modify_log::ModifyLog,
    /// Jobs and deployments by modify index, for the deployment watcher.
    jobs_by_modify: change_log::ChangeLog<JobKey>,
    deployments_by_modify: change_log::ChangeLog<String>,
    services_by_alloc: BTreeMap<String, BTreeSet<String>>,
    /// Jobs the leader's periodic dispatcher and autoscaler watch, so their loops visit
    /// a handful of jobs instead of every job on every change.
    periodic_jobs: BTreeSet<JobKey>,
    scaling_jobs: BTreeSet<JobKey>,
    /// Live (not stopped, not template) system and sysbatch jobs: a node's change
    /// evaluates each of them, and a scan of every job per failed node found them.
    system_jobs: BTreeSet<JobKey>,
    /// ACL policies, tokens and roles with their derived indexes.
    acl: acl::AclTables,
    /// Namespaces and quota specifications (`default` always present).
    ns: namespaces::NamespaceTable,
    /// CSI volumes and the plugin instances clients report.
    csi: csi::CsiTable,
    /// The scheduler configuration (Nomad's defaults until first set).
    sched_config: crate::model::SchedulerConfiguration,
    /// The autopilot configuration (Nomad's defaults until first set).
    autopilot_config: crate::model::AutopilotConfiguration,
    /// Node pools (`all` and `default` always present).
    pools: node_pools::NodePoolTable,
    /// The source each tracked job version was submitted as.
    submissions: job_submissions::SubmissionTable,
    /// Each drained node's `LastDrain`, by node ID.
    last_drains: BTreeMap<String, crate::model::node::DrainMetadata>,
    /// Variables (sealed) and root key metadata.
    vars: variables::VarTables,
    /// orch's metric gates: each job version's, and the deployments' readings.
    gates: gates::GateTables,
    /// orch's releases (deployment groups), by ID.
    releases: BTreeMap<String, crate::model::Release>,
}

fn key(namespace: &str, id: &str) -> JobKey {
    (namespace.to_string(), id.to_string())
}

impl StateStore {
    /// An empty store, as a fresh cluster starts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one log entry at `index`. The only way to change the store.
    ///
    /// `index` must be greater than [`Self::latest_index`]. On error nothing changed.
    pub fn apply(&mut self, index: u64, cmd: Command) -> Result<Response, StateError> {
        if index <= self.latest_index {
            return Err(StateError::StaleIndex {
                index,
                latest: self.latest_index,
            });
        }
        self.apply_batched(index, cmd).0
    }

    /// Applies one command of a log entry that carries several (a batch): they all share
    /// the entry's `index`, so `index` may equal [`Self::latest_index`] but not be below
    /// it. Commands are applied in order, each seeing the ones before it; a refused one
    /// changes nothing and does not stop the others. Also returns what the command
    /// created or changed, so watchers (the event stream) need not scan for it.
    pub fn apply_batched(
        &mut self,
        index: u64,
        cmd: Command,
    ) -> (Result<Response, StateError>, ChangedKeys) {
        if index < self.latest_index {
            let stale = StateError::StaleIndex {
                index,
                latest: self.latest_index,
            };
            return (Err(stale), ChangedKeys::default());
        }
        let cmd = match cmd {
            Command::SnapshotRestore(c) => return self.snapshot_restore(index, c),
            other => other,
        };
        match self.change_set(index, cmd) {
            Ok((changes, mut response)) => {
                let changed = self.commit(index, changes);
                response.index = index;
                (Ok(response), changed)
            }
            Err(e) => (Err(e), ChangedKeys::default()),
        }
    }

    /// The validated change set of `cmd` and its reply, without changing anything.
    fn change_set(&self, index: u64, cmd: Command) -> changes::Outcome {
        let (changes, response) = match cmd {
            Command::JobRegister(c) => self.job_register(index, c)?,
            Command::JobDeregister(c) => self.job_deregister(index, c)?,
            Command::JobScale(c) => self.job_scale(index, c)?,
            Command::JobRevert(c) => self.job_revert(index, c)?,
            Command::JobStability(c) => self.job_stability(c)?,
            Command::NodeRegister(c) => self.node_register(index, c)?,
            Command::NodeStatusUpdate(c) => self.node_status_update(c)?,
            Command::NodeEligibility(c) => self.node_eligibility(c)?,
            Command::NodeDrain(c) => self.node_drain(index, c)?,
            Command::NodeDeregister(c) => self.node_deregister(c)?,
            Command::EvalUpsert(c) => self.eval_upsert(c)?,
            Command::EvalDelete(c) => self.eval_delete(c)?,
            Command::ApplyPlanResults(c) => self.apply_plan_results(index, c)?,
            Command::ApplyPlanNormalized(c) => self.apply_plan_results(index, c.expand()?)?,
            Command::AllocClientUpdate(c) => self.alloc_client_update(index, c)?,
            Command::AllocDesiredTransition(c) => self.alloc_desired_transition(c)?,
            Command::DeploymentStatusUpdate(c) => self.deployment_status_update(index, c)?,
            Command::DeploymentPromote(c) => self.deployment_promote(index, c)?,
            Command::DeploymentAllocHealth(c) => self.deployment_alloc_health(index, c)?,
            Command::GcBatch(c) => self.gc_batch(c)?,
            Command::ServiceUpsert(c) => self.service_upsert(c)?,
            Command::ServiceDelete(c) => self.service_delete(c)?,
            Command::AclPolicyUpsert(c) => self.acl_policy_upsert(c)?,
            Command::AclPolicyDelete(c) => self.acl_policy_delete(c)?,
            Command::AclTokenUpsert(c) => self.acl_token_upsert(c)?,
            Command::AclTokenDelete(c) => self.acl_token_delete(c)?,
            Command::AclRoleUpsert(c) => self.acl_role_upsert(c)?,
            Command::AclRoleDelete(c) => self.acl_role_delete(c)?,
            Command::AclBootstrap(c) => self.acl_bootstrap(c)?,
            Command::NamespaceUpsert(c) => self.namespace_upsert(c)?,
            Command::NamespaceDelete(c) => self.namespace_delete(c)?,
            Command::QuotaUpsert(c) => self.quota_upsert(c)?,
            Command::QuotaDelete(c) => self.quota_delete(c)?,
            Command::CsiVolumeRegister(c) => self.csi_volume_register(c)?,
            Command::CsiVolumeDeregister(c) => self.csi_volume_deregister(c)?,
            Command::CsiNodePlugins(c) => self.csi_node_plugins_update(c)?,
            Command::SchedulerConfigSet(c) => self.scheduler_config_set(c)?,
            Command::AutopilotConfigSet(c) => self.autopilot_config_set(c)?,
            Command::NodePoolUpsert(c) => self.node_pool_upsert(c)?,
            Command::NodePoolDelete(c) => self.node_pool_delete(c)?,
            Command::JobRegisterSubmitted(c) => self.job_register_submitted(index, c)?,
            Command::NodeDrainMeta(c) => self.node_drain_meta(index, c)?,
            Command::VarApply(c) => self.var_apply(index, c)?,
            Command::RootKeyUpsert(c) => self.root_key_upsert(index, c)?,
            Command::RootKeyDelete(c) => self.root_key_delete(c)?,
            Command::AclPolicyAttach(c) => self.acl_policy_attach(c)?,
            Command::JobRegisterGated(c) => self.job_register_gated(index, c)?,
            Command::DeploymentGateUpdate(c) => self.deployment_gate_update(index, c)?,
            Command::ReleaseRun(c) => self.release_run(index, c)?,
            Command::ReleaseStatusUpdate(c) => self.release_status_update(c)?,
            // Replaces the store instead of changing it: handled by `apply_batched`.
            Command::SnapshotRestore(_) => {
                return Err(StateError::Invalid(
                    "a snapshot restore replaces the whole state and has no change set".into(),
                ));
            }
        };
        Ok((changes, response))
    }

    /// Index of the last applied command (0 for an empty store).
    pub fn latest_index(&self) -> u64 {
        self.latest_index
    }

    /// Index of the last command that changed `table` (see [`table`]); 0 if none did.
    /// Blocking queries on a table wait for this to pass their index.
    pub fn index(&self, table: &str) -> u64 {
        self.table_indexes.get(table).copied().unwrap_or(0)
    }

    /// The current version of a job.
    pub fn job(&self, namespace: &str, id: &str) -> Option<&Job> {
        self.jobs.get(&key(namespace, id)).map(|j| &**j)
    }

    /// The current version of a job, shared: for holders that outlive a read lock (the
    /// event stream) without copying the spec.
    pub fn job_shared(&self, namespace: &str, id: &str) -> Option<Arc<Job>> {
        self.jobs.get(&key(namespace, id)).cloned()
    }

    /// Jobs with an active periodic block (enabled, not stopped, not parameterized:
    /// [`Job::is_periodic_active`]), by key.
    pub fn periodic_jobs(&self) -> impl Iterator<Item = &Job> {
        self.periodic_jobs
            .iter()
            .filter_map(|k| self.jobs.get(k).map(|j| &**j))
    }

    /// Live (not stopped, not template) system and sysbatch jobs, by key: what a node
    /// change evaluates besides the jobs of the node's allocations.
    pub fn system_jobs(&self) -> impl Iterator<Item = &Job> {
        self.system_jobs
            .iter()
            .filter_map(|k| self.jobs.get(k).map(|j| &**j))
    }

    /// Running (not stopped, not template) jobs with at least one enabled group
    /// `scaling` block, by key: the autoscaler's work list.
    pub fn scaling_jobs(&self) -> impl Iterator<Item = &Job> {
        self.scaling_jobs
            .iter()
            .filter_map(|k| self.jobs.get(k).map(|j| &**j))
    }

    /// All jobs, ordered by namespace then ID.
    pub fn jobs(&self) -> impl Iterator<Item = &Job> {
        self.jobs.values().map(|j| &**j)
    }

    /// Jobs whose `ParentID` is `parent` (periodic launches and dispatches), by ID.
    /// Children's IDs start with `<parent>/`, so this is a range scan.
    pub fn child_jobs(&self, namespace: &str, parent: &str) -> Vec<&Job> {
        let prefix = format!("{parent}/");
        self.jobs
            .range(key(namespace, &prefix)..)
            .take_while(|((ns, id), _)| ns == namespace && id.starts_with(&prefix))
            .map(|(_, j)| &**j)
            .filter(|j| j.parent_id == parent)
            .collect()
    }

    /// The last launch of a periodic parent (see [`PeriodicLaunch`]).
    pub fn periodic_launch(&self, namespace: &str, id: &str) -> Option<&PeriodicLaunch> {
        self.periodic_launches.get(&key(namespace, id))
    }

    /// All periodic launch records, by namespace and job ID.
    pub fn periodic_launches(&self) -> impl Iterator<Item = &PeriodicLaunch> {
        self.periodic_launches.values()
    }

    /// One tracked version of a job.
    pub fn job_version(&self, namespace: &str, id: &str, version: u64) -> Option<&Job> {
        self.job_versions
            .get(&key(namespace, id))?
            .get(&version)
            .map(|j| &**j)
    }

    /// Tracked versions of a job, newest first (Nomad's order).
    pub fn job_versions(&self, namespace: &str, id: &str) -> Vec<&Job> {
        self.job_versions
            .get(&key(namespace, id))
            .map(|v| v.values().rev().map(|j| &**j).collect())
            .unwrap_or_default()
    }

    /// A node by ID.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.get(id)
    }

    /// All nodes, ordered by ID.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values()
    }

    /// An evaluation by ID.
    pub fn eval(&self, id: &str) -> Option<&Evaluation> {
        self.evals.get(id)
    }

    /// All evaluations, ordered by ID.
    pub fn evals(&self) -> impl Iterator<Item = &Evaluation> {
        self.evals.values()
    }

    /// Evaluations of a job (any incarnation of the job ID), ordered by ID.
    pub fn evals_by_job(&self, namespace: &str, job_id: &str) -> Vec<&Evaluation> {
        self.collect(&self.evals_by_job, &key(namespace, job_id), &self.evals)
    }

    /// An allocation by ID with its job spec attached, as Nomad's API returns it.
    pub fn alloc(&self, id: &str) -> Option<Allocation> {
        let stored = self.allocs.get(&Id::new(id))?;
        let mut alloc = (**stored).clone();
        alloc.job = self.alloc_job(stored).cloned().map(Box::new);
        Some(alloc)
    }

    /// An allocation by ID as stored: without its job (cheap; use [`Self::alloc_job`]).
    pub fn alloc_stub(&self, id: &str) -> Option<&Allocation> {
        self.allocs.get(&Id::new(id)).map(|a| &**a)
    }

    /// The job spec an allocation was placed for (its job ID at its job version).
    pub fn alloc_job(&self, alloc: &Allocation) -> Option<&Job> {
        self.alloc_jobs.get(&(
            alloc.namespace.to_string(),
            alloc.job_id.to_string(),
            alloc.job_version,
        ))
    }

    /// All allocations as stored (without jobs), ordered by ID. Sorts them on each
    /// call (the table is hashed); what only counts should use
    /// [`StateStore::allocs_any_order`].
    pub fn allocs(&self) -> impl Iterator<Item = &Allocation> {
        self.allocs.sorted().into_iter().map(|a| &**a)
    }

    /// All allocations as stored (without jobs), in no particular order: for counts
    /// and filters whose result does not depend on order (no sort of the table).
    pub fn allocs_any_order(&self) -> impl Iterator<Item = &Allocation> {
        self.allocs.any_order().map(|a| &**a)
    }

    /// How many allocations the store holds, terminal ones included.
    pub fn alloc_count(&self) -> usize {
        self.allocs.len()
    }

    /// Evaluations created or changed after `index`, oldest change first.
    pub fn evals_modified_after(&self, index: u64) -> impl Iterator<Item = &Evaluation> {
        self.evals_by_modify
            .range((index.saturating_add(1), String::new())..)
            .filter_map(|(_, id)| self.evals.get(id))
    }

    /// Allocations created or changed after `index`, oldest change first.
    pub fn allocs_modified_after(&self, index: u64) -> impl Iterator<Item = &Allocation> {
        self.allocs_by_modify
            .after(index)
            .iter()
            .filter_map(|(i, id)| self.allocs.get(id).filter(|a| a.modify_index == *i))
            .map(|a| &**a)
    }

    /// Resources held on a node by its non-terminal allocations.
    pub fn node_usage(&self, node_id: &str) -> crate::model::Usage {
        self.nodes.usage(node_id)
    }

    /// The node table: nodes by slot with their dense capacity and usage, for the
    /// scheduler's hot path.
    pub fn node_table(&self) -> &NodeTable {
        &self.nodes
    }

    /// Allocations on a node (without jobs), ordered by ID, terminal ones included.
    pub fn allocs_by_node(&self, node_id: &str) -> Vec<&Allocation> {
        self.collect_allocs(&self.allocs_by_node, &Id::new(node_id))
    }

    /// Allocations of a job ID (any incarnation, without jobs), ordered by ID.
    pub fn allocs_by_job(&self, namespace: &str, job_id: &str) -> Vec<&Allocation> {
        self.job_allocs(&key(namespace, job_id)).collect()
    }

    /// A job's allocations (any incarnation, without jobs), ordered by ID.
    fn job_allocs(&self, k: &JobKey) -> impl Iterator<Item = &Allocation> {
        self.allocs_by_job
            .get(k)
            .into_iter()
            .flat_map(|m| m.values().map(|e| &*e.alloc))
    }

    /// [`StateStore::allocs_by_job`] with each allocation's node slot in the node
    /// table (`None`: its node has none), kept since the allocation was stored, so an
    /// evaluation of a big job does not search the node table once per allocation,
    /// and with what the index keeps of each ([`JobAllocRef`]), so a pass over the
    /// job need not read every allocation.
    pub fn allocs_by_job_with_slots(&self, namespace: &str, job_id: &str) -> Vec<JobAllocRef<'_>> {
        let Some(m) = self.allocs_by_job.get(&key(namespace, job_id)) else {
            return Vec::new();
        };
        m.iter()
            .map(|(id, e)| {
                let slot = match e.slot {
                    NO_SLOT => self.nodes.slot(&e.alloc.node_id),
                    s => Some(s),
                };
                e.as_ref(id, slot)
            })
            .collect()
    }

    /// Allocations placed by an evaluation (without jobs), ordered by ID.
    pub fn allocs_by_eval(&self, eval_id: &str) -> Vec<&Allocation> {
        self.collect_allocs(&self.allocs_by_eval, &Id::new(eval_id))
    }

    /// A deployment by ID.
    pub fn deployment(&self, id: &str) -> Option<&Deployment> {
        self.deployments.get(id)
    }

    /// All deployments, ordered by ID.
    pub fn deployments(&self) -> impl Iterator<Item = &Deployment> {
        self.deployments.values()
    }

    /// Deployments of a job ID, ordered by ID.
    pub fn deployments_by_job(&self, namespace: &str, job_id: &str) -> Vec<&Deployment> {
        self.collect(
            &self.deployments_by_job,
            &key(namespace, job_id),
            &self.deployments,
        )
    }

    /// The job's most recently created deployment (highest `CreateIndex`, then ID).
    pub fn latest_deployment_by_job(&self, namespace: &str, job_id: &str) -> Option<&Deployment> {
        self.deployments_by_job(namespace, job_id)
            .into_iter()
            .max_by(|a, b| {
                a.create_index
                    .cmp(&b.create_index)
                    .then_with(|| a.id.cmp(&b.id))
            })
    }

    fn collect_allocs<'a>(&'a self, index: &'a id_map::IdSets, k: &Id) -> Vec<&'a Allocation> {
        index
            .get(k)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| self.allocs.get(id).map(|a| &**a))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn collect<'a, K, Q, T>(
        &'a self,
        index: &'a BTreeMap<K, BTreeSet<String>>,
        k: &Q,
        table: &'a BTreeMap<String, T>,
    ) -> Vec<&'a T>
    where
        K: Ord + std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        index
            .get(k)
            .map(|ids| ids.iter().filter_map(|id| table.get(id)).collect())
            .unwrap_or_default()
    }
}
