//! Parsing an `artifact` block into a [`Request`] before any I/O: the source and its
//! go-getter parameters (query string and `options`), the checksum, the archive type,
//! the mode, the destination and the headers.

use super::*;

/// Decides everything about one artifact before any I/O: where it comes from, how it is
/// checked and unpacked, and where it goes. Errors name the interpolated source.
pub(super) fn parse_request(
    artifact: &TaskArtifact,
    interpolate: &impl Fn(&str) -> String,
) -> Result<Request, ArtifactError> {
    let label = interpolate(&artifact.source);
    if artifact.chown {
        return Err(invalid(
            &label,
            "chown is not supported (orch runs tasks as the agent's user)".into(),
        ));
    }
    let (base, query) = label.split_once('?').unwrap_or((label.as_str(), ""));
    let params = getter_params(query, artifact, interpolate, &label)?;
    let source = parse_source(base, &params.passthrough, &label)?;
    let file_name = source_file_name(base, &source);
    let archive = parse_archive(params.archive.as_deref(), &file_name, &label)?;
    let mode = parse_mode(&artifact.mode, archive, &label)?;
    let (destination, destination_text) = parse_destination(artifact, interpolate, mode, &label)?;
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
        checksum: params.checksum,
        headers,
        mode,
        destination,
        destination_text,
        limits: ArtifactLimits::default(),
    })
}

/// An [`ArtifactError::Invalid`] for the artifact labelled `label`.
fn invalid(label: &str, what: String) -> ArtifactError {
    ArtifactError::Invalid {
        artifact: label.to_string(),
        what,
    }
}

/// The go-getter parameters of an artifact, sorted by who handles them.
struct GetterParams {
    /// `archive=`: `false`, empty (detect from the file name) or an archive type.
    archive: Option<String>,
    /// `checksum=`, parsed.
    checksum: Option<(HashKind, String)>,
    /// Everything else, in order: sent on to http(s) sources, refused for files.
    passthrough: Vec<(String, String)>,
}

/// Collects go-getter parameters from the source's query string, then from `options`
/// (an option replaces a query parameter of the same name), and picks out `archive` and
/// `checksum`.
fn getter_params(
    query: &str,
    artifact: &TaskArtifact,
    interpolate: &impl Fn(&str) -> String,
    label: &str,
) -> Result<GetterParams, ArtifactError> {
    let mut params: Vec<(String, String)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        params.push((percent_decode(k), percent_decode(v)));
    }
    for (k, v) in &artifact.options {
        params.retain(|(pk, _)| pk != k);
        params.push((k.clone(), interpolate(v)));
    }
    let mut out = GetterParams {
        archive: None,
        checksum: None,
        passthrough: Vec::new(),
    };
    for (k, v) in params {
        match k.as_str() {
            "archive" => out.archive = Some(v),
            "checksum" => {
                out.checksum = Some(parse_checksum(&v).map_err(|what| invalid(label, what))?);
            }
            _ => out.passthrough.push((k, v)),
        }
    }
    Ok(out)
}

/// Where the bytes come from: an http(s) URL (with the pass-through parameters as its
/// query), or an absolute local path (plain or `file://`). Other schemes, relative paths
/// and pass-through parameters for local files are refused.
fn parse_source(
    base: &str,
    passthrough: &[(String, String)],
    label: &str,
) -> Result<Source, ArtifactError> {
    let lower = base.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        let mut url = base.to_string();
        if !passthrough.is_empty() {
            let q: Vec<String> = passthrough
                .iter()
                .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
                .collect();
            url = format!("{url}?{}", q.join("&"));
        }
        return Ok(Source::Http(url));
    }
    let path = if let Some(rest) = base.strip_prefix("file://") {
        PathBuf::from(percent_decode(rest))
    } else if base.contains("::") || base.contains("://") {
        let scheme = base.split("::").next().unwrap_or_default();
        let scheme = scheme.split("://").next().unwrap_or_default();
        return Err(ArtifactError::UnsupportedSource {
            artifact: label.to_string(),
            why: format!("scheme {scheme:?}"),
        });
    } else {
        PathBuf::from(base)
    };
    if !path.is_absolute() {
        return Err(ArtifactError::UnsupportedSource {
            artifact: label.to_string(),
            why: "(relative path; use an absolute path or file://)".into(),
        });
    }
    if let Some((k, _)) = passthrough.first() {
        return Err(invalid(
            label,
            format!("option {k:?} is not supported for local files (only archive and checksum)"),
        ));
    }
    Ok(Source::Path(path))
}

/// The last segment of the source's path (the URL path without its fragment, or the
/// local path), percent-decoded: the saved file's name in `mode = "any"`, and the name
/// archives are detected by.
fn source_file_name(base: &str, source: &Source) -> String {
    let path_part = match source {
        Source::Http(_) => {
            let after_scheme = base.split_once("://").map_or(base, |(_, r)| r);
            after_scheme
                .split_once('/')
                .map_or(String::new(), |(_, p)| {
                    p.split('#').next().unwrap_or("").to_string()
                })
        }
        Source::Path(p) => p.display().to_string(),
    };
    percent_decode(path_part.rsplit('/').next().unwrap_or(""))
}

/// The archive to unpack: none for `archive=false`, detected from the file name when the
/// parameter is absent or empty, else the named type (unknown types are refused).
fn parse_archive(
    param: Option<&str>,
    file_name: &str,
    label: &str,
) -> Result<Option<Archive>, ArtifactError> {
    match param {
        Some("false") => Ok(None),
        Some("") | None => detect_archive(file_name, label),
        Some(kind) => match archive_kind(kind) {
            Some(a) => Ok(Some(a)),
            None => Err(ArtifactError::UnsupportedArchive {
                artifact: label.to_string(),
                format: kind.to_string(),
            }),
        },
    }
}

/// The artifact's `mode` (empty means `any`); `file` cannot unpack a multi-file archive.
fn parse_mode(mode: &str, archive: Option<Archive>, label: &str) -> Result<Mode, ArtifactError> {
    let mode = match mode {
        "" | "any" => Mode::Any,
        "file" => Mode::File,
        "dir" => Mode::Dir,
        other => {
            return Err(invalid(
                label,
                format!("mode {other:?} is not one of any, file, dir"),
            ));
        }
    };
    if mode == Mode::File && matches!(archive, Some(Archive::Tar | Archive::TarGz | Archive::Zip)) {
        return Err(invalid(
            label,
            "mode \"file\" cannot unpack an archive; use mode \"dir\" or \"any\", or archive=false"
                .into(),
        ));
    }
    Ok(mode)
}

/// The destination (default `local/`), interpolated, as a normalized path relative to
/// the task directory, with its text for messages. It may not climb out, and
/// `mode = "file"` needs a file name.
fn parse_destination(
    artifact: &TaskArtifact,
    interpolate: &impl Fn(&str) -> String,
    mode: Mode,
    label: &str,
) -> Result<(PathBuf, String), ArtifactError> {
    let destination_text = if artifact.destination.is_empty() {
        "local/".to_string()
    } else {
        interpolate(&artifact.destination)
    };
    let destination = normalize_relative(Path::new(&destination_text)).ok_or_else(|| {
        ArtifactError::DestinationEscapes {
            artifact: label.to_string(),
            destination: destination_text.clone(),
        }
    })?;
    if mode == Mode::File && destination.as_os_str().is_empty() {
        return Err(invalid(
            label,
            "mode \"file\" needs a destination file name".into(),
        ));
    }
    Ok((destination, destination_text))
}

/// A `checksum` parameter: `<type>:<hex>`, or a bare hex digest whose length picks the
/// type; the digest is returned in lower case.
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

/// The archive named by an `archive=<type>` parameter (or a detected extension).
fn archive_kind(kind: &str) -> Option<Archive> {
    match kind {
        "tar.gz" | "tgz" => Some(Archive::TarGz),
        "tar" => Some(Archive::Tar),
        "zip" => Some(Archive::Zip),
        "gz" => Some(Archive::Gz),
        _ => None,
    }
}

/// The archive a file name says it is, by extension; bzip2, xz and zstd archives are
/// refused by name.
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

/// Decodes `%XX` escapes and `+` (as a space) in a query component or `file://` path.
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

/// The value of one hex digit.
fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Encodes a pass-through parameter for an http(s) query string.
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
