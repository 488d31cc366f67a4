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
    let body: Bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|e| ApiError::bad_request(format!("body: {e}")))?;
    let creq: CsiControllerRequest =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("body: {e}")))?;
    authorize(ch, op, q, &caller, &creq).await?;
    let Some(client) = ch.client.clone() else {
        return Err(ApiError::bad_request("this agent runs no client"));
    };
    match client.csi().controller(op, creq).await {
        Ok(reply) => Ok(axum::Json(reply).into_response()),
        Err(ControllerError::Refused(m)) => Err(ApiError::bad_request(m)),
        Err(ControllerError::Failed(m)) => Err(ApiError::new(StatusCode::BAD_GATEWAY, m)),
    }
}

/// Who may ask for `op`: a claim's publish only the claiming node; an operation on an
/// existing volume only a caller with the right in the namespace that holds it; the
/// rest a caller with the right in the request's namespace.
async fn authorize(
    ch: &ClientHttp,
    op: &str,
    q: &BTreeMap<String, String>,
    caller: &Caller,
    creq: &CsiControllerRequest,
) -> Result<(), ApiError> {
    if matches!(op, controller_op::PUBLISH | controller_op::UNPUBLISH) {
        let (Some(node), Some(alloc)) = (q.get("node"), q.get("alloc")) else {
            return Err(ApiError::bad_request(
                "publish and unpublish are for a claim: node and alloc are required",
            ));
        };
        return ch.acl.check_node_claim(caller, node, alloc, None).await;
    }
    let ns = q.get("namespace").map_or("default", String::as_str);
    let cap = if op == controller_op::LIST_SNAPSHOTS {
        NsCap::CsiListVolume
    } else {
        NsCap::CsiWriteVolume
    };
    ch.acl.check_namespace(caller, ns, cap).await?;
    if matches!(
        op,
        controller_op::DELETE_VOLUME | controller_op::CREATE_SNAPSHOT
    ) {
        ch.acl
            .check_volume_in_namespace(caller, ns, &creq.plugin_id, &creq.external_id)
            .await?;
    }
    Ok(())
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
