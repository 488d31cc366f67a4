//! `/v1/client/fs/readat/:alloc` (a byte range of a file) and `/v1/client/fs/stream/:alloc`
//! (a file from an offset, optionally followed as it grows, in Nomad's JSON frames),
//! on the agent running the allocation. Files are opened as `fs/cat` opens them
//! ([`super::client_files::open_regular`]): beneath the allocation directory, links
//! refused, regular files only.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use orch_core::acl::NsCap;
use serde_json::json;

use super::client_fs::{Ch, bool_param, local_or_forward, stream_reply};
use super::query::ApiError;
use crate::client::Client;

/// Bytes read per frame or chunk.
const CHUNK_BYTES: usize = 64 * 1024;

/// How often a followed file is checked for new bytes.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// `GET /v1/client/fs/readat/:alloc?path=&offset=&limit=`: at most `limit` bytes of the
/// file from `offset`, raw.
pub async fn readat(
    State(ch): Ch,
    UrlPath(alloc): UrlPath<String>,
    Query(q): Query<BTreeMap<String, String>>,
    req: Request,
) -> Response {
    let client = match local_or_forward(&ch, &alloc, req, NsCap::ReadFs).await {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    readat_local(&client, &alloc, &q).unwrap_or_else(|e| e.into_response())
}

/// `GET /v1/client/fs/stream/:alloc?path=&offset=&origin=start|end&follow=&plain=`.
pub async fn stream(
    State(ch): Ch,
    UrlPath(alloc): UrlPath<String>,
    Query(q): Query<BTreeMap<String, String>>,
    req: Request,
) -> Response {
    let client = match local_or_forward(&ch, &alloc, req, NsCap::ReadFs).await {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    stream_local(&client, &alloc, &q).unwrap_or_else(|e| e.into_response())
}

fn number(q: &BTreeMap<String, String>, name: &str) -> Result<Option<u64>, ApiError> {
    match q.get(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "{name}: expected a non-negative number of bytes, got {v:?}"
            ))
        }),
    }
}

fn readat_local(
    client: &Client,
    alloc: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let offset = number(q, "offset")?.unwrap_or(0);
    let limit = number(q, "limit")?.ok_or_else(|| {
        ApiError::bad_request("must provide a limit: the number of bytes to read")
    })?;
    let (mut file, shown) = super::client_files::open_regular(client, alloc, q)?;
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{shown}: {e}")))?;
    let body = super::client_files::file_stream(file.take(limit), CHUNK_BYTES);
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from_stream(body),
    )
        .into_response())
}

/// Where a stream starts: `offset` bytes after the start, or before the end.
fn start_position(q: &BTreeMap<String, String>, len: u64) -> Result<u64, ApiError> {
    let offset = number(q, "offset")?.unwrap_or(0);
    match q.get("origin").map(String::as_str) {
        None | Some("") | Some("start") => Ok(offset.min(len)),
        Some("end") => Ok(len.saturating_sub(offset)),
        Some(o) => Err(ApiError::bad_request(format!(
            "origin: expected start or end, got {o:?}"
        ))),
    }
}

/// A file being streamed: the handle, the next byte to send, and its name in frames.
struct Followed {
    file: std::fs::File,
    pos: u64,
    name: String,
}

impl Followed {
    /// The next frame: new bytes, a truncation event, or `None` when nothing is new.
    fn poll(&mut self) -> std::io::Result<Option<serde_json::Value>> {
        let len = self.file.metadata()?.len();
        if len < self.pos {
            self.pos = 0;
            return Ok(Some(json!({
                "File": self.name, "Offset": 0, "FileEvent": "file truncated",
            })));
        }
        self.file.seek(SeekFrom::Start(self.pos))?;
        let mut buf = vec![0u8; CHUNK_BYTES];
        let n = self.file.read(&mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        self.pos += n as u64;
        let data = base64::engine::general_purpose::STANDARD.encode(&buf);
        Ok(Some(
            json!({ "File": self.name, "Offset": self.pos, "Data": data }),
        ))
    }
}

fn stream_local(
    client: &Client,
    alloc: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let follow = bool_param(q, "follow")?;
    let plain = bool_param(q, "plain")?;
    let (file, shown) = super::client_files::open_regular(client, alloc, q)?;
    let len = file
        .metadata()
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{shown}: {e}")))?
        .len();
    let pos = start_position(q, len)?;
    let name = shown.trim_start_matches('/').to_string();
    let followed = Followed { file, pos, name };
    let frames = futures_util::stream::unfold(followed, move |mut f| async move {
        loop {
            match f.poll() {
                Ok(Some(frame)) => {
                    let bytes = if plain {
                        let data = frame["Data"].as_str().unwrap_or_default();
                        base64::engine::general_purpose::STANDARD
                            .decode(data)
                            .unwrap_or_default()
                    } else {
                        let mut v = serde_json::to_vec(&frame).unwrap_or_default();
                        v.push(b'\n');
                        v
                    };
                    return Some((Ok::<_, std::io::Error>(Bytes::from(bytes)), f));
                }
                Ok(None) if follow => tokio::time::sleep(FOLLOW_POLL).await,
                Ok(None) => return None,
                Err(e) => return Some((Err(e), f)),
            }
        }
    });
    Ok(stream_reply(plain, Body::from_stream(frames)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn start_positions_count_from_either_end() {
        assert_eq!(start_position(&q(&[]), 100).unwrap(), 0);
        assert_eq!(start_position(&q(&[("offset", "10")]), 100).unwrap(), 10);
        assert_eq!(
            start_position(&q(&[("offset", "10"), ("origin", "end")]), 100).unwrap(),
            90
        );
        assert_eq!(
            start_position(&q(&[("offset", "500"), ("origin", "end")]), 100).unwrap(),
            0
        );
        assert!(start_position(&q(&[("origin", "middle")]), 100).is_err());
        assert!(start_position(&q(&[("offset", "-1")]), 100).is_err());
    }

    #[test]
    fn a_followed_file_reports_growth_and_truncation() {
        let dir = std::env::temp_dir().join(format!("orch-follow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::write(&path, "hello").unwrap();
        let mut f = Followed {
            file: std::fs::File::open(&path).unwrap(),
            pos: 0,
            name: "alloc/f".into(),
        };
        let frame = f.poll().unwrap().unwrap();
        assert_eq!(frame["Offset"], 5);
        assert!(f.poll().unwrap().is_none());
        std::fs::write(&path, "hi").unwrap();
        assert_eq!(f.poll().unwrap().unwrap()["FileEvent"], "file truncated");
        assert_eq!(f.poll().unwrap().unwrap()["Offset"], 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
