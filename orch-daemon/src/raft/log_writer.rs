//! Group commit for the Raft log: one writer thread turns every append queued while the
//! previous fsync ran into a single durable redb transaction.
//!
//! Why: a redb durable commit costs far more CPU (page flush, `fdatasync`) than encoding
//! the entries in it, and openraft hands the log store one small batch at a time. With
//! the writer, `append` only queues the encoded entries (they stay readable from
//! [`PendingEntries`] until written, as openraft requires) and returns; openraft learns
//! through the `LogFlushed` callback when they are durable, so the leader sends entries
//! to followers while its own fsync runs and followers batch whatever arrives meanwhile.
//!
//! Order is the queue's: an operation that must see every earlier append on disk
//! (vote, truncate, purge) goes through the same queue and is waited for.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use openraft::LogId;
use openraft::storage::LogFlushed;
use redb::{Database, Durability};

use super::types::{NodeId, TypeConfig};

/// An encoded entry: its log id (so the log state needs no decoding) and postcard bytes.
pub(super) type EncodedEntry = (LogId<NodeId>, Arc<Vec<u8>>);

/// Log entries held in memory by index (queued for the writer, or recently appended),
/// cut like the log itself on truncation and purge.
pub(super) struct EntriesByIndex<T>(Mutex<BTreeMap<u64, T>>);

impl<T> Default for EntriesByIndex<T> {
    fn default() -> Self {
        EntriesByIndex(Mutex::default())
    }
}

impl<T> EntriesByIndex<T> {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, T>> {
        // The map is only inserted into or removed from whole entries; a panic elsewhere
        // cannot leave it half-changed.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets entries at `index` and after (a truncation).
    pub fn remove_from(&self, index: u64) {
        self.lock().split_off(&index);
    }

    /// Forgets entries up to and including `index` (a purge).
    pub fn remove_through(&self, index: u64) {
        let mut map = self.lock();
        *map = map.split_off(&index.saturating_add(1));
    }
}

/// Entries handed to the writer and not yet known to be on disk. Readers overlay them on
/// what redb holds.
pub(super) type PendingEntries = EntriesByIndex<EncodedEntry>;

impl PendingEntries {
    /// Pending entries with index in `range`.
    pub fn range(&self, range: (std::ops::Bound<u64>, std::ops::Bound<u64>)) -> Vec<EncodedEntry> {
        self.lock().range(range).map(|(_, e)| e.clone()).collect()
    }

    /// The newest pending entry's log id.
    pub fn last(&self) -> Option<LogId<NodeId>> {
        self.lock().last_key_value().map(|(_, (id, _))| *id)
    }

    fn insert(&self, entries: &[EncodedEntry]) {
        let mut map = self.lock();
        for e in entries {
            map.insert(e.0.index, e.clone());
        }
    }

    /// Drops written entries, unless a truncation replaced one meanwhile.
    fn written(&self, entries: &[EncodedEntry]) {
        let mut map = self.lock();
        for (id, bytes) in entries {
            if map
                .get(&id.index)
                .is_some_and(|(_, b)| Arc::ptr_eq(b, bytes))
            {
                map.remove(&id.index);
            }
        }
    }
}

/// A write that must run after every earlier append is durable: its changes to a write
/// transaction, which the writer begins and commits durably.
pub(super) type SyncWrite =
    Box<dyn FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error> + Send>;

enum Op {
    Append {
        entries: Vec<EncodedEntry>,
        /// Told when the entries are durable.
        callback: LogFlushed<TypeConfig>,
    },
    /// The committed log id; written with the next append (not fsynced on its own).
    Committed(Vec<u8>),
    Sync {
        write: SyncWrite,
        done: tokio::sync::oneshot::Sender<Result<(), String>>,
    },
    /// Answered once everything queued before it is handled (synchronous mode only).
    Barrier(Sender<()>),
}

/// The queue to the writer thread. The thread ends when every handle is dropped.
#[derive(Clone)]
pub(super) struct LogWriter {
    tx: Sender<Op>,
    pending: Arc<PendingEntries>,
    /// Whether every operation blocks its caller until the thread handled it (the
    /// deterministic simulation, `raft::sim`: I/O then completes at a point fixed by the
    /// caller's progress, not by the disk's speed). Never set outside tests.
    synchronous: bool,
    /// The injected bug of the simulation (`raft::sim`), never set outside tests: appends
    /// are committed without an fsync and acknowledged, so a crash of the simulated disk
    /// loses them. Read by the thread.
    #[cfg_attr(not(test), allow(dead_code))]
    skip_fsync: Arc<std::sync::atomic::AtomicBool>,
}

/// Why the writer could not take a write.
pub(super) const WRITER_GONE: &str = "the Raft log writer thread stopped; restart the agent";

impl LogWriter {
    /// Starts the writer thread for `db`; `logs` and `meta` are the tables it writes.
    pub fn start(
        db: Arc<Database>,
        logs: redb::TableDefinition<'static, u64, &'static [u8]>,
        meta: redb::TableDefinition<'static, &'static str, &'static [u8]>,
        committed_key: &'static str,
        reserve: crate::disk::DiskReserve,
    ) -> std::io::Result<LogWriter> {
        let (tx, rx) = mpsc::channel();
        let pending = Arc::new(PendingEntries::default());
        let tables = Tables {
            logs,
            meta,
            committed_key,
        };
        let thread_pending = Arc::clone(&pending);
        let skip_fsync = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread_skip = Arc::clone(&skip_fsync);
        std::thread::Builder::new()
            .name("raft-log-writer".into())
            .spawn(move || run(&db, &tables, &thread_pending, &rx, &reserve, &thread_skip))?;
        Ok(LogWriter {
            tx,
            pending,
            synchronous: false,
            skip_fsync,
        })
    }

    /// Makes every later operation block until the thread handled it (see `synchronous`).
    #[cfg(test)]
    pub fn set_synchronous(&mut self) {
        self.synchronous = true;
    }

    /// Injects the bug the simulation must find: appends acknowledged before their fsync.
    #[cfg(test)]
    pub fn set_ack_before_fsync(&mut self) {
        self.skip_fsync
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// In synchronous mode, blocks the calling thread until the writer handled everything
    /// queued before; otherwise returns at once.
    fn barrier(&self) -> Result<(), String> {
        if !self.synchronous {
            return Ok(());
        }
        let (done, rx) = mpsc::channel();
        self.tx
            .send(Op::Barrier(done))
            .map_err(|_| WRITER_GONE.to_string())?;
        rx.recv().map_err(|_| WRITER_GONE.to_string())
    }

    /// The entries not yet on disk.
    pub fn pending(&self) -> &PendingEntries {
        &self.pending
    }

    /// Queues entries; `callback` is told when they are durable. They are readable
    /// through [`Self::pending`] from now on.
    pub fn append(
        &self,
        entries: Vec<EncodedEntry>,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), String> {
        self.pending.insert(&entries);
        self.tx
            .send(Op::Append { entries, callback })
            .map_err(|_| WRITER_GONE.to_string())?;
        self.barrier()
    }

    /// Queues the committed log id (made durable by the next append).
    pub fn committed(&self, bytes: Vec<u8>) -> Result<(), String> {
        self.tx
            .send(Op::Committed(bytes))
            .map_err(|_| WRITER_GONE.to_string())?;
        self.barrier()
    }

    /// Runs `write` after every earlier append is on disk and waits for it.
    pub async fn sync(&self, write: SyncWrite) -> Result<(), String> {
        let (done, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send(Op::Sync { write, done })
            .map_err(|_| WRITER_GONE.to_string())?;
        self.barrier()?;
        rx.await.map_err(|_| WRITER_GONE.to_string())?
    }
}

struct Tables {
    logs: redb::TableDefinition<'static, u64, &'static [u8]>,
    meta: redb::TableDefinition<'static, &'static str, &'static [u8]>,
    committed_key: &'static str,
}

/// The writer loop: take everything queued, write the appends (and the newest committed
/// id) in one durable transaction, report them, then run a sync write if one ended the
/// batch. Before writing it waits while the disk is under its reserve: the batch stays
/// readable in [`PendingEntries`] and unacknowledged, so the others carry the cluster
/// meanwhile (see `crate::disk`).
fn run(
    db: &Database,
    t: &Tables,
    pending: &PendingEntries,
    rx: &Receiver<Op>,
    reserve: &crate::disk::DiskReserve,
    skip_fsync: &std::sync::atomic::AtomicBool,
) {
    while let Ok(first) = rx.recv() {
        reserve.wait_for_room_blocking();
        let mut appends = Vec::new();
        let mut committed = None;
        let mut sync = None;
        let mut barrier = None;
        let mut next = Some(first);
        while let Some(op) = next.take() {
            match op {
                Op::Append { entries, callback } => appends.push((entries, callback)),
                Op::Committed(bytes) => committed = Some(bytes),
                Op::Sync { write, done } => {
                    sync = Some((write, done));
                    break;
                }
                Op::Barrier(done) => {
                    barrier = Some(done);
                    break;
                }
            }
            next = rx.try_recv().ok();
        }
        if !appends.is_empty() || committed.is_some() {
            let durable =
                !appends.is_empty() && !skip_fsync.load(std::sync::atomic::Ordering::Relaxed);
            let result = write_batch(db, t, &appends, committed.as_deref(), durable);
            for (entries, callback) in appends {
                if result.is_ok() {
                    pending.written(&entries);
                }
                let outcome = result.clone().map_err(std::io::Error::other);
                callback.log_io_completed(outcome);
            }
        }
        if let Some((write, done)) = sync {
            let _ = done.send(run_sync(db, write));
        }
        if let Some(done) = barrier {
            let _ = done.send(());
        }
    }
}

fn run_sync(db: &Database, write: SyncWrite) -> Result<(), String> {
    let err = |e: redb::Error| format!("writing the Raft log: {e}");
    let txn = db.begin_write().map_err(|e| err(e.into()))?;
    write(&txn).map_err(err)?;
    txn.commit().map_err(|e| err(e.into()))
}

fn write_batch(
    db: &Database,
    t: &Tables,
    appends: &[(Vec<EncodedEntry>, LogFlushed<TypeConfig>)],
    committed: Option<&[u8]>,
    durable: bool,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("writing the Raft log: {e}");
    let mut txn = db.begin_write().map_err(|e| err(&e))?;
    if !durable {
        txn.set_durability(Durability::None).map_err(|e| err(&e))?;
    }
    {
        let mut logs = txn.open_table(t.logs).map_err(|e| err(&e))?;
        for (entries, _) in appends {
            for (id, bytes) in entries {
                logs.insert(id.index, bytes.as_slice())
                    .map_err(|e| err(&e))?;
            }
        }
    }
    if let Some(bytes) = committed {
        let mut meta = txn.open_table(t.meta).map_err(|e| err(&e))?;
        meta.insert(t.committed_key, bytes).map_err(|e| err(&e))?;
    }
    txn.commit().map_err(|e| err(&e))
}
