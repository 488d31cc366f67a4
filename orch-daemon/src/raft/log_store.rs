//! The durable Raft log in redb: entries, vote, committed index and last purged log id.
//!
//! Writes go through the [`LogWriter`] thread, which groups appends into one fsynced
//! redb transaction and tells openraft when they are durable; a vote, truncation or
//! purge waits until it is on disk. That is what Raft needs: a vote or an acknowledged
//! entry survives a crash. Reads see redb plus the entries still queued.

// `StorageError` is openraft's (fixed by its traits); the helpers return it as is.
#![allow(clippy::result_large_err)]

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{
    AnyError, Entry, EntryPayload, LogId, LogState, RaftLogReader, StorageError, StorageIOError,
    Vote,
};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::error::RaftError;
use super::log_writer::{EncodedEntry, EntriesByIndex, LogWriter, SyncWrite};
use super::types::{NodeId, TypeConfig};

/// Log entries by index, postcard-encoded.
const LOGS: TableDefinition<u64, &[u8]> = TableDefinition::new("logs");
/// Single values (vote, committed, last purged), postcard-encoded.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

const KEY_VOTE: &str = "vote";
const KEY_COMMITTED: &str = "committed";
const KEY_PURGED: &str = "last_purged";

type StoreResult<T> = Result<T, StorageError<NodeId>>;

/// The redb-backed Raft log. Cheap to clone: clones share the database and the writer,
/// which is how openraft gets separate log readers for replication.
#[derive(Clone)]
pub struct LogStore {
    db: Arc<Database>,
    writer: LogWriter,
    recent: Arc<RecentEntries>,
}

/// Entries kept decoded after an append.
const RECENT_ENTRIES: usize = 64;

/// The newest appended entries, decoded: replication reads what was just appended, and
/// cloning an entry costs less than decoding its postcard again.
type RecentEntries = EntriesByIndex<Entry<TypeConfig>>;

impl RecentEntries {
    fn push(&self, entries: Vec<Entry<TypeConfig>>) {
        let mut map = self.lock();
        for e in entries {
            map.insert(e.log_id.index, e);
        }
        while map.len() > RECENT_ENTRIES {
            map.pop_first();
        }
    }

    /// The entries of `[start, end)`, if every one of them is here.
    fn get(&self, start: u64, end: u64) -> Option<Vec<Entry<TypeConfig>>> {
        let map = self.lock();
        if start >= end || !map.contains_key(&start) || !map.contains_key(&(end - 1)) {
            return None;
        }
        let out: Vec<_> = map.range(start..end).map(|(_, e)| e.clone()).collect();
        (out.len() as u64 == end - start).then_some(out)
    }
}

/// `[start, end)` of a range with both ends known.
fn half_open(bounds: (Bound<u64>, Bound<u64>)) -> Option<(u64, u64)> {
    let start = match bounds.0 {
        Bound::Included(s) => s,
        Bound::Excluded(s) => s.checked_add(1)?,
        Bound::Unbounded => return None,
    };
    let end = match bounds.1 {
        Bound::Included(e) => e.checked_add(1)?,
        Bound::Excluded(e) => e,
        Bound::Unbounded => return None,
    };
    Some((start, end))
}

fn read_err(e: impl ToString) -> StorageError<NodeId> {
    StorageIOError::read_logs(AnyError::error(e.to_string())).into()
}

fn write_err(e: impl ToString) -> StorageError<NodeId> {
    StorageIOError::write_logs(AnyError::error(e.to_string())).into()
}

impl LogStore {
    /// Opens (or creates) the log database at `path`.
    /// `reserve` holds writes back while the disk is nearly full (see `crate::disk`).
    pub fn open(path: &Path, reserve: crate::disk::DiskReserve) -> Result<LogStore, RaftError> {
        let db = Database::create(path).map_err(|e| RaftError::Storage {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        LogStore::on_database(db, path, reserve)
    }

    /// The store over an opened database (`path` names it in errors).
    fn on_database(
        db: Database,
        path: &Path,
        reserve: crate::disk::DiskReserve,
    ) -> Result<LogStore, RaftError> {
        let storage = |message: String| RaftError::Storage {
            path: path.to_path_buf(),
            message,
        };
        // Create the tables up front so readers never see "table does not exist".
        let txn = db.begin_write().map_err(|e| storage(e.to_string()))?;
        txn.open_table(LOGS).map_err(|e| storage(e.to_string()))?;
        txn.open_table(META).map_err(|e| storage(e.to_string()))?;
        txn.commit().map_err(|e| storage(e.to_string()))?;
        let db = Arc::new(db);
        let writer = LogWriter::start(Arc::clone(&db), LOGS, META, KEY_COMMITTED, reserve)
            .map_err(|e| storage(format!("starting the log writer thread: {e}")))?;
        Ok(LogStore {
            db,
            writer,
            recent: Arc::default(),
        })
    }

    /// Opens the log on a simulated disk (`raft::sim`), every write blocking its caller
    /// until the writer thread handled it (so I/O completes at a point fixed by the
    /// caller's progress, not by the thread's speed).
    #[cfg(test)]
    pub(crate) fn open_simulated(
        backend: impl redb::StorageBackend,
        reserve: crate::disk::DiskReserve,
    ) -> Result<LogStore, RaftError> {
        let path = Path::new("<simulated disk>");
        let db = redb::Builder::new()
            .create_with_backend(backend)
            .map_err(|e| RaftError::Storage {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let mut store = LogStore::on_database(db, path, reserve)?;
        store.writer.set_synchronous();
        Ok(store)
    }

    /// Injects the simulation's bug: appends acknowledged before their fsync (committed
    /// without one; a crash of the simulated disk loses them). Set before the store is
    /// cloned.
    #[cfg(test)]
    pub(crate) fn ack_before_fsync(&mut self) {
        self.writer.set_ack_before_fsync();
    }

    /// Runs a write after every queued append and waits until it is durable.
    async fn sync_write(&self, write: SyncWrite) -> StoreResult<()> {
        self.writer.sync(write).await.map_err(write_err)
    }

    fn get_meta<T: serde::de::DeserializeOwned>(&self, key: &str) -> StoreResult<Option<T>> {
        let txn = self.db.begin_read().map_err(read_err)?;
        let table = txn.open_table(META).map_err(read_err)?;
        match table.get(key).map_err(read_err)? {
            Some(v) => postcard::from_bytes(v.value()).map(Some).map_err(read_err),
            None => Ok(None),
        }
    }

    async fn put_meta<T: serde::Serialize>(&self, key: &'static str, value: &T) -> StoreResult<()> {
        let bytes = postcard::to_allocvec(value).map_err(write_err)?;
        self.sync_write(Box::new(move |txn| {
            txn.open_table(META)?.insert(key, bytes.as_slice())?;
            Ok(())
        }))
        .await
    }

    fn last_entry(&self) -> StoreResult<Option<Entry<TypeConfig>>> {
        let txn = self.db.begin_read().map_err(read_err)?;
        let table = txn.open_table(LOGS).map_err(read_err)?;
        match table.last().map_err(read_err)? {
            Some((_, v)) => postcard::from_bytes(v.value()).map(Some).map_err(read_err),
            None => Ok(None),
        }
    }

    /// Deletes all entries with index in `range`, in one durable transaction after every
    /// queued append.
    async fn delete_range(&self, range: (Bound<u64>, Bound<u64>)) -> StoreResult<()> {
        self.sync_write(Box::new(move |txn| {
            txn.open_table(LOGS)?.retain_in(range, |_, _| false)?;
            Ok(())
        }))
        .await
    }
}

/// The most entry bytes one AppendEntries request carries (at least one entry goes, however
/// big). openraft gives such a request only the heartbeat interval to complete; a follower
/// catching up on big batched entries gets them in pieces it can write in time, where
/// one oversized request would time out on every retry of the same range.
pub const MAX_APPEND_BYTES: usize = 1 << 20;

/// The encoded size of an entry's commands (0 for blank and membership entries, and for
/// a batch not yet encoded, which the log store never hands out: it encodes on append).
fn payload_bytes(entry: &Entry<TypeConfig>) -> usize {
    match &entry.payload {
        EntryPayload::Normal(batch) => batch.encoded_len().unwrap_or(0),
        _ => 0,
    }
}

/// Admits entries in order while the size of those already admitted is within the limit:
/// the entry that crosses it still goes, and so does a first entry of any size.
struct ByteBudget {
    limit: usize,
    used: usize,
    admitted: usize,
}

impl ByteBudget {
    fn new(limit: usize) -> ByteBudget {
        ByteBudget {
            limit,
            used: 0,
            admitted: 0,
        }
    }

    /// Whether the next entry, of `size` bytes, goes in (and counts it if so).
    fn admit(&mut self, size: usize) -> bool {
        if self.admitted > 0 && self.used > self.limit {
            return false;
        }
        self.used = self.used.saturating_add(size);
        self.admitted += 1;
        true
    }
}

impl LogStore {
    /// The entries of `bounds` in index order, as many as a [`ByteBudget`] of `budget`
    /// bytes admits.
    fn read_entries(
        &self,
        bounds: (Bound<u64>, Bound<u64>),
        budget: usize,
    ) -> StoreResult<Vec<Entry<TypeConfig>>> {
        let mut budget = ByteBudget::new(budget);
        if let Some(hit) = half_open(bounds).and_then(|(s, e)| self.recent.get(s, e)) {
            return Ok(hit
                .into_iter()
                .take_while(|e| budget.admit(payload_bytes(e)))
                .collect());
        }
        // Queued entries first: one the writer drops from the queue after this is
        // already committed, so the read transaction begun below sees it. Queued entries
        // win over redb at the same index (a truncation removes both before anything is
        // appended again, so redb never holds a stale entry past the queued ones).
        let queued = self.writer.pending().range(bounds);
        let first_queued = queued.first().map_or(u64::MAX, |(id, _)| id.index);
        let mut run = ConsecutiveRun::from(bounds.0);
        let txn = self.db.begin_read().map_err(read_err)?;
        let table = txn.open_table(LOGS).map_err(read_err)?;
        let mut out = Vec::new();
        for item in table.range::<u64>(bounds).map_err(read_err)? {
            let (k, v) = item.map_err(read_err)?;
            if k.value() >= first_queued {
                break;
            }
            if !run.takes(k.value()) || !budget.admit(v.value().len()) {
                return Ok(out);
            }
            out.push(postcard::from_bytes(v.value()).map_err(read_err)?);
        }
        for (id, bytes) in queued {
            if !run.takes(id.index) || !budget.admit(bytes.len()) {
                break;
            }
            out.push(postcard::from_bytes(&bytes).map_err(read_err)?);
        }
        Ok(out)
    }
}

/// The indexes a read may hand out: consecutive, from the range's start (or from the
/// first entry found, for an unbounded start).
///
/// Why: openraft sends what a read returns as the entries right after the previous log
/// ID. A read that skipped what it does not have (entries purged under a stale
/// replication stream of a leader that stepped down, seed 949 of the five-server
/// simulation) would have a follower store them after a hole.
struct ConsecutiveRun {
    next: Option<u64>,
}

impl ConsecutiveRun {
    fn from(start: Bound<u64>) -> ConsecutiveRun {
        let next = match start {
            Bound::Included(s) => Some(s),
            Bound::Excluded(s) => Some(s.saturating_add(1)),
            Bound::Unbounded => None,
        };
        ConsecutiveRun { next }
    }

    /// Whether the entry at `index` continues the run (and counts it if so).
    fn takes(&mut self, index: u64) -> bool {
        if self.next.is_some_and(|next| next != index) {
            return false;
        }
        self.next = Some(index.saturating_add(1));
        true
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> StoreResult<Vec<Entry<TypeConfig>>> {
        let bounds = (range.start_bound().cloned(), range.end_bound().cloned());
        self.read_entries(bounds, usize::MAX)
    }

    /// Replication's read: at most [`MAX_APPEND_BYTES`] per request.
    async fn limited_get_log_entries(
        &mut self,
        start: u64,
        end: u64,
    ) -> StoreResult<Vec<Entry<TypeConfig>>> {
        self.read_entries(
            (Bound::Included(start), Bound::Excluded(end)),
            MAX_APPEND_BYTES,
        )
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> StoreResult<LogState<TypeConfig>> {
        let last_purged_log_id: Option<LogId<NodeId>> = self.get_meta(KEY_PURGED)?;
        let last_log_id = match self.writer.pending().last() {
            Some(id) => Some(id),
            None => self.last_entry()?.map(|e| e.log_id).or(last_purged_log_id),
        };
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
            .await
            .map_err(|e| StorageIOError::write_vote(AnyError::error(e.to_string())).into())
    }

    async fn read_vote(&mut self) -> StoreResult<Option<Vote<NodeId>>> {
        self.get_meta(KEY_VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> StoreResult<()> {
        // Not fsynced on its own (it changes with every commit): it becomes durable with
        // the next append. A stale value after a crash only means fewer entries are
        // re-applied at start; the leader brings the rest.
        let bytes = postcard::to_allocvec(&committed).map_err(write_err)?;
        self.writer.committed(bytes).map_err(write_err)
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
        // Encode here; the writer thread fsyncs (grouped with whatever else is queued)
        // and calls `callback` when the entries are durable.
        let mut encoded: Vec<EncodedEntry> = Vec::new();
        let mut decoded = Vec::new();
        for entry in entries {
            let bytes = postcard::to_allocvec(&entry).map_err(write_err)?;
            encoded.push((entry.log_id, Arc::new(bytes)));
            decoded.push(entry);
        }
        if encoded.is_empty() {
            callback.log_io_completed(Ok(()));
            return Ok(());
        }
        self.recent.push(decoded);
        self.writer.append(encoded, callback).map_err(write_err)
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> StoreResult<()> {
        self.recent.remove_from(log_id.index);
        self.writer.pending().remove_from(log_id.index);
        self.delete_range((Bound::Included(log_id.index), Bound::Unbounded))
            .await
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> StoreResult<()> {
        // The purge point and the deletion commit together, so the log state never
        // reports entries that are gone or keeps entries it says are purged.
        let bytes = postcard::to_allocvec(&log_id).map_err(write_err)?;
        self.recent.remove_through(log_id.index);
        self.writer.pending().remove_through(log_id.index);
        self.sync_write(Box::new(move |txn| {
            txn.open_table(META)?.insert(KEY_PURGED, bytes.as_slice())?;
            txn.open_table(LOGS)?
                .retain_in(..=log_id.index, |_, _| false)?;
            Ok(())
        }))
        .await
    }
}

#[cfg(test)]
mod tests;
