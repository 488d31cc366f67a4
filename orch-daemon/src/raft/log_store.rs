//! The durable Raft log in redb: entries, vote, committed index and last purged log id.
//!
//! Every write is its own redb transaction with the default (`Immediate`) durability, so
//! when a write returns, it is fsynced. That is what Raft needs from `append` and
//! `save_vote`: a vote or an acknowledged entry must survive a crash.

// `StorageError` is openraft's (fixed by its traits); the helpers return it as is.
#![allow(clippy::result_large_err)]

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{
    AnyError, Entry, LogId, LogState, RaftLogReader, StorageError, StorageIOError, Vote,
};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use super::error::RaftError;
use super::types::{NodeId, TypeConfig};

/// Log entries by index, postcard-encoded.
const LOGS: TableDefinition<u64, &[u8]> = TableDefinition::new("logs");
/// Single values (vote, committed, last purged), postcard-encoded.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

const KEY_VOTE: &str = "vote";
const KEY_COMMITTED: &str = "committed";
const KEY_PURGED: &str = "last_purged";

type StoreResult<T> = Result<T, StorageError<NodeId>>;

/// The redb-backed Raft log. Cheap to clone: clones share the database, which is how
/// openraft gets separate log readers for replication.
#[derive(Clone)]
pub struct LogStore {
    db: Arc<Database>,
}

fn read_err(e: impl ToString) -> StorageError<NodeId> {
    StorageIOError::read_logs(AnyError::error(e.to_string())).into()
}

fn write_err(e: impl ToString) -> StorageError<NodeId> {
    StorageIOError::write_logs(AnyError::error(e.to_string())).into()
}

impl LogStore {
    /// Opens (or creates) the log database at `path`.
    pub fn open(path: &Path) -> Result<LogStore, RaftError> {
        let storage = |message: String| RaftError::Storage {
            path: path.to_path_buf(),
            message,
        };
        let db = Database::create(path).map_err(|e| storage(e.to_string()))?;
        // Create the tables up front so readers never see "table does not exist".
        let txn = db.begin_write().map_err(|e| storage(e.to_string()))?;
        txn.open_table(LOGS).map_err(|e| storage(e.to_string()))?;
        txn.open_table(META).map_err(|e| storage(e.to_string()))?;
        txn.commit().map_err(|e| storage(e.to_string()))?;
        Ok(LogStore { db: Arc::new(db) })
    }

    fn get_meta<T: serde::de::DeserializeOwned>(&self, key: &str) -> StoreResult<Option<T>> {
        let txn = self.db.begin_read().map_err(read_err)?;
        let table = txn.open_table(META).map_err(read_err)?;
        match table.get(key).map_err(read_err)? {
            Some(v) => postcard::from_bytes(v.value()).map(Some).map_err(read_err),
            None => Ok(None),
        }
    }

    fn put_meta<T: serde::Serialize>(&self, key: &str, value: &T) -> StoreResult<()> {
        let bytes = postcard::to_allocvec(value).map_err(write_err)?;
        let txn = self.db.begin_write().map_err(write_err)?;
        {
            let mut table = txn.open_table(META).map_err(write_err)?;
            table.insert(key, bytes.as_slice()).map_err(write_err)?;
        }
        txn.commit().map_err(write_err)
    }

    fn last_entry(&self) -> StoreResult<Option<Entry<TypeConfig>>> {
        let txn = self.db.begin_read().map_err(read_err)?;
        let table = txn.open_table(LOGS).map_err(read_err)?;
        match table.last().map_err(read_err)? {
            Some((_, v)) => postcard::from_bytes(v.value()).map(Some).map_err(read_err),
            None => Ok(None),
        }
    }

    /// Deletes all entries with index in `range`, in one durable transaction.
    fn delete_range(&self, range: (Bound<u64>, Bound<u64>)) -> StoreResult<()> {
        let txn = self.db.begin_write().map_err(write_err)?;
        {
            let mut table = txn.open_table(LOGS).map_err(write_err)?;
            table.retain_in(range, |_, _| false).map_err(write_err)?;
        }
        txn.commit().map_err(write_err)
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> StoreResult<Vec<Entry<TypeConfig>>> {
        let txn = self.db.begin_read().map_err(read_err)?;
        let table = txn.open_table(LOGS).map_err(read_err)?;
        let bounds = (range.start_bound().cloned(), range.end_bound().cloned());
        let mut out = Vec::new();
        for item in table.range::<u64>(bounds).map_err(read_err)? {
            let (_, v) = item.map_err(read_err)?;
            out.push(postcard::from_bytes(v.value()).map_err(read_err)?);
        }
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> StoreResult<LogState<TypeConfig>> {
        let last_purged_log_id: Option<LogId<NodeId>> = self.get_meta(KEY_PURGED)?;
        let last_log_id = self.last_entry()?.map(|e| e.log_id).or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> StoreResult<()> {
        self.put_meta(KEY_VOTE, vote)
            .map_err(|e| StorageIOError::write_vote(AnyError::error(e.to_string())).into())
    }

    async fn read_vote(&mut self) -> StoreResult<Option<Vote<NodeId>>> {
        self.get_meta(KEY_VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> StoreResult<()> {
        // Not fsynced on its own (it changes with every commit): it becomes durable with
        // the next append or vote. A stale value after a crash only means fewer entries
        // are re-applied at start; the leader brings the rest.
        let bytes = postcard::to_allocvec(&committed).map_err(write_err)?;
        let mut txn = self.db.begin_write().map_err(write_err)?;
        txn.set_durability(Durability::None).map_err(write_err)?;
        {
            let mut table = txn.open_table(META).map_err(write_err)?;
            table
                .insert(KEY_COMMITTED, bytes.as_slice())
                .map_err(write_err)?;
        }
        txn.commit().map_err(write_err)
    }

    async fn read_committed(&mut self) -> StoreResult<Option<LogId<NodeId>>> {
        Ok(self
            .get_meta::<Option<LogId<NodeId>>>(KEY_COMMITTED)?
            .flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> StoreResult<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        // Encode here, fsync on the blocking pool so a slow disk does not stall the
        // runtime's worker threads (heartbeats and RPCs run there).
        let mut encoded = Vec::new();
        for entry in entries {
            let bytes = postcard::to_allocvec(&entry).map_err(write_err)?;
            encoded.push((entry.log_id.index, bytes));
        }
        let db = self.db.clone();
        let result = tokio::task::spawn_blocking(move || {
            let txn = db.begin_write().map_err(write_err)?;
            {
                let mut table = txn.open_table(LOGS).map_err(write_err)?;
                for (index, bytes) in &encoded {
                    table.insert(*index, bytes.as_slice()).map_err(write_err)?;
                }
            }
            txn.commit().map_err(write_err)
        })
        .await
        .map_err(write_err)
        .and_then(|r| r);
        match &result {
            Ok(()) => callback.log_io_completed(Ok(())),
            Err(e) => callback.log_io_completed(Err(std::io::Error::other(e.to_string()))),
        }
        result
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> StoreResult<()> {
        self.delete_range((Bound::Included(log_id.index), Bound::Unbounded))
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> StoreResult<()> {
        // The purge point and the deletion commit together, so the log state never
        // reports entries that are gone or keeps entries it says are purged.
        let bytes = postcard::to_allocvec(&log_id).map_err(write_err)?;
        let txn = self.db.begin_write().map_err(write_err)?;
        {
            let mut meta = txn.open_table(META).map_err(write_err)?;
            meta.insert(KEY_PURGED, bytes.as_slice())
                .map_err(write_err)?;
            let mut logs = txn.open_table(LOGS).map_err(write_err)?;
            logs.retain_in(..=log_id.index, |_, _| false)
                .map_err(write_err)?;
        }
        txn.commit().map_err(write_err)
    }
}
