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
//! Unpacking refuses entries that would land outside the destination: absolute paths,
//! `..`, symlinks or hard links pointing out (checked against the real, canonical parent
//! directory, so chains of symlinks cannot walk out either), and device or fifo entries.
//! `chown` is not supported (orch runs tasks as the agent's user) and is ignored only when
//! false.

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
    let dest_dir = if req.mode == Mode::File {
        dest.parent().unwrap_or(&task_canon).to_path_buf()
    } else {
        dest.clone()
    };
    fs::create_dir_all(&dest_dir).map_err(|e| io_err(&dest_dir, e))?;
    let dest_dir = dest_dir.canonicalize().map_err(|e| io_err(&dest_dir, e))?;
    if !dest_dir.starts_with(&task_canon) {
        return Err(ArtifactError::DestinationEscapes {
            artifact: req.label.clone(),
            destination: req.destination_text.clone(),
        });
    }
    let dest = if req.mode == Mode::File {
        dest_dir.join(dest.file_name().unwrap_or_default())
    } else {
        dest_dir
    };

    // Get the bytes into a local file (a temporary one for downloads).
    let (local, temp) = match &req.source {
        Source::Http(url) => {
            let temp = task_canon.join(format!(".orch-artifact-{}", uuid::Uuid::new_v4()));
            let got = download(&req, url, &temp).await;
            if let Err(e) = got {
                let _ = fs::remove_file(&temp);
                return Err(e);
            }
            (temp.clone(), Some(temp))
        }
        Source::Path(p) => (p.clone(), None),
    };
    let result = tokio::task::spawn_blocking({
        let local = local.clone();
        move || install(&req, &local, &dest)
    })
    .await
    .unwrap_or_else(|e| {
        Err(ArtifactError::Invalid {
            artifact: label.clone(),
            what: format!("unpacking panicked: {e}"),
        })
    });
    if let Some(t) = temp {
        let _ = fs::remove_file(t);
    }
    result
}

fn parse_request(
    artifact: &TaskArtifact,
    interpolate: &impl Fn(&str) -> String,
) -> Result<Request, ArtifactError> {
    let raw = interpolate(&artifact.source);
    let label = raw.clone();
    let invalid = |what: String| ArtifactError::Invalid {
        artifact: label.clone(),
        what,
    };
    if artifact.chown {
        return Err(invalid(
            "chown is not supported (orch runs tasks as the agent's user)".into(),
        ));
    }
    let (base, query) = match raw.split_once('?') {
        Some((b, q)) => (b.to_string(), q.to_string()),
        None => (raw.clone(), String::new()),
    };
    // go-getter parameters: from the query string, then `options` (options win).
    let mut params: Vec<(String, String)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        params.push((percent_decode(k), percent_decode(v)));
    }
    for (k, v) in &artifact.options {
        params.retain(|(pk, _)| pk != k);
        params.push((k.clone(), interpolate(v)));
    }
    let mut archive_param: Option<String> = None;
    let mut checksum: Option<(HashKind, String)> = None;
    let mut passthrough: Vec<(String, String)> = Vec::new();
    for (k, v) in params {
        match k.as_str() {
            "archive" => archive_param = Some(v),
            "checksum" => checksum = Some(parse_checksum(&v).map_err(&invalid)?),
            _ => passthrough.push((k, v)),
        }
    }

    let lower = base.to_ascii_lowercase();
    let source = if lower.starts_with("http://") || lower.starts_with("https://") {
        let mut url = base.clone();
        if !passthrough.is_empty() {
            let q: Vec<String> = passthrough
                .iter()
                .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
                .collect();
            url = format!("{url}?{}", q.join("&"));
        }
        Source::Http(url)
    } else {
        let path = if let Some(rest) = base.strip_prefix("file://") {
            PathBuf::from(percent_decode(rest))
        } else if base.contains("::") || base.contains("://") {
            let scheme = base.split("::").next().unwrap_or_default();
            let scheme = scheme.split("://").next().unwrap_or_default();
            return Err(ArtifactError::UnsupportedSource {
                artifact: label.clone(),
                why: format!("scheme {scheme:?}"),
            });
        } else {
            PathBuf::from(&base)
        };
        if !path.is_absolute() {
            return Err(ArtifactError::UnsupportedSource {
                artifact: label.clone(),
                why: "(relative path; use an absolute path or file://)".into(),
            });
        }
        if let Some((k, _)) = passthrough.first() {
            return Err(invalid(format!(
                "option {k:?} is not supported for local files (only archive and checksum)"
            )));
        }
        Source::Path(path)
    };

    let path_part = match &source {
        Source::Http(_) => {
            let after_scheme = base.split_once("://").map_or(base.as_str(), |(_, r)| r);
            after_scheme
                .split_once('/')
                .map_or(String::new(), |(_, p)| {
                    p.split('#').next().unwrap_or("").to_string()
                })
        }
        Source::Path(p) => p.display().to_string(),
    };
    let file_name = percent_decode(path_part.rsplit('/').next().unwrap_or(""));

    let archive = match archive_param.as_deref() {
        Some("false") => None,
        Some("") | None => detect_archive(&file_name, &label)?,
        Some(kind) => match archive_kind(kind) {
            Some(a) => Some(a),
            None => {
                return Err(ArtifactError::UnsupportedArchive {
                    artifact: label.clone(),
                    format: kind.to_string(),
                });
            }
        },
    };

    let mode = match artifact.mode.as_str() {
        "" | "any" => Mode::Any,
        "file" => Mode::File,
        "dir" => Mode::Dir,
        other => {
            return Err(invalid(format!(
                "mode {other:?} is not one of any, file, dir"
            )));
        }
    };
    if mode == Mode::File && matches!(archive, Some(Archive::Tar | Archive::TarGz | Archive::Zip)) {
        return Err(invalid(
            "mode \"file\" cannot unpack an archive; use mode \"dir\" or \"any\", or archive=false"
                .into(),
        ));
    }

    let destination_text = if artifact.destination.is_empty() {
        "local/".to_string()
    } else {
        interpolate(&artifact.destination)
    };
    let destination = normalize_relative(Path::new(&destination_text)).ok_or_else(|| {
        ArtifactError::DestinationEscapes {
            artifact: label.clone(),
            destination: destination_text.clone(),
        }
    })?;
    if mode == Mode::File && destination.as_os_str().is_empty() {
        return Err(invalid(
            "mode \"file\" needs a destination file name".into(),
        ));
    }

    let headers = artifact
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), interpolate(v)))
        .collect();
    Ok(Request {
        label,
        source,
        file_name,
        archive,
        checksum,
        headers,
        mode,
        destination,
        destination_text,
    })
}

fn parse_checksum(v: &str) -> Result<(HashKind, String), String> {
    let (kind, hex) = match v.split_once(':') {
        Some((k, h)) => {
            let kind = match k {
                "md5" => HashKind::Md5,
                "sha1" => HashKind::Sha1,
                "sha256" => HashKind::Sha256,
                "sha512" => HashKind::Sha512,
                other => {
                    return Err(format!(
                        "checksum type {other:?} is not supported (md5, sha1, sha256, sha512)"
                    ));
                }
            };
            (kind, h)
        }
        None => {
            let kind = match v.len() {
                32 => HashKind::Md5,
                40 => HashKind::Sha1,
                64 => HashKind::Sha256,
                128 => HashKind::Sha512,
                _ => return Err(format!("checksum {v:?}: expected <type>:<hex>")),
            };
            (kind, v)
        }
    };
    let want_len = match kind {
        HashKind::Md5 => 32,
        HashKind::Sha1 => 40,
        HashKind::Sha256 => 64,
        HashKind::Sha512 => 128,
    };
    if hex.len() != want_len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "checksum {v:?}: a {} digest is {want_len} hex digits",
            kind.name()
        ));
    }
    Ok((kind, hex.to_ascii_lowercase()))
}

fn archive_kind(kind: &str) -> Option<Archive> {
    match kind {
        "tar.gz" | "tgz" => Some(Archive::TarGz),
        "tar" => Some(Archive::Tar),
        "zip" => Some(Archive::Zip),
        "gz" => Some(Archive::Gz),
        _ => None,
    }
}

fn detect_archive(file_name: &str, label: &str) -> Result<Option<Archive>, ArtifactError> {
    let name = file_name.to_ascii_lowercase();
    for (ext, kind) in [
        (".tar.gz", "tar.gz"),
        (".tgz", "tgz"),
        (".tar", "tar"),
        (".zip", "zip"),
        (".gz", "gz"),
    ] {
        if name.ends_with(ext) {
            return Ok(archive_kind(kind));
        }
    }
    for ext in [
        ".tar.bz2", ".tbz2", ".bz2", ".tar.xz", ".txz", ".xz", ".tar.zst", ".tzst", ".zst",
    ] {
        if name.ends_with(ext) {
            return Err(ArtifactError::UnsupportedArchive {
                artifact: label.to_string(),
                format: ext.trim_start_matches('.').to_string(),
            });
        }
    }
    Ok(None)
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

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex_val(bytes[i + 1]), hex_val(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

mod download;
mod unpack;

use download::*;
use unpack::*;

#[cfg(test)]
mod tests;
