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
