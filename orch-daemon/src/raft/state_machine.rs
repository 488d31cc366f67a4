//! The Raft state machine: committed entries applied to the [`StateHandle`], snapshots
//! of it built, persisted and installed.
//!
//! Only the snapshot is persisted by the state machine; after a restart the state is the
//! last snapshot, and openraft re-applies the committed log after it (it reads the
//! committed index back from the log store). Applied-but-not-snapshotted state is thus
//! rebuilt from the log, which keeps a single source of truth on disk.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use openraft::storage::RaftStateMachine;
use openraft::{
    AnyError, BasicNode, Entry, EntryPayload, ErrorSubject, ErrorVerb, LogId, RaftSnapshotBuilder,
    Snapshot, SnapshotMeta, StorageError, StorageIOError, StoredMembership,
};
use orch_core::state::StateStore;
use serde::{Deserialize, Serialize};

use super::error::RaftError;
use super::types::{ApplyResult, ApplyResults, NodeId, TypeConfig};
use crate::disk::DiskReserve;
use crate::server::StateHandle;

type StoreResult<T> = Result<T, StorageError<NodeId>>;
type Meta = SnapshotMeta<NodeId, BasicNode>;
type Saved = Arc<Mutex<Option<LogId<NodeId>>>>;

/// What `snapshot.bin` holds: the metadata (last applied log id and membership) and the
/// [`StateStore::snapshot`] bytes, which are also what is sent to lagging followers.
#[derive(Serialize, Deserialize)]
struct SnapshotFile {
    meta: Meta,
    data: Vec<u8>,
}

fn snapshot_err(e: impl ToString) -> StorageError<NodeId> {
    StorageIOError::new(
        ErrorSubject::Snapshot(None),
        ErrorVerb::Write,
        AnyError::error(e.to_string()),
    )
    .into()
}

fn read_snapshot_err(e: impl ToString) -> StorageError<NodeId> {
    StorageIOError::new(
        ErrorSubject::Snapshot(None),
        ErrorVerb::Read,
        AnyError::error(e.to_string()),
    )
    .into()
}

/// Applies committed entries to a [`StateHandle`] and keeps its snapshot in
/// `<dir>/snapshot.bin`.
pub struct StateMachine {
    state: StateHandle,
    dir: PathBuf,
    last_applied: Option<LogId<NodeId>>,
    last_membership: StoredMembership<NodeId, BasicNode>,
    /// Distinguishes snapshots built at the same log id (a rebuild after restart).
    counter: Arc<AtomicU64>,
    saved: Saved,
    reserve: DiskReserve,
    io: SnapshotIo,
}

/// Where snapshot files are read and written: on tokio's blocking pool (the daemon, so a
/// big snapshot never stalls Raft's tasks), or inline on the caller's task (the
/// deterministic simulation, where a thread finishing at a wall-clock moment would make
/// a seed's run depend on timing).
#[derive(Debug, Clone, Copy, Default)]
enum SnapshotIo {
    #[default]
    BlockingPool,
    #[cfg_attr(not(test), allow(dead_code))]
    Inline,
}

impl SnapshotIo {
    async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, tokio::task::JoinError> {
        match self {
            SnapshotIo::BlockingPool => tokio::task::spawn_blocking(work).await,
            SnapshotIo::Inline => Ok(work()),
        }
    }
}

impl StateMachine {
    /// Opens the state machine in `dir`, loading `snapshot.bin` into `state` if present
    /// (the handle's previous content is replaced).
    /// Snapshot files wait for room under `reserve` before they are written.
    pub fn open(
        dir: &Path,
        state: StateHandle,
        reserve: DiskReserve,
    ) -> Result<StateMachine, RaftError> {
        let mut sm = StateMachine {
            state,
            dir: dir.to_path_buf(),
            last_applied: None,
            last_membership: StoredMembership::default(),
            counter: Arc::new(AtomicU64::new(0)),
            saved: Saved::default(),
            reserve,
            io: SnapshotIo::default(),
        };
        let path = sm.snapshot_path();
        match load_snapshot(&path) {
            Ok(Some(file)) => {
                let store = StateStore::restore(&file.data).map_err(|e| RaftError::Storage {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                sm.state.replace(store);
                sm.last_applied = file.meta.last_log_id;
                sm.saved = Arc::new(Mutex::new(file.meta.last_log_id));
                sm.last_membership = file.meta.last_membership;
            }
            Ok(None) => {}
            Err(message) => return Err(RaftError::Storage { path, message }),
        }
        Ok(sm)
    }

    /// Test-only (the simulation): snapshot files read and written inline.
    #[cfg(test)]
    pub(crate) fn with_inline_snapshot_io(mut self) -> StateMachine {
        self.io = SnapshotIo::Inline;
        self
    }

    fn snapshot_path(&self) -> PathBuf {
        self.dir.join("snapshot.bin")
    }
}

/// Reads `snapshot.bin`; `Ok(None)` if there is none yet.
fn load_snapshot(path: &Path) -> Result<Option<SnapshotFile>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    postcard::from_bytes(&bytes)
        .map(Some)
        .map_err(|e| format!("corrupt snapshot file ({e}); move it away to rebuild from peers"))
}

/// Writes `snapshot.bin` atomically: a temporary file, fsynced, renamed over the old one,
/// then the directory fsynced so the rename itself is durable.
/// `saved` is the log id of the newest snapshot written; an older one (a build that raced
/// with an install) is not written over it. Waits first while the disk is under its
/// reserve: a snapshot reported built lets openraft purge the log before it, so it must
/// be on disk, never skipped.
fn save_snapshot(
    dir: &Path,
    file: &SnapshotFile,
    saved: &Saved,
    reserve: &DiskReserve,
) -> Result<(), String> {
    reserve.wait_for_room_blocking();
    let mut saved = saved.lock().unwrap_or_else(|e| e.into_inner());
    if *saved > file.meta.last_log_id {
        return Ok(());
    }
    let bytes = postcard::to_allocvec(file).map_err(|e| e.to_string())?;
    let tmp = dir.join(format!(
        "snapshot.bin.tmp-{}",
        file.meta.snapshot_id.replace(['/', '\\'], "_")
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join("snapshot.bin"))?;
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        e.to_string()
    })?;
    *saved = file.meta.last_log_id;
    Ok(())
}

/// Builds a snapshot from state captured when the build was requested (openraft runs the
/// build in a separate task while entries keep being applied).
pub struct SnapshotBuilder {
    dir: PathBuf,
    captured: Result<Vec<u8>, String>,
    last_applied: Option<LogId<NodeId>>,
    last_membership: StoredMembership<NodeId, BasicNode>,
    counter: Arc<AtomicU64>,
    saved: Saved,
    reserve: DiskReserve,
    io: SnapshotIo,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> StoreResult<Snapshot<TypeConfig>> {
        let data = self.captured.clone().map_err(snapshot_err)?;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let snapshot_id = match self.last_applied {
            Some(l) => format!(
                "{}-{}-{}-{n}",
                l.leader_id.term, l.leader_id.node_id, l.index
            ),
            None => format!("none-{n}"),
        };
        let file = SnapshotFile {
            meta: SnapshotMeta {
                last_log_id: self.last_applied,
                last_membership: self.last_membership.clone(),
                snapshot_id,
            },
            data,
        };
        let (dir, saved, reserve) = (self.dir.clone(), self.saved.clone(), self.reserve.clone());
        let file = self
            .io
            .run(move || save_snapshot(&dir, &file, &saved, &reserve).map(|()| file))
            .await
            .map_err(snapshot_err)?
            .map_err(snapshot_err)?;
        Ok(Snapshot {
            meta: file.meta,
            snapshot: Box::new(Cursor::new(file.data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> StoreResult<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>)> {
        Ok((self.last_applied, self.last_membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StoreResult<Vec<ApplyResults>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut results = Vec::new();
        for entry in entries {
            self.last_applied = Some(entry.log_id);
            let index = entry.log_id.index;
            let result = match entry.payload {
                EntryPayload::Blank => ApplyResults::default(),
                EntryPayload::Membership(m) => {
                    self.last_membership = StoredMembership::new(Some(entry.log_id), m);
                    ApplyResults::default()
                }
                // The store only accepts increasing indexes; an entry at or below its
                // latest index is already in it (defensive: openraft never re-applies).
                EntryPayload::Normal(batch) => {
                    let cmds = batch.into_commands().map_err(|e| {
                        StorageError::from(StorageIOError::new(
                            ErrorSubject::Apply(entry.log_id),
                            ErrorVerb::Read,
                            AnyError::error(e.to_string()),
                        ))
                    })?;
                    let applied = {
                        let s = self.state.read();
                        s.state_index(index) <= s.latest_index()
                    };
                    if applied {
                        ApplyResults(vec![ApplyResult::default(); cmds.len()])
                    } else {
                        ApplyResults(
                            self.state
                                .apply_batch(index, cmds)
                                .into_iter()
                                .map(|r| ApplyResult(r.map_err(Into::into)))
                                .collect(),
                        )
                    }
                }
            };
            results.push(result);
        }
        Ok(results)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            dir: self.dir.clone(),
            captured: self.state.read().snapshot().map_err(|e| e.to_string()),
            last_applied: self.last_applied,
            last_membership: self.last_membership.clone(),
            counter: self.counter.clone(),
            saved: self.saved.clone(),
            reserve: self.reserve.clone(),
            io: self.io,
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> StoreResult<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &Meta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> StoreResult<()> {
        let data = snapshot.into_inner();
        let store = StateStore::restore(&data).map_err(read_snapshot_err)?;
        let file = SnapshotFile {
            meta: meta.clone(),
            data,
        };
        let (dir, saved, reserve) = (self.dir.clone(), self.saved.clone(), self.reserve.clone());
        self.io
            .run(move || save_snapshot(&dir, &file, &saved, &reserve))
            .await
            .map_err(snapshot_err)?
            .map_err(snapshot_err)?;
        self.state.replace(store);
        self.last_applied = meta.last_log_id;
        self.last_membership = meta.last_membership.clone();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> StoreResult<Option<Snapshot<TypeConfig>>> {
        let path = self.snapshot_path();
        let file = self
            .io
            .run(move || load_snapshot(&path))
            .await
            .map_err(read_snapshot_err)?
            .map_err(read_snapshot_err)?;
        Ok(file.map(|f| Snapshot {
            meta: f.meta,
            snapshot: Box::new(Cursor::new(f.data)),
        }))
    }
}
