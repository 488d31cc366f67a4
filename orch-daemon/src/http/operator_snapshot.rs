//! `GET /v1/operator/snapshot` (save) and `PUT /v1/operator/snapshot` (restore): Nomad's
//! operator snapshots, for backups. Management tokens only (`auth::rules`).
//!
//! The body is orch's own archive ([`orch_core::state::archive`]: magic, version, the
//! index and term it was taken at, SHA-256, then the state), not Nomad's gzipped tar.
//!
//! **Save** reads the leader's state under one read lock, so it is one consistent
//! point of the log. A follower answers only with `?stale=true` (its own state, maybe
//! behind); otherwise it refuses, naming the leader, since orch cannot forward a
//! streamed read to the leader's API.
//!
//! **Restore** checks the archive and decodes its state before anything is proposed
//! (a corrupt or foreign file is a 400 that changes nothing), then replaces the state
//! through Raft with one [`Command::SnapshotRestore`], so every server converges and the
//! restore survives restarts. One command rather than chunks staged over several: a
//! staged restore would need a second, replicated staging area in the state machine
//! and a way to abandon half-staged uploads, while states near the entry limit are far
//! beyond what orch is built for (the 16 MiB entry holds tens of thousands of
//! allocations); a bigger one is refused naming the limit.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use orch_core::state::archive;
use orch_core::state::{Command, SnapshotRestore, StateStore};
use serde_json::json;

use super::ApiError;
use super::query::{Api, Params, Query, QueryOpts};

/// The most bytes a restore body may have; larger than any sane state (which the Raft
/// entry limit bounds far lower anyway), it only keeps a hostile upload from filling
/// memory.
pub const MAX_RESTORE_BODY_BYTES: usize = 1 << 30;

/// The largest state a restore carries: it travels as one Raft entry, with room for the
/// entry's own framing.
pub const MAX_RESTORE_STATE_BYTES: usize = crate::raft::MAX_ENTRY_BYTES - (64 << 10);

/// `GET /v1/operator/snapshot[?stale=true]`: the archive, with `X-Nomad-Index`.
pub async fn save(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    if !q.flag("stale")? && !api.replicator.is_leader() {
        let leader = api
            .replicator
            .leader_addr()
            .unwrap_or_else(|| "unknown (no leader elected)".into());
        return Err(internal(format!(
            "this server is not the leader (leader's RPC address: {leader}); send the request to the leader's HTTP API (`orch server members`) or add ?stale=true (-stale) to save this server's possibly stale state"
        )));
    }
    let state = api.state.clone();
    let term = api.replicator.last_applied_term();
    let (index, bytes) = tokio::task::spawn_blocking(move || {
        let s = state.read();
        s.snapshot().map(|b| (s.latest_index(), b))
    })
    .await
    .map_err(|e| internal(e.to_string()))?
    .map_err(|e| internal(e.to_string()))?;
    let body = archive::encode(index, term, &bytes);
    let mut resp = Body::from(body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    api.set_meta(&mut resp, index);
    Ok(resp)
}

/// `PUT /v1/operator/snapshot`: checks the archive, then replaces the whole state
/// through Raft; answers `{"Index": n}` with the index the cluster continues from.
pub async fn restore(State(api): Api, body: Body) -> Result<Response, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_RESTORE_BODY_BYTES)
        .await
        .map_err(|e| {
            ApiError::bad_request(format!(
                "could not read the snapshot body ({e}); a restore body may be at most {} MiB",
                MAX_RESTORE_BODY_BYTES >> 20
            ))
        })?;
    let state = checked_state(bytes).await?;
    let cmd = Command::SnapshotRestore(SnapshotRestore { state });
    let r = api.replicator.propose(cmd).await?;
    Ok(api.reply(r.index, &json!({ "Index": r.index })))
}

/// The archive's state bytes once header, checksum, size and the state itself check out.
async fn checked_state(bytes: Bytes) -> Result<Vec<u8>, ApiError> {
    tokio::task::spawn_blocking(move || {
        let a = archive::decode(&bytes)
            .map_err(|e| ApiError::bad_request(format!("snapshot refused: {e}")))?;
        if a.state.len() > MAX_RESTORE_STATE_BYTES {
            return Err(ApiError::bad_request(format!(
                "snapshot refused: its state is {} bytes, more than the {MAX_RESTORE_STATE_BYTES} bytes a restore can carry (it is replicated as one Raft entry of at most {} MiB)",
                a.state.len(),
                crate::raft::MAX_ENTRY_BYTES >> 20
            )));
        }
        StateStore::restore(a.state)
            .map_err(|e| ApiError::bad_request(format!("snapshot refused: {e}")))?;
        Ok(a.state.to_vec())
    })
    .await
    .map_err(|e| ApiError::bad_request(format!("snapshot check failed: {e}")))?
}

fn internal(message: String) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
}
