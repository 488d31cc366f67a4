//! Downloads a task's `artifact` blocks into its task directory: the subset of
//! go-getter that needs no credentials or VCS.
//!
//! - sources: `http://`, `https://`, `file://` and plain absolute paths (anything else,
//!   `git::`, `s3::`, relative paths, ..., is refused by name);
//! - go-getter parameters, in the URL's query or in `options {}`: `archive=false` (or an
//!   explicit type: `archive=tar.gz`), `checksum=<md5|sha1|sha256|sha512>:<hex>` (a bare
//!   hex digest picks the type from its length); other `options` are sent as query
//!   parameters to http(s) sources and refused for files;
//! - `headers` for http(s) requests; redirects are followed (at most 10);
//! - `destination` relative to the task directory (default `local/`), never outside it;
//!   `mode` `any` (archives unpacked into the destination directory, other files saved
//!   under their URL's file name), `file` (the destination is the file itself) or `dir`
//!   (an archive, or a local directory, copied into the destination);
//! - archives by extension (or `archive=<type>`): `.tar.gz`/`.tgz`, `.tar`, `.zip`, and
//!   single-file `.gz`. bzip2, xz and zstd archives are refused with an error saying so
//!   (`archive=false` downloads them as they are).
//!
//! Everything is fetched and unpacked into a private staging directory (0700, the agent's)
//! and then moved into the destination through directory descriptors (`safe_path`), so a
//! symlink the task planted in `local/` is replaced, never written through.
//! Unpacking refuses entries that would land outside the destination: absolute paths,
//! `..`, symlinks or hard links pointing out (checked against the real, canonical parent
//! directory, so chains of symlinks cannot walk out either), and device or fifo entries.
//! `chown` is not supported (orch runs tasks as the agent's user) and is ignored only when
//! false.
//!
//! Modules: `request` (the artifact block parsed into a `Request` before any I/O),
//! `download` (http(s) with redirects and checksum verification) and `unpack`
//! (installing the file or archive into the destination).

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use orch_core::model::TaskArtifact;
use sha2::Digest;
use tokio::io::AsyncWriteExt;

use super::safe_path::Dir;

/// Why an artifact could not be fetched. Every message names the artifact's source.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error(
        "artifact {artifact:?}: unsupported source {why}; orch fetches http://, https://, file:// and absolute paths"
    )]
    UnsupportedSource { artifact: String, why: String },
    #[error("artifact {artifact:?}: {what}")]
    Invalid { artifact: String, what: String },
    #[error("artifact {artifact:?}: destination {destination:?} escapes the task directory")]
    DestinationEscapes {
        artifact: String,
        destination: String,
    },
    #[error(
        "artifact {artifact:?}: checksum mismatch: expected {kind}:{expected}, got {kind}:{actual}"
    )]
    ChecksumMismatch {
        artifact: String,
        kind: &'static str,
        expected: String,
        actual: String,
    },
    #[error("artifact {artifact:?}: download failed: {message}")]
    Download { artifact: String, message: String },
    #[error(
        "artifact {artifact:?}: unsupported archive format {format:?} (orch unpacks tar, tar.gz/tgz, zip and gz; set archive=false to keep the file as it is)"
    )]
    UnsupportedArchive { artifact: String, format: String },
    #[error("artifact {artifact:?}: archive entry {entry:?} {why}")]
    UnsafeEntry {
        artifact: String,
        entry: String,
        why: String,
    },
    #[error("artifact {artifact:?}: bad archive: {message}")]
    Archive { artifact: String, message: String },
    #[error("artifact {artifact:?}: {path}: {error}")]
    Io {
        artifact: String,
        path: String,
        error: io::Error,
    },
    /// Bigger than the client accepts (a download or a decompression bomb).
    #[error("artifact {artifact:?}: {what}")]
    TooLarge { artifact: String, what: String },
}

/// How much one artifact may bring in: Nomad's client `artifact` limits
/// (`http_max_size`, `decompression_size_limit`, `decompression_file_count_limit`), with
/// Nomad's defaults, so a hostile source cannot fill the client's disk unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArtifactLimits {
    /// Bytes one download may have.
    pub download_bytes: u64,
    /// Bytes an archive may unpack to, all entries together.
    pub unpacked_bytes: u64,
    /// Entries an archive may hold.
    pub files: u64,
}

impl Default for ArtifactLimits {
    /// Nomad's defaults: 100 GB, 100 GB and 4096 entries.
    fn default() -> Self {
        ArtifactLimits {
            download_bytes: 100_000_000_000,
            unpacked_bytes: 100_000_000_000,
            files: 4096,
        }
    }
}

/// The archive formats orch unpacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Archive {
    Tar,
    TarGz,
    Zip,
    /// A single gzip-compressed file.
    Gz,
}

/// The checksum algorithms go-getter accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HashKind {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl HashKind {
    fn name(self) -> &'static str {
        match self {
            HashKind::Md5 => "md5",
            HashKind::Sha1 => "sha1",
            HashKind::Sha256 => "sha256",
            HashKind::Sha512 => "sha512",
        }
    }
}

enum Hasher {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    fn new(kind: HashKind) -> Self {
        match kind {
            HashKind::Md5 => Hasher::Md5(md5::Md5::new()),
            HashKind::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            HashKind::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            HashKind::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }
    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }
    fn hex(self) -> String {
        let bytes: Vec<u8> = match self {
            Hasher::Md5(h) => h.finalize().to_vec(),
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Any,
    File,
    Dir,
}

enum Source {
    Http(String),
    Path(PathBuf),
}

/// Everything decided before any I/O.
struct Request {
    label: String,
    source: Source,
    /// The last path segment of the source, for `mode = "any"` files.
    file_name: String,
    archive: Option<Archive>,
    checksum: Option<(HashKind, String)>,
    headers: Vec<(String, String)>,
    mode: Mode,
    /// Relative to the task directory, normalized.
    destination: PathBuf,
    destination_text: String,
    limits: ArtifactLimits,
}

/// Unpacks a tar stream that did not come from the task (a migrating allocation's
/// data, from the client that ran it) into the empty directory `dest`, with the rules
/// artifacts follow: nothing lands outside `dest`, links are checked, `limits` hold.
pub fn unpack_tar_into(
    label: &str,
    reader: impl Read,
    dest: &Path,
    limits: ArtifactLimits,
) -> Result<(), ArtifactError> {
    let req = Request {
        label: label.to_string(),
        source: Source::Path(PathBuf::new()),
        file_name: String::new(),
        archive: Some(Archive::Tar),
        checksum: None,
        headers: Vec::new(),
        mode: Mode::Dir,
        destination: PathBuf::new(),
        destination_text: String::new(),
        limits,
    };
    let dest = dest.canonicalize().map_err(|error| ArtifactError::Io {
        artifact: label.to_string(),
        path: dest.display().to_string(),
        error,
    })?;
    unpack_tar(&req, reader, &dest)
}

/// Fetches one artifact into `task_dir` (the task's working directory, containing
/// `local/`). `interpolate` expands `${...}` in the source, options, headers and
/// destination (see `orch_core::lifecycle::env::interpolate`).
pub async fn fetch_artifact(
    artifact: &TaskArtifact,
    task_dir: &Path,
    interpolate: impl Fn(&str) -> String,
) -> Result<(), ArtifactError> {
    let req = parse_request(artifact, &interpolate)?;
    let label = req.label.clone();
    let io_err = |path: &Path, error: io::Error| ArtifactError::Io {
        artifact: label.clone(),
        path: path.display().to_string(),
        error,
    };

    let task_canon = task_dir.canonicalize().map_err(|e| io_err(task_dir, e))?;
    let dest = task_canon.join(&req.destination);
    // The directory that must exist, and stay inside the task directory.
    let dest_rel = if req.mode == Mode::File {
        req.destination
            .parent()
            .unwrap_or(Path::new(""))
            .to_path_buf()
    } else {
        req.destination.clone()
    };
    // Opened beneath the task directory without following links: a link the task
    // planted on the way (on a restart) is refused, not created through. Everything
    // later reaches the destination through this descriptor only.
    let task_root = Dir::open(&task_canon).map_err(|e| io_err(&task_canon, e))?;
    let dest_dir = task_root.create_dir_all(&dest_rel, 0o755).map_err(|e| {
        if super::safe_path::is_refused(&e) {
            ArtifactError::DestinationEscapes {
                artifact: req.label.clone(),
                destination: req.destination_text.clone(),
            }
        } else {
            io_err(&dest, e)
        }
    })?;
    // Unpacked into a staging directory of the agent's own (0700 in the root-owned task
    // directory, so on the same filesystem), then moved in by descriptor.
    let stage_name = format!(".orch-artifact-{}", uuid::Uuid::new_v4());
    let stage_path = task_canon.join(&stage_name);
    let stage = task_root
        .create_dir_all(Path::new(&stage_name), 0o700)
        .map_err(|e| io_err(&stage_path, e))?;
    let file_name = dest.file_name().unwrap_or_default().to_os_string();
    let result = stage_and_move(req, &stage_path, &stage, &dest_dir, &file_name).await;
    let _ = fs::remove_dir_all(&stage_path);
    result
}

/// Fetches the artifact into `stage_path`, unpacks it there, then moves the result into
/// `dest_dir` (as `file_name` in mode `file`).
async fn stage_and_move(
    req: Request,
    stage_path: &Path,
    stage: &Dir,
    dest_dir: &Dir,
    file_name: &std::ffi::OsStr,
) -> Result<(), ArtifactError> {
    let label = req.label.clone();
    let io_err = |path: &Path, error: io::Error| ArtifactError::Io {
        artifact: label.clone(),
        path: path.display().to_string(),
        error,
    };
    let mode = req.mode;
    let destination = PathBuf::from(&req.destination_text);
    // Get the bytes into a local file (a temporary one, in the stage, for downloads).
    let local = match &req.source {
        Source::Http(url) => {
            let temp = stage_path.join(".download");
            download(&req, url, &temp).await?;
            temp
        }
        Source::Path(p) => p.clone(),
    };
    let unpack_root = stage_path.join("tree");
    let target = if mode == Mode::File {
        unpack_root.join(file_name)
    } else {
        unpack_root.clone()
    };
    fs::create_dir(&unpack_root).map_err(|e| io_err(&unpack_root, e))?;
    tokio::task::spawn_blocking(move || install(&req, &local, &target))
        .await
        .unwrap_or_else(|e| {
            Err(ArtifactError::Invalid {
                artifact: label.clone(),
                what: format!("unpacking panicked: {e}"),
            })
        })?;
    let tree = stage
        .open_dir(Path::new("tree"))
        .map_err(|e| io_err(&unpack_root, e))?;
    let moved = if mode == Mode::File {
        tree.move_entry(file_name, dest_dir, file_name)
    } else {
        tree.move_entries_into(dest_dir)
    };
    moved.map_err(|e| io_err(&destination, e))
}

/// `p` as a relative path without `.`/`..`, or `None` when it is absolute or climbs out.
fn normalize_relative(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::Normal(s) => out.push(s),
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// `p` (absolute) with `.`/`..` resolved lexically.
fn normalize_absolute(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

mod download;
mod request;
mod unpack;

use download::*;
use request::*;
use unpack::*;

#[cfg(test)]
mod tests;
