//! What needs a controller plugin: `volume create`, `volume delete`, snapshots, and
//! the publish/unpublish a claiming client asks for. Servers cannot reach a plugin's
//! socket, so each call goes to a client that runs a healthy controller instance of
//! the plugin (`/v1/client/csi/controller/:op`, [`super::client_csi`]), with the
//! caller's credentials passed along for that client to check.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use orch_core::acl::NsCap;
use orch_core::model::csi::{
    CsiControllerReply, CsiControllerRequest, CsiSnapshot, CsiVolume, controller_op,
};
use orch_core::model::node_status;
use orch_core::state::{Command, CsiVolumeDeregister};
use serde_json::{Value, json};

use super::csi_volumes::{check_write, decode_volumes, register_volumes, secrets_header};
use super::query::{Api, Params, Query, QueryOpts, json_body};
use super::{ApiError, ApiState};

/// How long a controller operation may take (creating a volume can be slow).
const CONTROLLER_TIMEOUT: Duration = Duration::from_secs(120);

/// Who the controller's client should believe the call comes from.
pub struct Credentials<'a> {
    /// The caller's headers (its token, or a node's secret).
    pub headers: &'a HeaderMap,
    /// `namespace`, and `node`/`alloc` for a claim's publish, as query parameters.
    pub query: Vec<(&'static str, String)>,
}

/// Runs `op` on a healthy controller instance of `plugin_id`, trying each in turn.
pub async fn controller_call(
    api: &ApiState,
    op: &str,
    req: &CsiControllerRequest,
    creds: &Credentials<'_>,
) -> Result<CsiControllerReply, ApiError> {
    let addrs = controller_addrs(api, &req.plugin_id)?;
    if addrs.is_empty() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "CSI plugin {:?} has no healthy controller; check `orch plugin status {}`",
                req.plugin_id, req.plugin_id
            ),
        ));
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(creds.query.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let mut last = String::new();
    for addr in addrs {
        let url = api
            .peers
            .url(&addr, &format!("/v1/client/csi/controller/{op}?{query}"));
        let outgoing = api
            .peers
            .client()
            .post(&url)
            .json(req)
            .timeout(CONTROLLER_TIMEOUT);
        let outgoing = super::auth::with_caller_credentials(outgoing, creds.headers);
        match outgoing.send().await {
            Ok(r) if r.status().is_success() => {
                return r.json::<CsiControllerReply>().await.map_err(|e| {
                    ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        format!("controller on {addr} answered an unreadable reply: {e}"),
                    )
                });
            }
            Ok(r) => {
                let status =
                    StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
                let text = r.text().await.unwrap_or_default();
                // The plugin's own answer (bad argument, not found...) is final.
                if status.is_client_error() {
                    return Err(ApiError::new(status, text));
                }
                last = format!("{addr}: {status}: {text}");
            }
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(ApiError::new(
        StatusCode::BAD_GATEWAY,
        format!(
            "no controller of CSI plugin {:?} answered ({last})",
            req.plugin_id
        ),
    ))
}

/// The HTTP addresses of the ready nodes with a healthy controller of `plugin_id`.
fn controller_addrs(api: &ApiState, plugin_id: &str) -> Result<Vec<String>, ApiError> {
    let s = api.state.read();
    let plugins = s.csi_plugins();
    let plugin = plugins.get(plugin_id).ok_or_else(|| {
        ApiError::bad_request(format!(
            "no CSI plugin named {plugin_id:?} could be found; run the plugin's job first"
        ))
    })?;
    Ok(plugin
        .controllers
        .iter()
        .filter(|(_, info)| info.healthy)
        .filter_map(|(node, _)| s.node(node))
        .filter(|n| n.status == node_status::READY && !n.http_addr.is_empty())
        .map(|n| n.http_addr.clone())
        .collect())
}

fn user_creds<'a>(headers: &'a HeaderMap, ns: &str) -> Credentials<'a> {
    Credentials {
        headers,
        query: vec![("namespace", ns.to_string())],
    }
}

/// `PUT/POST /v1/volume/csi/:id/create`: create volumes through their controller
/// plugin, then register them.
pub async fn create(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let volumes = decode_volumes(&json_body(&body)?, &id, q.ns())?;
    check_write(&q, &volumes)?;
    let mut created = Vec::with_capacity(volumes.len());
    // Everything the state would refuse is refused before any plugin creates storage.
    for v in &volumes {
        orch_core::state::check_csi_volume(v).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let s = api.state.read();
        if s.namespace(&v.namespace).is_none() {
            return Err(ApiError::bad_request(format!(
                "volume {:?}: namespace {:?} does not exist; create it first",
                v.id, v.namespace
            )));
        }
        if s.csi_volume(&v.namespace, &v.id).is_some() {
            return Err(ApiError::bad_request(format!(
                "volume {:?} already exists; deregister it first or pick another ID",
                v.id
            )));
        }
    }
    for mut v in volumes {
        let req = CsiControllerRequest {
            plugin_id: v.plugin_id.clone(),
            name: v.name.clone(),
            capacity_min: v.requested_capacity_min,
            capacity_max: v.requested_capacity_max,
            capabilities: v.requested_capabilities.clone(),
            mount_options: v.mount_options.clone(),
            secrets: v.secrets.clone(),
            parameters: v.parameters.clone(),
            requested_topologies: v.requested_topologies.clone(),
            snapshot_id: v.snapshot_id.clone(),
            clone_id: v.clone_id.clone(),
            ..CsiControllerRequest::default()
        };
        let creds = user_creds(&headers, &v.namespace);
        let reply = controller_call(&api, controller_op::CREATE_VOLUME, &req, &creds).await?;
        v.external_id = reply.external_id;
        v.capacity = reply.capacity;
        v.context = reply.context;
        v.topologies = reply.topologies;
        {
            let s = api.state.read();
            let plugins = s.csi_plugins();
            if let Some(p) = plugins.get(&v.plugin_id) {
                v.provider = p.provider.clone();
                v.provider_version = p.version.clone();
            }
        }
        created.push(v);
    }
    let shown: Vec<Value> = created.iter().map(redacted).collect();
    let resp = register_volumes(&api, created).await?;
    let index = index_of(&resp);
    Ok(api.reply(
        index,
        &json!({ "Volumes": shown, "Warnings": "", "Index": index }),
    ))
}

fn index_of(resp: &Response) -> u64 {
    resp.headers()
        .get("X-Nomad-Index")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn redacted(v: &CsiVolume) -> Value {
    let mut v = v.clone();
    for s in v.secrets.values_mut() {
        *s = "[REDACTED]".into();
    }
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// `DELETE /v1/volume/csi/:id/delete`: delete the volume in the storage system through
/// its controller plugin, then deregister it (refused while it is claimed).
pub async fn delete(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    q.authz.check(q.ns(), NsCap::CsiWriteVolume)?;
    let (vol, claimed) = {
        let s = api.state.read();
        let v = s
            .csi_volume(q.ns(), &id)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("volume {id:?} not found")))?;
        let claimed = s.csi_claims(q.ns(), &id).len();
        (v, claimed)
    };
    if claimed > 0 {
        return Err(ApiError::bad_request(format!(
            "volume {id:?} is in use by {claimed} allocation(s); stop them before deleting it"
        )));
    }
    let mut secrets = vol.secrets.clone();
    secrets.extend(secrets_header(&headers)?);
    let req = CsiControllerRequest {
        plugin_id: vol.plugin_id.clone(),
        external_id: vol.external_id.clone(),
        secrets,
        ..CsiControllerRequest::default()
    };
    let creds = user_creds(&headers, q.ns());
    controller_call(&api, controller_op::DELETE_VOLUME, &req, &creds).await?;
    let cmd = Command::CsiVolumeDeregister(CsiVolumeDeregister {
        namespace: q.ns().to_string(),
        ids: vec![id],
    });
    let r = api.replicator.propose(cmd).await?;
    Ok(api.reply(r.index, &json!({ "Index": r.index })))
}

/// `GET /v1/volumes/snapshot?plugin_id=`: the plugin's snapshots.
pub async fn snapshot_list(
    State(api): Api,
    Query(raw): Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    q.authz.check(q.ns(), NsCap::CsiListVolume)?;
    let plugin_id = q
        .raw
        .get("plugin_id")
        .filter(|p| !p.is_empty())
        .cloned()
        .ok_or_else(|| {
            ApiError::bad_request("plugin_id: name the plugin whose snapshots to list")
        })?;
    let req = CsiControllerRequest {
        plugin_id: plugin_id.clone(),
        secrets: secrets_header(&headers)?,
        ..CsiControllerRequest::default()
    };
    let creds = user_creds(&headers, q.ns());
    let mut reply = controller_call(&api, controller_op::LIST_SNAPSHOTS, &req, &creds).await?;
    let index = api.state.read().latest_index();
    for snap in reply.snapshots.iter_mut() {
        snap.plugin_id = plugin_id.clone();
        snap.source_volume_id = source_volume_of(&api, q.ns(), &plugin_id, snap);
    }
    let body = json!({ "Snapshots": reply.snapshots, "NextToken": "" });
    Ok(api.reply(index, &body))
}

/// orch's ID of the volume a snapshot was taken from, if it is registered.
fn source_volume_of(api: &ApiState, ns: &str, plugin: &str, snap: &CsiSnapshot) -> String {
    api.state
        .read()
        .csi_volumes()
        .find(|v| {
            v.namespace == ns
                && v.plugin_id == plugin
                && v.external_id == snap.external_source_volume_id
        })
        .map(|v| v.id.clone())
        .unwrap_or_default()
}

/// `PUT/POST /v1/volumes/snapshot`: snapshot registered volumes
/// (`{"Snapshots": [{"SourceVolumeID", "Name", "Secrets", "Parameters"}]}`).
pub async fn snapshot_create(
    State(api): Api,
    Query(raw): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    q.authz.check(q.ns(), NsCap::CsiWriteVolume)?;
    let body = json_body(&body)?;
    let asked: Vec<CsiSnapshot> = body
        .get("Snapshots")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("Snapshots: {e}")))?
        .unwrap_or_default();
    if asked.is_empty() || asked.len() > 64 {
        return Err(ApiError::bad_request(
            "Snapshots: give 1 to 64 snapshots to create",
        ));
    }
    let mut made = Vec::new();
    for (i, want) in asked.into_iter().enumerate() {
        let vol = api
            .state
            .read()
            .csi_volume(q.ns(), &want.source_volume_id)
            .cloned()
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Snapshots[{i}].SourceVolumeID: volume {:?} not found",
                    want.source_volume_id
                ))
            })?;
        let mut secrets = vol.secrets.clone();
        secrets.extend(want.secrets.clone());
        let req = CsiControllerRequest {
            plugin_id: vol.plugin_id.clone(),
            name: want.name.clone(),
            external_id: vol.external_id.clone(),
            secrets,
            parameters: want.parameters.clone(),
            ..CsiControllerRequest::default()
        };
        let creds = user_creds(&headers, q.ns());
        let reply = controller_call(&api, controller_op::CREATE_SNAPSHOT, &req, &creds).await?;
        for mut snap in reply.snapshots {
            snap.source_volume_id = vol.id.clone();
            snap.plugin_id = vol.plugin_id.clone();
            snap.secrets.clear();
            made.push(snap);
        }
    }
    let index = api.state.read().latest_index();
    Ok(api.reply(index, &json!({ "Snapshots": made })))
}

/// `DELETE /v1/volumes/snapshot?plugin_id=&snapshot_id=`.
pub async fn snapshot_delete(
    State(api): Api,
    Query(raw): Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    q.authz.check(q.ns(), NsCap::CsiWriteVolume)?;
    let get = |k: &str| {
        q.raw
            .get(k)
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| ApiError::bad_request(format!("{k}: required")))
    };
    let req = CsiControllerRequest {
        plugin_id: get("plugin_id")?,
        snapshot_id: get("snapshot_id")?,
        secrets: secrets_header(&headers)?,
        ..CsiControllerRequest::default()
    };
    let creds = user_creds(&headers, q.ns());
    controller_call(&api, controller_op::DELETE_SNAPSHOT, &req, &creds).await?;
    let index = api.state.read().latest_index();
    Ok(api.reply(index, &json!({})))
}
