//! The client's own state on disk: its node identity and, per allocation, what a
//! restarted client needs to pick its tasks up again without restarting them — the
//! allocation, each task's state and events, and each running task's driver handle.
//!
//! One JSON file per allocation, replaced atomically (write, fsync, rename), so a crash
//! leaves either the old or the new version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use orch_core::model::{Allocation, TaskState};
use serde::{Deserialize, Serialize};

use super::driver::TaskHandle;

/// The layout of the state directory: `node-id` and one JSON file per allocation
/// (format 1); it holds no replicated state (see `crate::data_format`).
pub const CLIENT_STATE_FORMAT: crate::data_format::Marker = crate::data_format::Marker {
    format: 1,
    state_format: 0,
};

/// What is persisted of one task.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LocalTaskState {
    /// The state reported to the servers.
    pub state: TaskState,
    /// The driver handle of the running task (none when not running).
    pub handle: Option<TaskHandle>,
    /// The task finished for good (no restart will follow).
    pub done: bool,
    /// It finished failed.
    pub failed: bool,
    /// It was killed (by the server, a sibling or the leader), not exited on its own.
    #[serde(default)]
    pub killed: bool,
}

/// What is persisted of one allocation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalAllocState {
    /// The allocation as last received from the servers (with its job).
    pub alloc: Allocation,
    /// By task name.
    pub tasks: BTreeMap<String, LocalTaskState>,
    /// The client status last computed.
    pub client_status: String,
    /// Why.
    pub client_description: String,
    /// The deployment health verdict this client reached (`Healthy`), if any.
    #[serde(default)]
    pub deployment_health: Option<orch_core::model::AllocDeploymentStatus>,
    /// The deployment that verdict is for.
    #[serde(default)]
    pub health_deployment: Option<String>,
}

/// The client's state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// Opens (creating) `root` and `root/allocs`, both 0700: the files hold the node's
    /// secret and the tasks' environments.
    pub fn open(root: &Path) -> std::io::Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(root.join("allocs"))?;
        for d in [root.to_path_buf(), root.join("allocs")] {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(StateDir {
            root: root.to_path_buf(),
        })
    }

    /// The node's ID and secret, created on first start and kept for life, so a
    /// restarted client is the same node to the servers.
    pub fn node_identity(&self) -> std::io::Result<(String, String)> {
        let path = self.root.join("node-id");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let mut lines = text.lines();
            if let (Some(id), Some(secret)) = (lines.next(), lines.next())
                && !id.is_empty()
            {
                return Ok((id.to_string(), secret.to_string()));
            }
        }
        let id = crate::clock::new_uuid();
        let secret = crate::clock::new_uuid();
        write_atomic(&path, format!("{id}\n{secret}\n").as_bytes())?;
        Ok((id, secret))
    }

    fn alloc_path(&self, alloc_id: &str) -> PathBuf {
        self.root.join("allocs").join(format!("{alloc_id}.json"))
    }

    /// Saves one allocation's state.
    pub fn save(&self, state: &LocalAllocState) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(state).map_err(std::io::Error::other)?;
        write_atomic(&self.alloc_path(&state.alloc.id), &bytes)
    }

    /// Forgets an allocation.
    pub fn remove(&self, alloc_id: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.alloc_path(alloc_id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Every saved allocation; unreadable files are reported and skipped.
    pub fn load_all(&self) -> Vec<LocalAllocState> {
        let Ok(entries) = std::fs::read_dir(self.root.join("allocs")) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            {
                Ok(s) => out.push(s),
                Err(err) => {
                    tracing::warn!(path = %path.display(), %err, "skipping unreadable allocation state")
                }
            }
        }
        out.sort_by(|a: &LocalAllocState, b| a.alloc.id.cmp(&b.alloc.id));
        out
    }
}

/// Writes `bytes` to `path` so that readers see the old or the new content, never a mix;
/// mode 0600 and never through a link (see [`super::safe_path::write_private_atomic`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    super::safe_path::write_private_atomic(path, bytes)
}

#[cfg(test)]
mod tests;
