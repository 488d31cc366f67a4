//! CSI in the simulated cluster: registering volumes and reporting plugin instances.
//! The feeder's next pass releases the blocked evaluations that may now fit, as on the
//! servers when the CSI tables change.

use super::{Cluster, SimError};
use crate::model::csi::{CsiVolume, NodeCsiPlugins};
use crate::state::{Command, CsiNodePluginsUpdate, CsiVolumeRegister};

impl Cluster {
    /// Registers (or updates) a CSI volume.
    pub fn register_csi_volume(&mut self, volume: CsiVolume) -> Result<(), SimError> {
        self.apply(Command::CsiVolumeRegister(CsiVolumeRegister {
            volumes: vec![volume],
        }))?;
        Ok(())
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
        Ok(())
    }
}
