//! Client-side garbage collection over the API (Nomad's `/v1/client/allocation/:id/gc`
//! and `/v1/client/gc`), answered by the node running the allocation (or named by
//! `node_id`), forwarded there like the other client calls.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use orch_core::acl::NsCap;
use serde_json::json;

use super::client_fs::{Ch, ClientHttp, NodeTarget, forward, local_or_forward, node_target};
use super::query::ApiError;
use crate::client::gc::GcError;

/// The GC routes, merged into the client router.
pub fn routes() -> Router<Arc<ClientHttp>> {
    Router::new()
        .route(
            "/v1/client/allocation/{alloc}/gc",
            get(alloc_gc).put(alloc_gc).post(alloc_gc),
        )
        .route("/v1/client/gc", get(node_gc).put(node_gc).post(node_gc))
}

/// Collects one finished allocation (`submit-job` in its namespace, as Nomad asks).
async fn alloc_gc(State(ch): Ch, UrlPath(alloc): UrlPath<String>, req: Request) -> Response {
    let client = match local_or_forward(&ch, &alloc, req, NsCap::SubmitJob).await {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    match client.collect_alloc(&alloc) {
        Ok(()) => axum::Json(json!({})).into_response(),
        Err(e @ GcError::Unknown(_)) => ApiError::not_found(e.to_string()).into_response(),
        Err(e @ GcError::Running(_)) => ApiError::bad_request(e.to_string()).into_response(),
    }
}

/// Collects every finished allocation of the node (`node:write`).
async fn node_gc(
    State(ch): Ch,
    Query(q): Query<std::collections::BTreeMap<String, String>>,
    req: Request,
) -> Response {
    let caller = super::client_acl::Caller::of(&req);
    if let Err(e) = ch
        .acl
        .check_node(&caller, super::client_acl::NODE_WRITE)
        .await
    {
        return e.into_response();
    }
    match node_target(&ch, q.get("node_id").map(String::as_str)) {
        Ok(NodeTarget::Local(client)) => {
            client.collect_all();
            axum::Json(json!({})).into_response()
        }
        Ok(NodeTarget::Remote(addr)) => forward(&ch, &addr, req).await,
        Err(e) => e.into_response(),
    }
}
