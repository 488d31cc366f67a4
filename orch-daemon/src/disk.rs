//! Free space on the filesystems the agent writes, for every layer: the client's
//! fingerprint and stats, `/v1/agent/host`, and the server's [`DiskReserve`].
//!
//! Why a reserve: redb (the Raft log) and the snapshot writer fail hard when a write
//! meets a full disk, and openraft stops a server whose storage fails, which then needs
//! a restart by hand. A server that sees its free space fall under the reserve instead
//! holds its writes back (they wait in memory, replicated by the others), reports itself
//! unhealthy and hands leadership away; when space returns it writes what waited and
//! catches up on its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Total and free (available to unprivileged users) bytes of the filesystem holding
/// `path`, or `None` when it cannot be measured.
pub fn measure(path: &Path) -> Option<(u64, u64)> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we own; `c` outlives the call.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return None;
        }
        let frag = st.f_frsize as u64;
        Some((st.f_blocks as u64 * frag, st.f_bavail as u64 * frag))
    }
}

/// Total and free bytes of the filesystem holding `path`; `(0, 0)` when it cannot be
/// measured (what fingerprints and stats report then).
pub fn disk_space(path: &Path) -> (u64, u64) {
    measure(path).unwrap_or((0, 0))
}

/// How often a writer held back by the reserve looks at the free space again.
pub const RESERVE_POLL: Duration = Duration::from_millis(250);

/// The default reserve of a server's data dir, in MiB (`server.disk_reserve_mb`).
pub const DEFAULT_RESERVE_MB: u64 = 64;

/// The space a server keeps free on its data dir's filesystem. Cheap to clone: clones
/// share the last measurement, so the writers and the health monitor agree.
#[derive(Debug, Clone)]
pub struct DiskReserve {
    inner: Arc<ReserveInner>,
}

#[derive(Debug)]
struct ReserveInner {
    path: PathBuf,
    reserve_bytes: u64,
    short: AtomicBool,
    free_bytes: AtomicU64,
}

impl DiskReserve {
    /// Keeps `reserve_bytes` free on the filesystem of `path` (0: no reserve).
    pub fn new(path: impl Into<PathBuf>, reserve_bytes: u64) -> DiskReserve {
        DiskReserve {
            inner: Arc::new(ReserveInner {
                path: path.into(),
                reserve_bytes,
                short: AtomicBool::new(false),
                free_bytes: AtomicU64::new(u64::MAX),
            }),
        }
    }

    /// No reserve at all (tests and in-memory servers).
    pub fn none() -> DiskReserve {
        DiskReserve::new(PathBuf::new(), 0)
    }

    /// Measures now: true when writing may go on (free space at or above the reserve,
    /// or not measurable, in which case the write itself reports what is wrong).
    pub fn has_room(&self) -> bool {
        let i = &self.inner;
        if i.reserve_bytes == 0 {
            return true;
        }
        let room = match measure(&i.path) {
            Some((_, free)) => {
                i.free_bytes.store(free, Ordering::Relaxed);
                free >= i.reserve_bytes
            }
            None => true,
        };
        let was_short = i.short.swap(!room, Ordering::Relaxed);
        if was_short == room {
            self.log_change(room);
        }
        room
    }

    fn log_change(&self, room: bool) {
        let i = &self.inner;
        if room {
            tracing::info!(path = %i.path.display(), "disk space is back above the reserve; writes resume");
        } else {
            tracing::warn!(path = %i.path.display(), reason = %self.describe(), "writes on this server wait for disk space");
        }
    }

    /// Blocks the calling thread until there is room (the Raft log writer's thread).
    pub fn wait_for_room_blocking(&self) {
        while !self.has_room() {
            std::thread::sleep(RESERVE_POLL);
        }
    }

    /// Waits until there is room (the snapshot writer, on the async runtime).
    pub async fn wait_for_room(&self) {
        while !self.has_room() {
            tokio::time::sleep(RESERVE_POLL).await;
        }
    }

    /// Why writes wait, as of the last measurement; `None` while there is room.
    pub fn shortage(&self) -> Option<String> {
        self.inner
            .short
            .load(Ordering::Relaxed)
            .then(|| self.describe())
    }

    fn describe(&self) -> String {
        let i = &self.inner;
        let mib = |b: u64| b / (1024 * 1024);
        format!(
            "the disk of {} has {} MiB free, under the {} MiB reserve (server.disk_reserve_mb); free space there and this server resumes by itself",
            i.path.display(),
            mib(i.free_bytes.load(Ordering::Relaxed)),
            mib(i.reserve_bytes),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserve_larger_than_the_disk_is_short_and_says_why() {
        let dir = std::env::temp_dir();
        let (total, _) = measure(&dir).expect("the temp dir's filesystem can be measured");
        let reserve = DiskReserve::new(&dir, total.saturating_add(1));
        assert!(!reserve.has_room());
        let why = reserve.shortage().expect("short");
        assert!(why.contains("reserve"), "{why}");
        assert!(why.contains(&dir.display().to_string()), "{why}");
    }

    #[test]
    fn no_reserve_always_has_room() {
        let reserve = DiskReserve::none();
        assert!(reserve.has_room());
        assert_eq!(reserve.shortage(), None);
        let small = DiskReserve::new(std::env::temp_dir(), 1);
        assert!(small.has_room());
        assert_eq!(small.shortage(), None);
    }
}
