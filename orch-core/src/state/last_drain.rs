//! Nodes' `LastDrain`: what the last drain of each node was and how it ended, kept in
//! a table beside the nodes (their layout in the log and in snapshots stays as it was)
//! and removed with the node.
//!
//! Nomad's rules: setting a drain on a node not draining starts a new record (its
//! start time, the operator's metadata); updating a running drain refreshes the record;
//! clearing a drain marks it `canceled`, or `complete` when the leader's drainer
//! cleared it because every allocation had moved.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::changes::Outcome;
use super::{NodeDrain, StateStore};
use crate::model::Timestamp;
use crate::model::node::{DrainMetadata, drain_status};

/// `Node.UpdateDrain` from an operator: the drain with the metadata and token it came
/// with. The leader's drainer sends plain [`NodeDrain`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeDrainMeta {
    /// The drain change.
    pub drain: NodeDrain,
    /// The operator's metadata: replaces the record's when a drain starts or is
    /// updated, is added to it when one is cancelled.
    pub meta: BTreeMap<String, String>,
    /// Accessor of the caller's ACL token (empty without ACLs).
    pub accessor_id: String,
}

/// The record a drain change leaves, or `None` when it leaves the record as it is.
pub(super) fn next_last_drain(
    current: Option<&DrainMetadata>,
    was_draining: bool,
    c: &NodeDrain,
    meta: Option<BTreeMap<String, String>>,
    accessor_id: &str,
) -> Option<DrainMetadata> {
    let now = Timestamp(c.now);
    if c.drain_strategy.is_some() {
        let mut d = match current {
            Some(d) if was_draining && d.status == drain_status::DRAINING => d.clone(),
            _ => DrainMetadata {
                started_at: now,
                ..DrainMetadata::default()
            },
        };
        d.status = drain_status::DRAINING.to_string();
        d.updated_at = now;
        d.accessor_id = accessor_id.to_string();
        if let Some(m) = meta {
            d.meta = m;
        }
        return Some(d);
    }
    if !was_draining {
        return None;
    }
    let mut d = current.cloned().unwrap_or(DrainMetadata {
        started_at: now,
        ..DrainMetadata::default()
    });
    d.status = if c.drain_complete {
        drain_status::COMPLETE
    } else {
        drain_status::CANCELED
    }
    .to_string();
    d.updated_at = now;
    if !accessor_id.is_empty() {
        d.accessor_id = accessor_id.to_string();
    }
    d.meta.extend(meta.unwrap_or_default());
    Some(d)
}

impl StateStore {
    /// The node's last drain, if it was ever drained.
    pub fn last_drain(&self, node_id: &str) -> Option<&DrainMetadata> {
        self.last_drains.get(node_id)
    }

    pub(super) fn node_drain_meta(&self, index: u64, c: NodeDrainMeta) -> Outcome {
        self.node_drain_recorded(index, c.drain, Some(c.meta), &c.accessor_id)
    }

    /// Writes the node's records: stored ones replace, and a removed node takes its
    /// record with it. Returns whether the table changed.
    pub(super) fn commit_last_drains(
        &mut self,
        drains: BTreeMap<String, DrainMetadata>,
        removed_nodes: &[String],
    ) -> bool {
        let mut dirty = !drains.is_empty();
        self.last_drains.extend(drains);
        for id in removed_nodes {
            dirty |= self.last_drains.remove(id).is_some();
        }
        dirty
    }

    /// The snapshot's section: every record by node ID.
    pub(super) fn last_drain_section(&self) -> Vec<(String, DrainMetadata)> {
        self.last_drains
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Restores [`Self::last_drain_section`].
    pub(super) fn restore_last_drains(&mut self, section: Vec<(String, DrainMetadata)>) {
        self.last_drains = section.into_iter().collect();
    }
}

#[cfg(test)]
mod tests;
