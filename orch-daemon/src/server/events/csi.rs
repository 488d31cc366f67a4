//! The `CSIVolume` topic: a volume registered (created) or deregistered (deleted), with
//! the volume as the state holds it (Nomad's `CSIVolumeRegistered` and
//! `CSIVolumeDeregistered`). Claims are derived from allocations, never stored, so
//! they show as those allocations' events rather than `CSIVolumeClaim`.

use orch_core::model::csi::CsiVolume;
use orch_core::state::{Command, StateStore};

use super::{Event, Payload, topic};

/// Nomad's event type of a volume registration.
pub const REGISTERED: &str = "CSIVolumeRegistered";
/// Nomad's event type of a volume deregistration.
pub const DEREGISTERED: &str = "CSIVolumeDeregistered";

/// What a CSI command touches: the volumes it writes (namespace, ID; read once it is
/// applied) and the ones it removes, as they were.
#[derive(Debug, Default)]
pub struct CsiBefore {
    written: Vec<(String, String)>,
    deleted: Vec<CsiVolume>,
}

impl CsiBefore {
    /// Captures the volumes `cmd` registers or deregisters.
    pub fn capture(store: &StateStore, cmd: &Command) -> CsiBefore {
        let mut before = CsiBefore::default();
        match cmd {
            Command::CsiVolumeRegister(c) => {
                let keys = c
                    .volumes
                    .iter()
                    .map(|v| (v.namespace.clone(), v.id.clone()));
                before.written.extend(keys);
            }
            Command::CsiVolumeDeregister(c) => {
                let gone = c
                    .ids
                    .iter()
                    .filter_map(|id| store.csi_volume(&c.namespace, id));
                before.deleted.extend(gone.cloned());
            }
            _ => {}
        }
        before
    }

    /// The events of the applied command at `index`.
    pub fn events(self, store: &StateStore, event_type: &'static str, index: u64) -> Vec<Event> {
        let written = self
            .written
            .iter()
            .filter_map(|(ns, id)| store.csi_volume(ns, id).cloned());
        written
            .chain(self.deleted)
            .map(|v| Event {
                topic: topic::CSI_VOLUME,
                event_type,
                key: v.id.clone(),
                namespace: v.namespace.clone(),
                filter_keys: vec![v.plugin_id.clone()],
                index,
                payload: Payload::Volume(Box::new(v)),
            })
            .collect()
    }
}

/// The `CSIPlugin` topic's event type: a plugin's instances changed (a node reported
/// a different set of plugins). Nomad documents no type name for this topic; orch
/// names it after Nomad's `VariableUpdated`.
pub const PLUGIN_UPDATED: &str = "CSIPluginUpdated";

/// The plugins a node's report touches: those it ran before and those it runs now.
pub fn plugins_touched(store: &StateStore, cmd: &Command) -> Vec<String> {
    let Command::CsiNodePlugins(c) = cmd else {
        return Vec::new();
    };
    let before = store.csi_node_plugins(&c.node_id);
    let reports = before.into_iter().chain(std::iter::once(&c.plugins));
    let ids: std::collections::BTreeSet<String> = reports
        .flat_map(|r| r.controllers.keys().chain(r.nodes.keys()))
        .cloned()
        .collect();
    ids.into_iter().collect()
}

/// One event per touched plugin, as the plugin list shows it now (a plugin whose last
/// instance left shows none).
pub fn plugin_events(store: &StateStore, ids: Vec<String>, index: u64) -> Vec<Event> {
    if ids.is_empty() {
        return Vec::new();
    }
    let plugins = store.csi_plugins();
    let table_index = store.index(orch_core::state::csi_table::PLUGINS);
    ids.into_iter()
        .map(|id| {
            let view =
                plugins
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| orch_core::state::CsiPluginView {
                        id: id.clone(),
                        ..Default::default()
                    });
            Event {
                topic: topic::CSI_PLUGIN,
                event_type: PLUGIN_UPDATED,
                key: id,
                namespace: String::new(),
                filter_keys: Vec::new(),
                index,
                payload: Payload::Plugin(view.stub_json(table_index)),
            }
        })
        .collect()
}
