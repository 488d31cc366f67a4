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

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

fn http_client() -> Result<&'static HttpsClient, String> {
    static CLIENT: OnceLock<HttpsClient> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    // The system's trust store (SSL_CERT_FILE/SSL_CERT_DIR honoured), as Go's
    // go-getter uses; Mozilla's roots when the system has none.
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) =
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if added == 0 {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    let client = Client::builder(TokioExecutor::new()).build(connector);
    Ok(CLIENT.get_or_init(|| client))
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_REDIRECTS: usize = 10;

/// Streams `url` into `out`, checking the checksum on the way.
async fn download(req: &Request, url: &str, out: &Path) -> Result<(), ArtifactError> {
    let fail = |message: String| ArtifactError::Download {
        artifact: req.label.clone(),
        message,
    };
    let client = http_client().map_err(&fail)?;
    let mut url = url.to_string();
    let mut redirects = 0;
    let resp = loop {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| fail(format!("bad URL {url:?}: {e}")))?;
        let mut builder = hyper::Request::get(uri.clone()).header(
            hyper::header::USER_AGENT,
            concat!("orch/", env!("CARGO_PKG_VERSION")),
        );
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder
            .body(Empty::<Bytes>::new())
            .map_err(|e| fail(format!("bad request: {e}")))?;
        let resp = tokio::time::timeout(CONNECT_TIMEOUT, client.request(request))
            .await
            .map_err(|_| fail(format!("no response from {url} within {CONNECT_TIMEOUT:?}")))?
            .map_err(|e| fail(format!("{url}: {}", error_chain(&e))))?;
        let status = resp.status();
        if status.is_redirection()
            && let Some(loc) = resp.headers().get(hyper::header::LOCATION)
        {
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return Err(fail(format!("more than {MAX_REDIRECTS} redirects")));
            }
            let loc = loc
                .to_str()
                .map_err(|_| fail("bad redirect location".into()))?;
            url = resolve_location(&uri, loc);
            continue;
        }
        if !status.is_success() {
            return Err(fail(format!("{url}: HTTP {status}")));
        }
        break resp;
    };

    let mut hasher = req.checksum.as_ref().map(|(k, _)| Hasher::new(*k));
    let mut file = tokio::fs::File::create(out)
        .await
        .map_err(|e| fail(format!("{}: {e}", out.display())))?;
    let mut body = resp.into_body();
    loop {
        let frame = tokio::time::timeout(READ_TIMEOUT, body.frame())
            .await
            .map_err(|_| fail(format!("no data from {url} within {READ_TIMEOUT:?}")))?;
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|e| fail(format!("{url}: {}", error_chain(&e))))?;
        if let Ok(data) = frame.into_data() {
            if let Some(h) = hasher.as_mut() {
                h.update(&data);
            }
            file.write_all(&data)
                .await
                .map_err(|e| fail(format!("{}: {e}", out.display())))?;
        }
    }
    file.flush()
        .await
        .map_err(|e| fail(format!("{}: {e}", out.display())))?;
    if let (Some(h), Some((kind, expected))) = (hasher, &req.checksum) {
        verify(req, *kind, expected, h.hex())?;
    }
    Ok(())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

fn resolve_location(base: &hyper::Uri, loc: &str) -> String {
    if loc.contains("://") {
        return loc.to_string();
    }
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base.authority().map_or("", |a| a.as_str());
    if loc.starts_with('/') {
        format!("{scheme}://{authority}{loc}")
    } else {
        let path = base.path();
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{scheme}://{authority}{dir}{loc}")
    }
}

fn verify(
    req: &Request,
    kind: HashKind,
    expected: &str,
    actual: String,
) -> Result<(), ArtifactError> {
    if actual == expected {
        Ok(())
    } else {
        Err(ArtifactError::ChecksumMismatch {
            artifact: req.label.clone(),
            kind: kind.name(),
            expected: expected.to_string(),
            actual,
        })
    }
}

/// Puts the local copy of the artifact where it belongs (blocking).
fn install(req: &Request, local: &Path, dest: &Path) -> Result<(), ArtifactError> {
    let io_err = |path: &Path, error: io::Error| ArtifactError::Io {
        artifact: req.label.clone(),
        path: path.display().to_string(),
        error,
    };
    let meta = fs::metadata(local).map_err(|e| io_err(local, e))?;
    if meta.is_dir() {
        if req.mode == Mode::File {
            return Err(ArtifactError::Invalid {
                artifact: req.label.clone(),
                what: "mode \"file\" but the source is a directory".into(),
            });
        }
        if req.checksum.is_some() {
            return Err(ArtifactError::Invalid {
                artifact: req.label.clone(),
                what: "a checksum cannot be checked on a directory".into(),
            });
        }
        return copy_dir(local, dest).map_err(|e| io_err(local, e));
    }
    // Local files are checked here; downloads were checked while streaming.
    if let (Source::Path(_), Some((kind, expected))) = (&req.source, &req.checksum) {
        let mut h = Hasher::new(*kind);
        let mut f = fs::File::open(local).map_err(|e| io_err(local, e))?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f.read(&mut buf).map_err(|e| io_err(local, e))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        verify(req, *kind, expected, h.hex())?;
    }

    let open = || fs::File::open(local).map_err(|e| io_err(local, e));
    let unpack_err = |e: io::Error| ArtifactError::Archive {
        artifact: req.label.clone(),
        message: e.to_string(),
    };
    match req.archive {
        Some(Archive::Tar) => unpack_tar(req, open()?, dest),
        Some(Archive::TarGz) => unpack_tar(req, flate2::read::GzDecoder::new(open()?), dest),
        Some(Archive::Zip) => unpack_zip(req, open()?, dest),
        Some(Archive::Gz) => {
            let target = match req.mode {
                Mode::File => dest.to_path_buf(),
                _ => {
                    let name = req
                        .file_name
                        .trim_end_matches(".gz")
                        .trim_end_matches(".GZ");
                    file_target(req, dest, name)?
                }
            };
            let mut out = create_file(&target).map_err(|e| io_err(&target, e))?;
            io::copy(&mut flate2::read::GzDecoder::new(open()?), &mut out).map_err(unpack_err)?;
            Ok(())
        }
        None => {
            let target = match req.mode {
                Mode::File => dest.to_path_buf(),
                Mode::Any => file_target(req, dest, &req.file_name)?,
                Mode::Dir => {
                    return Err(ArtifactError::Invalid {
                        artifact: req.label.clone(),
                        what: "mode \"dir\" needs an archive or a local directory".into(),
                    });
                }
            };
            if fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
                fs::remove_file(&target).map_err(|e| io_err(&target, e))?;
            }
            fs::copy(local, &target).map_err(|e| io_err(&target, e))?;
            Ok(())
        }
    }
}

fn file_target(req: &Request, dir: &Path, name: &str) -> Result<PathBuf, ArtifactError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(ArtifactError::Invalid {
            artifact: req.label.clone(),
            what: "the source has no file name; use mode \"file\" with a destination file".into(),
        });
    }
    Ok(dir.join(name))
}

/// Creates (truncating) a regular file, replacing a symlink rather than following it.
fn create_file(path: &Path) -> io::Result<fs::File> {
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        fs::remove_file(path)?;
    }
    fs::File::create(path)
}

fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            if fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
                fs::remove_file(&target)?;
            }
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Where an archive entry at `rel` goes: its parent created and checked to be inside
/// `root` (canonical), so symlinks met on the way cannot lead out.
fn entry_target(
    req: &Request,
    root: &Path,
    rel: &Path,
    name: &str,
) -> Result<PathBuf, ArtifactError> {
    let unsafe_entry = |why: &str| ArtifactError::UnsafeEntry {
        artifact: req.label.clone(),
        entry: name.to_string(),
        why: why.to_string(),
    };
    let rel = normalize_relative(rel).ok_or_else(|| unsafe_entry("escapes the destination"))?;
    let Some(file) = rel.file_name() else {
        return Ok(root.to_path_buf());
    };
    let parent = root.join(rel.parent().unwrap_or(Path::new("")));
    fs::create_dir_all(&parent).map_err(|e| ArtifactError::Io {
        artifact: req.label.clone(),
        path: parent.display().to_string(),
        error: e,
    })?;
    let parent = parent.canonicalize().map_err(|e| ArtifactError::Io {
        artifact: req.label.clone(),
        path: parent.display().to_string(),
        error: e,
    })?;
    if !parent.starts_with(root) {
        return Err(unsafe_entry("escapes the destination through a symlink"));
    }
    Ok(parent.join(file))
}

/// Checks that a symlink at `target` pointing to `link` stays inside `root`.
fn check_symlink(
    req: &Request,
    root: &Path,
    target: &Path,
    link: &Path,
    name: &str,
) -> Result<(), ArtifactError> {
    let parent = target.parent().unwrap_or(root);
    if link.is_absolute() || !normalize_absolute(&parent.join(link)).starts_with(root) {
        return Err(ArtifactError::UnsafeEntry {
            artifact: req.label.clone(),
            entry: name.to_string(),
            why: format!(
                "is a symlink pointing outside the destination ({})",
                link.display()
            ),
        });
    }
    Ok(())
}

fn unpack_tar(req: &Request, reader: impl Read, dest: &Path) -> Result<(), ArtifactError> {
    use tar::EntryType;
    let bad = |e: io::Error| ArtifactError::Archive {
        artifact: req.label.clone(),
        message: e.to_string(),
    };
    let io_err = |path: &Path, error: io::Error| ArtifactError::Io {
        artifact: req.label.clone(),
        path: path.display().to_string(),
        error,
    };
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.into_owned();
        let name = path.display().to_string();
        let kind = entry.header().entry_type();
        match kind {
            EntryType::XGlobalHeader | EntryType::XHeader => continue,
            EntryType::Directory => {
                let target = entry_target(req, dest, &path, &name)?;
                fs::create_dir_all(&target).map_err(|e| io_err(&target, e))?;
            }
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let target = entry_target(req, dest, &path, &name)?;
                let mode = entry.header().mode().unwrap_or(0o644);
                let mut out = create_file(&target).map_err(|e| io_err(&target, e))?;
                io::copy(&mut entry, &mut out).map_err(bad)?;
                set_mode(&target, mode).map_err(|e| io_err(&target, e))?;
            }
            EntryType::Symlink => {
                let link = entry
                    .link_name()
                    .map_err(bad)?
                    .unwrap_or_default()
                    .into_owned();
                let target = entry_target(req, dest, &path, &name)?;
                check_symlink(req, dest, &target, &link, &name)?;
                if fs::symlink_metadata(&target).is_ok() {
                    fs::remove_file(&target).map_err(|e| io_err(&target, e))?;
                }
                std::os::unix::fs::symlink(&link, &target).map_err(|e| io_err(&target, e))?;
            }
            EntryType::Link => {
                let link = entry
                    .link_name()
                    .map_err(bad)?
                    .unwrap_or_default()
                    .into_owned();
                let target = entry_target(req, dest, &path, &name)?;
                let source = entry_target(req, dest, &link, &name)?;
                let real = source.canonicalize().map_err(|e| io_err(&source, e))?;
                if !real.starts_with(dest) {
                    return Err(ArtifactError::UnsafeEntry {
                        artifact: req.label.clone(),
                        entry: name,
                        why: "is a hard link to a file outside the destination".into(),
                    });
                }
                if fs::symlink_metadata(&target).is_ok() {
                    fs::remove_file(&target).map_err(|e| io_err(&target, e))?;
                }
                fs::hard_link(&real, &target).map_err(|e| io_err(&target, e))?;
            }
            other => {
                return Err(ArtifactError::UnsafeEntry {
                    artifact: req.label.clone(),
                    entry: name,
                    why: format!("has an unsupported type ({other:?})"),
                });
            }
        }
    }
    Ok(())
}

fn unpack_zip(req: &Request, file: fs::File, dest: &Path) -> Result<(), ArtifactError> {
    let bad = |message: String| ArtifactError::Archive {
        artifact: req.label.clone(),
        message,
    };
    let io_err = |path: &Path, error: io::Error| ArtifactError::Io {
        artifact: req.label.clone(),
        path: path.display().to_string(),
        error,
    };
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| bad(e.to_string()))?;
        let name = entry.name().map_err(|e| bad(e.to_string()))?.to_string();
        let Some(path) = entry.enclosed_name() else {
            return Err(ArtifactError::UnsafeEntry {
                artifact: req.label.clone(),
                entry: name,
                why: "escapes the destination".into(),
            });
        };
        let target = entry_target(req, dest, &path, &name)?;
        if entry.is_dir() {
            fs::create_dir_all(&target).map_err(|e| io_err(&target, e))?;
        } else if entry.is_symlink() {
            let mut link = String::new();
            entry
                .read_to_string(&mut link)
                .map_err(|e| bad(e.to_string()))?;
            let link = PathBuf::from(link);
            check_symlink(req, dest, &target, &link, &name)?;
            if fs::symlink_metadata(&target).is_ok() {
                fs::remove_file(&target).map_err(|e| io_err(&target, e))?;
            }
            std::os::unix::fs::symlink(&link, &target).map_err(|e| io_err(&target, e))?;
        } else {
            let mode = entry.unix_mode();
            let mut out = create_file(&target).map_err(|e| io_err(&target, e))?;
            io::copy(&mut entry, &mut out).map_err(|e| bad(e.to_string()))?;
            if let Some(mode) = mode {
                set_mode(&target, mode).map_err(|e| io_err(&target, e))?;
            }
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // Keep the permission bits only, and always let the agent read and write.
    fs::set_permissions(path, fs::Permissions::from_mode((mode & 0o777) | 0o600))
}

#[cfg(test)]
mod tests;
