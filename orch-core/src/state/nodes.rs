//! Node commands: register, status, eligibility, drain, deregister; and the node class
//! hash the scheduler caches feasibility by.

use std::collections::BTreeMap;

use super::changes::{Changes, Outcome};
use super::{
    NodeDeregister, NodeDrain, NodeEligibility, NodeRegister, NodeStatusUpdate, Response,
    StateError, StateStore,
};
use crate::model::{Node, NodeEvent, Timestamp, eligibility, node_status};

/// Node events kept per node (Nomad's `MaxRetainedNodeEvents`).
pub const MAX_RETAINED_NODE_EVENTS: usize = 10;

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// 64-bit FNV-1a: tiny, stable across platforms and releases, good enough to tell node
/// classes apart. Strings are length-prefixed so field boundaries cannot blur.
struct Fnv(u64);

impl Fnv {
    fn bytes(&mut self, data: &[u8]) {
        for b in data {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn str(&mut self, s: &str) {
        self.bytes(&(s.len() as u64).to_le_bytes());
        self.bytes(s.as_bytes());
    }

    fn map<'a>(&mut self, tag: &str, entries: impl Iterator<Item = (&'a String, &'a String)>) {
        self.str(tag);
        for (k, v) in entries.filter(|(k, _)| !k.starts_with("unique.")) {
            self.str(k);
            self.str(v);
        }
    }
}

/// The node's computed class, `v1:<u64>`: a stable hash of what decides feasibility
/// (datacenter, class, pool, attributes and meta without `unique.*` keys, driver health,
/// device names). Nodes with equal classes are interchangeable for constraint checks, so
/// the scheduler evaluates a class once instead of every node.
pub fn compute_class(node: &Node) -> String {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.str("datacenter");
    h.str(&node.datacenter);
    h.str("class");
    h.str(&node.node_class);
    h.str("pool");
    h.str(&node.node_pool);
    h.map("attributes", node.attributes.iter());
    h.map("meta", node.meta.iter());
    h.str("drivers");
    for (name, d) in &node.drivers {
        h.str(name);
        h.bytes(&[u8::from(d.detected), u8::from(d.healthy)]);
    }
    h.str("devices");
    for d in &node.node_resources.devices {
        h.str(&d.vendor);
        h.str(&d.device_type);
        h.str(&d.name);
    }
    format!("v1:{}", h.0)
}

fn push_event(node: &mut Node, index: u64, now: i64, subsystem: &str, message: &str) {
    node.events.push(NodeEvent {
        message: message.to_string(),
        subsystem: subsystem.to_string(),
        details: Default::default(),
        timestamp: Timestamp(now),
        create_index: index,
    });
    let excess = node.events.len().saturating_sub(MAX_RETAINED_NODE_EVENTS);
    node.events.drain(..excess);
}

fn validate_status(node_id: &str, status: &str) -> Result<(), StateError> {
    if node_status::ALL.contains(&status) {
        Ok(())
    } else {
        Err(StateError::Invalid(format!(
            "node {node_id:?}: unknown status {status:?}; use one of {}",
            node_status::ALL.join(", ")
        )))
    }
}

fn validate_eligibility(node_id: &str, value: &str) -> Result<(), StateError> {
    if value == eligibility::ELIGIBLE || value == eligibility::INELIGIBLE {
        Ok(())
    } else {
        Err(StateError::Invalid(format!(
            "node {node_id:?}: unknown scheduling eligibility {value:?}; use \"eligible\" or \"ineligible\""
        )))
    }
}

impl StateStore {
    fn existing_node(&self, id: &str) -> Result<&Node, StateError> {
        self.nodes
            .get(id)
            .ok_or_else(|| StateError::NodeNotFound(id.to_string()))
    }

    /// Upsert. A re-registration keeps what the servers own: eligibility, drain and
    /// events (as Nomad does), so a client restart cannot undo an operator's drain.
    pub(super) fn node_register(&self, index: u64, c: NodeRegister) -> Outcome {
        let mut node = c.node;
        if node.id.is_empty() {
            return Err(StateError::Invalid(
                "node has an empty ID; the client must generate and persist a node UUID".into(),
            ));
        }
        if node.status.is_empty() {
            node.status = node_status::INITIALIZING.to_string();
        }
        validate_status(&node.id, &node.status)?;
        if node.scheduling_eligibility.is_empty() {
            node.scheduling_eligibility = eligibility::ELIGIBLE.to_string();
        }
        validate_eligibility(&node.id, &node.scheduling_eligibility)?;
        node.status_updated_at = c.now / NANOS_PER_SECOND;
        match self.nodes.get(&node.id) {
            Some(old) => {
                if !old.secret_id.is_empty() && old.secret_id != node.secret_id {
                    return Err(StateError::Conflict(format!(
                        "node secret ID does not match for node {}; not registering it (a node keeps its secret in its data dir: restore it, or purge the node first)",
                        node.id
                    )));
                }
                node.events.clone_from(&old.events);
                node.scheduling_eligibility
                    .clone_from(&old.scheduling_eligibility);
                node.drain_strategy.clone_from(&old.drain_strategy);
                node.drain = old.drain;
                if old.status == node_status::DOWN && node.status != node_status::DOWN {
                    push_event(&mut node, index, c.now, "Cluster", "Node re-registered");
                }
            }
            None => {
                node.events.clear();
                node.drain = node.drain_strategy.is_some();
                push_event(&mut node, index, c.now, "Cluster", "Node registered");
            }
        }
        if node.node_pool.is_empty() {
            node.node_pool = crate::model::NODE_POOL_DEFAULT.into();
        }
        node.computed_class = compute_class(&node);
        let mut ch = Changes::default();
        self.stage_node_pool_of(&mut ch, &node)?;
        ch.nodes.insert(node.id.clone(), Some(node));
        Ok((ch, Response::default()))
    }

    /// Status change. Re-sending the current status writes nothing.
    pub(super) fn node_status_update(&self, c: NodeStatusUpdate) -> Outcome {
        let old = self.existing_node(&c.node_id)?;
        validate_status(&c.node_id, &c.status)?;
        let mut ch = Changes::default();
        if old.status != c.status {
            let mut node = old.clone();
            node.status = c.status;
            node.status_updated_at = c.now / NANOS_PER_SECOND;
            ch.nodes.insert(node.id.clone(), Some(node));
        }
        Ok((ch, Response::default()))
    }

    pub(super) fn node_eligibility(&self, c: NodeEligibility) -> Outcome {
        let old = self.existing_node(&c.node_id)?;
        validate_eligibility(&c.node_id, &c.eligibility)?;
        if c.eligibility == eligibility::ELIGIBLE && old.drain_strategy.is_some() {
            return Err(StateError::Conflict(
                "can not set node's scheduling eligibility to eligible while it is draining; stop the drain first (it can mark the node eligible)".into(),
            ));
        }
        let mut ch = Changes::default();
        if old.scheduling_eligibility != c.eligibility {
            let mut node = old.clone();
            node.scheduling_eligibility = c.eligibility;
            ch.nodes.insert(node.id.clone(), Some(node));
        }
        Ok((ch, Response::default()))
    }

    /// Starting a drain makes the node ineligible and fills the drain's start time and
    /// force deadline from `now` (Nomad computes them in the RPC; here time arrives in
    /// the command). Clearing it makes the node eligible only if asked; the drainer's
    /// completion of a drain that was cancelled meanwhile changes nothing.
    pub(super) fn node_drain(&self, index: u64, c: NodeDrain) -> Outcome {
        self.node_drain_recorded(index, c, None, "")
    }

    /// Applies a drain change and updates the node's `LastDrain` record with the
    /// operator's `meta` and token accessor (none from the leader's drainer).
    pub(super) fn node_drain_recorded(
        &self,
        index: u64,
        c: NodeDrain,
        meta: Option<BTreeMap<String, String>>,
        accessor_id: &str,
    ) -> Outcome {
        let mut node = self.existing_node(&c.node_id)?.clone();
        let was_draining = node.drain_strategy.is_some();
        let last = super::last_drain::next_last_drain(
            self.last_drain(&c.node_id),
            was_draining,
            &c,
            meta,
            accessor_id,
        );
        match c.drain_strategy {
            Some(mut s) => {
                if s.started_at == Timestamp(0) {
                    s.started_at = Timestamp(c.now);
                }
                if s.force_deadline == Timestamp(0) {
                    if s.deadline > 0 {
                        s.force_deadline = Timestamp(c.now.saturating_add(s.deadline));
                    } else if s.deadline < 0 {
                        s.force_deadline = Timestamp(c.now);
                    }
                }
                node.drain = true;
                node.drain_strategy = Some(s);
                node.scheduling_eligibility = eligibility::INELIGIBLE.to_string();
                push_event(&mut node, index, c.now, "Drain", "Node drain strategy set");
            }
            None if c.drain_complete && node.drain_strategy.is_none() => {
                return Ok((Changes::default(), Response::default()));
            }
            None => {
                node.drain = false;
                node.drain_strategy = None;
                if c.mark_eligible {
                    node.scheduling_eligibility = eligibility::ELIGIBLE.to_string();
                }
                let message = if c.drain_complete {
                    "Node drain complete"
                } else {
                    "Node drain disabled"
                };
                push_event(&mut node, index, c.now, "Drain", message);
            }
        }
        let mut ch = Changes::default();
        if let Some(last) = last {
            ch.last_drains.insert(node.id.clone(), last);
        }
        ch.nodes.insert(node.id.clone(), Some(node));
        Ok((ch, Response::default()))
    }

    /// Removes nodes. A node with non-terminal allocations is refused (so no allocation
    /// ever points at a missing node); its terminal allocations go with it.
    pub(super) fn node_deregister(&self, c: NodeDeregister) -> Outcome {
        if c.node_ids.is_empty() {
            return Err(StateError::Invalid(
                "no node IDs given; name the nodes to deregister".into(),
            ));
        }
        let mut ch = Changes::default();
        for id in &c.node_ids {
            self.existing_node(id)?;
            let allocs = self.allocs_by_node(id);
            let live = allocs.iter().filter(|a| !a.terminal()).count();
            if live > 0 {
                return Err(StateError::Conflict(format!(
                    "node {id:?} still has {live} non-terminal allocations; drain the node or wait for them to stop before deregistering it"
                )));
            }
            for a in allocs {
                ch.allocs.insert(a.id.clone(), None);
            }
            ch.nodes.insert(id.clone(), None);
        }
        Ok((ch, Response::default()))
    }
}

#[cfg(test)]
mod tests;
