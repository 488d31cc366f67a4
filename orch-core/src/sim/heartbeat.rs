//! A client that stops heartbeating, decided as the servers' leader decides it
//! ([`missed_heartbeat_status`]): `disconnected` when a group on it may wait for it,
//! `down` otherwise.

use super::{Cluster, SimError};
use crate::scheduler::triggers::missed_heartbeat_status;
use crate::state::{Command, NodeStatusUpdate};

impl Cluster {
    /// The node's heartbeat timer ran out; returns the status it got.
    pub fn miss_heartbeat(&mut self, node_id: &str) -> Result<&'static str, SimError> {
        self.known_node(node_id)?;
        let status = missed_heartbeat_status(&self.state, node_id);
        self.apply(Command::NodeStatusUpdate(NodeStatusUpdate {
            node_id: node_id.into(),
            status: status.into(),
            now: self.now,
        }))?;
        self.node_changed(node_id, false)?;
        Ok(status)
    }
}
