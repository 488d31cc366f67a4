//! The client's CSI endpoints, called by servers: `/v1/client/csi/controller/:op` runs
//! a controller operation on a plugin this node hosts, `/v1/client/csi/node/detach`
//! unmounts what is left of a volume here. orch's own routes (Nomad uses RPC).
//!
//! Who may call: for a claim's publish (`node` and `alloc` in the query), the claiming
//! node itself, proven by its secret; otherwise a caller with `csi-write-volume`
//! (`csi-list-volume` to list snapshots) in the request's namespace.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use orch_core::acl::NsCap;
use orch_core::model::csi::{CsiControllerRequest, controller_op};
use std::collections::BTreeMap;

use super::client_acl::Caller;
use super::client_fs::ClientHttp;
use super::query::ApiError;
use crate::client::csi::ControllerError;

/// Percent-encodes one URL path segment.
pub fn path_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The routes, merged into the client router (which gives them its state).
pub fn routes() -> Router<Arc<ClientHttp>> {
    Router::new()
        .route("/v1/client/csi/controller/{op}", post(controller))
        .route("/v1/client/csi/node/detach", post(detach))
}

/// Largest controller request body (volume specs with parameters and secrets).
const MAX_BODY: usize = 1 << 20;

async fn controller(
    State(ch): State<Arc<ClientHttp>>,
    UrlPath(op): UrlPath<String>,
    Query(q): Query<BTreeMap<String, String>>,
    req: Request,
) -> Response {
    match controller_inner(&ch, &op, &q, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn controller_inner(
    ch: &ClientHttp,
    op: &str,
    q: &BTreeMap<String, String>,
    req: Request,
) -> Result<Response, ApiError> {
    let caller = Caller::of(&req);
    let claim = matches!(op, controller_op::PUBLISH | controller_op::UNPUBLISH);
    match (q.get("node"), q.get("alloc")) {
        (Some(node), Some(alloc)) if claim => {
            ch.acl.check_node_claim(&caller, node, alloc, None).await?;
        }
        _ => {
            let ns = q.get("namespace").map_or("default", String::as_str);
            let cap = if op == controller_op::LIST_SNAPSHOTS {
                NsCap::CsiListVolume
            } else {
                NsCap::CsiWriteVolume
            };
            ch.acl.check_namespace(&caller, ns, cap).await?;
        }
    }
    let Some(client) = ch.client.clone() else {
        return Err(ApiError::bad_request("this agent runs no client"));
    };
    let body: Bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|e| ApiError::bad_request(format!("body: {e}")))?;
    let creq: CsiControllerRequest =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("body: {e}")))?;
    match client.csi().controller(op, creq).await {
        Ok(reply) => Ok(axum::Json(reply).into_response()),
        Err(ControllerError::Refused(m)) => Err(ApiError::bad_request(m)),
        Err(ControllerError::Failed(m)) => Err(ApiError::new(StatusCode::BAD_GATEWAY, m)),
    }
}

async fn detach(
    State(ch): State<Arc<ClientHttp>>,
    Query(q): Query<BTreeMap<String, String>>,
    req: Request,
) -> Response {
    let caller = Caller::of(&req);
    let ns = q
        .get("namespace")
        .cloned()
        .unwrap_or_else(|| "default".into());
    let volume = q.get("volume").cloned().unwrap_or_default();
    if let Err(e) = ch
        .acl
        .check_namespace(&caller, &ns, NsCap::CsiWriteVolume)
        .await
    {
        return e.into_response();
    }
    let Some(client) = ch.client.clone() else {
        return ApiError::bad_request("this agent runs no client").into_response();
    };
    let live: Vec<String> = client
        .alloc_ids()
        .into_iter()
        .filter(|id| {
            client
                .alloc_state(id)
                .is_some_and(|st| !crate::client::alloc_runner::is_finished(&st))
        })
        .collect();
    match client.csi().detach(&ns, &volume, &live).await {
        Ok(n) => axum::Json(serde_json::json!({ "Detached": n })).into_response(),
        Err(m) => ApiError::bad_request(m).into_response(),
    }
}
