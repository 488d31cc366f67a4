//! Quota enforcement for the schedulers and the plan verifier.
//!
//! A job in a namespace attached to a quota with a limit for the job's region gets a
//! [`QuotaBudget`]: the quota's use (every live allocation of the quota's namespaces)
//! as the plan in progress leaves it. A placement whose ask would take the use past the
//! limit is not made; its group fails with Nomad's `QuotaExhausted` entries in the
//! placement metrics, so the evaluation blocks as for exhausted capacity. A namespace
//! without a quota gets no budget: the hot path pays one map lookup per evaluation.

use std::collections::{BTreeMap, BTreeSet};

use super::plan::Plan;
use crate::model::{Job, QuotaResources};
use crate::state::StateStore;

/// The quota room of one evaluation's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaBudget {
    /// Quota name.
    pub quota: String,
    /// The limit for the job's region.
    pub limit: QuotaResources,
    /// What the quota's namespaces use, with the plan's changes so far.
    pub used: QuotaResources,
    /// Namespaces attached to the quota (allocations in them count).
    namespaces: BTreeSet<String>,
}

impl QuotaBudget {
    /// The budget of `job`'s namespace in its region, or `None` when no quota limits it.
    /// `used` reflects the state, minus the live allocations `plan` stops or preempts,
    /// plus those it places (in-place updates replace the old figure).
    pub fn for_job(state: &StateStore, job: &Job, plan: &Plan) -> Option<Self> {
        let (spec, limit) = state.quota_limit_for(&job.namespace, &job.region)?;
        let namespaces: BTreeSet<String> = state
            .namespaces_of_quota(&spec.name)
            .map(str::to_string)
            .collect();
        let mut b = QuotaBudget {
            quota: spec.name.clone(),
            limit: limit.region_limit,
            used: state.quota_used(&spec.name),
            namespaces,
        };
        b.apply_plan(state, plan);
        Some(b)
    }

    /// Folds a plan's changes into `used` (what the plan applier checks).
    pub fn apply_plan(&mut self, state: &StateStore, plan: &Plan) {
        // Each stored allocation leaves at most once, even if stopped and updated.
        let leaving: BTreeSet<&str> = plan
            .node_update
            .values()
            .flatten()
            .map(|s| s.alloc_id.as_str())
            .chain(
                plan.node_preemptions
                    .values()
                    .flatten()
                    .map(|p| p.alloc_id.as_str()),
            )
            .chain(
                plan.node_allocation
                    .values()
                    .flatten()
                    .map(|a| a.id.as_str()),
            )
            .collect();
        for id in leaving {
            self.release_stored(state, id);
        }
        let stopped: BTreeSet<&str> = plan
            .node_update
            .values()
            .flatten()
            .map(|s| s.alloc_id.as_str())
            .collect();
        for a in plan.node_allocation.values().flatten() {
            if self.namespaces.contains(a.namespace.as_str()) && !stopped.contains(a.id.as_str()) {
                self.used.add(&a.quota_usage());
            }
        }
    }

    /// Takes a stored allocation's use out (it stops, or is replaced by a new version).
    pub fn release_stored(&mut self, state: &StateStore, alloc_id: &str) {
        if let Some(a) = state.alloc_stub(alloc_id)
            && self.namespaces.contains(a.namespace.as_str())
        {
            self.used.sub(&a.quota_usage());
        }
    }

    /// Nomad's `QuotaExhausted` entries if `ask` does not fit (empty: it fits).
    pub fn check(&self, ask: &QuotaResources) -> Vec<String> {
        self.used.exceeds(ask, &self.limit)
    }

    /// Records a placement of `ask`.
    pub fn take(&mut self, ask: &QuotaResources) {
        self.used.add(ask);
    }

    /// Gives back a stored allocation's use (a destructive update stops it first).
    pub fn release(&mut self, q: &QuotaResources) {
        self.used.sub(q);
    }
}

/// The plan verifier's quota check: with the nodes not yet refused committed, would the
/// quota's use go past its limit? If so, refuses the nodes that add use, last node
/// first, until it would not (two evaluations of one namespace planned on the same
/// snapshot cannot together exceed the quota). A plan that only frees use passes.
pub(crate) fn reject_over_quota(
    state: &StateStore,
    plan: &Plan,
    rejected: &mut BTreeMap<String, String>,
) {
    let Some(job) = &plan.job else { return };
    let Some(mut budget) = QuotaBudget::for_job(state, job, &Plan::default()) else {
        return;
    };
    // Every node the plan touches: a stop on one node pays for a placement on another
    // (a destructive update moving an allocation).
    let touched: BTreeSet<&String> = plan
        .node_allocation
        .keys()
        .chain(plan.node_update.keys())
        .chain(plan.node_preemptions.keys())
        .collect();
    let mut nodes: Vec<(&String, QuotaResources, QuotaResources)> = Vec::new();
    for node_id in touched {
        if rejected.contains_key(node_id) {
            continue;
        }
        let (add, free) = node_delta(state, plan, node_id, &budget);
        budget.release(&free);
        budget.take(&add);
        nodes.push((node_id, add, free));
    }
    let none = QuotaResources::default();
    while let Some((node_id, add, free)) = nodes.pop() {
        let over = budget.check(&none);
        if over.is_empty() {
            return;
        }
        if add == none {
            continue;
        }
        budget.release(&add);
        budget.take(&free);
        rejected.insert(
            node_id.clone(),
            format!("quota {:?} exhausted: {}", budget.quota, over.join(", ")),
        );
    }
}

/// What one node's part of a plan adds to and frees from the quota's use.
fn node_delta(
    state: &StateStore,
    plan: &Plan,
    node_id: &str,
    budget: &QuotaBudget,
) -> (QuotaResources, QuotaResources) {
    let stops = plan.node_update.get(node_id).into_iter().flatten();
    let stopped: BTreeSet<&str> = stops.map(|s| s.alloc_id.as_str()).collect();
    let placed = plan.node_allocation.get(node_id).into_iter().flatten();
    let preempted = plan.node_preemptions.get(node_id).into_iter().flatten();
    let leaving: BTreeSet<&str> = stopped
        .iter()
        .copied()
        .chain(preempted.map(|p| p.alloc_id.as_str()))
        .chain(placed.clone().map(|a| a.id.as_str()))
        .collect();
    let (mut add, mut free) = (QuotaResources::default(), QuotaResources::default());
    for id in leaving {
        if let Some(a) = state.alloc_stub(id)
            && budget.namespaces.contains(a.namespace.as_str())
        {
            free.add(&a.quota_usage());
        }
    }
    for a in placed.filter(|a| !stopped.contains(a.id.as_str())) {
        if budget.namespaces.contains(a.namespace.as_str()) {
            add.add(&a.quota_usage());
        }
    }
    (add, free)
}

#[cfg(test)]
mod tests;
