//! The CSI volume check (Nomad's `CSIVolumeChecker`): a node can run a group that asks
//! for CSI volumes only if each volume exists, its plugin runs healthy on the node, the
//! node is in the volume's topology, and the volume has a free claim of the kind the
//! group needs.
//!
//! Everything the check needs from the state (volumes, the plugins' instances, the
//! claims held) is read once per evaluation in [`CsiChecker::new`]; claims the plan
//! being built adds are read from it at each check, so two placements of one plan
//! cannot both take a single-writer volume. The plan verifier applies the same count
//! to the latest state ([`over_claimed`]).

use std::collections::BTreeMap;

use super::distinct::ProposedAllocs;
use crate::model::csi::{ClaimLimits, CsiVolume, claimed_volume_id};
use crate::model::{Allocation, Node, TaskGroup, VolumeRequest};
use crate::state::{CsiClaim, CsiPluginView, StateStore};

/// One CSI volume request of a group.
#[derive(Debug, Clone)]
struct CsiReq {
    source: String,
    per_alloc: bool,
    access_mode: String,
    attachment_mode: String,
    write: bool,
    /// `source`, or `source[i]` for the allocation being placed.
    resolved: String,
}

impl CsiReq {
    fn new(r: &VolumeRequest) -> Self {
        let mode_writes = ClaimLimits::of(&r.access_mode).is_none_or(|l| l.max_writers != Some(0));
        CsiReq {
            source: r.source.clone(),
            per_alloc: r.per_alloc,
            access_mode: r.access_mode.clone(),
            attachment_mode: r.attachment_mode.clone(),
            write: !r.read_only && mode_writes,
            resolved: r.source.clone(),
        }
    }
}

/// What the state says about one volume, read once per evaluation.
#[derive(Debug, Clone)]
struct VolumeFacts {
    volume: CsiVolume,
    /// Claims held in the state (every job's, this one's included).
    claims: Vec<CsiClaim>,
}

/// The CSI check of one task group.
#[derive(Debug, Clone, Default)]
pub struct CsiChecker {
    namespace: String,
    group: String,
    reqs: Vec<CsiReq>,
    volumes: BTreeMap<String, VolumeFacts>,
    plugins: BTreeMap<String, CsiPluginView>,
}

impl CsiChecker {
    /// Reads the volumes the group may claim, their claims and their plugins.
    pub fn new(state: &StateStore, namespace: &str, group: &TaskGroup) -> Self {
        let reqs: Vec<CsiReq> = group
            .volumes
            .values()
            .filter(|r| r.kind == "csi")
            .map(CsiReq::new)
            .collect();
        if reqs.is_empty() {
            return CsiChecker::default();
        }
        let mut volumes = BTreeMap::new();
        for r in &reqs {
            let candidates: Vec<&CsiVolume> = state
                .csi_volumes()
                .filter(|v| v.namespace == namespace)
                .filter(|v| v.id == r.source || (r.per_alloc && is_instance(&v.id, &r.source)))
                .collect();
            for v in candidates {
                let claims = state.csi_claims(namespace, &v.id);
                volumes.insert(
                    v.id.clone(),
                    VolumeFacts {
                        volume: v.clone(),
                        claims,
                    },
                );
            }
        }
        CsiChecker {
            namespace: namespace.to_string(),
            group: group.name.clone(),
            reqs,
            volumes,
            plugins: state.csi_plugins(),
        }
    }

    /// Whether the group asks for no CSI volume (the check always passes).
    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Resolves `per_alloc` requests for the allocation named `alloc_name`.
    pub fn set_alloc_name(&mut self, alloc_name: &str) {
        for r in self.reqs.iter_mut().filter(|r| r.per_alloc) {
            r.resolved = claimed_volume_id(&r.source, true, alloc_name);
        }
    }

    /// `None` when `node` can mount every volume the group asks for, else the reason
    /// in Nomad's words.
    pub fn failure(&self, node: &Node, proposed: &impl ProposedAllocs) -> Option<String> {
        for r in &self.reqs {
            let id = &r.resolved;
            let Some(facts) = self.volumes.get(id) else {
                return Some(format!("missing CSI Volume {id}"));
            };
            if let Some(reason) = self.plugin_failure(&facts.volume, node) {
                return Some(reason);
            }
            if !facts.volume.supports(&r.access_mode, &r.attachment_mode) {
                return Some(format!(
                    "CSI volume {id} does not support access mode {} with attachment mode {}",
                    r.access_mode, r.attachment_mode
                ));
            }
            let planned = proposed
                .job_allocs()
                .filter(|a| a.create_index == 0 && !a.client_terminal())
                .filter(|a| self.claims_in_plan(a, id));
            if !admits(r, &facts.claims, planned) {
                return Some(if r.write {
                    format!("CSI volume {id} has exhausted its available writer claims")
                } else {
                    format!(
                        "CSI volume {id} is unschedulable or has exhausted its available reader claims"
                    )
                });
            }
        }
        None
    }

    /// Whether a planned allocation of this job claims volume `id` (its group is the
    /// one this checker was built for when its name resolves to `id`).
    fn claims_in_plan(&self, a: &Allocation, id: &str) -> bool {
        a.namespace.as_str() == self.namespace
            && a.task_group.as_str() == self.group
            && self
                .reqs
                .iter()
                .any(|r| claimed_volume_id(&r.source, r.per_alloc, &a.name) == id)
    }

    fn plugin_failure(&self, vol: &CsiVolume, node: &Node) -> Option<String> {
        let pid = &vol.plugin_id;
        let Some(plugin) = self.plugins.get(pid) else {
            return Some(format!(
                "CSI plugin {pid} is missing from client {}",
                node.id
            ));
        };
        let Some(instance) = plugin.nodes.get(&node.id) else {
            return Some(format!(
                "CSI plugin {pid} is missing from client {}",
                node.id
            ));
        };
        if !instance.healthy {
            return Some(format!(
                "CSI plugin {pid} is unhealthy on client {}",
                node.id
            ));
        }
        if plugin.controller_required && plugin.controllers_healthy() == 0 {
            return Some(format!(
                "CSI volume {} is unschedulable: plugin {pid} has no healthy controller",
                vol.id
            ));
        }
        if !vol.topologies.is_empty() {
            let at = instance
                .node_info
                .as_ref()
                .and_then(|i| i.accessible_topology.as_ref());
            let reachable = at.is_some_and(|at| vol.topologies.iter().any(|t| t.is_within(at)));
            if !reachable {
                return Some("did not meet topology requirement".to_string());
            }
        }
        None
    }
}

/// Whether `id` is one of `source`'s per-allocation instances (`source[i]`).
fn is_instance(id: &str, source: &str) -> bool {
    id.strip_prefix(source)
        .is_some_and(|rest| rest.starts_with('[') && rest.ends_with(']'))
}

/// Whether one more claim of `r`'s kind fits next to the state's claims and the
/// plan's (`planned` are the plan's new allocations claiming the same volume, all of
/// the same group, so of the same kind as `r`).
fn admits<'a>(
    r: &CsiReq,
    claims: &[CsiClaim],
    planned: impl Iterator<Item = &'a Allocation>,
) -> bool {
    let Some(limits) = ClaimLimits::of(&r.access_mode) else {
        return false;
    };
    let mut writers = claims.iter().filter(|c| c.write).count();
    let mut readers = claims.len() - writers;
    let extra = planned.count();
    if r.write {
        writers += extra;
    } else {
        readers += extra;
    }
    limits.admits(r.write, readers, writers)
}

/// The plan verifier's claim check: the first new placement in `placements` that
/// would over-claim a volume in the latest `state`, counting the placements before
/// it, as `(node ID, reason)`. New placements are those without a `CreateIndex`.
pub fn over_claimed(state: &StateStore, placements: &[&Allocation]) -> Option<(String, String)> {
    // No volume registered: nothing can be over-claimed (the common case, free).
    state.csi_volumes().next()?;
    let mut taken: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for a in placements.iter().filter(|a| a.create_index == 0) {
        let Some(job) = state
            .job_version(&a.namespace, &a.job_id, a.job_version)
            .or_else(|| state.job(&a.namespace, &a.job_id))
        else {
            continue;
        };
        let Some(group) = job.task_groups.iter().find(|g| g.name == *a.task_group) else {
            continue;
        };
        for r in group.volumes.values().filter(|r| r.kind == "csi") {
            let req = CsiReq::new(r);
            let id = claimed_volume_id(&r.source, r.per_alloc, &a.name);
            let key = (a.namespace.to_string(), id.clone());
            let (r_plan, w_plan) = taken.entry(key.clone()).or_default();
            let claims = state.csi_claims(&key.0, &id);
            let held_writers = claims.iter().filter(|c| c.write).count();
            let writers = held_writers + *w_plan;
            let readers = claims.len() - held_writers + *r_plan;
            let fits = ClaimLimits::of(&req.access_mode)
                .is_some_and(|l| l.admits(req.write, readers, writers));
            if !fits {
                let reason = format!(
                    "CSI volume {id} has exhausted its available claims (allocation {})",
                    a.id
                );
                return Some((a.node_id.to_string(), reason));
            }
            if req.write {
                *w_plan += 1;
            } else {
                *r_plan += 1;
            }
        }
    }
    None
}
