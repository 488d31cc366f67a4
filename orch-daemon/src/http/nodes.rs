//! `/v1/nodes` and `/v1/node/:id/...`: list, read, allocations, drain, eligibility and
//! node evaluations.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::model::{DrainStrategy, Node, eligibility, job_type, trigger};
use orch_core::state::{
    Command, EvalUpsert, NodeDrain, NodeDrainMeta, NodeEligibility, StateStore, table,
};
use serde_json::{Value, json};

use super::jobs::get_ci;
use super::query::{Query, field, json_body};
use super::{ApiError, QueryOpts};

use super::query::{Api, Params};

/// The optional parts of a node stub (Nomad's `NodeStubFields`): `?os=true` adds the
/// `os.name` attribute, `?resources=true` the node's and its reserved resources.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StubFields {
    /// `os=true`.
    pub os: bool,
    /// `resources=true`.
    pub resources: bool,
}

impl StubFields {
    /// Takes `os` and `resources` out of the query, read as Go's `strconv.ParseBool`;
    /// a bad value is Nomad's 400.
    pub fn take(raw: &mut super::query::RawParams) -> Result<StubFields, ApiError> {
        let mut read = |name: &str| {
            let v = raw.remove(name);
            match v.as_deref() {
                None | Some("") => Ok(false),
                Some(v) => orch_core::strconv::parse_bool(v).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "Failed to parse node list fields: strconv.ParseBool: parsing {v:?}: invalid syntax (query parameter {name})"
                    ))
                }),
            }
        };
        Ok(StubFields {
            os: read("os")?,
            resources: read("resources")?,
        })
    }
}

/// Nomad's `NodeListStub`, with the parts `fields` asks for.
pub fn node_stub(s: &StateStore, n: &Node, fields: StubFields) -> Value {
    let attr = |k: &str| n.attributes.get(k).cloned().unwrap_or_default();
    let mut stub = json!({
        "Address": attr("unique.network.ip-address"),
        "ID": n.id,
        "Datacenter": n.datacenter,
        "Name": n.name,
        "NodeClass": n.node_class,
        "NodePool": n.node_pool,
        "Version": attr("nomad.version"),
        "Drain": n.drain,
        "SchedulingEligibility": n.scheduling_eligibility,
        "Status": n.status,
        "StatusDescription": n.status_description,
        "Drivers": n.drivers,
        "HostVolumes": n.host_volumes,
        "LastDrain": s.last_drain(&n.id),
        "CreateIndex": n.create_index,
        "ModifyIndex": n.modify_index,
    });
    if fields.os {
        stub["Attributes"] = json!({ "os.name": attr("os.name") });
    }
    if fields.resources {
        stub["NodeResources"] = json!(n.node_resources);
        stub["ReservedResources"] = json!(n.reserved_resources);
    }
    stub
}

fn nodes_index(s: &StateStore) -> u64 {
    s.index(table::NODES)
}

/// The node, or Nomad's `node not found` 404.
pub(super) fn find_node(s: &StateStore, id: &str) -> Result<Node, ApiError> {
    s.node(id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("node not found"))
}

/// `GET /v1/nodes`: stubs filtered by ID `prefix`.
pub async fn list(State(api): Api, Query(mut raw): Params) -> Result<Response, ApiError> {
    let fields = StubFields::take(&mut raw)?;
    let (q, list) = super::list::ListOpts::parse(raw)?;
    let index = api.block(&q, nodes_index).await;
    let (body, next) = {
        let s = api.state.read();
        list.page_by_id(
            s.nodes()
                .filter(|n| n.id.starts_with(&q.prefix))
                .map(|n| (n.id.clone(), node_stub(&s, n, fields))),
        )
    };
    Ok(super::list::reply(&api, index, &body, next))
}

/// `GET /v1/node/:id`: the node, with its secret blanked as Nomad does.
pub async fn get_node(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, nodes_index).await;
    let (mut node, last_drain) = {
        let s = api.state.read();
        let node = find_node(&s, &id)?;
        let last = s.last_drain(&id).cloned();
        (node, last)
    };
    node.secret_id = String::new();
    let mut body = serde_json::to_value(&node).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding node {id}: {e}"),
        )
    })?;
    body["LastDrain"] = json!(last_drain);
    Ok(api.reply(index, &body))
}

/// `GET /v1/node/:id/allocations`: full allocations (with jobs), as Nomad returns them.
pub async fn allocations(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, |s| s.index(table::ALLOCS)).await;
    let body: Vec<Value> = {
        let s = api.state.read();
        // The node itself sees all its allocations; anyone else those it may read.
        let own = q.authz.is_node(&id);
        s.allocs_by_node(&id)
            .into_iter()
            .filter(|a| own || q.authz.allows(&a.namespace, orch_core::acl::NsCap::ReadJob))
            .filter_map(|a| s.alloc(&a.id))
            .filter_map(|a| serde_json::to_value(a).ok())
            .collect()
    };
    Ok(api.reply(index, &body))
}

/// `POST /v1/node/:id/drain`: `{DrainSpec: {Deadline, IgnoreSystemJobs} | null,
/// MarkEligible}`; a null spec stops draining.
pub async fn drain(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let body = json_body(&body)?;
    let spec: Option<DrainStrategy> = match get_ci(&body, "DrainSpec") {
        None | Some(Value::Null) => None,
        Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| {
            ApiError::bad_request(format!(
                "DrainSpec: {e}; send {{\"Deadline\": <nanoseconds>, \"IgnoreSystemJobs\": <bool>}}"
            ))
        })?),
    };
    let mark_eligible: bool = field(&body, "MarkEligible")?.unwrap_or(false);
    let meta: BTreeMap<String, String> = field(&body, "Meta")?.unwrap_or_default();
    let mut errs = Vec::new();
    orch_core::model::namespace::validate_meta(&meta, &mut errs);
    if !errs.is_empty() {
        return Err(ApiError::bad_request(errs.join("; ")));
    }
    find_node(&api.state.read(), &id)?;
    let accessor_id = q
        .authz
        .token()
        .map(|t| t.accessor_id.clone())
        .unwrap_or_default();
    let drain = NodeDrain {
        node_id: id,
        drain_strategy: spec,
        mark_eligible,
        drain_complete: false,
        now: (api.now)(),
    };
    let r = api
        .replicator
        .propose(Command::NodeDrainMeta(NodeDrainMeta {
            drain,
            meta,
            accessor_id,
        }))
        .await?;
    Ok(api.reply(
        r.index,
        &json!({"NodeModifyIndex": r.index, "EvalIDs": null, "EvalCreateIndex": 0,
                "Index": r.index, "LastContact": api.last_contact_ms(), "KnownLeader": api.known_leader()}),
    ))
}

/// `POST /v1/node/:id/eligibility`: `{Eligibility: "eligible" | "ineligible"}`.
pub async fn eligibility(
    State(api): Api,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&body)?;
    let value: String = field(&body, "Eligibility")?.unwrap_or_default();
    if value != eligibility::ELIGIBLE && value != eligibility::INELIGIBLE {
        return Err(ApiError::bad_request(format!(
            "invalid scheduling eligibility {value:?}: set Eligibility to \"eligible\" or \"ineligible\""
        )));
    }
    let node = find_node(&api.state.read(), &id)?;
    if node.drain_strategy.is_some() && value == eligibility::ELIGIBLE {
        return Err(ApiError::bad_request(
            "can not set node's scheduling eligibility to eligible while it is draining; stop the drain first",
        ));
    }
    let r = api
        .replicator
        .propose(Command::NodeEligibility(NodeEligibility {
            node_id: id,
            eligibility: value,
        }))
        .await?;
    Ok(api.reply(
        r.index,
        &json!({"NodeModifyIndex": r.index, "EvalIDs": null, "EvalCreateIndex": 0,
                "Index": r.index, "LastContact": api.last_contact_ms(), "KnownLeader": api.known_leader()}),
    ))
}

/// `POST /v1/node/:id/evaluate`: one evaluation per job with allocations on the node,
/// plus every system job (Nomad's `createNodeEvals`).
pub async fn evaluate(State(api): Api, Path(id): Path<String>) -> Result<Response, ApiError> {
    let evals = {
        let s = api.state.read();
        let node = find_node(&s, &id)?;
        node_evals(&api, &s, &node)
    };
    let ids: Vec<String> = evals.iter().map(|e| e.id.clone()).collect();
    if evals.is_empty() {
        let index = api.state.latest_index().max(1);
        return Ok(api.reply(
            index,
            &json!({"EvalIDs": ids, "EvalCreateIndex": 0, "NodeModifyIndex": 0, "Index": index}),
        ));
    }
    let r = api
        .replicator
        .propose(Command::EvalUpsert(EvalUpsert { evals }))
        .await?;
    Ok(api.reply(
        r.index,
        &json!({"EvalIDs": ids, "EvalCreateIndex": r.index, "NodeModifyIndex": 0,
                "Index": r.index}),
    ))
}

/// Nomad's `createNodeEvals`: one `node-update` evaluation per job with allocations on
/// `node`, plus every system and sysbatch job.
pub(super) fn node_evals(
    api: &super::ApiState,
    s: &StateStore,
    node: &Node,
) -> Vec<orch_core::model::Evaluation> {
    let mut jobs: BTreeSet<(String, String)> = s
        .allocs_by_node(&node.id)
        .into_iter()
        .map(|a| (a.namespace.to_string(), a.job_id.to_string()))
        .collect();
    jobs.extend(
        s.jobs()
            .filter(|j| {
                (j.job_type == job_type::SYSTEM || j.job_type == job_type::SYSBATCH) && !j.stop
            })
            .map(|j| (j.namespace.clone(), j.id.clone())),
    );
    jobs.into_iter()
        .filter_map(|(ns, jid)| {
            let j = s.job(&ns, &jid)?;
            let mut e = api.new_eval(&ns, &jid, &j.job_type, j.priority, trigger::NODE_UPDATE);
            e.node_id.clone_from(&node.id);
            e.node_modify_index = node.modify_index;
            e.job_modify_index = j.job_modify_index;
            Some(e)
        })
        .collect()
}
