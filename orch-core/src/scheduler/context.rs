//! The plan being built and the cluster as it would look with it: per-node resource
//! usage and the job's allocations after the plan's stops and placements. Scorers and
//! checkers read this view so each placement sees the ones before it.

use std::collections::{BTreeMap, BTreeSet};

use super::feasible::ProposedAllocs;
use super::plan::Plan;
use crate::model::{Allocation, Node, Usage};
use crate::state::{AllocPreemption, AllocStop, Id, JobAllocRef, StateStore};

/// A plan in progress over a state snapshot.
pub struct PlanContext<'s> {
    /// The snapshot planned against.
    pub state: &'s StateStore,
    /// The plan so far.
    pub plan: Plan,
    namespace: String,
    job_id: String,
    /// Usage the plan adds and removes, by node slot (every node an allocation can
    /// hold usage on has one), so the placer's refresh reads them without an ID search.
    added: BTreeMap<u32, Usage>,
    removed: BTreeMap<u32, Usage>,
    /// Allocations of the state the plan stops, preempts or replaces.
    leaving: BTreeSet<String>,
    /// Updates of allocations that a later stop in the same plan took over, kept so
    /// that [`PlanContext::unstop`] can put them back.
    superseded: BTreeMap<String, Allocation>,
    /// Node slots whose usage the plan changed, in order (repeats allowed): the placer
    /// keeps dense copies of node usage and refreshes just these.
    touched: Vec<u32>,
    /// The job's stored allocations with their nodes' slots, when the scheduler
    /// looked them up already (see [`PlanContext::with_job_slots`]).
    job_slots: Option<Vec<JobAllocRef<'s>>>,
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
            superseded: BTreeMap::new(),
            touched: Vec::new(),
            job_slots: None,
        }
    }

    /// Hands over the job's stored allocations with the slots of their nodes (as the
    /// node table gives them), so reading the job's allocations per node does not
    /// search the table again for each.
    pub fn with_job_slots(mut self, slots: Vec<JobAllocRef<'s>>) -> Self {
        self.job_slots = Some(slots);
        self
    }

    /// The job's live allocations after the plan, each with its node's slot: what
    /// [`ProposedAllocs::job_allocs`] yields, without a search per allocation when
    /// the scheduler handed the slots over.
    pub fn job_allocs_with_slots(&self) -> Vec<(&Allocation, Option<u32>)> {
        let table = self.state.node_table();
        let planned = self.plan.node_allocation.values().flatten();
        let planned = planned.map(|a| (a, table.slot(&a.node_id)));
        let live = |a: &Allocation| !a.terminal() && !self.leaving.contains(&a.id);
        match &self.job_slots {
            Some(known) if self.leaving.len() > known.len() / 4 => known
                .iter()
                .filter(|e| live(e.alloc))
                .map(|e| (e.alloc, e.slot))
                .chain(planned)
                .collect(),
            Some(known) => {
                // The plan's few leaving allocations are found in the ID-ordered job
                // by binary search, instead of a search of `leaving` per allocation
                // (a job holds hundreds, and each search compared strings).
                let gone = leaving_positions(&self.leaving, known);
                known
                    .iter()
                    .enumerate()
                    .filter(|(i, e)| !e.alloc.terminal() && gone.binary_search(i).is_err())
                    .map(|(_, e)| (e.alloc, e.slot))
                    .chain(planned)
                    .collect()
            }
            None => self
                .state
                .allocs_by_job(&self.namespace, &self.job_id)
                .into_iter()
                .filter(|a| live(a))
                .map(|a| (a, table.slot(&a.node_id)))
                .chain(planned)
                .collect(),
        }
    }

    /// The node slots of the job's live allocations of group `group` after the plan
    /// (one per allocation): what the placer counts per node. Allocations the index
    /// marks at rest are counted without being read.
    pub fn group_slots(&self, group: &str) -> Vec<Option<u32>> {
        let table = self.state.node_table();
        let planned = self.plan.node_allocation.values().flatten();
        let planned = planned
            .filter(|a| a.task_group == group)
            .map(|a| table.slot(&a.node_id));
        match &self.job_slots {
            Some(known) if self.leaving.len() <= known.len() / 4 => {
                let gone = leaving_positions(&self.leaving, known);
                // `gone` ascends as the entries do: one pointer passes it. A plain
                // loop into a vector sized once (a chained iterator's `collect`
                // grew it and cost a call per entry).
                let mut next_gone = gone.iter().copied().peekable();
                let mut out = Vec::with_capacity(known.len());
                for (i, e) in known.iter().enumerate() {
                    while next_gone.next_if(|g| *g < i).is_some() {}
                    if next_gone.peek() == Some(&i) {
                        continue;
                    }
                    if e.group == group && (e.at_rest || !e.alloc.terminal()) {
                        out.push(e.slot);
                    }
                }
                out.extend(planned);
                out
            }
            _ => self
                .job_allocs_with_slots()
                .into_iter()
                .filter(|(a, _)| a.task_group == group)
                .map(|(_, s)| s)
                .collect(),
        }
    }

    /// Node slots whose usage the plan changed, oldest first; a reader remembers how
    /// many it has seen and reads on from there.
    pub fn touched(&self) -> &[u32] {
        &self.touched
    }

    /// Records that the plan changed the usage of a node; its slot, if it has one
    /// (a node without a slot holds no usage).
    fn touch(&mut self, node_id: &str) -> Option<u32> {
        let slot = self.state.node_table().slot(node_id)?;
        self.touched.push(slot);
        Some(slot)
    }

    /// Resources in use on a node once the plan so far is applied.
    pub fn used(&self, node_id: &str) -> Usage {
        match self.state.node_table().slot(node_id) {
            Some(slot) => self.used_at(slot),
            None => self.state.node_usage(node_id),
        }
    }

    /// [`PlanContext::used`] of the node in `slot`, without a search by ID.
    pub fn used_at(&self, slot: u32) -> Usage {
        let mut u = self
            .state
            .node_table()
            .dense()
            .get(slot as usize)
            .map(|d| d.used)
            .unwrap_or_default();
        if let Some(r) = self.removed.get(&slot) {
            u.sub(r);
        }
        if let Some(a) = self.added.get(&slot) {
            u.add(a);
        }
        u
    }

    fn add_removed(&mut self, node_id: &str, usage: &Usage) {
        if let Some(slot) = self.touch(node_id) {
            self.removed.entry(slot).or_default().add(usage);
        }
    }

    /// Whether the plan already stops, preempts or replaces an allocation of the state.
    pub fn is_leaving(&self, alloc_id: &str) -> bool {
        self.leaving.contains(alloc_id)
    }

    /// Stops an allocation of the state.
    ///
    /// A stop wins over an update of the same allocation planned earlier (a follow-up
    /// eval ID, an in-place update): the plan never carries both, which the state store
    /// would refuse, and silently keeping the update would leave the allocation running.
    pub fn stop(&mut self, alloc: &Allocation, description: &str, client_status: Option<String>) {
        if !self.leaving.insert(alloc.id.clone()) {
            let Some(update) = self.take_planned_update(&alloc.id) else {
                return; // Already stopped or preempted.
            };
            self.superseded.insert(alloc.id.clone(), update);
        } else {
            self.add_removed(&alloc.node_id, &alloc.usage());
        }
        self.plan.append_stop(
            &alloc.node_id,
            AllocStop {
                alloc_id: alloc.id.clone(),
                desired_description: description.to_string(),
                client_status,
            },
        );
    }

    /// Takes back a stop (its replacement could not be placed), restoring an update it
    /// took over.
    pub fn unstop(&mut self, alloc: &Allocation) {
        if !self.leaving.remove(&alloc.id) {
            return;
        }
        if let Some(slot) = self.touch(&alloc.node_id)
            && let Some(r) = self.removed.get_mut(&slot)
        {
            r.sub(&alloc.usage());
        }
        if let Some(list) = self.plan.node_update.get_mut(alloc.node_id.as_str()) {
            list.retain(|s| s.alloc_id != alloc.id);
            if list.is_empty() {
                self.plan.node_update.remove(alloc.node_id.as_str());
            }
        }
        if let Some(update) = self.superseded.remove(&alloc.id) {
            self.place(update);
        }
    }

    /// Removes a planned update of an allocation of the state, with its usage.
    fn take_planned_update(&mut self, alloc_id: &str) -> Option<Allocation> {
        let (node, list) = self
            .plan
            .node_allocation
            .iter_mut()
            .find(|(_, list)| list.iter().any(|a| a.id == alloc_id))?;
        let pos = list.iter().position(|a| a.id == alloc_id)?;
        let update = list.remove(pos);
        let node = node.clone();
        if list.is_empty() {
            self.plan.node_allocation.remove(&node);
        }
        if let Some(slot) = self.touch(&update.node_id)
            && let Some(a) = self.added.get_mut(&slot)
        {
            a.sub(&update.usage());
        }
        Some(update)
    }

    /// Evicts an allocation of another (lower-priority) job to make room.
    pub fn preempt(&mut self, alloc: &Allocation, by: &str) {
        self.preempt_held(&alloc.id, &alloc.node_id, &alloc.usage(), by);
    }

    /// [`PlanContext::preempt`] from the node table's figures of a live allocation
    /// (its ID, node and what it holds), without reading the allocation.
    pub fn preempt_held(&mut self, alloc_id: &str, node_id: &str, usage: &Usage, by: &str) {
        if !self.leaving.insert(alloc_id.to_string()) {
            return;
        }
        self.add_removed(node_id, usage);
        self.plan
            .node_preemptions
            .entry(node_id.to_string())
            .or_default()
            .push(AllocPreemption {
                alloc_id: alloc_id.to_string(),
                preempted_by: by.to_string(),
            });
    }

    /// Adds a placement, or an updated version of an allocation of the state.
    pub fn place(&mut self, alloc: Allocation) {
        if let Some(old) = self.state.alloc_stub(&alloc.id)
            && self.leaving.insert(alloc.id.clone())
        {
            self.add_removed(&old.node_id, &old.usage());
        }
        self.place_new(alloc);
    }

    /// Adds a new allocation, one whose fresh ID the state cannot hold yet: skips
    /// looking for an older version of it (a lookup in every allocation of the cluster).
    pub fn place_new(&mut self, alloc: Allocation) {
        match self.state.node_table().slot(&alloc.node_id) {
            Some(slot) => self.place_new_at(alloc, slot),
            None => self.plan.append_alloc(alloc),
        }
    }

    /// [`PlanContext::place_new`] on the node in `slot` (the placer knows it): no
    /// search by ID.
    pub fn place_new_at(&mut self, alloc: Allocation, slot: u32) {
        self.touched.push(slot);
        self.added.entry(slot).or_default().add(&alloc.usage());
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

/// Positions in `known` (ordered by ID, as the store keeps a job's allocations) of
/// the allocations in `leaving`, ascending: each found by a binary search on the
/// index's inline IDs.
fn leaving_positions(leaving: &BTreeSet<String>, known: &[JobAllocRef<'_>]) -> Vec<usize> {
    let mut gone: Vec<usize> = leaving
        .iter()
        .filter_map(|id| {
            let key = Id::new(id);
            known.binary_search_by(|e| e.id.cmp(&key)).ok()
        })
        .collect();
    gone.sort_unstable();
    gone
}

#[cfg(test)]
mod tests;
