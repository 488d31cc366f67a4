//! Plugin health: each plugin task is probed over its socket (`Probe`, then
//! `GetPluginInfo`, the capabilities and `NodeGetInfo`) and the node's instances are
//! reported to the servers whenever what they would say changes. A plugin still
//! within its `health_timeout` is reported unhealthy with "starting" until it answers.

use std::sync::Arc;
use std::time::Duration;

use orch_core::model::csi::{CsiControllerInfo, CsiInfo, CsiNodeInfo, CsiTopology, NodeCsiPlugins};
use orch_core::model::csi_plugin_type as ty;

use super::{CALL_TIMEOUT, CsiManager, PluginTask};
use crate::csi::{ControllerRpc, CsiClient, NodeRpc};

/// How often healthy plugins are probed.
const PROBE_PERIOD: Duration = Duration::from_secs(10);
/// How often plugins that are not healthy yet are probed.
const RETRY_PERIOD: Duration = Duration::from_secs(1);
/// How often an unchanged report is sent again.
const REPORT_AGAIN: Duration = Duration::from_secs(60);

impl CsiManager {
    /// Probes the plugins and reports them, forever (the client's background task).
    pub async fn run(self: Arc<Self>) {
        loop {
            let all_healthy = self.fingerprint_once().await;
            let wait = if all_healthy {
                PROBE_PERIOD
            } else {
                RETRY_PERIOD
            };
            tokio::select! {
                _ = self.changed.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One round: probe every plugin task, report when the picture changed. Returns
    /// whether every plugin answered healthy.
    async fn fingerprint_once(&self) -> bool {
        let tasks: Vec<PluginTask> = self.lock().values().cloned().collect();
        let mut report = NodeCsiPlugins::default();
        let mut all_healthy = true;
        for t in &tasks {
            let info = probe(t).await;
            all_healthy &= info.healthy;
            let id = t.config.id.clone();
            let kind = t.config.plugin_type.as_str();
            if kind == ty::CONTROLLER || kind == ty::MONOLITH {
                let mut c = info.clone();
                c.node_info = None;
                report.controllers.insert(id.clone(), c);
            }
            if kind == ty::NODE || kind == ty::MONOLITH {
                let mut n = info;
                n.controller_info = None;
                report.nodes.insert(id, n);
            }
        }
        let mut reported = self.reported.lock().await;
        // Said again now and then: servers that forgot the node (it re-registered
        // after being collected) learn its plugins back.
        let fresh = reported
            .as_ref()
            .is_some_and(|(r, at)| *r == report && at.elapsed() < REPORT_AGAIN);
        if !fresh {
            match self.conn.report_csi_plugins(&self.node_id, &report).await {
                Ok(()) => *reported = Some((report, std::time::Instant::now())),
                Err(e) => tracing::warn!(error = %e, "reporting CSI plugins to the servers failed"),
            }
        }
        all_healthy
    }
}

/// What one plugin task says about itself now. `update_time` is left empty, so a
/// report changes only when the plugin's answers do.
async fn probe(t: &PluginTask) -> CsiInfo {
    let mut info = CsiInfo {
        plugin_id: t.config.id.clone(),
        alloc_id: t.alloc_id.clone(),
        ..CsiInfo::default()
    };
    match describe(t, &mut info).await {
        Ok(()) => {
            info.healthy = true;
            info.health_description = "healthy".into();
        }
        Err(e) => {
            let timeout = Duration::from_nanos(t.config.health_timeout.max(0) as u64);
            info.healthy = false;
            info.health_description = if t.started.elapsed() < timeout {
                format!("starting: {e}")
            } else {
                e
            };
        }
    }
    info
}

/// Fills `info` from the plugin's answers; an error says which call failed.
async fn describe(t: &PluginTask, info: &mut CsiInfo) -> Result<(), String> {
    let c = CsiClient::connect(&t.socket, CALL_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    if !c.probe().await.map_err(|e| e.to_string())? {
        return Err("the plugin's Probe answered not ready".into());
    }
    let about = c.get_plugin_info().await.map_err(|e| e.to_string())?;
    info.provider = about.name;
    info.provider_version = about.vendor_version;
    let caps = c
        .get_plugin_capabilities()
        .await
        .map_err(|e| e.to_string())?;
    info.requires_controller_plugin = caps.controller_service;
    info.requires_topologies = caps.accessibility_constraints;
    let kind = t.config.plugin_type.as_str();
    if kind != ty::NODE && caps.controller_service {
        let rpcs = c
            .controller_get_capabilities()
            .await
            .map_err(|e| e.to_string())?;
        info.controller_info = Some(controller_info(&rpcs));
    }
    if kind != ty::CONTROLLER {
        let node = c.node_get_info().await.map_err(|e| e.to_string())?;
        let rpcs = c.node_get_capabilities().await.map_err(|e| e.to_string())?;
        info.node_info = Some(CsiNodeInfo {
            id: node.node_id,
            max_volumes: node.max_volumes_per_node,
            accessible_topology: node.accessible_topology.map(|t| CsiTopology {
                segments: t.segments,
            }),
            requires_node_stage_volume: rpcs.contains(&NodeRpc::StageUnstageVolume),
        });
    }
    Ok(())
}

fn controller_info(rpcs: &[ControllerRpc]) -> CsiControllerInfo {
    let has = |r: ControllerRpc| rpcs.contains(&r);
    CsiControllerInfo {
        supports_create_delete: has(ControllerRpc::CreateDeleteVolume),
        supports_attach_detach: has(ControllerRpc::PublishUnpublishVolume),
        supports_list_volumes: has(ControllerRpc::ListVolumes),
        supports_create_delete_snapshot: has(ControllerRpc::CreateDeleteSnapshot),
        supports_list_snapshots: has(ControllerRpc::ListSnapshots),
        supports_expand: has(ControllerRpc::ExpandVolume),
        supports_read_only_attach: has(ControllerRpc::PublishReadonly),
    }
}
