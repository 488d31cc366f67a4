//! Migrating an allocation's ephemeral disk between clients
//! (`ephemeral_disk { migrate = true }`): the servers tell the new client where the
//! previous allocation ran (`/v1/internal/node/:id/previous/:alloc`), and the old
//! client hands its data out as a tar (`/v1/client/allocation/:id/snapshot`) to the
//! node whose allocation replaces it, proven by that node's secret.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use orch_core::acl::NsCap;
use orch_core::model::node_status;
use serde_json::json;

use super::client_acl::Caller;
use super::client_fs::ClientHttp;
use super::query::{Api, ApiError};

/// `GET /v1/internal/node/:id/previous/:alloc`: where allocation `alloc` ran and
/// whether it stopped, for a node running its replacement.
pub async fn previous(
    State(api): Api,
    Path((node_id, prev)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let s = api.state.read();
    let replaces = s
        .allocs_by_node(&node_id)
        .iter()
        .any(|a| a.previous_allocation == prev);
    if !replaces {
        return Err(ApiError::not_found(format!(
            "no allocation on node {node_id} replaces allocation {prev}"
        )));
    }
    let old = s
        .alloc_stub(&prev)
        .ok_or_else(|| ApiError::not_found(format!("allocation {prev} not found")))?;
    let node = s.node(&old.node_id);
    let body = json!({
        "HTTPAddr": node.map(|n| n.http_addr.clone()).unwrap_or_default(),
        "ClientTerminal": old.client_terminal(),
        "NodeDown": node.is_none_or(|n| n.status == node_status::DOWN),
    });
    Ok(api.reply(s.latest_index(), &body))
}

/// `GET /v1/client/allocation/:id/snapshot?node=&alloc=`: the stopped allocation's
/// `alloc/data` and tasks' `local/` as a tar, for node `node` whose allocation `alloc`
/// replaces it (or a caller with `read-fs` in its namespace).
pub async fn snapshot(
    State(ch): State<Arc<ClientHttp>>,
    Path(prev): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    req: Request,
) -> Response {
    let caller = Caller::of(&req);
    drop(req);
    match snapshot_inner(&ch, &prev, &q, caller).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn snapshot_inner(
    ch: &ClientHttp,
    prev: &str,
    q: &BTreeMap<String, String>,
    caller: Caller,
) -> Result<Response, ApiError> {
    match (q.get("node"), q.get("alloc")) {
        (Some(node), Some(alloc)) => {
            ch.acl
                .check_node_claim(&caller, node, alloc, Some(prev))
                .await?
        }
        _ => ch.acl.check_alloc(&caller, prev, NsCap::ReadFs).await?,
    }
    let client = ch
        .client
        .clone()
        .ok_or_else(|| ApiError::bad_request("this agent runs no client"))?;
    let st = client.alloc_state(prev).ok_or_else(|| {
        ApiError::not_found(format!("allocation {prev} not found on this client"))
    })?;
    if !crate::client::alloc_runner::is_finished(&st) && st.tasks.values().any(|t| !t.done) {
        return Err(ApiError::bad_request(format!(
            "allocation {prev} is still running; its disk is handed out once it stopped"
        )));
    }
    let dir = client
        .alloc_dir(prev)
        .ok_or_else(|| ApiError::not_found(format!("allocation {prev} has no directory")))?;
    let tasks: Vec<String> = st.tasks.keys().cloned().collect();
    let file = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
        let mut tmp = tempfile_in(&dir.root)?;
        crate::client::migrate::archive(&dir, &tasks, &mut tmp)?;
        use std::io::{Seek, SeekFrom};
        tmp.seek(SeekFrom::Start(0))?;
        Ok(tmp)
    })
    .await
    .map_err(|e| ApiError::bad_request(format!("archiving panicked: {e}")))?
    .map_err(|e| ApiError::bad_request(format!("cannot archive allocation {prev}: {e}")))?;
    let stream = super::client_files::file_stream(file, 256 * 1024);
    Ok((
        [(header::CONTENT_TYPE, "application/x-tar")],
        Body::from_stream(stream),
    )
        .into_response())
}

/// An anonymous file next to `dir` (removed from the tree at once, so it goes away
/// with its last descriptor).
fn tempfile_in(dir: &std::path::Path) -> std::io::Result<std::fs::File> {
    let path = dir.join(format!(".orch-snapshot-{}", uuid::Uuid::new_v4()));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(f)
}
