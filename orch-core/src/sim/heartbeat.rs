//! Clients that stop heartbeating, decided by the servers' own timers
//! ([`crate::leader::HeartbeatTimers`]): a silent client's timer runs from its last
//! heartbeat, and once TTL and grace pass in virtual time the node becomes what
//! [`missed_heartbeat_status`] says: `disconnected` when a group on it may wait for
//! it, `down` otherwise. Live clients always heartbeat in time, so only silent ones
//! are timed.

use super::{Cluster, SimError};
use crate::model::node_status;
use crate::scheduler::triggers::missed_heartbeat_status;

impl Cluster {
    /// The node's heartbeat timer ran out now; returns the status it got.
    pub fn miss_heartbeat(&mut self, node_id: &str) -> Result<&'static str, SimError> {
        self.known_node(node_id)?;
        let status = missed_heartbeat_status(&self.state, node_id);
        self.set_node_status(node_id, status)?;
        Ok(status)
    }

    /// The node's client stops heartbeating now (a crash, a partition): once its
    /// timer runs out in virtual time, [`Cluster::run_to_quiescence`] marks it.
    pub fn stop_heartbeats(&mut self, node_id: &str) -> Result<(), SimError> {
        self.known_node(node_id)?;
        let seed = self.rng.next_u64();
        self.silent.heartbeat(node_id, self.now, seed);
        Ok(())
    }

    /// The node's client heartbeats again: it is timed no more, and a node its missed
    /// heartbeats had marked is ready again (the client's reconnect).
    pub fn resume_heartbeats(&mut self, node_id: &str) -> Result<(), SimError> {
        self.known_node(node_id)?;
        self.silent.forget(node_id);
        let marked = self.state.node(node_id).is_some_and(|n| {
            n.status == node_status::DOWN || n.status == node_status::DISCONNECTED
        });
        if marked {
            self.set_node_status(node_id, node_status::READY)?;
        }
        Ok(())
    }

    /// Marks the silent nodes whose timers ran out by now.
    pub(super) fn expire_heartbeats(&mut self) -> Result<(), SimError> {
        for (node_id, status) in self.silent.expire(&self.state, self.now) {
            self.set_node_status(&node_id, status)?;
        }
        Ok(())
    }
}
