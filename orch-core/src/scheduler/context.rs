//! The plan being built and the cluster as it would look with it: per-node resource
//! usage and the job's allocations after the plan's stops and placements. Scorers and
//! checkers read this view so each placement sees the ones before it.

use std::collections::{BTreeMap, BTreeSet};

use super::feasible::ProposedAllocs;
use super::plan::Plan;
use crate::model::{Allocation, Node, Usage};
use crate::state::{AllocPreemption, AllocStop, StateStore};

/// A plan in progress over a state snapshot.
pub struct PlanContext<'s> {
    /// The snapshot planned against.
    pub state: &'s StateStore,
    /// The plan so far.
    pub plan: Plan,
    namespace: String,
    job_id: String,
    added: BTreeMap<String, Usage>,
    removed: BTreeMap<String, Usage>,
    /// Allocations of the state the plan stops, preempts or replaces.
    leaving: BTreeSet<String>,
}

impl<'s> PlanContext<'s> {
    /// An empty plan for one job's evaluation.
    pub fn new(state: &'s StateStore, namespace: &str, job_id: &str, plan: Plan) -> Self {
        PlanContext {
            state,
            plan,
            namespace: namespace.to_string(),
            job_id: job_id.to_string(),
            added: BTreeMap::new(),
            removed: BTreeMap::new(),
            leaving: BTreeSet::new(),
        }
    }

    /// Resources in use on a node once the plan so far is applied.
    pub fn used(&self, node_id: &str) -> Usage {
        let mut u = self.state.node_usage(node_id);
        if let Some(r) = self.removed.get(node_id) {
            u.sub(r);
        }
        if let Some(a) = self.added.get(node_id) {
            u.add(a);
        }
        u
    }

    /// Whether the plan already stops, preempts or replaces an allocation of the state.
    pub fn is_leaving(&self, alloc_id: &str) -> bool {
        self.leaving.contains(alloc_id)
    }

    /// Stops an allocation of the state.
    pub fn stop(&mut self, alloc: &Allocation, description: &str, client_status: Option<String>) {
        if !self.leaving.insert(alloc.id.clone()) {
            return;
        }
        self.removed
            .entry(alloc.node_id.clone())
            .or_default()
            .add(&alloc.usage());
        self.plan.append_stop(
            &alloc.node_id,
            AllocStop {
                alloc_id: alloc.id.clone(),
                desired_description: description.to_string(),
                client_status,
            },
        );
    }

    /// Takes back a stop (its replacement could not be placed).
    pub fn unstop(&mut self, alloc: &Allocation) {
        if !self.leaving.remove(&alloc.id) {
            return;
        }
        if let Some(r) = self.removed.get_mut(&alloc.node_id) {
            r.sub(&alloc.usage());
        }
        if let Some(list) = self.plan.node_update.get_mut(&alloc.node_id) {
            list.retain(|s| s.alloc_id != alloc.id);
            if list.is_empty() {
                self.plan.node_update.remove(&alloc.node_id);
            }
        }
    }

    /// Evicts an allocation of another (lower-priority) job to make room.
    pub fn preempt(&mut self, alloc: &Allocation, by: &str) {
        if !self.leaving.insert(alloc.id.clone()) {
            return;
        }
        self.removed
            .entry(alloc.node_id.clone())
            .or_default()
            .add(&alloc.usage());
        self.plan
            .node_preemptions
            .entry(alloc.node_id.clone())
            .or_default()
            .push(AllocPreemption {
                alloc_id: alloc.id.clone(),
                preempted_by: by.to_string(),
            });
    }

    /// Adds a placement, or an updated version of an allocation of the state.
    pub fn place(&mut self, alloc: Allocation) {
        if let Some(old) = self.state.alloc_stub(&alloc.id)
            && self.leaving.insert(alloc.id.clone())
        {
            self.removed
                .entry(old.node_id.clone())
                .or_default()
                .add(&old.usage());
        }
        self.added
            .entry(alloc.node_id.clone())
            .or_default()
            .add(&alloc.usage());
        self.plan.append_alloc(alloc);
    }

    /// Live allocations on a node after the plan (any job), for ports, devices, cores
    /// and preemption.
    pub fn allocs_on_node(&self, node_id: &str) -> impl Iterator<Item = &Allocation> {
        let planned = self
            .plan
            .node_allocation
            .get(node_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        self.state
            .allocs_by_node(node_id)
            .into_iter()
            .filter(|a| !a.terminal() && !self.leaving.contains(&a.id))
            .chain(planned.iter())
    }

    fn is_this_job(&self, a: &Allocation) -> bool {
        a.job_id == self.job_id && a.namespace == self.namespace
    }
}

impl ProposedAllocs for PlanContext<'_> {
    fn job_allocs_on_node(&self, node_id: &str) -> impl Iterator<Item = &Allocation> {
        self.allocs_on_node(node_id).filter(|a| self.is_this_job(a))
    }

    fn job_allocs(&self) -> impl Iterator<Item = &Allocation> {
        let planned = self.plan.node_allocation.values().flatten();
        self.state
            .allocs_by_job(&self.namespace, &self.job_id)
            .into_iter()
            .filter(|a| !a.terminal() && !self.leaving.contains(&a.id))
            .chain(planned)
    }

    fn node(&self, node_id: &str) -> Option<&Node> {
        self.state.node(node_id)
    }
}
