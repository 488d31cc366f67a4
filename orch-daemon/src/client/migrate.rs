//! `ephemeral_disk { migrate = true }` across nodes: the replacement's client fetches
//! the previous allocation's `alloc/data` and each task's `local/` from the client that
//! ran it (`GET /v1/client/allocation/:id/snapshot`, a tar), once that allocation has
//! stopped, as Nomad's clients do.
//!
//! The sending side archives with links kept as links (never followed); the
//! receiving side unpacks into a private staging directory with the artifact rules
//! (nothing outside it, links checked, size and entry limits) and then moves the
//! entries into the new allocation's directories by descriptor.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::alloc_dir::AllocDir;
use super::artifact::{ArtifactLimits, unpack_tar_into};
use super::safe_path::Dir;
use super::server_conn::ServerConn;

/// How long the replacement waits for the previous allocation to stop.
const STOP_WAIT: Duration = Duration::from_secs(300);
/// How often it looks.
const POLL: Duration = Duration::from_millis(500);
/// Most a migrated disk may hold (Nomad's ephemeral disks are a few GB).
const MAX_BYTES: u64 = 50 * 1024 * 1024 * 1024;
/// Most entries it may hold.
const MAX_FILES: u64 = 1_000_000;

/// Writes the tar of `dir`'s migratable data (`alloc/data`, and `<task>/local` for
/// each of `tasks`) to `out`. Links are archived as links.
pub fn archive(dir: &AllocDir, tasks: &[String], out: impl Write) -> std::io::Result<()> {
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    let mut roots = vec![("alloc/data".to_string(), dir.shared().join("data"))];
    roots.extend(
        tasks
            .iter()
            .map(|t| (format!("{t}/local"), dir.task(t).local)),
    );
    for (name, path) in roots {
        // A task may have swapped the directory for a link (to `/`): never archived.
        match std::fs::symlink_metadata(&path) {
            Ok(md) if md.file_type().is_dir() => b.append_dir_all(&name, &path)?,
            _ => continue,
        }
    }
    b.finish()
}

/// What the servers say of the previous allocation.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PreviousAlloc {
    /// Where its client answers.
    #[serde(rename = "HTTPAddr")]
    pub http_addr: String,
    /// Whether it stopped on its client.
    pub client_terminal: bool,
    /// Whether its node is down (nothing to fetch from).
    pub node_down: bool,
}

/// Fetches the previous allocation `prev` of `alloc` (on this node `node_id`) into
/// `new`; `Ok(false)` when there is nothing to fetch (its node is gone).
pub async fn fetch(
    conn: &ServerConn,
    node_id: &str,
    alloc: &str,
    prev: &str,
    new: &AllocDir,
    tasks: &[String],
) -> Result<bool, String> {
    let deadline = Instant::now() + STOP_WAIT;
    let info = loop {
        let info = conn.previous_alloc(node_id, prev).await?;
        if info.node_down {
            return Ok(false);
        }
        if info.client_terminal {
            break info;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the previous allocation {prev} did not stop within {STOP_WAIT:?}"
            ));
        }
        tokio::time::sleep(POLL).await;
    };
    let staging = new
        .root
        .join(format!(".orch-migrate-{}", uuid::Uuid::new_v4()));
    let result = fetch_into(conn, &info, node_id, alloc, prev, &staging, new, tasks).await;
    let _ = std::fs::remove_dir_all(&staging);
    result.map(|()| true)
}

#[allow(clippy::too_many_arguments)]
async fn fetch_into(
    conn: &ServerConn,
    info: &PreviousAlloc,
    node_id: &str,
    alloc: &str,
    prev: &str,
    staging: &Path,
    new: &AllocDir,
    tasks: &[String],
) -> Result<(), String> {
    std::fs::create_dir(staging)
        .map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    let tarball = staging.join("snapshot.tar");
    let path = format!("/v1/client/allocation/{prev}/snapshot?node={node_id}&alloc={alloc}");
    conn.download_from_peer(&info.http_addr, &path, &tarball, MAX_BYTES)
        .await?;
    let unpacked = staging.join("tree");
    std::fs::create_dir(&unpacked).map_err(|e| e.to_string())?;
    let (label, tasks, new) = (
        format!("migrated disk of allocation {prev}"),
        tasks.to_vec(),
        new.clone(),
    );
    tokio::task::spawn_blocking(move || -> Result<(), String> {
        let file = std::fs::File::open(&tarball).map_err(|e| e.to_string())?;
        let limits = ArtifactLimits {
            download_bytes: MAX_BYTES,
            unpacked_bytes: MAX_BYTES,
            files: MAX_FILES,
        };
        unpack_tar_into(&label, file, &unpacked, limits).map_err(|e| e.to_string())?;
        move_tree(&unpacked, &new, &tasks)
    })
    .await
    .map_err(|e| format!("unpacking the migrated disk panicked: {e}"))?
}

/// Moves the unpacked `alloc/data` and `<task>/local` into the new allocation.
fn move_tree(tree: &Path, new: &AllocDir, tasks: &[String]) -> Result<(), String> {
    let mut pairs: Vec<(PathBuf, PathBuf)> =
        vec![(tree.join("alloc/data"), new.shared().join("data"))];
    pairs.extend(
        tasks
            .iter()
            .map(|t| (tree.join(t).join("local"), new.task(t).local)),
    );
    for (from, to) in pairs {
        if !from.is_dir() {
            continue;
        }
        let open = |p: &Path| {
            Dir::open_tail(p, 2).map_err(|e| format!("cannot open {}: {e}", p.display()))
        };
        open(&from)?
            .move_entries_into(&open(&to)?)
            .map_err(|e| format!("cannot move {} to {}: {e}", from.display(), to.display()))?;
    }
    Ok(())
}
