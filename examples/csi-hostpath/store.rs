//! The plugin's state on disk: `<state-dir>/volumes/<id>/` and
//! `<state-dir>/snapshots/<id>/` hold the data, `<state-dir>/meta/{volumes,snapshots}/
//! <id>.json` what CSI must remember about them (capacity, source, creation time).
//! Metadata is written last and atomically, so an entry with metadata is complete; a
//! data directory without it is the leftover of an interrupted create and is replaced.
//!
//! IDs are the CO's names, checked so they can only ever name one directory entry.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tonic::Status;

/// The longest volume or snapshot ID (well under a file name's 255 bytes).
pub const MAX_ID_LEN: usize = 128;

/// Checks an ID (or a name that becomes one): 1 to 128 of `[A-Za-z0-9._-]`, not
/// starting with a dot (so never `.`, `..` or a hidden entry). Errors name `field`.
pub fn check_id(field: &str, id: &str) -> Result<(), Status> {
    if id.is_empty() {
        return Err(Status::invalid_argument(format!("{field} is required")));
    }
    if id.len() > MAX_ID_LEN {
        return Err(Status::invalid_argument(format!(
            "{field} is {} bytes long; at most {MAX_ID_LEN} are allowed",
            id.len()
        )));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if id.starts_with('.') || !id.chars().all(allowed) {
        return Err(Status::invalid_argument(format!(
            "{field} {id:?} must be letters, digits, '.', '_' or '-', not starting with '.' \
             (this plugin uses it as a directory name)"
        )));
    }
    Ok(())
}

/// What is remembered about a volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeMeta {
    /// The volume's ID (its name).
    pub id: String,
    /// The recorded capacity (not allocated: a directory has no size).
    pub capacity_bytes: i64,
    /// The snapshot it was created from.
    pub source_snapshot: Option<String>,
}

/// What is remembered about a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotMeta {
    /// The snapshot's ID (its name).
    pub id: String,
    /// The volume it was taken of.
    pub source_volume_id: String,
    /// Seconds since the epoch.
    pub created_seconds: i64,
    /// Nanoseconds within the second.
    pub created_nanos: i32,
    /// The bytes of regular files it holds.
    pub size_bytes: i64,
}

/// The kinds of entry.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// A volume.
    Volume,
    /// A snapshot.
    Snapshot,
}

impl Kind {
    fn dir(self) -> &'static str {
        match self {
            Kind::Volume => "volumes",
            Kind::Snapshot => "snapshots",
        }
    }
}

/// The state directory.
#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Opens (creating) the layout under `root`, 0700 for metadata, 0755 for data.
    pub fn open(root: &Path) -> io::Result<Store> {
        let layout = [
            ("volumes", 0o755),
            ("snapshots", 0o755),
            ("meta/volumes", 0o700),
            ("meta/snapshots", 0o700),
        ];
        for (dir, mode) in layout {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(mode)
                .create(root.join(dir))?;
        }
        Ok(Store {
            root: root.to_path_buf(),
        })
    }

    /// The data directory of an entry (the ID must have passed [`check_id`]).
    pub fn data_path(&self, kind: Kind, id: &str) -> PathBuf {
        self.root.join(kind.dir()).join(id)
    }

    fn meta_path(&self, kind: Kind, id: &str) -> PathBuf {
        self.root
            .join("meta")
            .join(kind.dir())
            .join(format!("{id}.json"))
    }

    /// The metadata of an entry, `None` when it does not exist.
    pub fn read<T: for<'de> Deserialize<'de>>(
        &self,
        kind: Kind,
        id: &str,
    ) -> Result<Option<T>, Status> {
        match fs::read(self.meta_path(kind, id)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|err| {
                Status::internal(format!("metadata of {} {id} is corrupt: {err}", kind.dir()))
            }),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(io_status("read metadata", &err)),
        }
    }

    /// Writes an entry's metadata atomically (temporary file, fsync, rename).
    pub fn write<T: Serialize>(&self, kind: Kind, id: &str, meta: &T) -> Result<(), Status> {
        let path = self.meta_path(kind, id);
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(meta)
            .map_err(|err| Status::internal(format!("cannot encode metadata: {err}")))?;
        let write = || -> io::Result<()> {
            fs::write(&tmp, &bytes)?;
            fs::File::open(&tmp)?.sync_all()?;
            fs::rename(&tmp, &path)
        };
        write().map_err(|err| io_status("write metadata", &err))
    }

    /// Removes an entry's metadata, then its data (both may already be gone).
    pub fn remove(&self, kind: Kind, id: &str) -> Result<(), Status> {
        remove_file_if_present(&self.meta_path(kind, id))
            .and_then(|()| remove_dir_if_present(&self.data_path(kind, id)))
            .map_err(|err| io_status("remove", &err))
    }

    /// Every entry's metadata, sorted by ID.
    pub fn list<T: for<'de> Deserialize<'de>>(&self, kind: Kind) -> Result<Vec<T>, Status> {
        let dir = self.root.join("meta").join(kind.dir());
        let entries = fs::read_dir(&dir).map_err(|err| io_status("list metadata", &err))?;
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".json")
                    .map(str::to_string)
            })
            .filter(|id| check_id("id", id).is_ok())
            .collect();
        ids.sort();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(meta) = self.read(kind, &id)? {
                out.push(meta);
            }
        }
        Ok(out)
    }

    /// Fills a fresh data directory for `id` with a copy of `source` (or leaves it
    /// empty), replacing the leftover of an interrupted create. Copied into a
    /// temporary sibling first and renamed, so the entry is never half there.
    pub fn create_data(&self, kind: Kind, id: &str, source: Option<&Path>) -> Result<(), Status> {
        let path = self.data_path(kind, id);
        let tmp = self.root.join(kind.dir()).join(format!(".tmp-{id}"));
        let make = || -> io::Result<()> {
            remove_dir_if_present(&tmp)?;
            remove_dir_if_present(&path)?;
            match source {
                Some(src) => copy_tree(src, &tmp)?,
                None => {
                    fs::DirBuilder::new().create(&tmp)?;
                    // Workloads of any user write here, as into a Nomad host volume.
                    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o777))?;
                }
            }
            fs::rename(&tmp, &path)
        };
        make().map_err(|err| io_status("create the directory", &err))
    }
}

/// Copies a directory tree: directories and regular files with their modes, symbolic
/// links as links (never followed); sockets, FIFOs and devices are skipped.
pub fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(src)?;
    fs::DirBuilder::new().create(dst)?;
    fs::set_permissions(
        dst,
        fs::Permissions::from_mode(meta.permissions().mode() & 0o7777),
    )?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&from, &to)?;
        } else if kind.is_file() {
            fs::copy(&from, &to)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
        }
    }
    Ok(())
}

/// The bytes of the regular files under `dir` (links not followed).
pub fn tree_size(dir: &Path) -> io::Result<i64> {
    let mut total: i64 = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            total = total.saturating_add(tree_size(&entry.path())?);
        } else if kind.is_file() {
            let len = i64::try_from(entry.metadata()?.len()).unwrap_or(i64::MAX);
            total = total.saturating_add(len);
        }
    }
    Ok(total)
}

fn remove_dir_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

fn remove_file_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// An I/O failure as INTERNAL, saying what was being done.
pub fn io_status(what: &str, err: &io::Error) -> Status {
    Status::internal(format!("host-path plugin cannot {what}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_single_safe_names() {
        for ok in ["vol1", "db-0", "a.b_c", &"x".repeat(MAX_ID_LEN)] {
            assert!(check_id("name", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "a/b",
            "../x",
            "a b",
            "é",
            &"x".repeat(129),
        ] {
            let err = check_id("name", bad).unwrap_err();
            assert_eq!(err.code(), tonic::Code::InvalidArgument, "{bad}");
            assert!(err.message().starts_with("name"), "{}", err.message());
        }
    }

    #[test]
    fn copies_keep_links_as_links_and_sizes_count_files() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("sub/f"), b"12345").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.join("link")).unwrap();
        copy_tree(&src, &dir.path().join("dst")).unwrap();
        assert_eq!(fs::read(dir.path().join("dst/sub/f")).unwrap(), b"12345");
        let link = fs::symlink_metadata(dir.path().join("dst/link")).unwrap();
        assert!(link.file_type().is_symlink());
        assert_eq!(tree_size(&dir.path().join("dst")).unwrap(), 5);
    }
}
