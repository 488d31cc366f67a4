//! Nomad's dynamic node metadata: `GET /v1/client/metadata?node_id=` reads a node's
//! meta (as registered, the dynamic keys, the configuration's), `POST` with
//! `{"NodeID": .., "Meta": {"k": "v", "gone": null}}` sets and removes keys. Answered
//! by the node's own client; any other agent forwards to it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::client_acl::{Caller, NODE_READ, NODE_WRITE};
use super::client_fs::{ClientHttp, NodeTarget, forward, node_target};
use super::query::ApiError;
use crate::client::node_meta::MetaChanges;

/// The largest metadata body accepted.
const MAX_BODY_BYTES: usize = 1 << 20;

/// The metadata routes of every agent.
pub fn routes() -> Router<Arc<ClientHttp>> {
    Router::new().route("/v1/client/metadata", get(read).post(apply).put(apply))
}

type Ch = State<Arc<ClientHttp>>;

/// `GET /v1/client/metadata?node_id=`.
async fn read(State(ch): Ch, Query(q): Query<BTreeMap<String, String>>, req: Request) -> Response {
    if let Err(e) = ch.acl.check_node(&Caller::of(&req), NODE_READ).await {
        return e.into_response();
    }
    let client = match node_target(&ch, q.get("node_id").map(String::as_str)) {
        Ok(NodeTarget::Local(c)) => c,
        Ok(NodeTarget::Remote(addr)) => return forward(&ch, &addr, req).await,
        Err(e) => return e.into_response(),
    };
    let (meta, dynamic, static_meta) = client.node_meta();
    axum::Json(json!({"Meta": meta, "Dynamic": dynamic, "Static": static_meta})).into_response()
}

/// `POST /v1/client/metadata` `{"NodeID": .., "Meta": {..}}`.
async fn apply(State(ch): Ch, req: Request) -> Response {
    if let Err(e) = ch.acl.check_node(&Caller::of(&req), NODE_WRITE).await {
        return e.into_response();
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(e) => {
            return ApiError::bad_request(format!("body (at most {MAX_BODY_BYTES} bytes): {e}"))
                .into_response();
        }
    };
    let (node_id, changes) = match parse_body(&bytes) {
        Ok(parsed) => parsed,
        Err(e) => return e.into_response(),
    };
    let client = match node_target(&ch, node_id.as_deref()) {
        Ok(NodeTarget::Local(c)) => c,
        Ok(NodeTarget::Remote(addr)) => {
            let req = Request::from_parts(parts, axum::body::Body::from(bytes));
            return forward(&ch, &addr, req).await;
        }
        Err(e) => return e.into_response(),
    };
    match client.apply_node_meta(changes).await {
        Ok(_) => {
            let (meta, dynamic, static_meta) = client.node_meta();
            axum::Json(json!({"Meta": meta, "Dynamic": dynamic, "Static": static_meta}))
                .into_response()
        }
        Err(e) if e.starts_with("Meta") => ApiError::bad_request(e).into_response(),
        Err(e) => ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

/// The node named by the body and the changes, each value a string or `null`.
fn parse_body(bytes: &[u8]) -> Result<(Option<String>, MetaChanges), ApiError> {
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("body: {e}")))?;
    let node_id = match v.get("NodeID") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ApiError::bad_request("NodeID: expected a string")),
    };
    let Some(meta) = v.get("Meta").and_then(Value::as_object) else {
        return Err(ApiError::bad_request(
            "Meta: expected an object of keys to set (strings) or remove (null)",
        ));
    };
    let mut changes = MetaChanges::new();
    for (k, val) in meta {
        let val = match val {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "Meta.{k}: expected a string or null"
                )));
            }
        };
        changes.insert(k.clone(), val);
    }
    Ok((node_id, changes))
}
