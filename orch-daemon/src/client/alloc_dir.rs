//! Allocation directories, laid out as Nomad's: `<alloc_root>/<alloc_id>/alloc/{data,
//! logs,tmp}` shared by the group's tasks, and `<alloc_root>/<alloc_id>/<task>/{local,
//! secrets,tmp}` per task.

use std::path::{Path, PathBuf};

/// The paths of one allocation.
#[derive(Debug, Clone)]
pub struct AllocDir {
    /// `<alloc_root>/<alloc_id>`.
    pub root: PathBuf,
}

/// The paths of one task inside its allocation.
#[derive(Debug, Clone)]
pub struct TaskDir {
    /// `<alloc>/<task>`.
    pub dir: PathBuf,
    /// `<alloc>/<task>/local` (`NOMAD_TASK_DIR`).
    pub local: PathBuf,
    /// `<alloc>/<task>/secrets` (`NOMAD_SECRETS_DIR`), mode 0700.
    pub secrets: PathBuf,
    /// `<alloc>/<task>/tmp` (`TMPDIR`).
    pub tmp: PathBuf,
}

impl AllocDir {
    /// The directory of `alloc_id` under `alloc_root` (nothing is created).
    pub fn new(alloc_root: &Path, alloc_id: &str) -> Self {
        AllocDir {
            root: alloc_root.join(alloc_id),
        }
    }

    /// `alloc/`, shared by every task (`NOMAD_ALLOC_DIR`).
    pub fn shared(&self) -> PathBuf {
        self.root.join("alloc")
    }

    /// `alloc/logs`, where every task's rotated stdout/stderr files go.
    pub fn logs(&self) -> PathBuf {
        self.shared().join("logs")
    }

    /// A task's directories.
    pub fn task(&self, task: &str) -> TaskDir {
        let dir = self.root.join(task);
        TaskDir {
            local: dir.join("local"),
            secrets: dir.join("secrets"),
            tmp: dir.join("tmp"),
            dir,
        }
    }

    /// Creates the shared directories and those of `tasks` (idempotent).
    pub fn build<'a>(&self, tasks: impl IntoIterator<Item = &'a str>) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        for sub in ["data", "logs", "tmp"] {
            std::fs::create_dir_all(self.shared().join(sub))?;
        }
        // Tasks run as other users (exec's `nobody`) and must write their logs and data.
        for sub in ["", "data", "logs", "tmp"] {
            let p = self.shared().join(sub);
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777))?;
        }
        for task in tasks {
            let t = self.task(task);
            for d in [&t.local, &t.secrets, &t.tmp] {
                std::fs::create_dir_all(d)?;
            }
            std::fs::set_permissions(&t.local, std::fs::Permissions::from_mode(0o777))?;
            std::fs::set_permissions(&t.tmp, std::fs::Permissions::from_mode(0o1777))?;
            std::fs::set_permissions(&t.secrets, std::fs::Permissions::from_mode(0o777))?;
        }
        Ok(())
    }

    /// Removes everything of the allocation.
    pub fn destroy(&self) -> std::io::Result<()> {
        match std::fs::remove_dir_all(&self.root) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Resolves a path a user asked for (`fs/ls`, `fs/cat`) inside the allocation,
    /// refusing anything that would leave it.
    pub fn resolve(&self, rel: &str) -> Option<PathBuf> {
        let mut out = self.root.clone();
        for part in Path::new(rel.trim_start_matches('/')).components() {
            match part {
                std::path::Component::Normal(p) => out.push(p),
                std::path::Component::CurDir => {}
                _ => return None,
            }
        }
        Some(out)
    }
}

/// Writes a dispatched job's payload (base64, as the job carries it) to
/// `<task>/local/<file>`, the `dispatch_payload` block's destination. An empty payload
/// writes an empty file, as Nomad does. Paths leaving `local/` are refused (validation
/// already refuses them at registration).
pub fn write_payload(dir: &TaskDir, file: &str, payload_b64: &str) -> Result<(), String> {
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD
        .decode(payload_b64.trim().as_bytes())
        .map_err(|e| {
            format!("dispatch payload is not valid base64 ({e}); dispatch the job again")
        })?;
    let mut path = dir.local.clone();
    for part in Path::new(file).components() {
        match part {
            std::path::Component::Normal(p) => path.push(p),
            std::path::Component::CurDir => {}
            _ => {
                return Err(format!(
                    "dispatch_payload file {file:?} leaves the task's local directory; use a relative path inside it"
                ));
            }
        }
    }
    if path == dir.local {
        return Err("dispatch_payload file is empty; name a file inside local/".into());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("could not create {}: {e}", parent.display()))?;
    }
    std::fs::write(&path, data).map_err(|e| {
        format!(
            "could not write the dispatch payload to {}: {e}",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests;
