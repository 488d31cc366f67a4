//! The invariants, checked after every step of a run from what each running node
//! reports (its metrics) and holds (its log).

use std::collections::BTreeMap;

use openraft::storage::{RaftLogReader, RaftLogStorage};
use openraft::{RaftMetrics, ServerState};

use crate::raft::{LogStore, NodeId, TypeConfig};

/// What the checker has seen so far in a run.
#[derive(Default)]
pub(super) struct Checker {
    /// The leader of each term seen.
    leaders: BTreeMap<u64, NodeId>,
    /// Every committed entry seen, by index: its postcard bytes (log id and payload).
    committed: BTreeMap<u64, Vec<u8>>,
    /// Per node, the last index compared with `committed`.
    checked: BTreeMap<NodeId, u64>,
}

impl Checker {
    /// At most one leader per term.
    pub fn leaders(
        &mut self,
        metrics: &RaftMetrics<NodeId, openraft::BasicNode>,
    ) -> Result<(), String> {
        if metrics.state != ServerState::Leader {
            return Ok(());
        }
        let term = metrics.current_term;
        match self.leaders.insert(term, metrics.id) {
            Some(other) if other != metrics.id => Err(format!(
                "two leaders in term {term}: {other} and {}",
                metrics.id
            )),
            _ => Ok(()),
        }
    }

    /// Every entry `node` applied (hence committed) equals what any other node applied at
    /// that index: a committed entry is never lost or changed.
    pub async fn committed(
        &mut self,
        node: NodeId,
        log: &mut LogStore,
        applied: u64,
    ) -> Result<(), String> {
        let state = log.get_log_state().await.map_err(|e| e.to_string())?;
        let purged = state.last_purged_log_id.map_or(0, |id| id.index);
        let from = self.checked.get(&node).copied().unwrap_or(0).max(purged) + 1;
        if from > applied {
            return Ok(());
        }
        let entries = log
            .try_get_log_entries(from..=applied)
            .await
            .map_err(|e| e.to_string())?;
        for entry in entries {
            self.compare(node, &entry)?;
        }
        self.checked.insert(node, applied);
        Ok(())
    }

    fn compare(&mut self, node: NodeId, entry: &openraft::Entry<TypeConfig>) -> Result<(), String> {
        let index = entry.log_id.index;
        let bytes = postcard::to_allocvec(entry).map_err(|e| e.to_string())?;
        match self.committed.get(&index) {
            Some(seen) if *seen != bytes => Err(format!(
                "committed entry {index} differs on node {node}: {}",
                entry.log_id
            )),
            Some(_) => Ok(()),
            None => {
                self.committed.insert(index, bytes);
                Ok(())
            }
        }
    }

    /// Forgets how far `node` was checked (it restarted: its log is read again).
    pub fn restarted(&mut self, node: NodeId) {
        self.checked.remove(&node);
    }

    /// The highest term in which a leader was seen.
    pub fn last_term(&self) -> u64 {
        self.leaders.keys().next_back().copied().unwrap_or(0)
    }

    /// How many committed entries were seen.
    pub fn committed_len(&self) -> usize {
        self.committed.len()
    }
}
