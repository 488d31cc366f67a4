//! Plan verification: the plan applier's check of a plan against the *latest* state.
//!
//! Schedulers plan on a snapshot and run concurrently, so two plans may both want the
//! last room on a node. The applier re-checks every node of a plan against the current
//! state, commits the nodes that still fit and refuses the rest, returning the index the
//! scheduler must refresh to before re-planning them. This check is what guarantees no
//! node is ever over-committed, whatever the schedulers did.

use std::collections::{BTreeMap, BTreeSet};

use super::plan::{Plan, PlanResult};
use super::ports::PortIndex;
use crate::model::{Allocation, Node, Usage, node_status};
use crate::state::StateStore;

/// Checks a plan against `state` and returns what may be committed.
pub fn verify_plan(state: &StateStore, plan: &Plan) -> PlanResult {
    let rejected = rejected_nodes(state, plan);
    let mut accepted = header(plan);
    if !plan.all_at_once || rejected.is_empty() {
        let keep = |id: &String| !rejected.contains_key(id);
        accepted.node_allocation = plan
            .node_allocation
            .iter()
            .filter(|(k, _)| keep(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        accepted.node_update = plan
            .node_update
            .iter()
            .filter(|(k, _)| keep(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        accepted.node_preemptions = plan
            .node_preemptions
            .iter()
            .filter(|(k, _)| keep(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        accepted.deployment = plan.deployment.clone();
        accepted.deployment_updates = plan.deployment_updates.clone();
        accepted.evals = plan.evals.clone();
    }
    result(state, plan, accepted, rejected)
}

/// [`verify_plan`] for a plan the caller no longer needs: the accepted part is moved
/// out of it instead of copied (a plan can carry thousands of allocations).
pub fn verify_plan_owned(state: &StateStore, mut plan: Plan) -> PlanResult {
    let rejected = rejected_nodes(state, &plan);
    let mut accepted = header(&plan);
    if !plan.all_at_once || rejected.is_empty() {
        let keep = |id: &String| !rejected.contains_key(id);
        accepted.node_allocation = std::mem::take(&mut plan.node_allocation);
        accepted.node_allocation.retain(|k, _| keep(k));
        accepted.node_update = std::mem::take(&mut plan.node_update);
        accepted.node_update.retain(|k, _| keep(k));
        accepted.node_preemptions = std::mem::take(&mut plan.node_preemptions);
        accepted.node_preemptions.retain(|k, _| keep(k));
        accepted.deployment = plan.deployment.take();
        accepted.deployment_updates = std::mem::take(&mut plan.deployment_updates);
        accepted.evals = std::mem::take(&mut plan.evals);
    }
    result(state, &plan, accepted, rejected)
}

/// Nodes of the plan whose part no longer fits, with the reason.
fn rejected_nodes(state: &StateStore, plan: &Plan) -> BTreeMap<String, String> {
    let mut rejected = BTreeMap::new();
    for node_id in plan_nodes(plan) {
        if let Err(reason) = check_node(state, plan, node_id) {
            rejected.insert(node_id.clone(), reason);
        }
    }
    super::quota::reject_over_quota(state, plan, &mut rejected);
    reject_over_claimed(state, plan, &mut rejected);
    rejected
}

/// Rejects nodes whose new placements would take more CSI claims than a volume's
/// access mode allows, one node at a time until what is left fits.
fn reject_over_claimed(state: &StateStore, plan: &Plan, rejected: &mut BTreeMap<String, String>) {
    loop {
        let placements: Vec<&Allocation> = plan
            .node_allocation
            .iter()
            .filter(|(node, _)| !rejected.contains_key(*node))
            .flat_map(|(_, allocs)| allocs.iter())
            .collect();
        match super::feasible::csi::over_claimed(state, &placements) {
            Some((node, reason)) if !rejected.contains_key(&node) => {
                rejected.insert(node, reason);
            }
            _ => return,
        }
    }
}

fn plan_nodes(plan: &Plan) -> BTreeSet<&String> {
    plan.node_allocation
        .keys()
        .chain(plan.node_update.keys())
        .chain(plan.node_preemptions.keys())
        .collect()
}

fn header(plan: &Plan) -> Plan {
    Plan {
        eval_id: plan.eval_id.clone(),
        priority: plan.priority,
        all_at_once: plan.all_at_once,
        job: plan.job.clone(),
        snapshot_index: plan.snapshot_index,
        ..Plan::default()
    }
}

/// The result: all-or-nothing plans lose every node when one fails (`plan` still holds
/// its nodes then: nothing was moved out of it).
fn result(
    state: &StateStore,
    plan: &Plan,
    accepted: Plan,
    mut rejected: BTreeMap<String, String>,
) -> PlanResult {
    if plan.all_at_once && !rejected.is_empty() {
        for node_id in plan_nodes(plan) {
            rejected
                .entry(node_id.clone())
                .or_insert_with(|| "another node of an all_at_once plan did not fit".into());
        }
    }
    let refresh_index = if rejected.is_empty() {
        0
    } else {
        state.latest_index()
    };
    PlanResult {
        accepted,
        rejected_nodes: rejected,
        refresh_index,
    }
}

/// Whether one node's part of the plan fits the node as it is now.
fn check_node(state: &StateStore, plan: &Plan, node_id: &str) -> Result<(), String> {
    let placing = plan
        .node_allocation
        .get(node_id)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if placing.is_empty() {
        return Ok(()); // Only stops and evictions: always allowed.
    }
    let node = state
        .node(node_id)
        .ok_or_else(|| format!("node {node_id} does not exist"))?;
    // A placement the state never committed has `CreateIndex` 0 (the store sets it):
    // taken as new without a look-up. Wrongly so only for a stored allocation sent
    // back with a zero index, and then the checks below are stricter, never looser.
    let is_new = |a: &Allocation| a.create_index == 0 || state.alloc_stub(&a.id).is_none();
    let adds_new = placing.iter().any(is_new);
    // A disconnected node takes only the marking of its own allocations as `unknown`
    // (Nomad's `isValidForDisconnectedNode`): without it they could never wait there.
    let only_unknown_marks = placing
        .iter()
        .all(|a| !is_new(a) && a.client_status == crate::model::client_status::UNKNOWN);
    if node.status == node_status::DISCONNECTED && only_unknown_marks {
        return Ok(());
    }
    if node.status != node_status::READY {
        return Err(format!(
            "node {node_id} is {} and cannot take allocations",
            node.status
        ));
    }
    if adds_new && !node.is_schedulable() {
        return Err(format!(
            "node {node_id} is not eligible for new allocations (ineligible or draining)"
        ));
    }
    // Allocations leaving the node, or replaced by their updated versions in the plan.
    let mut leaving: BTreeSet<&str> = BTreeSet::new();
    leaving.extend(
        plan.node_update
            .get(node_id)
            .into_iter()
            .flatten()
            .map(|s| s.alloc_id.as_str()),
    );
    leaving.extend(
        plan.node_preemptions
            .get(node_id)
            .into_iter()
            .flatten()
            .map(|p| p.alloc_id.as_str()),
    );
    leaving.extend(
        placing
            .iter()
            .filter(|a| a.create_index != 0)
            .map(|a| a.id.as_str()),
    );
    let mut used = state.node_usage(node_id);
    for id in &leaving {
        if let Some(a) = state.alloc_stub(id).filter(|a| a.node_id == node_id) {
            used.sub(&a.usage());
        }
    }
    let mut ask = Usage::default();
    for a in placing {
        ask.add(&a.usage());
    }
    node.capacity()
        .fits(&used, &ask)
        .map_err(|dim| format!("node {node_id} would exceed its {dim}"))?;
    let with_ports = placing
        .iter()
        .any(|a| super::ports::alloc_ports(a).next().is_some());
    let with_devices_or_cores = placing.iter().any(holds_instances);
    if with_ports || with_devices_or_cores {
        let staying: Vec<&Allocation> = state
            .allocs_by_node(node_id)
            .into_iter()
            .filter(|a| !a.terminal() && !leaving.contains(a.id.as_str()))
            .collect();
        let all = staying.iter().copied().chain(placing.iter());
        if with_ports {
            PortIndex::for_node(node, all.clone()).map_err(|e| format!("node {node_id}: {e}"))?;
        }
        if with_devices_or_cores {
            check_cores(node, all.clone())?;
            let new = placing.iter().filter(|a| is_new(a));
            super::devices::verify_node(node, all, new)?;
        }
    }
    Ok(())
}

fn holds_instances(a: &Allocation) -> bool {
    a.allocated_resources
        .tasks
        .values()
        .any(|t| !t.devices.is_empty() || !t.cpu.reserved_cores.is_empty())
}

/// No reserved core may be handed to two allocations (devices: `devices::verify_node`).
fn check_cores<'a>(
    node: &Node,
    allocs: impl Iterator<Item = &'a Allocation>,
) -> Result<(), String> {
    let mut cores = BTreeSet::new();
    for a in allocs {
        for t in a.allocated_resources.tasks.values() {
            for c in &t.cpu.reserved_cores {
                if !cores.insert(*c) {
                    return Err(format!("node {}: core {c} reserved twice", node.id));
                }
            }
        }
    }
    Ok(())
}
