//! CSI in the simulated cluster: registering volumes and reporting plugin instances,
//! each releasing the blocked evaluations that may now fit (as the servers' feeder
//! does when the CSI tables change).

use std::collections::BTreeSet;

use super::{Cluster, SimError};
use crate::model::csi::{CsiVolume, NodeCsiPlugins};
use crate::state::{Command, CsiNodePluginsUpdate, CsiVolumeRegister};

impl Cluster {
    /// Registers (or updates) a CSI volume.
    pub fn register_csi_volume(&mut self, volume: CsiVolume) -> Result<(), SimError> {
        self.apply(Command::CsiVolumeRegister(CsiVolumeRegister {
            volumes: vec![volume],
        }))?;
        self.csi_changed()
    }

    /// Replaces the CSI plugin instances `node_id` reports.
    pub fn report_csi_plugins(
        &mut self,
        node_id: &str,
        plugins: NodeCsiPlugins,
    ) -> Result<(), SimError> {
        self.apply(Command::CsiNodePlugins(CsiNodePluginsUpdate {
            node_id: node_id.to_string(),
            plugins,
        }))?;
        self.csi_changed()
    }

    /// CSI groups escape class caching, so releasing any class frees them; the nodes
    /// that report plugins are the ones whose answer changed.
    fn csi_changed(&mut self) -> Result<(), SimError> {
        let nodes: BTreeSet<String> = self.state.nodes().map(|n| n.id.clone()).collect();
        self.capacity_freed(nodes)
    }
}
