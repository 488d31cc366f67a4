//! CSI volumes and plugins in the store: their table, the commands that change them
//! (`CsiVolumeRegister`/`Deregister`, `CsiNodePlugins`), and the claims derived from
//! allocations.
//!
//! Rules:
//! - Plugins are what clients report: each node's report replaces that node's plugin
//!   instances, and deregistering a node drops them. An instance counts as healthy only
//!   while its node is `ready`.
//! - A claim is held by every allocation that is not client-terminal and whose group
//!   asks for the volume (resolved per allocation for `per_alloc`). Nothing stores
//!   claims, so none can leak: a claim ends when its allocation stops on the client,
//!   is marked lost with its node, or is garbage-collected.
//! - A volume with claims cannot be deregistered, nor moved to another plugin or
//!   external ID.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::changes::{Changes, Outcome};
use super::{JobKey, Response, StateError, StateStore};
use crate::model::csi::{
    ClaimLimits, CsiInfo, CsiVolume, NodeCsiPlugins, access_mode, attachment_mode,
    claimed_volume_id, valid_csi_id,
};
use crate::model::{Allocation, Job, node_status};

/// Table names for [`StateStore::index`].
pub mod csi_table {
    /// Registered CSI volumes.
    pub const VOLUMES: &str = "csi_volumes";
    /// CSI plugin instances as clients report them.
    pub const PLUGINS: &str = "csi_plugins";
}

/// Volumes the store holds at most, and volumes one command may carry.
pub const MAX_CSI_VOLUMES: usize = 100_000;
/// See [`MAX_CSI_VOLUMES`].
pub const MAX_CSI_BATCH: usize = 1_000;
/// Plugin instances one node may report (controllers and nodes each).
pub const MAX_NODE_PLUGINS: usize = 64;

/// `(namespace, volume ID)`: how volumes are keyed.
pub type VolumeKey = (String, String);

/// Register volumes, or update registered ones (Nomad's `CSIVolume.Register`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CsiVolumeRegister {
    /// The volumes, complete (indexes are the store's).
    pub volumes: Vec<CsiVolume>,
}

/// Remove volumes from the store (Nomad's `CSIVolume.Deregister`); the storage itself
/// is untouched.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CsiVolumeDeregister {
    /// The namespace of every volume.
    pub namespace: String,
    /// Volume IDs; every one must exist and hold no claim.
    pub ids: Vec<String>,
}

/// A client's report of the CSI plugin instances it runs (part of Nomad's node
/// fingerprint).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CsiNodePluginsUpdate {
    /// The reporting node; it must be registered.
    pub node_id: String,
    /// Everything it runs now (an empty report removes its instances).
    pub plugins: NodeCsiPlugins,
}

/// One claim on a volume, derived from an allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsiClaim {
    /// The claiming allocation.
    pub alloc_id: String,
    /// Where it runs.
    pub node_id: String,
    /// Whether it writes (else it reads).
    pub write: bool,
    /// The access mode it asked for.
    pub access_mode: String,
    /// The attachment mode it asked for.
    pub attachment_mode: String,
}

/// A plugin as the API shows it: every instance clients report, by node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsiPluginView {
    /// The plugin ID.
    pub id: String,
    /// Name and version from the first instance that reported them.
    pub provider: String,
    /// See `provider`.
    pub version: String,
    /// Whether volumes need a controller.
    pub controller_required: bool,
    /// Controller instances by node ID; `healthy` already folds in the node's status.
    pub controllers: BTreeMap<String, CsiInfo>,
    /// Node instances by node ID; `healthy` as for controllers.
    pub nodes: BTreeMap<String, CsiInfo>,
}

impl CsiPluginView {
    /// Healthy controller instances.
    pub fn controllers_healthy(&self) -> usize {
        self.controllers.values().filter(|i| i.healthy).count()
    }

    /// Healthy node instances.
    pub fn nodes_healthy(&self) -> usize {
        self.nodes.values().filter(|i| i.healthy).count()
    }

    /// Nomad's `CSIPluginListStub` JSON, with `index` as both create and modify index
    /// (plugins are derived from reports, so the table's index is theirs): one shape
    /// for the plugin list and the `CSIPlugin` event topic.
    pub fn stub_json(&self, index: u64) -> serde_json::Value {
        serde_json::json!({
            "ID": self.id,
            "Provider": self.provider,
            "ControllerRequired": self.controller_required,
            "ControllersHealthy": self.controllers_healthy(),
            "ControllersExpected": self.controllers.len(),
            "NodesHealthy": self.nodes_healthy(),
            "NodesExpected": self.nodes.len(),
            "CreateIndex": index,
            "ModifyIndex": index,
        })
    }
}

/// The two CSI tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct CsiTable {
    pub volumes: BTreeMap<VolumeKey, CsiVolume>,
    pub node_plugins: BTreeMap<String, NodeCsiPlugins>,
}

/// The snapshot's CSI section (added by snapshot format 6).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct CsiSection {
    pub volumes: Vec<CsiVolume>,
    pub node_plugins: Vec<(String, NodeCsiPlugins)>,
}

impl CsiTable {
    pub(super) fn section(&self) -> CsiSection {
        CsiSection {
            volumes: self.volumes.values().cloned().collect(),
            node_plugins: self
                .node_plugins
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    pub(super) fn from_section(s: CsiSection) -> Self {
        CsiTable {
            volumes: s
                .volumes
                .into_iter()
                .map(|v| ((v.namespace.clone(), v.id.clone()), v))
                .collect(),
            node_plugins: s.node_plugins.into_iter().collect(),
        }
    }
}

/// What CSI changes one command stages.
#[derive(Debug, Clone, Default)]
pub(super) struct CsiChanges {
    pub volumes: BTreeMap<VolumeKey, Option<CsiVolume>>,
    pub node_plugins: BTreeMap<String, Option<NodeCsiPlugins>>,
}

impl CsiChanges {
    pub(super) fn is_empty(&self) -> bool {
        self.volumes.is_empty() && self.node_plugins.is_empty()
    }
}

fn invalid(msg: String) -> StateError {
    StateError::Invalid(msg)
}

/// Checks one volume of a registration (also what the API checks before it asks a
/// plugin to create the volume, so a volume the state would refuse is never made).
pub fn check_volume(v: &CsiVolume) -> Result<(), StateError> {
    let id = &v.id;
    if !valid_csi_id(id) {
        return Err(invalid(format!(
            "volume ID {id:?} is invalid: use 1 to 128 letters, digits, '-', '_', '.', '[' or ']'"
        )));
    }
    if !valid_csi_id(&v.plugin_id) {
        return Err(invalid(format!(
            "volume {id:?}: PluginID {:?} is invalid; name the plugin's csi_plugin id",
            v.plugin_id
        )));
    }
    if v.external_id.len() > 1024 {
        return Err(invalid(format!(
            "volume {id:?}: ExternalID must be 1 to 1024 characters (the provider's ID of the volume)"
        )));
    }
    if v.requested_capabilities.is_empty() {
        return Err(invalid(format!(
            "volume {id:?}: at least one capability {{ access_mode, attachment_mode }} is required"
        )));
    }
    for c in &v.requested_capabilities {
        if !access_mode::ALL.contains(&c.access_mode.as_str()) {
            return Err(invalid(format!(
                "volume {id:?}: capability access_mode {:?} is unknown; use one of {}",
                c.access_mode,
                access_mode::ALL.join(", ")
            )));
        }
        if !attachment_mode::ALL.contains(&c.attachment_mode.as_str()) {
            return Err(invalid(format!(
                "volume {id:?}: capability attachment_mode {:?} is unknown; use file-system or block-device",
                c.attachment_mode
            )));
        }
    }
    Ok(())
}

impl StateStore {
    /// A registered volume.
    pub fn csi_volume(&self, namespace: &str, id: &str) -> Option<&CsiVolume> {
        self.csi
            .volumes
            .get(&(namespace.to_string(), id.to_string()))
    }

    /// Every registered volume, by namespace then ID.
    pub fn csi_volumes(&self) -> impl Iterator<Item = &CsiVolume> {
        self.csi.volumes.values()
    }

    /// The plugin instances a node reported.
    pub fn csi_node_plugins(&self, node_id: &str) -> Option<&NodeCsiPlugins> {
        self.csi.node_plugins.get(node_id)
    }

    /// Every plugin clients report, by ID, with its instances per node. An instance on
    /// a node that is not `ready` counts as unhealthy.
    pub fn csi_plugins(&self) -> BTreeMap<String, CsiPluginView> {
        let mut out: BTreeMap<String, CsiPluginView> = BTreeMap::new();
        for (node_id, report) in &self.csi.node_plugins {
            let ready = self
                .node(node_id)
                .is_some_and(|n| n.status == node_status::READY);
            let sides = [(&report.controllers, true), (&report.nodes, false)];
            for (instances, controller) in sides {
                for (plugin_id, info) in instances {
                    let view = out
                        .entry(plugin_id.clone())
                        .or_insert_with(|| CsiPluginView {
                            id: plugin_id.clone(),
                            ..CsiPluginView::default()
                        });
                    if view.provider.is_empty() {
                        view.provider = info.provider.clone();
                        view.version = info.provider_version.clone();
                    }
                    view.controller_required |= info.requires_controller_plugin;
                    let mut info = info.clone();
                    if !ready {
                        info.healthy = false;
                        info.health_description = format!("node {node_id} is not ready");
                    }
                    let side = if controller {
                        &mut view.controllers
                    } else {
                        &mut view.nodes
                    };
                    side.insert(node_id.clone(), info);
                }
            }
        }
        out
    }

    /// The claims on a volume: every allocation that is not client-terminal and whose
    /// group asks for it. Costs a pass over the job specs allocations refer to in the
    /// volume's namespace, then over the allocations of the jobs that ask for it.
    pub fn csi_claims(&self, namespace: &str, volume_id: &str) -> Vec<CsiClaim> {
        let mut claims = Vec::new();
        let mut jobs: Vec<(JobKey, u64)> = Vec::new();
        let start = (namespace.to_string(), String::new(), 0);
        for ((ns, job_id, version), job) in self.alloc_jobs.range(start..) {
            if ns != namespace {
                break;
            }
            if job_asks_for(job, volume_id) {
                jobs.push(((ns.clone(), job_id.clone()), *version));
            }
        }
        for (k, version) in jobs {
            let Some(job) = self.alloc_jobs.get(&(k.0.clone(), k.1.clone(), version)) else {
                continue;
            };
            for a in self.job_allocs(&k) {
                if a.job_version == version && !a.client_terminal() {
                    claims.extend(alloc_claim(job, a, volume_id));
                }
            }
        }
        claims.sort_by(|a, b| a.alloc_id.cmp(&b.alloc_id));
        claims
    }

    pub(super) fn csi_volume_register(&self, c: CsiVolumeRegister) -> Outcome {
        if c.volumes.is_empty() || c.volumes.len() > MAX_CSI_BATCH {
            return Err(invalid(format!(
                "give 1 to {MAX_CSI_BATCH} volumes to register (got {})",
                c.volumes.len()
            )));
        }
        let mut ch = Changes::default();
        for v in c.volumes {
            if v.external_id.is_empty() {
                return Err(invalid(format!(
                    "volume {:?}: ExternalID must be 1 to 1024 characters (the provider's ID of the volume)",
                    v.id
                )));
            }
            check_volume(&v)?;
            if self.namespace(&v.namespace).is_none() {
                return Err(invalid(format!(
                    "volume {:?}: namespace {:?} does not exist; create it first",
                    v.id, v.namespace
                )));
            }
            let k = (v.namespace.clone(), v.id.clone());
            if let Some(old) = self.csi.volumes.get(&k) {
                let moved = old.plugin_id != v.plugin_id || old.external_id != v.external_id;
                if moved && !self.csi_claims(&v.namespace, &v.id).is_empty() {
                    return Err(StateError::Conflict(format!(
                        "volume {:?} is in use; its PluginID and ExternalID cannot change until its allocations stop",
                        v.id
                    )));
                }
            } else if self.csi.volumes.len() + ch.csi.volumes.len() >= MAX_CSI_VOLUMES {
                return Err(invalid(format!(
                    "the cluster holds the maximum of {MAX_CSI_VOLUMES} CSI volumes; deregister unused ones first"
                )));
            }
            ch.csi.volumes.insert(k, Some(v));
        }
        Ok((ch, Response::default()))
    }

    pub(super) fn csi_volume_deregister(&self, c: CsiVolumeDeregister) -> Outcome {
        if c.ids.is_empty() || c.ids.len() > MAX_CSI_BATCH {
            return Err(invalid(format!(
                "give 1 to {MAX_CSI_BATCH} volume IDs to deregister (got {})",
                c.ids.len()
            )));
        }
        let mut ch = Changes::default();
        for id in &c.ids {
            let k = (c.namespace.clone(), id.clone());
            if !self.csi.volumes.contains_key(&k) {
                return Err(invalid(format!(
                    "volume {id:?} not found in namespace {:?}",
                    c.namespace
                )));
            }
            let claims = self.csi_claims(&c.namespace, id);
            if let Some(first) = claims.first() {
                return Err(StateError::Conflict(format!(
                    "volume {id:?} is in use by {} allocation(s) (first: {}); stop them before deregistering the volume",
                    claims.len(),
                    first.alloc_id
                )));
            }
            ch.csi.volumes.insert(k, None);
        }
        Ok((ch, Response::default()))
    }

    pub(super) fn csi_node_plugins_update(&self, c: CsiNodePluginsUpdate) -> Outcome {
        if self.node(&c.node_id).is_none() {
            return Err(StateError::NodeNotFound(c.node_id));
        }
        let p = &c.plugins;
        if p.controllers.len() > MAX_NODE_PLUGINS || p.nodes.len() > MAX_NODE_PLUGINS {
            return Err(invalid(format!(
                "a node may report at most {MAX_NODE_PLUGINS} controller and {MAX_NODE_PLUGINS} node CSI plugins"
            )));
        }
        for id in p.controllers.keys().chain(p.nodes.keys()) {
            if !valid_csi_id(id) {
                return Err(invalid(format!("CSI plugin ID {id:?} is invalid")));
            }
        }
        let mut ch = Changes::default();
        let current = self.csi.node_plugins.get(&c.node_id);
        if current != Some(&c.plugins) {
            let empty = p.controllers.is_empty() && p.nodes.is_empty();
            ch.csi
                .node_plugins
                .insert(c.node_id, (!empty).then_some(c.plugins));
        }
        Ok((ch, Response::default()))
    }

    /// Writes staged CSI changes, and drops the plugin reports of `removed_nodes`.
    /// Returns the tables it changed.
    pub(super) fn commit_csi(
        &mut self,
        index: u64,
        ch: CsiChanges,
        removed_nodes: &[String],
    ) -> Vec<&'static str> {
        let mut dirty = Vec::new();
        if !ch.volumes.is_empty() {
            dirty.push(csi_table::VOLUMES);
        }
        for (k, v) in ch.volumes {
            let old = self.csi.volumes.remove(&k);
            if let Some(mut v) = v {
                v.create_index = old.map_or(index, |o| o.create_index);
                v.modify_index = index;
                self.csi.volumes.insert(k, v);
            }
        }
        let mut plugins_changed = !ch.node_plugins.is_empty();
        for (node, p) in ch.node_plugins {
            match p {
                Some(p) => self.csi.node_plugins.insert(node, p),
                None => self.csi.node_plugins.remove(&node),
            };
        }
        for node in removed_nodes {
            plugins_changed |= self.csi.node_plugins.remove(node).is_some();
        }
        if plugins_changed {
            dirty.push(csi_table::PLUGINS);
        }
        dirty
    }
}

/// Whether any group of `job` asks for CSI volume `volume_id` (directly, or as one of
/// its `per_alloc` instances).
fn job_asks_for(job: &Job, volume_id: &str) -> bool {
    job.task_groups.iter().any(|g| {
        g.volumes.values().any(|r| {
            r.kind == "csi"
                && (r.source == volume_id
                    || (r.per_alloc
                        && volume_id
                            .strip_prefix(r.source.as_str())
                            .is_some_and(|rest| rest.starts_with('['))))
        })
    })
}

/// The claim `alloc` holds on `volume_id`, if its group asks for it.
fn alloc_claim(job: &Job, alloc: &Allocation, volume_id: &str) -> Option<CsiClaim> {
    let group = job
        .task_groups
        .iter()
        .find(|g| g.name == alloc.task_group.as_str())?;
    let req = group.volumes.values().find(|r| {
        r.kind == "csi" && claimed_volume_id(&r.source, r.per_alloc, &alloc.name) == volume_id
    })?;
    let writes = ClaimLimits::of(&req.access_mode).is_none_or(|l| l.max_writers != Some(0));
    Some(CsiClaim {
        alloc_id: alloc.id.clone(),
        node_id: alloc.node_id.to_string(),
        write: !req.read_only && writes,
        access_mode: req.access_mode.clone(),
        attachment_mode: req.attachment_mode.clone(),
    })
}

#[cfg(test)]
mod tests;
