//! `/v1/volumes?type=csi` and `/v1/volume/csi/:id`: CSI volumes as Nomad's API has
//! them. Registration and deregistration are state commands; create, delete through
//! the plugin and snapshots go to a controller plugin through a client
//! ([`super::csi_controller`]).
//!
//! Claims are derived from allocations (`StateStore::csi_claims`), so the
//! `ReadAllocs`/`WriteAllocs` shown here are exactly what the scheduler counts.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use orch_core::acl::NsCap;
use orch_core::model::csi::CsiVolume;
use orch_core::state::{
    Command, CsiVolumeDeregister, CsiVolumeRegister, MAX_CSI_BATCH, StateStore, csi_table, table,
};
use serde_json::{Map, Value, json};

use super::query::{Api, Params, Query, QueryOpts, blocking_read, json_body};
use super::{ApiError, ApiState};

/// The CSI routes: volumes, snapshots, plugins, and the clients' internal calls.
pub fn routes() -> axum::Router<std::sync::Arc<ApiState>> {
    use super::{csi_controller as ctl, csi_node as node, csi_plugins as plugins};
    use axum::routing::{delete, get, post, put};
    axum::Router::new()
        .route("/v1/volumes", get(list))
        .route(
            "/v1/volume/csi/{id}",
            get(get_volume)
                .put(register)
                .post(register)
                .delete(deregister),
        )
        .route(
            "/v1/volume/csi/{id}/create",
            post(ctl::create).put(ctl::create),
        )
        .route("/v1/volume/csi/{id}/delete", delete(ctl::delete))
        .route("/v1/volume/csi/{id}/detach", delete(node::detach))
        .route(
            "/v1/volumes/snapshot",
            get(ctl::snapshot_list)
                .put(ctl::snapshot_create)
                .post(ctl::snapshot_create)
                .delete(ctl::snapshot_delete),
        )
        .route(
            "/v1/volume/host/{id}",
            get(no_host_volumes)
                .put(no_host_volumes)
                .post(no_host_volumes)
                .delete(no_host_volumes),
        )
        .route(
            "/v1/volume/host/{id}/create",
            put(no_host_volumes).post(no_host_volumes),
        )
        .route("/v1/plugins", get(plugins::list))
        .route("/v1/plugin/csi/{id}", get(plugins::get_plugin))
        .route(
            "/v1/internal/node/{id}/csi/plugins",
            post(node::report_plugins).put(node::report_plugins),
        )
        .route("/v1/internal/node/{id}/csi/volume", get(node::claimed))
        .route("/v1/internal/node/{id}/csi/controller", post(node::publish))
        .route(
            "/v1/internal/node/{id}/csi/authorize",
            get(node::authorize_claim),
        )
}

/// Nomad 1.10's dynamic host volumes (`volume create` with `type = "host"`): refused
/// by name; static host volumes are the clients' `host_volume` blocks.
async fn no_host_volumes() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_IMPLEMENTED,
        "dynamic host volumes (volume create/register with type = \"host\") are not supported by orch; declare host volumes in the client's host_volume block instead",
    )
}

/// Volumes change with registrations, allocations (claims) and plugin health.
fn volumes_index(s: &StateStore) -> u64 {
    s.index(csi_table::VOLUMES)
        .max(s.index(csi_table::PLUGINS))
        .max(s.index(table::ALLOCS))
}

/// Only `type=csi` volumes exist in orch; host volumes are the clients' (node API).
fn check_type(q: &QueryOpts) -> Result<(), ApiError> {
    match q.raw.get("type").map(String::as_str) {
        None | Some("csi") | Some("") => Ok(()),
        Some(other) => Err(ApiError::bad_request(format!(
            "type={other:?}: orch lists CSI volumes only (type=csi); dynamic host volumes are not supported"
        ))),
    }
}

/// `GET /v1/volumes?type=csi&plugin_id=&node_id=&prefix=`.
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    blocking_read(&api, raw, volumes_index, |s, q| {
        check_type(q)?;
        let plugin = q.raw.get("plugin_id").cloned().unwrap_or_default();
        let node = q.raw.get("node_id").cloned().unwrap_or_default();
        let plugins = s.csi_plugins();
        let out: Vec<Value> = s
            .csi_volumes()
            .filter(|v| q.sees(&v.namespace) && (q.ns() == "*" || v.namespace == q.ns()))
            .filter(|v| v.id.starts_with(&q.prefix))
            .filter(|v| plugin.is_empty() || v.plugin_id == plugin)
            .filter(|v| {
                node.is_empty()
                    || s.csi_claims(&v.namespace, &v.id)
                        .iter()
                        .any(|c| c.node_id == node)
            })
            .map(|v| volume_stub(s, &plugins, v))
            .collect();
        Ok(out)
    })
    .await
}

/// `GET /v1/volume/csi/:id`.
pub async fn get_volume(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    blocking_read(&api, raw, volumes_index, move |s, q| {
        let v = s
            .csi_volume(q.ns(), &id)
            .ok_or_else(|| ApiError::not_found(format!("volume {id:?} not found")))?;
        Ok(volume_json(s, v))
    })
    .await
}

/// Plugin figures and claims every view of a volume carries.
fn volume_figures(
    s: &StateStore,
    plugins: &std::collections::BTreeMap<String, orch_core::state::CsiPluginView>,
    v: &CsiVolume,
) -> Map<String, Value> {
    let claims = s.csi_claims(&v.namespace, &v.id);
    let p = plugins.get(&v.plugin_id);
    let (ch, ce, nh, ne) = p.map_or((0, 0, 0, 0), |p| {
        (
            p.controllers_healthy(),
            p.controllers.len(),
            p.nodes_healthy(),
            p.nodes.len(),
        )
    });
    let controller_required = p.is_some_and(|p| p.controller_required);
    let schedulable = nh > 0 && (!controller_required || ch > 0);
    let (access, attachment) = claims.first().map_or((String::new(), String::new()), |c| {
        (c.access_mode.clone(), c.attachment_mode.clone())
    });
    let writers = claims.iter().filter(|c| c.write).count();
    let mut m = Map::new();
    m.insert("AccessMode".into(), json!(access));
    m.insert("AttachmentMode".into(), json!(attachment));
    m.insert("CurrentReaders".into(), json!(claims.len() - writers));
    m.insert("CurrentWriters".into(), json!(writers));
    m.insert("Schedulable".into(), json!(schedulable));
    m.insert("ControllerRequired".into(), json!(controller_required));
    m.insert("ControllersHealthy".into(), json!(ch));
    m.insert("ControllersExpected".into(), json!(ce));
    m.insert("NodesHealthy".into(), json!(nh));
    m.insert("NodesExpected".into(), json!(ne));
    m.insert("ResourceExhausted".into(), Value::Null);
    m
}

/// Nomad's `CSIVolumeListStub`.
fn volume_stub(
    s: &StateStore,
    plugins: &std::collections::BTreeMap<String, orch_core::state::CsiPluginView>,
    v: &CsiVolume,
) -> Value {
    let mut m = volume_figures(s, plugins, v);
    for (k, val) in [
        ("ID", json!(v.id)),
        ("Namespace", json!(v.namespace)),
        ("Name", json!(v.name)),
        ("ExternalID", json!(v.external_id)),
        ("Topologies", json!(v.topologies)),
        ("PluginID", json!(v.plugin_id)),
        ("Provider", json!(v.provider)),
        ("CreateIndex", json!(v.create_index)),
        ("ModifyIndex", json!(v.modify_index)),
    ] {
        m.insert(k.into(), val);
    }
    Value::Object(m)
}

/// Nomad's `CSIVolume`: the stored volume, secrets redacted, with its claims and the
/// plugin's health.
pub fn volume_json(s: &StateStore, v: &CsiVolume) -> Value {
    let plugins = s.csi_plugins();
    let mut out = match serde_json::to_value(v) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let redacted: Map<String, Value> = v
        .secrets
        .keys()
        .map(|k| (k.clone(), json!("[REDACTED]")))
        .collect();
    out.insert("Secrets".into(), Value::Object(redacted));
    out.extend(volume_figures(s, &plugins, v));
    let (mut read, mut write, mut stubs) = (Map::new(), Map::new(), Vec::new());
    for c in s.csi_claims(&v.namespace, &v.id) {
        let Some(a) = s.alloc_stub(&c.alloc_id) else {
            continue;
        };
        let stub = super::allocs::alloc_stub(s, a);
        let side = if c.write { &mut write } else { &mut read };
        side.insert(c.alloc_id.clone(), stub.clone());
        stubs.push(stub);
    }
    out.insert("ReadAllocs".into(), Value::Object(read));
    out.insert("WriteAllocs".into(), Value::Object(write));
    out.insert("Allocations".into(), Value::Array(stubs));
    Value::Object(out)
}

/// Fields a volume body may carry: the stored ones, plus the figures the API derives
/// (Nomad's clients send back what they read), which are ignored.
const VOLUME_FIELDS: &[&str] = &[
    "ID",
    "Name",
    "Namespace",
    "ExternalID",
    "PluginID",
    "Provider",
    "ProviderVersion",
    "Capacity",
    "RequestedCapacityMin",
    "RequestedCapacityMax",
    "RequestedCapabilities",
    "MountOptions",
    "Secrets",
    "Parameters",
    "Context",
    "Topologies",
    "RequestedTopologies",
    "SnapshotID",
    "CloneID",
    "CreateIndex",
    "ModifyIndex",
    "CreateTime",
    "ModifyTime",
    // Derived on read; ignored on write.
    "AccessMode",
    "AttachmentMode",
    "ReadAllocs",
    "WriteAllocs",
    "Allocations",
    "Schedulable",
    "ControllerRequired",
    "ControllersHealthy",
    "ControllersExpected",
    "NodesHealthy",
    "NodesExpected",
    "ResourceExhausted",
    "CurrentReaders",
    "CurrentWriters",
    "PastClaims",
    "ReadClaims",
    "WriteClaims",
];

/// The `Volumes` of a register or create body, each checked against `id` (the path's)
/// and given the request's namespace when it names none.
pub fn decode_volumes(body: &Value, id: &str, ns: &str) -> Result<Vec<CsiVolume>, ApiError> {
    let list = body
        .get("Volumes")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::bad_request("body: expected {\"Volumes\": [ ... ]}"))?;
    if list.is_empty() || list.len() > MAX_CSI_BATCH {
        return Err(ApiError::bad_request(format!(
            "Volumes: give 1 to {MAX_CSI_BATCH} volumes"
        )));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        let path = format!("Volumes[{i}]");
        for (k, v) in raw.as_object().into_iter().flatten() {
            if !VOLUME_FIELDS.contains(&k.as_str()) && !super::namespaces::is_empty(v) {
                return Err(ApiError::bad_request(format!(
                    "{path}.{k}: unknown volume field; remove it"
                )));
            }
        }
        let mut v: CsiVolume = serde_json::from_value(strip_derived(raw))
            .map_err(|e| ApiError::bad_request(format!("{path}: {e}")))?;
        if v.id.is_empty() {
            v.id = id.to_string();
        }
        if v.id != id && list.len() == 1 {
            return Err(ApiError::bad_request(format!(
                "{path}.ID: {:?} does not match the volume ID {id:?} in the URL",
                v.id
            )));
        }
        if v.name.is_empty() {
            v.name = v.id.clone();
        }
        if v.namespace.is_empty() {
            v.namespace = ns.to_string();
        }
        if v.requested_capacity_min < 0 || v.requested_capacity_max < 0 {
            return Err(ApiError::bad_request(format!(
                "{path}.RequestedCapacityMin/Max: capacities are bytes, not negative"
            )));
        }
        if v.requested_capacity_max > 0 && v.requested_capacity_min > v.requested_capacity_max {
            return Err(ApiError::bad_request(format!(
                "{path}.RequestedCapacityMin: larger than RequestedCapacityMax"
            )));
        }
        out.push(v);
    }
    Ok(out)
}

/// The body without the fields derived on read (their JSON types differ from the
/// stored model's and they are ignored anyway).
fn strip_derived(raw: &Value) -> Value {
    let mut v = raw.clone();
    if let Some(m) = v.as_object_mut() {
        let stored = VOLUME_FIELDS.iter().position(|f| *f == "AccessMode");
        let derived = stored.map_or(&[][..], |i| &VOLUME_FIELDS[i..]);
        m.retain(|k, val| !derived.contains(&k.as_str()) && !val.is_null());
        for time in ["CreateTime", "ModifyTime", "CreateIndex", "ModifyIndex"] {
            m.remove(time);
        }
    }
    v
}

/// Checks that the caller may write volumes in every namespace the volumes name.
pub fn check_write(q: &QueryOpts, volumes: &[CsiVolume]) -> Result<(), ApiError> {
    for v in volumes {
        q.authz.check(&v.namespace, NsCap::CsiWriteVolume)?;
    }
    Ok(())
}

/// Records provider and version from the plugin, refusing a plugin no client runs.
fn attach_provider(s: &StateStore, v: &mut CsiVolume) -> Result<(), ApiError> {
    let plugins = s.csi_plugins();
    let p = plugins.get(&v.plugin_id).ok_or_else(|| {
        ApiError::bad_request(format!(
            "no CSI plugin named {:?} could be found; run the plugin's job first and wait for `orch plugin status` to show it",
            v.plugin_id
        ))
    })?;
    v.provider = p.provider.clone();
    v.provider_version = p.version.clone();
    Ok(())
}

/// `PUT/POST /v1/volume/csi/:id`: register volumes that exist in the storage system.
pub async fn register(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let mut volumes = decode_volumes(&json_body(&body)?, &id, q.ns())?;
    check_write(&q, &volumes)?;
    {
        let s = api.state.read();
        for v in volumes.iter_mut() {
            if v.external_id.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "volume {:?}: ExternalID is required to register a volume (use `volume create` to make a new one)",
                    v.id
                )));
            }
            attach_provider(&s, v)?;
        }
    }
    register_volumes(&api, volumes).await
}

/// Proposes the registration of `volumes`.
pub async fn register_volumes(
    api: &ApiState,
    volumes: Vec<CsiVolume>,
) -> Result<Response, ApiError> {
    let cmd = Command::CsiVolumeRegister(CsiVolumeRegister { volumes });
    let r = api.replicator.propose(cmd).await?;
    Ok(api.reply(r.index, &json!({ "Index": r.index, "Warnings": "" })))
}

/// `DELETE /v1/volume/csi/:id?force=`: forget a volume (refused while it is claimed).
pub async fn deregister(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    q.authz.check(q.ns(), NsCap::CsiWriteVolume)?;
    let _force = q.flag("force")?;
    if api.state.read().csi_volume(q.ns(), &id).is_none() {
        return Err(ApiError::not_found(format!("volume {id:?} not found")));
    }
    let cmd = Command::CsiVolumeDeregister(CsiVolumeDeregister {
        namespace: q.ns().to_string(),
        ids: vec![id],
    });
    let r = api.replicator.propose(cmd).await?;
    Ok(api.reply(r.index, &json!({ "Index": r.index })))
}

/// The `X-Nomad-CSI-Secrets` header (`key=value,key=value`), as Nomad's CLI sends
/// secrets for delete and snapshot calls.
pub fn secrets_header(
    headers: &HeaderMap,
) -> Result<std::collections::BTreeMap<String, String>, ApiError> {
    let mut out = std::collections::BTreeMap::new();
    let Some(raw) = headers.get("X-Nomad-CSI-Secrets") else {
        return Ok(out);
    };
    let text = raw
        .to_str()
        .map_err(|_| ApiError::bad_request("X-Nomad-CSI-Secrets: not valid text"))?;
    for pair in text.split(',').filter(|p| !p.is_empty()).take(64) {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            ApiError::bad_request(format!("X-Nomad-CSI-Secrets: {pair:?} is not key=value"))
        })?;
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(out)
}
