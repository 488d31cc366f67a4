//! Deployment health reported by the simulated clients. What follows is the leader's:
//! the deployment watcher evaluates the job, fails or promotes the deployment
//! ([`crate::leader::deployments`]), and the feeder releases what a job dependency or
//! an ordered group waited for ([`crate::leader::Feeder`]), as on the servers.

use super::{Cluster, SimError};
use crate::model::{AllocDeploymentStatus, Timestamp};
use crate::state::AllocClientState;

impl Cluster {
    /// Plays the clients: reports the allocations healthy (or not) in their deployment.
    pub fn set_health(&mut self, alloc_ids: &[String], healthy: bool) -> Result<usize, SimError> {
        let allocs = alloc_ids
            .iter()
            .filter_map(|id| self.state.alloc_stub(id))
            .map(|a| AllocClientState {
                id: a.id.clone(),
                client_status: a.client_status.to_string(),
                deployment_status: Some(AllocDeploymentStatus {
                    healthy: Some(healthy),
                    timestamp: Timestamp(self.now),
                    ..AllocDeploymentStatus::default()
                }),
                ..AllocClientState::default()
            })
            .collect();
        self.report_clients(allocs)?;
        Ok(alloc_ids.len())
    }
}
