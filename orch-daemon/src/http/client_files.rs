//! The file half of `/v1/client/fs/{ls,stat,cat}` on the agent running the allocation.
//!
//! Every path is opened beneath the allocation directory through
//! [`crate::client::safe_path::Dir`], so a symlink a task planted (`alloc/data/x ->
//! /etc/shadow`) is refused with a 400 instead of followed by the root-owned agent. `cat`
//! streams the file in chunks rather than reading it whole, and refuses anything but a
//! regular file (a FIFO would block the request forever, a device could be endless).

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde_json::{Value, json};

use super::query::ApiError;
use crate::client::Client;
use crate::client::safe_path::{Dir, is_refused};

/// Bytes per chunk of a streamed `fs/cat` answer (and per blocking read).
pub const CAT_CHUNK_BYTES: usize = 64 * 1024;

/// The `path` query parameter as a path relative to the allocation directory.
fn rel_path(q: &BTreeMap<String, String>) -> Result<(String, PathBuf), ApiError> {
    let shown = q.get("path").cloned().unwrap_or_else(|| "/".into());
    let mut rel = PathBuf::new();
    for part in Path::new(shown.trim_start_matches('/')).components() {
        match part {
            std::path::Component::Normal(p) => rel.push(p),
            std::path::Component::CurDir => {}
            _ => {
                return Err(ApiError::bad_request(format!(
                    "path: {shown:?} leaves the allocation directory"
                )));
            }
        }
    }
    Ok((shown, rel))
}

/// Maps an open/stat failure of `shown` to the answer: a refused link is a 400 naming
/// the path, a missing file a 404.
fn open_error(shown: &str, e: &io::Error) -> ApiError {
    if is_refused(e) {
        return ApiError::bad_request(format!(
            "path {shown:?}: a symlink is on the way; fs endpoints do not follow links inside the allocation directory"
        ));
    }
    if e.kind() == io::ErrorKind::NotFound {
        return ApiError::not_found(format!("file not found: {shown}"));
    }
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{shown}: {e}"))
}

fn alloc_root(client: &Client, alloc: &str) -> Result<Dir, ApiError> {
    let dir = client
        .alloc_dir(alloc)
        .ok_or_else(|| ApiError::not_found("Unknown allocation"))?;
    dir.open().map_err(|e| open_error("/", &e))
}

fn file_info(md: &std::fs::Metadata, name: String) -> Value {
    let mtime = md
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    json!({
        "Name": name,
        "IsDir": md.is_dir(),
        "Size": md.len(),
        "FileMode": mode_string(md.permissions().mode(), md.is_dir()),
        "ModTime": crate::clock::rfc3339_seconds(mtime as i64 * 1_000_000_000),
        "ContentType": if md.is_dir() { "" } else { "application/octet-stream" },
    })
}

fn mode_string(mode: u32, dir: bool) -> String {
    let mut s = String::from(if dir { "d" } else { "-" });
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// `fs/ls`: the entries of a directory (links listed as themselves, never followed).
pub fn ls_local(
    client: &Client,
    alloc: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let (shown, rel) = rel_path(q)?;
    let dir = alloc_root(client, alloc)?
        .open_dir(&rel)
        .map_err(|e| open_error(&shown, &e))?;
    let names = dir.entries().map_err(|e| open_error(&shown, &e))?;
    let mut out: Vec<Value> = names
        .into_iter()
        .filter_map(|n| {
            let md = dir.metadata(Path::new(&n)).ok()?;
            Some(file_info(&md, n.to_string_lossy().into_owned()))
        })
        .collect();
    out.sort_by(|a, b| a["Name"].as_str().cmp(&b["Name"].as_str()));
    Ok(axum::Json(out).into_response())
}

/// `fs/stat`: one entry (a link as a link).
pub fn stat_local(
    client: &Client,
    alloc: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let (shown, rel) = rel_path(q)?;
    let md = alloc_root(client, alloc)?
        .metadata(&rel)
        .map_err(|e| open_error(&shown, &e))?;
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(axum::Json(file_info(&md, name)).into_response())
}

/// What `file_type` is, for refusing it by name.
fn kind_name(t: std::fs::FileType) -> &'static str {
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else if t.is_symlink() {
        "a symlink"
    } else {
        "not a regular file"
    }
}

/// `fs/cat`: a regular file, streamed in [`CAT_CHUNK_BYTES`] chunks.
pub fn cat_local(
    client: &Client,
    alloc: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let (file, _) = open_regular(client, alloc, q)?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        Body::from_stream(file_stream(file, CAT_CHUNK_BYTES)),
    )
        .into_response())
}

/// The regular file `path` names beneath the allocation directory, and the path as
/// given; a directory, FIFO or device is a 400 naming what it is.
pub(super) fn open_regular(
    client: &Client,
    alloc: &str,
    q: &BTreeMap<String, String>,
) -> Result<(std::fs::File, String), ApiError> {
    let (shown, rel) = rel_path(q)?;
    let file = alloc_root(client, alloc)?
        .open_read(&rel)
        .map_err(|e| open_error(&shown, &e))?;
    let md = file.metadata().map_err(|e| open_error(&shown, &e))?;
    if md.is_dir() {
        return Err(ApiError::bad_request(format!(
            "path {shown:?} is a directory: use fs/ls"
        )));
    }
    if !md.is_file() {
        return Err(ApiError::bad_request(format!(
            "path {shown:?} is {}: only regular files can be read",
            kind_name(md.file_type())
        )));
    }
    Ok((file, shown))
}

/// The bytes of `file` as a stream of chunks of at most `chunk` bytes, each read on the
/// blocking pool, so memory stays at one chunk per request whatever the file's size.
pub fn file_stream<R: Read + Send + 'static>(
    file: R,
    chunk: usize,
) -> impl Stream<Item = io::Result<Bytes>> {
    futures_util::stream::unfold(Some(file), move |state| async move {
        let mut file = state?;
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; chunk.max(1)];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, io::Error>((buf, file))
        })
        .await;
        match read {
            Ok(Ok((buf, _))) if buf.is_empty() => None,
            Ok(Ok((buf, file))) => Some((Ok(Bytes::from(buf)), Some(file))),
            Ok(Err(e)) => Some((Err(e), None)),
            Err(e) => Some((Err(io::Error::other(e)), None)),
        }
    })
}

#[cfg(test)]
mod tests;
