//! Snapshots: the whole store as postcard bytes, for Raft log compaction and for
//! bringing a new server up to date.
//!
//! Only primary data is written; the secondary indexes (by job, node, eval) are rebuilt on
//! restore by walking the tables in key order, so the rebuilt store is identical to the
//! original and `snapshot -> restore -> snapshot` is byte-identical.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Id, JobKey, StateError, StateStore};
use crate::model::acl::{AclPolicy, AclRole, AclToken};
use crate::model::{
    Allocation, AutopilotConfiguration, Deployment, Evaluation, Job, Node, NodePool,
    PeriodicLaunch, ScalingEvent, SchedulerConfiguration,
};

/// Version of the snapshot layout; bumped when it changes incompatibly.
///
/// Format 12 added the tasks' workload identities (`Identity`, `Identities`), orch's
/// device shares (`Share` of a task's device requests in every job and of the devices
/// assigned in every allocation), orch's job dependencies (`Job.DependsOn`,
/// `TaskGroup.DependsOn`) and ordered groups (`Update.Ordered`); format 11 orch's task
/// dependencies (`Lifecycle.DependsOn`, `Condition`) and the group's `Resume`; otherwise
/// it is format 10's layout (format 9's tables followed by named sections, `sections`:
/// tables added since are sections, so they need no new format). The job and allocation
/// layouts changed, so no older format can be decoded with them: formats 4 to 11 are
/// refused by name (postcard is not self-describing; decoding them would read the new
/// fields from the next bytes).
pub const SNAPSHOT_FORMAT: u32 = 12;

/// The oldest snapshot format this build reads (upgrading it on load). Data directories
/// record the format they hold, so an agent refuses what it cannot read before opening
/// it; the next release must read [`SNAPSHOT_FORMAT`].
pub const OLDEST_READABLE_SNAPSHOT_FORMAT: u32 = SNAPSHOT_FORMAT;

/// The oldest format refused by name; older ones are "not supported".
const OLDEST_REFUSED_FORMAT: u32 = 4;

#[derive(Serialize)]
struct SnapshotRef<'a> {
    format: u32,
    latest_index: u64,
    table_indexes: &'a BTreeMap<String, u64>,
    jobs: Vec<&'a Job>,
    job_versions: Vec<&'a Job>,
    alloc_jobs: Vec<&'a Job>,
    nodes: Vec<&'a Node>,
    evals: Vec<&'a Evaluation>,
    allocs: Vec<&'a Allocation>,
    deployments: Vec<&'a Deployment>,
    services: Vec<&'a crate::model::ServiceRegistration>,
    periodic_launches: Vec<&'a PeriodicLaunch>,
    scaling_events: Vec<(&'a JobKey, &'a String, &'a Vec<ScalingEvent>)>,
    acl_policies: Vec<&'a AclPolicy>,
    acl_tokens: Vec<&'a AclToken>,
    acl_roles: Vec<&'a AclRole>,
    acl_bootstrap_index: u64,
    ns: super::namespaces::NamespaceSection,
    csi: super::csi::CsiSection,
    scheduler_config: &'a SchedulerConfiguration,
    autopilot_config: &'a AutopilotConfiguration,
    node_pools: Vec<NodePool>,
}

/// The tables after the scaling events: ACL, namespaces, CSI, the scheduler and
/// autopilot configurations, node pools.
#[derive(Deserialize, Default)]
struct Additions {
    acl_policies: Vec<AclPolicy>,
    acl_tokens: Vec<AclToken>,
    acl_roles: Vec<AclRole>,
    acl_bootstrap_index: u64,
    ns: super::namespaces::NamespaceSection,
    csi: super::csi::CsiSection,
    scheduler_config: SchedulerConfiguration,
    autopilot_config: AutopilotConfiguration,
    node_pools: Vec<NodePool>,
}

/// The decoded snapshot.
#[derive(Deserialize)]
struct SnapshotOwned {
    /// Probed before decoding (`restore`); kept here so the layout matches.
    #[allow(dead_code)]
    format: u32,
    latest_index: u64,
    table_indexes: BTreeMap<String, u64>,
    jobs: Vec<Job>,
    job_versions: Vec<Job>,
    alloc_jobs: Vec<Job>,
    nodes: Vec<Node>,
    evals: Vec<Evaluation>,
    allocs: Vec<Allocation>,
    deployments: Vec<Deployment>,
    services: Vec<crate::model::ServiceRegistration>,
    periodic_launches: Vec<PeriodicLaunch>,
    scaling_events: Vec<(JobKey, String, Vec<ScalingEvent>)>,
    added: Additions,
}

impl StateStore {
    /// Serializes the store. Deterministic: equal stores give equal bytes.
    pub fn snapshot(&self) -> Result<Vec<u8>, StateError> {
        let snap = SnapshotRef {
            format: SNAPSHOT_FORMAT,
            latest_index: self.latest_index,
            table_indexes: &self.table_indexes,
            jobs: self.jobs.values().map(|j| &**j).collect(),
            job_versions: self
                .job_versions
                .values()
                .flat_map(|v| v.values().map(|j| &**j))
                .collect(),
            alloc_jobs: self.alloc_jobs.values().collect(),
            nodes: self.nodes.values().collect(),
            evals: self.evals.values().collect(),
            allocs: self.allocs.sorted().into_iter().map(|a| &**a).collect(),
            deployments: self.deployments.values().collect(),
            services: self.services.values().collect(),
            periodic_launches: self.periodic_launches.values().collect(),
            scaling_events: self.all_scaling_events(),
            acl_policies: self.acl.policies.values().collect(),
            acl_tokens: self.acl.tokens.values().collect(),
            acl_roles: self.acl.roles.values().collect(),
            acl_bootstrap_index: self.acl.bootstrap_index,
            ns: self.ns.section(),
            csi: self.csi.section(),
            scheduler_config: &self.sched_config,
            autopilot_config: &self.autopilot_config,
            node_pools: self.pools.section(),
        };
        let encode_err = |e: postcard::Error| {
            StateError::Snapshot(format!(
                "could not encode the state ({e}); this is a bug in orch, please report it"
            ))
        };
        let mut bytes = postcard::to_allocvec(&snap).map_err(encode_err)?;
        bytes.extend(postcard::to_allocvec(&self.sections()?).map_err(encode_err)?);
        Ok(bytes)
    }

    /// Rebuilds a store from [`Self::snapshot`] bytes of this format.
    pub fn restore(bytes: &[u8]) -> Result<StateStore, StateError> {
        let (format, _): (u32, _) = postcard::take_from_bytes(bytes).map_err(decode_err)?;
        match format {
            SNAPSHOT_FORMAT => {
                let (snap, rest): (SnapshotOwned, &[u8]) =
                    postcard::take_from_bytes(bytes).map_err(decode_err)?;
                let mut store = Self::rebuild(snap)?;
                store.restore_sections(decode_all(rest)?)?;
                Ok(store)
            }
            old @ OLDEST_REFUSED_FORMAT..SNAPSHOT_FORMAT => Err(StateError::Snapshot(format!(
                "snapshot format {old} was written by an older orch whose job layout differs (this orch reads format {SNAPSHOT_FORMAT}); start this server with an empty data_dir so it takes a fresh snapshot from the cluster's leader"
            ))),
            other => Err(StateError::Snapshot(format!(
                "snapshot format {other} is not supported (this orch reads format {SNAPSHOT_FORMAT}); restore it with a matching orch version"
            ))),
        }
    }

    fn rebuild(snap: SnapshotOwned) -> Result<StateStore, StateError> {
        let added = snap.added;
        let mut store = StateStore {
            latest_index: snap.latest_index,
            table_indexes: snap.table_indexes,
            ns: super::namespaces::NamespaceTable::from_section(added.ns),
            csi: super::csi::CsiTable::from_section(added.csi),
            sched_config: added.scheduler_config,
            autopilot_config: added.autopilot_config,
            pools: super::node_pools::NodePoolTable::from_section(added.node_pools),
            ..StateStore::default()
        };
        for j in snap.jobs {
            let k = j.key();
            store.log_job(&k, None, Some(j.modify_index));
            store.jobs.insert(k.clone(), Arc::new(j));
            store.index_job(&k);
        }
        for j in snap.job_versions {
            store
                .job_versions
                .entry(j.key())
                .or_default()
                .insert(j.version, Arc::new(j));
        }
        for j in snap.alloc_jobs {
            store
                .alloc_jobs
                .insert((j.namespace.clone(), j.id.clone(), j.version), j);
        }
        for n in snap.nodes {
            store.pools.ensure_pool_of(&n, snap.latest_index);
            store.nodes.insert(n);
        }
        for e in snap.evals {
            store.index_eval(&e);
            store.evals.insert(e.id.clone(), e);
        }
        store.allocs.reserve(snap.allocs.len());
        for a in snap.allocs {
            let a = std::sync::Arc::new(a);
            store.index_alloc(&a, &super::key(&a.namespace, &a.job_id));
            store.allocs.insert(Id::new(&a.id), a);
        }
        for d in snap.deployments {
            store.log_deployment(&d.id, None, Some(d.modify_index));
            store.index_deployment(&d);
            store.deployments.insert(d.id.clone(), d);
        }
        for r in snap.services {
            store
                .services_by_alloc
                .entry(r.alloc_id.clone())
                .or_default()
                .insert(r.id.clone());
            store.services.insert(r.id.clone(), r);
        }
        for l in snap.periodic_launches {
            store
                .periodic_launches
                .insert((l.namespace.clone(), l.id.clone()), l);
        }
        store.restore_scaling_events(snap.scaling_events);
        added
            .acl_policies
            .into_iter()
            .for_each(|p| store.acl.insert_policy(p));
        added
            .acl_tokens
            .into_iter()
            .for_each(|t| store.acl.insert_token(t));
        added
            .acl_roles
            .into_iter()
            .for_each(|r| store.acl.insert_role(r));
        store.acl.bootstrap_index = added.acl_bootstrap_index;
        store.nodes.settle();
        store.seal_modify_log();
        Ok(store)
    }
}

fn decode_err(e: postcard::Error) -> StateError {
    StateError::Snapshot(format!(
        "could not decode the snapshot ({e}); it is corrupt or from an incompatible orch version, restore from another server or an older snapshot"
    ))
}

/// Decodes a whole snapshot; trailing bytes mean corruption.
fn decode_all<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StateError> {
    let (snap, rest): (T, &[u8]) = postcard::take_from_bytes(bytes).map_err(decode_err)?;
    if !rest.is_empty() {
        return Err(StateError::Snapshot(format!(
            "{} unexpected bytes after the snapshot; the file is corrupt or truncated wrongly",
            rest.len()
        )));
    }
    Ok(snap)
}

mod sections;
#[cfg(test)]
mod tests;
