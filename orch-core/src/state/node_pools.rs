//! Node pools in the store: their table, the commands that change them
//! (`NodePoolUpsert`/`Delete`), the check job registration makes against them, and the
//! scheduler configuration a pool imposes on its jobs.
//!
//! Rules (Nomad's): `all` and `default` always exist and cannot be changed or deleted;
//! a node registering into a pool that does not exist creates it; a job naming a pool
//! that does not exist is refused; a pool holding nodes or jobs cannot be deleted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::changes::{Changes, Outcome};
use super::{Response, StateError, StateStore};
use crate::model::node_pool::{MAX_NODE_POOLS, is_built_in_pool, validate_pool_name};
use crate::model::{
    Evaluation, Job, NODE_POOL_ALL, NODE_POOL_DEFAULT, Node, NodePool, SchedulerConfiguration,
};

/// Table name for [`StateStore::index`].
pub const NODE_POOLS_TABLE: &str = "node_pools";

/// Create or replace node pools (Nomad's `NodePool.UpsertNodePools`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NodePoolUpsert {
    /// The pools, complete (indexes are the store's); none may be built in.
    pub pools: Vec<NodePool>,
}

/// Delete node pools by name (`NodePool.DeleteNodePools`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NodePoolDelete {
    /// Names; every one must exist, not be built in, and hold no node and no job.
    pub names: Vec<String>,
}

/// The pools, with the built-ins present from the start.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct NodePoolTable {
    pub pools: BTreeMap<String, NodePool>,
}

impl Default for NodePoolTable {
    fn default() -> Self {
        NodePoolTable {
            pools: NodePool::built_ins()
                .into_iter()
                .map(|p| (p.name.clone(), p))
                .collect(),
        }
    }
}

impl NodePoolTable {
    /// The snapshot's section: the pools an operator or a node created (the built-ins
    /// are rebuilt on restore, with their indexes kept if they were written).
    pub(super) fn section(&self) -> Vec<NodePool> {
        self.pools.values().cloned().collect()
    }

    pub(super) fn from_section(pools: Vec<NodePool>) -> Self {
        let mut t = NodePoolTable::default();
        t.pools
            .extend(pools.into_iter().map(|p| (p.name.clone(), p)));
        t
    }

    /// Creates the pool `node` names if missing: a snapshot from before node pools
    /// existed holds nodes whose pools were never stored. A no-op on newer snapshots,
    /// whose nodes' pools are all stored, so restoring stays byte-identical.
    pub(super) fn ensure_pool_of(&mut self, node: &Node, index: u64) {
        if node.node_pool.is_empty() || self.pools.contains_key(&node.node_pool) {
            return;
        }
        let mut pool = NodePool::created_by_node(&node.node_pool);
        (pool.create_index, pool.modify_index) = (index, index);
        self.pools.insert(pool.name.clone(), pool);
    }
}

/// A job's pool as the scheduler reads it: empty means `default`.
fn job_pool(job: &Job) -> &str {
    if job.node_pool.is_empty() {
        NODE_POOL_DEFAULT
    } else {
        &job.node_pool
    }
}

impl StateStore {
    /// A node pool by name.
    pub fn node_pool(&self, name: &str) -> Option<&NodePool> {
        self.pools.pools.get(name)
    }

    /// All node pools, by name.
    pub fn node_pools(&self) -> impl Iterator<Item = &NodePool> {
        self.pools.pools.values()
    }

    /// The nodes of a pool (`all`: every node), by ID.
    pub fn nodes_in_pool<'a>(&'a self, pool: &'a str) -> impl Iterator<Item = &'a Node> {
        self.nodes()
            .filter(move |n| pool == NODE_POOL_ALL || n.node_pool == pool)
    }

    /// The jobs of a pool in every namespace, by namespace and ID.
    pub fn jobs_in_pool<'a>(&'a self, pool: &'a str) -> impl Iterator<Item = &'a Job> {
        self.jobs
            .values()
            .map(|j| &**j)
            .filter(move |j| job_pool(j) == pool)
    }

    /// The scheduler configuration `eval` is scheduled with: the cluster's, with what its
    /// job's pool overrides (algorithm, memory oversubscription).
    pub fn scheduler_config_for(&self, eval: &Evaluation) -> SchedulerConfiguration {
        let mut config = self.scheduler_config().clone();
        let pool = self
            .job(&eval.namespace, &eval.job_id)
            .and_then(|j| self.pools.pools.get(job_pool(j)));
        if let Some(sc) = pool.and_then(|p| p.scheduler_configuration.as_ref()) {
            if let Some(a) = sc.algorithm() {
                config.scheduler_algorithm = a;
            }
            if let Some(m) = sc.memory_oversubscription_enabled {
                config.memory_oversubscription_enabled = m;
            }
        }
        config
    }

    /// Refuses a job whose node pool does not exist, in Nomad's words. Called by every
    /// job-registering command.
    pub(super) fn check_job_node_pool(&self, job: &Job) -> Result<(), StateError> {
        let pool = job_pool(job);
        if self.pools.pools.contains_key(pool) {
            return Ok(());
        }
        Err(StateError::Invalid(format!(
            "job {:?} is in nonexistent node pool {pool:?}; create it first (orch node pool apply) or register a node into it",
            job.id
        )))
    }

    /// Stages the pool a registering node names when it does not exist yet, as Nomad
    /// creates it. A node cannot join `all`, and the table is bounded.
    pub(super) fn stage_node_pool_of(
        &self,
        ch: &mut Changes,
        node: &Node,
    ) -> Result<(), StateError> {
        let pool = node.node_pool.as_str();
        if pool == NODE_POOL_ALL {
            return Err(StateError::Invalid(format!(
                "node {}: node_pool {NODE_POOL_ALL:?} is the built-in pool of every node and cannot be joined; name another pool in the client's node_pool",
                node.id
            )));
        }
        if self.pools.pools.contains_key(pool) {
            return Ok(());
        }
        validate_pool_name(pool)
            .map_err(|e| StateError::Invalid(format!("node {}: node_pool: {e}", node.id)))?;
        if self.pools.pools.len() >= MAX_NODE_POOLS {
            return Err(StateError::Invalid(format!(
                "node {}: node pool {pool:?} does not exist and the cluster already has the maximum of {MAX_NODE_POOLS} pools; delete unused pools or use an existing one",
                node.id
            )));
        }
        ch.node_pools
            .insert(pool.to_string(), Some(NodePool::created_by_node(pool)));
        Ok(())
    }

    pub(super) fn node_pool_upsert(&self, c: NodePoolUpsert) -> Outcome {
        if c.pools.is_empty() {
            return Err(StateError::Invalid(
                "must specify at least one node pool".into(),
            ));
        }
        let mut ch = Changes::default();
        for mut p in c.pools {
            p.validate()
                .map_err(|e| StateError::Invalid(format!("invalid node pool {:?}: {e}", p.name)))?;
            if is_built_in_pool(&p.name) {
                return Err(StateError::Invalid(format!(
                    "modifying node pool {:?} is not allowed",
                    p.name
                )));
            }
            let known =
                self.pools.pools.contains_key(&p.name) || ch.node_pools.contains_key(&p.name);
            if !known && self.pools.pools.len() + ch.node_pools.len() >= MAX_NODE_POOLS {
                return Err(StateError::Invalid(format!(
                    "the cluster already has the maximum of {MAX_NODE_POOLS} node pools; delete unused ones first"
                )));
            }
            (p.create_index, p.modify_index) = (0, 0);
            ch.node_pools.insert(p.name.clone(), Some(p));
        }
        Ok((ch, Response::default()))
    }

    pub(super) fn node_pool_delete(&self, c: NodePoolDelete) -> Outcome {
        if c.names.is_empty() {
            return Err(StateError::Invalid(
                "must specify at least one node pool to delete".into(),
            ));
        }
        let mut ch = Changes::default();
        for name in c.names {
            if name.is_empty() {
                return Err(StateError::Invalid("node pool name is empty".into()));
            }
            if is_built_in_pool(&name) {
                return Err(StateError::Invalid(format!(
                    "deleting built-in node pool {name:?} is not allowed"
                )));
            }
            if !self.pools.pools.contains_key(&name) {
                return Err(StateError::Invalid(format!(
                    "node pool {name:?} not found; list pools with orch node pool list"
                )));
            }
            if self.nodes_in_pool(&name).next().is_some() {
                return Err(StateError::Invalid(format!(
                    "node pool {name:?} has nodes; move them to another pool (the client's node_pool) or purge them first"
                )));
            }
            let live_job = self
                .jobs_in_pool(&name)
                .any(|j| j.status != crate::model::job_status::DEAD);
            if live_job {
                return Err(StateError::Invalid(format!(
                    "node pool {name:?} has non-terminal jobs; stop them or move them to another pool first"
                )));
            }
            ch.node_pools.insert(name, None);
        }
        Ok((ch, Response::default()))
    }

    /// Writes staged pools, stamping indexes; whether the table changed.
    pub(super) fn commit_node_pools(
        &mut self,
        index: u64,
        pools: BTreeMap<String, Option<NodePool>>,
    ) -> bool {
        let dirty = !pools.is_empty();
        for (name, p) in pools {
            let old = self.pools.pools.remove(&name);
            if let Some(mut p) = p {
                p.create_index = old.map_or(index, |o| o.create_index);
                p.modify_index = index;
                self.pools.pools.insert(name, p);
            }
        }
        dirty
    }
}

#[cfg(test)]
mod tests;
