//! The `nomad` service provider's catalog: `/v1/services`, `/v1/service/:name`, and
//! orch's client calls that register and deregister allocations' services.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::model::ServiceRegistration;
use orch_core::state::{Command, ServiceDelete, ServiceUpsert, StateStore, table};
use serde_json::{Value, json};

use super::query::{Api, Params, Query, json_body, write_reply};
use super::{ApiError, QueryOpts};

fn services_index(s: &StateStore) -> u64 {
    s.index(table::SERVICES)
}

/// `GET /v1/services`: service names and their tags, per namespace.
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, services_index).await;
    let mut by_ns: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for r in api.state.read().services().filter(|r| q.sees(&r.namespace)) {
        by_ns
            .entry(r.namespace.clone())
            .or_default()
            .entry(r.service_name.clone())
            .or_default()
            .extend(r.tags.iter().cloned());
    }
    let body: Vec<Value> = by_ns
        .into_iter()
        .map(|(ns, services)| {
            json!({
                "Namespace": ns,
                "Services": services
                    .into_iter()
                    .map(|(name, tags)| json!({"ServiceName": name, "Tags": tags}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(api.reply(index, &body))
}

/// `GET /v1/service/:name`: every registered instance of a service.
pub async fn get_service(
    State(api): Api,
    Path(name): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    service_instances(&api, &q, &name).await
}

/// `GET /v1/internal/node/:id/service/:name`: the same, asked by a client node with its
/// secret (templates' `nomadService`), so it needs no user token.
pub async fn node_service(
    State(api): Api,
    Path((_node, name)): Path<(String, String)>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    service_instances(&api, &q, &name).await
}

async fn service_instances(
    api: &super::ApiState,
    q: &QueryOpts,
    name: &str,
) -> Result<Response, ApiError> {
    let index = api.block(q, services_index).await;
    let body: Vec<ServiceRegistration> = api
        .state
        .read()
        .services()
        .filter(|r| r.service_name == name && q.sees(&r.namespace))
        .cloned()
        .collect();
    Ok(api.reply(index, &body))
}

/// `DELETE /v1/service/:name/:id`: removes one registration by hand.
pub async fn delete_service(
    State(api): Api,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let known = api
        .state
        .read()
        .service(&id)
        .is_some_and(|r| r.service_name == name);
    if !known {
        return Err(ApiError::not_found("service registration not found"));
    }
    write_reply(
        &api,
        Command::ServiceDelete(ServiceDelete {
            ids: vec![id],
            alloc_ids: Vec::new(),
        }),
    )
    .await
}

/// `PUT /v1/internal/node/:node/services` `{"Services": [...], "DeleteAllocs": [...]}`:
/// a client (re)registers the services of its running allocations and drops those of
/// allocations it stopped.
pub async fn client_sync(
    State(api): Api,
    Path(node_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&body)?;
    let services: Vec<ServiceRegistration> = match body.get("Services") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| ApiError::bad_request(format!("Services: {e}")))?,
    };
    let delete: Vec<String> = match body.get("DeleteAllocs") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| ApiError::bad_request(format!("DeleteAllocs: {e}")))?,
    };
    if let Some((i, _)) = services
        .iter()
        .enumerate()
        .find(|(_, s)| s.node_id != node_id)
    {
        return Err(ApiError::bad_request(format!(
            "Services[{i}].NodeID: must be the calling node {node_id}"
        )));
    }
    if !delete.is_empty() {
        api.replicator
            .propose(Command::ServiceDelete(ServiceDelete {
                ids: Vec::new(),
                alloc_ids: delete,
            }))
            .await?;
    }
    if services.is_empty() {
        let index = api.state.latest_index();
        return Ok(api.reply(index, &json!({ "Index": index })));
    }
    write_reply(&api, Command::ServiceUpsert(ServiceUpsert { services })).await
}
