//! What clients ask the servers about CSI (`/v1/internal/node/:id/csi/...`, checked
//! against the node's secret): reporting their plugin instances, reading a volume an
//! allocation of theirs claims (secrets included, which the public API never shows),
//! and having a controller publish or unpublish it for them. Also `volume detach`,
//! which goes the other way: to the node's client.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use orch_core::acl::NsCap;
use orch_core::model::csi::{
    CsiControllerReply, CsiControllerRequest, CsiVolume, NodeCsiPlugins, claimed_volume_id,
    controller_op,
};
use orch_core::state::{Command, CsiNodePluginsUpdate, StateStore};
use serde::Deserialize;
use serde_json::json;

use super::csi_controller::{Credentials, controller_call};
use super::query::{Api, Params, Query, QueryOpts, json_body};
use super::{ApiError, ApiState};

/// `PUT /v1/internal/node/:id/csi/plugins`: the node's plugin instances, replacing
/// what it reported before.
pub async fn report_plugins(
    State(api): Api,
    Path(node_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let plugins: NodeCsiPlugins = serde_json::from_value(json_body(&body)?)
        .map_err(|e| ApiError::bad_request(format!("body: {e}")))?;
    let cmd = Command::CsiNodePlugins(CsiNodePluginsUpdate { node_id, plugins });
    let r = api.replicator.propose(cmd).await?;
    Ok(api.reply(r.index, &json!({ "Index": r.index })))
}

/// The volume allocation `alloc_id` of node `node_id` asks for under request
/// `volume` (the group's volume block name), resolved for `per_alloc`.
fn claimed_volume(
    s: &StateStore,
    node_id: &str,
    alloc_id: &str,
    request: &str,
) -> Result<CsiVolume, ApiError> {
    let alloc = s
        .alloc_stub(alloc_id)
        .filter(|a| a.node_id.as_str() == node_id && !a.client_terminal())
        .ok_or_else(|| {
            ApiError::not_found(format!("allocation {alloc_id} not found on node {node_id}"))
        })?;
    let job = s
        .alloc_job(alloc)
        .ok_or_else(|| ApiError::not_found(format!("job of allocation {alloc_id} not found")))?;
    let req = job
        .task_groups
        .iter()
        .find(|g| g.name == alloc.task_group.as_str())
        .and_then(|g| g.volumes.get(request))
        .filter(|r| r.kind == "csi")
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "allocation {alloc_id}'s group has no CSI volume request {request:?}"
            ))
        })?;
    let id = claimed_volume_id(&req.source, req.per_alloc, &alloc.name);
    s.csi_volume(&alloc.namespace, &id).cloned().ok_or_else(|| {
        ApiError::not_found(format!(
            "CSI volume {id:?} not found in namespace {:?}",
            alloc.namespace
        ))
    })
}

/// `GET /v1/internal/node/:id/csi/volume?alloc=&volume=`: the volume an allocation on
/// this node claims, with its secrets and context, for staging and publishing it.
pub async fn claimed(
    State(api): Api,
    Path(node_id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let alloc = q.raw.get("alloc").cloned().unwrap_or_default();
    let request = q.raw.get("volume").cloned().unwrap_or_default();
    let s = api.state.read();
    let vol = claimed_volume(&s, &node_id, &alloc, &request)?;
    let index = s.latest_index();
    drop(s);
    Ok(api.reply(index, &vol))
}

/// The body of a claim's publish or unpublish.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ClaimPublish {
    /// `publish` or `unpublish`.
    pub op: String,
    /// The claiming allocation (on the calling node).
    #[serde(rename = "AllocID")]
    pub alloc_id: String,
    /// The group's volume request name.
    pub volume: String,
    /// The CSI node ID of the calling node's plugin instance.
    #[serde(rename = "NodeExternalID")]
    pub node_external_id: String,
}

/// `POST /v1/internal/node/:id/csi/controller`: `ControllerPublishVolume` (or
/// unpublish) for a claim of this node, through a controller plugin. A plugin whose
/// controllers do not publish answers an empty reply.
pub async fn publish(
    State(api): Api,
    Path(node_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let c: ClaimPublish = serde_json::from_value(json_body(&body)?)
        .map_err(|e| ApiError::bad_request(format!("body: {e}")))?;
    let op = match c.op.as_str() {
        "publish" => controller_op::PUBLISH,
        "unpublish" => controller_op::UNPUBLISH,
        other => {
            return Err(ApiError::bad_request(format!(
                "Op: {other:?} is neither publish nor unpublish"
            )));
        }
    };
    let (vol, read_only, capability, publishes) = {
        let s = api.state.read();
        let vol = claimed_volume(&s, &node_id, &c.alloc_id, &c.volume)?;
        let claim = s
            .csi_claims(&vol.namespace, &vol.id)
            .into_iter()
            .find(|cl| cl.alloc_id == c.alloc_id);
        if op == controller_op::PUBLISH && claim.is_none() {
            return Err(ApiError::bad_request(format!(
                "allocation {} holds no claim on volume {:?} (it stopped)",
                c.alloc_id, vol.id
            )));
        }
        let publishes = s.csi_plugins().get(&vol.plugin_id).is_some_and(|p| {
            p.controllers.values().any(|i| {
                i.controller_info
                    .as_ref()
                    .is_some_and(|ci| ci.supports_attach_detach)
            })
        });
        let read_only = claim.as_ref().is_none_or(|cl| !cl.write);
        let capability = claim.map(|cl| orch_core::model::csi::CsiCapability {
            access_mode: cl.access_mode,
            attachment_mode: cl.attachment_mode,
        });
        (vol, read_only, capability, publishes)
    };
    let index = api.state.read().latest_index();
    if !publishes {
        return Ok(api.reply(index, &CsiControllerReply::default()));
    }
    let req = CsiControllerRequest {
        plugin_id: vol.plugin_id.clone(),
        external_id: vol.external_id.clone(),
        node_external_id: c.node_external_id.clone(),
        capabilities: capability.into_iter().collect(),
        mount_options: vol.mount_options.clone(),
        secrets: vol.secrets.clone(),
        context: vol.context.clone(),
        read_only,
        ..CsiControllerRequest::default()
    };
    let creds = Credentials {
        headers: &headers,
        query: vec![("node", node_id), ("alloc", c.alloc_id)],
    };
    let reply = controller_call(&api, op, &req, &creds).await?;
    Ok(api.reply(index, &reply))
}

/// `GET /v1/internal/node/:id/csi/authorize?alloc=&previous=`: whether the caller (who
/// presented node `:id`'s secret, checked by the guard) runs allocation `alloc` (which
/// replaces `previous`, when given). A controller's client asks this before
/// publishing for a claim, and a client before handing out a migrating disk.
pub async fn authorize_claim(
    State(api): Api,
    Path(node_id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let alloc = q.raw.get("alloc").cloned().unwrap_or_default();
    let previous = q.raw.get("previous");
    let s = api.state.read();
    let owns = s.alloc_stub(&alloc).is_some_and(|a| {
        a.node_id.as_str() == node_id && previous.is_none_or(|p| &a.previous_allocation == p)
    });
    if !owns {
        return Err(super::auth::permission_denied());
    }
    Ok(api.reply(s.latest_index(), &json!({ "Allowed": true })))
}

/// `DELETE /v1/volume/csi/:id/detach?node=`: have node `node`'s client unpublish and
/// unstage what is left of the volume there (refused by the client while one of its
/// live allocations uses it).
pub async fn detach(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    q.authz.check(q.ns(), NsCap::CsiWriteVolume)?;
    let node = q
        .raw
        .get("node")
        .filter(|n| !n.is_empty())
        .cloned()
        .ok_or_else(|| ApiError::bad_request("node: name the node to detach the volume from"))?;
    let addr = {
        let s = api.state.read();
        if s.csi_volume(q.ns(), &id).is_none() {
            return Err(ApiError::not_found(format!("volume {id:?} not found")));
        }
        let n = s
            .node(&node)
            .ok_or_else(|| ApiError::not_found("node not found"))?;
        n.http_addr.clone()
    };
    forward_detach(&api, &addr, q.ns(), &id, &headers).await
}

async fn forward_detach(
    api: &ApiState,
    addr: &str,
    ns: &str,
    id: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("namespace", ns)
        .append_pair("volume", id)
        .finish();
    let url = api
        .peers
        .url(addr, &format!("/v1/client/csi/node/detach?{query}"));
    let req = super::auth::with_caller_credentials(api.peers.client().post(&url), headers);
    let resp = req
        .send()
        .await
        .map_err(|e| ApiError::new(axum::http::StatusCode::BAD_GATEWAY, format!("{addr}: {e}")))?;
    let status = axum::http::StatusCode::from_u16(resp.status().as_u16())
        .unwrap_or(axum::http::StatusCode::BAD_GATEWAY);
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(ApiError::new(status, text));
    }
    let index = api.state.read().latest_index();
    Ok(api.reply(index, &json!({})))
}
