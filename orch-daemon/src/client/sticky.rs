//! `ephemeral_disk { sticky = true }` (or `migrate`) on one node: a replacement
//! allocation placed where its previous allocation ran takes over that allocation's
//! `alloc/data` and each task's `local/`, as Nomad's client does, once the previous
//! allocation has stopped (so nothing still writes to them).
//!
//! The data is moved by descriptor ([`Dir::move_entries_into`]): both directories are
//! the tasks' to write, and a link a task planted is moved as a link, never followed.

use std::path::Path;
use std::time::Duration;

use super::alloc_dir::AllocDir;
use super::alloc_runner::SharedAllocState;
use super::safe_path::Dir;

/// How often the previous allocation's status is looked at while it stops.
const POLL: Duration = Duration::from_millis(100);

/// Waits until `previous` (this client's runner of the previous allocation) has
/// finished, then moves its data into `new`. `Ok(false)` when there was nothing here
/// to take (the previous allocation ran on another node, or left no directory).
pub async fn take_over(
    previous: Option<SharedAllocState>,
    old: &AllocDir,
    new: &AllocDir,
    tasks: &[String],
) -> Result<bool, String> {
    if let Some(prev) = &previous {
        while !finished(prev) {
            tokio::time::sleep(POLL).await;
        }
    }
    if !old.root.is_dir() {
        return Ok(false);
    }
    let (old, new, tasks) = (old.clone(), new.clone(), tasks.to_vec());
    tokio::task::spawn_blocking(move || move_data(&old, &new, &tasks))
        .await
        .map_err(|e| format!("moving the sticky disk panicked: {e}"))?
        .map(|()| true)
}

fn finished(prev: &SharedAllocState) -> bool {
    let st = prev.lock().unwrap_or_else(|e| e.into_inner());
    super::alloc_runner::is_finished(&st) || st.tasks.values().all(|t| t.done)
}

fn move_data(old: &AllocDir, new: &AllocDir, tasks: &[String]) -> Result<(), String> {
    move_dir(&old.shared().join("data"), &new.shared().join("data"))?;
    for t in tasks {
        let (from, to) = (old.task(t).local, new.task(t).local);
        if from.is_dir() {
            move_dir(&from, &to)?;
        }
    }
    Ok(())
}

/// Moves the entries of `from` into `to`; the last component of each is opened
/// without following a link (a task could have swapped either for one).
fn move_dir(from: &Path, to: &Path) -> Result<(), String> {
    let open =
        |p: &Path| Dir::open_tail(p, 2).map_err(|e| format!("cannot open {}: {e}", p.display()));
    open(from)?
        .move_entries_into(&open(to)?)
        .map_err(|e| format!("cannot move {} to {}: {e}", from.display(), to.display()))
}
