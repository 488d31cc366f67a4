//! `/v1/node/pools` and `/v1/node/pool/:name[/nodes|/jobs]`: node pools as Nomad's API
//! has them (list with `prefix`, filter and paging; read; create or update; delete; the
//! pool's nodes and jobs).
//!
//! ACL (Nomad's): `node_pool` read on the pool to see it (lists show only readable
//! pools), write to create or change it, delete (write) to delete it; the pool's nodes
//! also need `node` read; its jobs are filtered by the namespaces the caller may list.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::acl::{Level, NsCap};
use orch_core::model::NodePool;
use orch_core::state::{
    Command, NODE_POOLS_TABLE, NodePoolDelete, NodePoolUpsert, StateStore, table,
};
use serde_json::{Value, json};

use super::auth::permission_denied;
use super::list::ListOpts;
use super::nodes::{StubFields, node_stub};
use super::query::{Api, Params, Query, json_body};
use super::{ApiError, ApiState};

/// The node pool routes, merged into [`super::router`].
pub fn routes() -> axum::Router<std::sync::Arc<ApiState>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(
            "/v1/node/pools",
            get(list).post(upsert_body).put(upsert_body),
        )
        .route("/v1/node/pool", post(upsert_body).put(upsert_body))
        .route(
            "/v1/node/pool/{name}",
            get(get_pool)
                .post(upsert_named)
                .put(upsert_named)
                .delete(delete),
        )
        .route("/v1/node/pool/{name}/nodes", get(nodes))
        .route("/v1/node/pool/{name}/jobs", get(jobs))
}

fn pools_index(s: &StateStore) -> u64 {
    s.index(NODE_POOLS_TABLE).max(1)
}

/// A 403 unless `have` grants `need` (`deny` grants nothing).
fn check_level(have: Level, need: Level) -> Result<(), ApiError> {
    let ok = match need {
        Level::Write => have.allows_write(),
        _ => have.allows_read(),
    };
    if ok { Ok(()) } else { Err(permission_denied()) }
}

/// `GET /v1/node/pools?prefix=&filter=&per_page=&next_token=`: the pools the caller may
/// read, by name.
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let (q, opts) = ListOpts::parse(raw)?;
    let index = api.block(&q, pools_index).await;
    let (body, next) = {
        let s = api.state.read();
        let items = s
            .node_pools()
            .filter(|p| p.name.starts_with(&q.prefix))
            .filter(|p| q.authz.node_pool_level(&p.name).allows_read())
            .filter_map(|p| Some((p.name.clone(), serde_json::to_value(p).ok()?)));
        opts.page_by_id(items)
    };
    Ok(super::list::reply(&api, index, &body, next))
}

/// `GET /v1/node/pool/:name`: the pool, or Nomad's `node pool not found` 404.
pub async fn get_pool(
    State(api): Api,
    Path(name): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = super::QueryOpts::parse(raw)?;
    check_level(q.authz.node_pool_level(&name), Level::Read)?;
    let index = api.block(&q, pools_index).await;
    let pool = api.state.read().node_pool(&name).cloned();
    match pool {
        Some(p) => Ok(api.reply(index, &p)),
        None => Err(ApiError::not_found("node pool not found")),
    }
}

/// `POST/PUT /v1/node/pool/:name`: create or update; the body's `Name` must match.
pub async fn upsert_named(
    State(api): Api,
    Path(name): Path<String>,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let pool = decode_pool(&json_body(&body)?)?;
    if pool.name != name {
        return Err(ApiError::bad_request(
            "Node pool name does not match request path",
        ));
    }
    upsert(&api, raw, pool).await
}

/// `POST/PUT /v1/node/pools` (and `/v1/node/pool`): create or update the body's pool.
pub async fn upsert_body(
    State(api): Api,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let pool = decode_pool(&json_body(&body)?)?;
    upsert(&api, raw, pool).await
}

async fn upsert(
    api: &ApiState,
    raw: super::query::RawParams,
    pool: NodePool,
) -> Result<Response, ApiError> {
    let q = super::QueryOpts::parse(raw)?;
    check_level(q.authz.node_pool_level(&pool.name), Level::Write)?;
    pool.validate()
        .map_err(|e| ApiError::bad_request(format!("invalid node pool {:?}: {e}", pool.name)))?;
    let cmd = Command::NodePoolUpsert(NodePoolUpsert { pools: vec![pool] });
    let r = api.replicator.propose(cmd).await?;
    Ok(api.reply(r.index, &json!({ "Index": r.index })))
}

/// `DELETE /v1/node/pool/:name`: refused for the built-ins and while the pool holds
/// nodes or live jobs.
pub async fn delete(
    State(api): Api,
    Path(name): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = super::QueryOpts::parse(raw)?;
    check_level(q.authz.node_pool_level(&name), Level::Write)?;
    if api.state.read().node_pool(&name).is_none() {
        return Err(ApiError::not_found("node pool not found"));
    }
    let cmd = Command::NodePoolDelete(NodePoolDelete { names: vec![name] });
    let r = api.replicator.propose(cmd).await?;
    Ok(api.reply(r.index, &json!({ "Index": r.index })))
}

/// `GET /v1/node/pool/:name/nodes?os=&resources=&filter=&per_page=`: node stubs of the
/// pool (`all`: every node). `prefix` is refused, as Nomad does (it would be ambiguous).
pub async fn nodes(
    State(api): Api,
    Path(name): Path<String>,
    Query(mut raw): Params,
) -> Result<Response, ApiError> {
    let fields = StubFields::take(&mut raw)?;
    let (q, opts) = ListOpts::parse(raw)?;
    if !q.prefix.is_empty() {
        return Err(ApiError::bad_request("prefix argument not allowed"));
    }
    if !(q.authz.node_read() && q.authz.node_pool_level(&name).allows_read()) {
        return Err(permission_denied());
    }
    let index = api.block(&q, |s| s.index(table::NODES).max(1)).await;
    let (body, next) = {
        let s = api.state.read();
        if s.node_pool(&name).is_none() {
            return Err(ApiError::not_found("node pool not found"));
        }
        opts.page_by_id(
            s.nodes_in_pool(&name)
                .map(|n| (n.id.clone(), node_stub(&s, n, fields))),
        )
    };
    Ok(super::list::reply(&api, index, &body, next))
}

/// `GET /v1/node/pool/:name/jobs?namespace=&filter=&per_page=`: job stubs of the pool,
/// in the namespaces the caller may list jobs in (`namespace=*`: every such namespace).
pub async fn jobs(
    State(api): Api,
    Path(name): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let (q, opts) = ListOpts::parse(raw)?;
    if !q.authz.node_pool_level(&name).allows_read() {
        return Err(permission_denied());
    }
    let index = api.block(&q, super::jobs::summary_index).await;
    let (body, next) = {
        let s = api.state.read();
        if s.node_pool(&name).is_none() {
            return Err(ApiError::not_found("node pool not found"));
        }
        let all_namespaces = q.ns() == "*";
        let items = s
            .jobs_in_pool(&name)
            .filter(|j| all_namespaces || j.namespace == q.ns())
            .filter(|j| q.authz.allows(&j.namespace, NsCap::ListJobs))
            .map(|j| {
                let k = (j.namespace.clone(), j.id.clone());
                (k, super::jobs::job_stub(&s, j))
            })
            .collect::<Vec<_>>();
        // `jobs_in_pool` walks jobs in (namespace, ID) order already.
        opts.page(
            items.into_iter(),
            |t| match t.split_once('.') {
                Some((ns, id)) => (ns.to_string(), id.to_string()),
                None => (q.ns().to_string(), t.to_string()),
            },
            |(ns, id)| format!("{ns}.{id}"),
        )
    };
    Ok(super::list::reply(&api, index, &body, next))
}

/// Fields of Nomad's `NodePool` a client may send; the indexes are the servers' and
/// ignored, anything else is refused by name.
const KNOWN: &[&str] = &[
    "Name",
    "Description",
    "Meta",
    "SchedulerConfiguration",
    "CreateIndex",
    "ModifyIndex",
];

/// Decodes a `NodePool` body; an unknown field or a wrong type is a 400 naming it.
pub fn decode_pool(body: &Value) -> Result<NodePool, ApiError> {
    let Some(obj) = body.as_object() else {
        return Err(ApiError::bad_request(
            "the body must be a JSON NodePool object ({\"Name\": ..., \"Description\": ...})",
        ));
    };
    if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "NodePool.{k}: unknown field; NodePool has Name, Description, Meta and SchedulerConfiguration"
        )));
    }
    if let Some(sc) = obj.get("SchedulerConfiguration").and_then(Value::as_object) {
        let known = ["SchedulerAlgorithm", "MemoryOversubscriptionEnabled"];
        if let Some(k) = sc.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(ApiError::bad_request(format!(
                "NodePool.SchedulerConfiguration.{k}: unknown field; use SchedulerAlgorithm or MemoryOversubscriptionEnabled"
            )));
        }
    }
    let mut clean = body.clone();
    orch_core::model::wire::strip_nulls(&mut clean);
    serde_json::from_value(clean)
        .map_err(|e| ApiError::bad_request(format!("NodePool: {e}; fix the field's type")))
}

/// The early node pool check of job registration and plan, in Nomad's words: a 400
/// naming the missing pool before anything is proposed (the state machine checks again).
pub fn check_job_node_pool(api: &ApiState, job: &orch_core::model::Job) -> Result<(), ApiError> {
    let pool = if job.node_pool.is_empty() {
        orch_core::model::NODE_POOL_DEFAULT
    } else {
        &job.node_pool
    };
    if api.state.read().node_pool(pool).is_none() {
        return Err(ApiError::bad_request(format!(
            "job {:?} is in nonexistent node pool {pool:?}; create it first (orch node pool apply) or register a node into it",
            job.id
        )));
    }
    Ok(())
}
