//! The invariants, checked after every step of a run from what each running node
//! reports (its metrics) and holds (its log).
//!
//! "At most one leader per term" is not openraft's rule: orch runs openraft 0.9 without
//! its `single-term-leader` feature, so a leader is identified by (term, node id),
//! ordered lexicographically, and two nodes may lead one after the other in the same term
//! (a node that voted for (3, 1) may still vote for (3, 2)). The checker therefore counts
//! the terms with several leaders (the report's `shared_terms`) and checks what makes
//! that safe instead: the newest leader's log holds every entry committed so far,
//! unchanged (Raft's leader completeness; a deposed leader not yet told may lack them).

use std::collections::BTreeMap;

use openraft::storage::{RaftLogReader, RaftLogStorage};
use openraft::{RaftMetrics, ServerState};

use crate::raft::{LogStore, NodeId, TypeConfig};

/// What the checker has seen so far in a run.
#[derive(Default)]
pub(super) struct Checker {
    /// The leaders seen in each term.
    leaders: BTreeMap<u64, std::collections::BTreeSet<NodeId>>,
    /// Every committed entry seen, by index: its postcard bytes (log id and payload).
    committed: BTreeMap<u64, Vec<u8>>,
    /// Per node, the last index compared with `committed`.
    checked: BTreeMap<NodeId, u64>,
    /// Per node, the last committed index found in its log while it led.
    leader_checked: BTreeMap<NodeId, u64>,
    /// The greatest leader id (term, node) seen: openraft's order of leaders.
    newest_leader: (u64, NodeId),
    /// The highest term of a committed entry seen: a leader of an older term has been
    /// deposed (a later term's leader committed), whatever order the nodes are read in.
    committed_term: u64,
}

impl Checker {
    /// Records the leader of each term (see the module doc for why several may lead one
    /// term) and checks that a leader's log holds every committed entry.
    pub async fn leader(
        &mut self,
        metrics: &RaftMetrics<NodeId, openraft::BasicNode>,
        log: &mut LogStore,
    ) -> Result<(), String> {
        if metrics.state != ServerState::Leader {
            return Ok(());
        }
        let (node, term) = (metrics.id, metrics.current_term);
        self.leaders.entry(term).or_default().insert(node);
        // A deposed leader that has not heard of its successor yet may lack what the
        // successor committed; only the newest leader must hold everything committed.
        if (term, node) < self.newest_leader || term < self.committed_term {
            return Ok(());
        }
        self.newest_leader = (term, node);
        let Some((&last, _)) = self.committed.last_key_value() else {
            return Ok(());
        };
        let state = log.get_log_state().await.map_err(|e| e.to_string())?;
        let purged = state.last_purged_log_id.map_or(0, |id| id.index);
        let from = self
            .leader_checked
            .get(&node)
            .copied()
            .unwrap_or(0)
            .max(purged)
            + 1;
        if from > last {
            return Ok(());
        }
        let entries = log
            .try_get_log_entries(from..=last)
            .await
            .map_err(|e| e.to_string())?;
        if entries.len() as u64 != last + 1 - from {
            return Err(format!(
                "leader {node} of term {term} lacks committed entries in {from}..={last}"
            ));
        }
        for entry in &entries {
            self.compare(node, entry)?;
        }
        self.leader_checked.insert(node, last);
        Ok(())
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
                self.committed_term = self.committed_term.max(entry.log_id.leader_id.term);
                Ok(())
            }
        }
    }

    /// Forgets how far `node` was checked (it restarted: its log is read again).
    pub fn restarted(&mut self, node: NodeId) {
        self.checked.remove(&node);
        self.leader_checked.remove(&node);
    }

    /// How many terms had more than one leader (allowed by openraft, see the module doc).
    pub fn shared_terms(&self) -> usize {
        self.leaders.values().filter(|l| l.len() > 1).count()
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
