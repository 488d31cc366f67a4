//! Operator restores: replacing the whole store with a saved snapshot through one log
//! entry ([`Command::SnapshotRestore`](super::Command::SnapshotRestore)).
//!
//! **Indexes.** Raft indexes only grow, but a saved state may carry indexes above the log
//! of the cluster it is restored into (a fresh cluster) or below what clients of this
//! cluster have already seen. Nomad's Raft jumps its log index on restore; openraft
//! cannot, so the store keeps an *offset* between the Raft log index and its own state
//! index: `state index = log index + offset`. A restore sets the state index to
//! `max(saved latest index, the restore entry's state index)`, so every later write gets
//! a higher index than any object of the restored state *and* than anything a client saw
//! before; every table index is set to that index too, so blocking queries wake and
//! `X-Nomad-Index` never goes backwards. Objects keep their own indexes.
//!
//! The offset and the index of the last restore live in the snapshot's table indexes
//! under reserved names (`_raft_index_offset`, `_snapshot_restore`), so they survive
//! restarts and Raft snapshots without changing the snapshot layout.

use serde::{Deserialize, Serialize};

use super::{ChangedKeys, Response, StateError, StateStore};

/// Reserved table-index name of `state index - log index`.
const OFFSET_KEY: &str = "_raft_index_offset";
/// Reserved table-index name of the state index of the last operator restore.
const RESTORED_KEY: &str = "_snapshot_restore";

/// Replaces the whole state with a saved one (`PUT /v1/operator/snapshot`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRestore {
    /// [`StateStore::snapshot`] bytes, already checked by the caller (a corrupt one is
    /// refused here too, changing nothing).
    pub state: Vec<u8>,
}

impl StateStore {
    /// The state index a log entry at `log_index` applies at (see the module docs).
    pub fn state_index(&self, log_index: u64) -> u64 {
        log_index.saturating_add(self.index(OFFSET_KEY))
    }

    /// The state index of the last operator restore (0: never restored), so the leader
    /// knows to rebuild its queues from the whole state.
    pub fn restored_at(&self) -> u64 {
        self.index(RESTORED_KEY)
    }

    /// Applies a restore at state index `index` (the entry's, from [`Self::state_index`];
    /// the caller checked it is not below [`Self::latest_index`]). On error nothing
    /// changed.
    pub(super) fn snapshot_restore(
        &mut self,
        index: u64,
        c: SnapshotRestore,
    ) -> (Result<Response, StateError>, ChangedKeys) {
        let mut restored = match StateStore::restore(&c.state) {
            Ok(s) => s,
            Err(e) => return (Err(e), ChangedKeys::default()),
        };
        let log_index = index - self.index(OFFSET_KEY);
        let latest = restored.latest_index.max(index);
        // Every table a client may have watched here or that the saved state knows.
        let tables: Vec<String> = self.table_indexes.keys().cloned().collect();
        for t in tables {
            restored.table_indexes.insert(t, latest);
        }
        for v in restored.table_indexes.values_mut() {
            *v = latest;
        }
        restored
            .table_indexes
            .insert(OFFSET_KEY.to_string(), latest - log_index);
        restored
            .table_indexes
            .insert(RESTORED_KEY.to_string(), latest);
        restored.latest_index = latest;
        *self = restored;
        let response = Response {
            index: latest,
            ..Response::default()
        };
        (Ok(response), ChangedKeys::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Command;

    fn restore_cmd(s: &StateStore) -> Command {
        Command::SnapshotRestore(SnapshotRestore {
            state: s.snapshot().unwrap(),
        })
    }

    #[test]
    fn restore_into_a_younger_store_continues_after_the_saved_index() {
        let mut saved = StateStore::new();
        saved.latest_index = 500;
        let mut target = StateStore::new();
        target.latest_index = 10;
        let log = 11;
        let idx = target.state_index(log);
        let r = target.apply_batched(idx, restore_cmd(&saved)).0.unwrap();
        assert_eq!(r.index, 500);
        assert_eq!(target.latest_index(), 500);
        assert_eq!(target.restored_at(), 500);
        // The next log entry gets a higher state index than anything restored.
        assert_eq!(target.state_index(12), 501);
        // Survives a snapshot round trip (restarts, Raft snapshots).
        let again = StateStore::restore(&target.snapshot().unwrap()).unwrap();
        assert_eq!(again.state_index(12), 501);
    }

    #[test]
    fn restore_of_an_older_state_keeps_indexes_monotonic() {
        let mut saved = StateStore::new();
        saved.latest_index = 5;
        let mut target = StateStore::new();
        target.latest_index = 900;
        target.table_indexes.insert("jobs".into(), 900);
        let r = target.apply_batched(901, restore_cmd(&saved)).0.unwrap();
        assert_eq!(r.index, 901);
        assert_eq!(target.state_index(902), 902);
        assert_eq!(target.index("jobs"), 901);
    }

    #[test]
    fn corrupt_state_is_refused_and_changes_nothing() {
        let mut target = StateStore::new();
        target.latest_index = 3;
        let before = target.clone();
        let bad = Command::SnapshotRestore(SnapshotRestore {
            state: vec![6, 1, 2, 3],
        });
        assert!(target.apply_batched(4, bad).0.is_err());
        assert_eq!(target, before);
    }
}
