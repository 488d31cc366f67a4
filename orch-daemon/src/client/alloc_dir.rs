//! Allocation directories, laid out as Nomad's: `<alloc_root>/<alloc_id>/alloc/{data,
//! logs,tmp}` shared by the group's tasks, and `<alloc_root>/<alloc_id>/<task>/{local,
//! secrets,tmp}` per task.

use std::path::{Path, PathBuf};

use super::safe_path::{Dir, is_refused};

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
    /// `<alloc>/<task>/secrets` (`NOMAD_SECRETS_DIR`), mode 0700, the task user's.
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

    /// Creates the shared directories and those of `tasks` (idempotent), each opened
    /// beneath the allocation directory without following links, with its mode set
    /// through the open descriptor:
    ///
    /// - `alloc/` 0755 and `alloc/logs` 0755 (root's: only the shim writes logs, so a task
    ///   can neither plant links there nor swap the directory for one);
    /// - `alloc/data` 0777 and `alloc/tmp` 1777 (tasks of other users share them);
    /// - `<task>/` 0755, `local/` 0777, `tmp/` 1777, `secrets/` 0700 (the exec driver
    ///   hands `local/` and `secrets/` to the task's user).
    pub fn build<'a>(&self, tasks: impl IntoIterator<Item = &'a str>) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.root)?;
        let root = Dir::open(&self.root)?;
        let modes: [(&str, u32); 4] = [
            ("alloc", 0o755),
            ("alloc/data", 0o777),
            ("alloc/logs", 0o755),
            ("alloc/tmp", 0o1777),
        ];
        for (sub, mode) in modes {
            root.create_dir_all(Path::new(sub), 0o755)?.set_mode(mode)?;
        }
        for task in tasks {
            let t = root.create_dir_all(Path::new(task), 0o755)?;
            t.set_mode(0o755)?;
            for (sub, mode) in [("local", 0o777), ("secrets", 0o700), ("tmp", 0o1777)] {
                t.create_dir_all(Path::new(sub), 0o700)?.set_mode(mode)?;
            }
        }
        Ok(())
    }

    /// The allocation directory, opened for resolving paths beneath it.
    pub fn open(&self) -> std::io::Result<Dir> {
        Dir::open(&self.root)
    }

    /// Removes everything of the allocation.
    pub fn destroy(&self) -> std::io::Result<()> {
        match std::fs::remove_dir_all(&self.root) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
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
    let mut rel = PathBuf::new();
    for part in Path::new(file).components() {
        match part {
            std::path::Component::Normal(p) => rel.push(p),
            std::path::Component::CurDir => {}
            _ => {
                return Err(format!(
                    "dispatch_payload file {file:?} leaves the task's local directory; use a relative path inside it"
                ));
            }
        }
    }
    if rel.as_os_str().is_empty() {
        return Err("dispatch_payload file is empty; name a file inside local/".into());
    }
    let local = Dir::open_tail(&dir.local, 2)
        .map_err(|e| format!("cannot open {}: {e}", dir.local.display()))?;
    local.write_file(&rel, &data, 0o644).map_err(|e| {
        let why = if is_refused(&e) {
            "a symlink is on the way (the task may not redirect the payload)".to_string()
        } else {
            e.to_string()
        };
        format!(
            "could not write the dispatch payload to {}: {why}",
            dir.local.join(&rel).display()
        )
    })
}

#[cfg(test)]
mod tests;
