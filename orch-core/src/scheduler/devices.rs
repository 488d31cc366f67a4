//! Device instances on one node: what its allocations hold of each instance (whole
//! instances, and orch's fractional shares in millionths), which instances a new task's
//! requests get, and the plan verifier's check that no instance is given out beyond one
//! whole.
//!
//! Pure and deterministic: instances are visited in the node's order, ties keep the
//! first, and shares add up as integers ([`crate::model::DeviceShare`]).
//!
//! - A whole request (`count = N`, no share) takes N healthy instances nobody holds any
//!   part of, from one device group (Nomad's rule).
//! - A share request takes one healthy instance whose held part plus the share stays at
//!   or below a whole one, preferring the fullest started instance (so shares fill one
//!   GPU before they open the next, and whole instances stay free for whole requests).
//! - Among the node's matching device groups, the one the request's affinities weigh
//!   highest wins (Nomad's device allocator), then, for shares, the fuller instance.

use std::collections::BTreeMap;

use super::feasible::DeviceReq;
use crate::model::{
    AllocatedDeviceResource, Allocation, DeviceShare, Node, NodeDeviceResource, RequestedDevice,
    WHOLE_SHARE,
};

/// What a node's allocations hold of each device instance, in millionths of an instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceLedger {
    held: BTreeMap<String, i64>,
}

impl DeviceLedger {
    /// The holdings of `allocs` (a node's live allocations, as the plan leaves them).
    pub fn from_allocs<'a>(allocs: impl Iterator<Item = &'a Allocation>) -> Self {
        let mut ledger = DeviceLedger::default();
        for a in allocs {
            for t in a.allocated_resources.tasks.values() {
                for d in &t.devices {
                    ledger.add(d);
                }
            }
        }
        ledger
    }

    /// Records an assignment: every listed instance whole, or the share of its first.
    pub fn add(&mut self, d: &AllocatedDeviceResource) {
        match d.share {
            None => {
                for id in &d.device_ids {
                    *self.held.entry(id.clone()).or_default() += WHOLE_SHARE;
                }
            }
            Some(share) => {
                if let Some(id) = d.device_ids.first() {
                    *self.held.entry(id.clone()).or_default() += share.0.max(0);
                }
            }
        }
    }

    /// The millionths of instance `id` held.
    pub fn held(&self, id: &str) -> i64 {
        self.held.get(id).copied().unwrap_or(0)
    }

    /// Every instance with its holding, in ID order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, i64)> {
        self.held.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

/// Why a request found no instances on the node, named for the placement metrics
/// (`devices: nvidia/gpu has no instance with 0.5 free`).
fn exhausted(req: &RequestedDevice) -> String {
    match req.share {
        Some(s) => format!(
            "devices: {} has no instance with {} free",
            req.name,
            s.to_text()
        ),
        None if req.count == 1 => format!("devices: {} has no free instance", req.name),
        None => format!("devices: {} has no {} free instances", req.name, req.count),
    }
}

/// The best instances of one device group for `req`, with how full the chosen share
/// instance already is (0 for whole requests); `None` if the group cannot serve it.
fn pick_in_group(
    d: &NodeDeviceResource,
    req: &RequestedDevice,
    ledger: &DeviceLedger,
) -> Option<(Vec<String>, i64)> {
    let healthy = d.instances.iter().filter(|i| i.healthy);
    match req.share {
        None => {
            let want = usize::try_from(req.count).ok()?;
            let free: Vec<String> = healthy
                .filter(|i| ledger.held(&i.id) == 0)
                .map(|i| i.id.clone())
                .take(want)
                .collect();
            (free.len() == want).then_some((free, 0))
        }
        Some(share) => {
            let mut best: Option<(&str, i64)> = None;
            for i in healthy {
                let held = ledger.held(&i.id);
                let fits = held + share.0 <= WHOLE_SHARE;
                if fits && best.is_none_or(|(_, b)| held > b) {
                    best = Some((&i.id, held));
                }
            }
            best.map(|(id, held)| (vec![id.to_string()], held))
        }
    }
}

/// Assigns instances of `node` to one request, recording them in `ledger`; the error
/// names the device for the placement metrics.
pub fn assign_request(
    node: &Node,
    req: &RequestedDevice,
    ledger: &mut DeviceLedger,
) -> Result<AllocatedDeviceResource, String> {
    let compiled = DeviceReq::new(req);
    let mut best: Option<(&NodeDeviceResource, Vec<String>, (i64, i64))> = None;
    for d in node
        .node_resources
        .devices
        .iter()
        .filter(|d| compiled.matches(d))
    {
        let Some((ids, fullness)) = pick_in_group(d, req, ledger) else {
            continue;
        };
        let key = (compiled.affinity_weight(d), fullness);
        if best.as_ref().is_none_or(|(_, _, k)| key > *k) {
            best = Some((d, ids, key));
        }
    }
    let (d, ids, _) = best.ok_or_else(|| exhausted(req))?;
    let granted = AllocatedDeviceResource {
        vendor: d.vendor.clone(),
        device_type: d.device_type.clone(),
        name: d.name.clone(),
        device_ids: ids,
        share: req.share,
    };
    ledger.add(&granted);
    Ok(granted)
}

/// Device instances for every task of a new allocation, on top of what `ledger` (the
/// node's allocations as the plan leaves them) holds.
pub fn assign_group<'a>(
    node: &Node,
    tasks: impl Iterator<Item = (&'a str, &'a [RequestedDevice])>,
    mut ledger: DeviceLedger,
) -> Result<BTreeMap<String, Vec<AllocatedDeviceResource>>, String> {
    let mut out: BTreeMap<String, Vec<AllocatedDeviceResource>> = BTreeMap::new();
    for (task, reqs) in tasks {
        for req in reqs {
            let granted = assign_request(node, req, &mut ledger)?;
            out.entry(task.to_string()).or_default().push(granted);
        }
    }
    Ok(out)
}

/// The requests of `tg`'s tasks that state affinities, compiled for [`affinity_score`]
/// (empty for nearly every group: then nodes are not scored on devices).
pub fn affinity_requests(tg: &crate::model::TaskGroup) -> Vec<DeviceReq> {
    tg.tasks
        .iter()
        .flat_map(|t| &t.resources.devices)
        .filter(|r| !r.affinities.is_empty())
        .map(DeviceReq::new)
        .collect()
}

/// How well `node`'s devices meet the requests' affinities, in `[-1, 1]` (Nomad's
/// device score on a node: per request the best matching group's matched weights, over
/// the total weight). Instance room is not weighed here; assignment checks it.
pub fn affinity_score(node: &Node, reqs: &[DeviceReq]) -> Option<f64> {
    let total: i64 = reqs.iter().map(DeviceReq::affinity_total).sum();
    if total == 0 {
        return None;
    }
    let matched: i64 = reqs
        .iter()
        .filter_map(|r| {
            node.node_resources
                .devices
                .iter()
                .filter(|d| r.matches(d))
                .map(|d| r.affinity_weight(d))
                .max()
        })
        .sum();
    Some(matched as f64 / total as f64)
}

/// The plan verifier's device check over every allocation a node would hold (`all`):
/// a whole instance goes to one task alone, and the shares of an instance add up to at
/// most one whole. The assignments of the allocations the plan adds (`new`) must also
/// name instances of the node, and a share exactly one of them.
pub fn verify_node<'a>(
    node: &Node,
    all: impl Iterator<Item = &'a Allocation>,
    new: impl Iterator<Item = &'a Allocation>,
) -> Result<(), String> {
    for a in new {
        for d in a
            .allocated_resources
            .tasks
            .values()
            .flat_map(|t| &t.devices)
        {
            check_shape(node, d)?;
        }
    }
    let mut ledger = DeviceLedger::default();
    let mut whole: BTreeMap<&str, usize> = BTreeMap::new();
    for a in all {
        for d in a
            .allocated_resources
            .tasks
            .values()
            .flat_map(|t| &t.devices)
        {
            if d.share.is_none() {
                for id in &d.device_ids {
                    let n = whole.entry(id.as_str()).or_default();
                    *n += 1;
                    if *n > 1 {
                        return Err(format!("node {}: device {id} assigned twice", node.id));
                    }
                }
            }
            ledger.add(d);
        }
    }
    match ledger.iter().find(|(_, held)| *held > WHOLE_SHARE) {
        Some((id, held)) => Err(format!(
            "node {}: device {id} would be over-committed ({} of one instance)",
            node.id,
            DeviceShare(held).to_text()
        )),
        None => Ok(()),
    }
}

/// An assignment names instances of the node, and a share exactly one.
fn check_shape(node: &Node, d: &AllocatedDeviceResource) -> Result<(), String> {
    if let Some(share) = d.share
        && (d.device_ids.len() != 1 || !share.is_valid())
    {
        return Err(format!(
            "node {}: a share of {} must name one instance and lie in (0, 1]",
            node.id,
            share.to_text()
        ));
    }
    for id in &d.device_ids {
        let known = node
            .node_resources
            .devices
            .iter()
            .flat_map(|g| g.instances.iter())
            .any(|i| i.id == *id);
        if !known {
            return Err(format!("node {}: device {id} is not on the node", node.id));
        }
    }
    Ok(())
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
