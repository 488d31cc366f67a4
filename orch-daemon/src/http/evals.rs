//! `/v1/evaluations`, `/v1/evaluation/:id` and `/v1/evaluation/:id/allocations`.

use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::model::Evaluation;
use orch_core::state::{StateStore, table};
use serde_json::Value;

use super::allocs::{alloc_stub, allocs_index};
use super::query::{Api, Params, Query};
use super::{ApiError, QueryOpts};
use orch_core::acl::NsCap;

/// Nomad's evaluation list entries are full evaluations; kept as a function so the list
/// shape has one place to change.
pub fn eval_stub(e: &Evaluation) -> Value {
    serde_json::to_value(e).unwrap_or(Value::Null)
}

fn evals_index(s: &StateStore) -> u64 {
    s.index(table::EVALS)
}

/// `GET /v1/evaluations`: `prefix`, `namespace`, and Nomad's `job` / `status` filters.
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let (q, list) = super::list::ListOpts::parse(raw)?;
    let job = q.raw.get("job").cloned().unwrap_or_default();
    let status = q.raw.get("status").cloned().unwrap_or_default();
    let index = api.block(&q, evals_index).await;
    let (body, next) = {
        let s = api.state.read();
        list.page_by_id(
            s.evals()
                .filter(|e| q.sees(&e.namespace) && e.id.starts_with(&q.prefix))
                .filter(|e| job.is_empty() || e.job_id == job)
                .filter(|e| status.is_empty() || e.status == status)
                .map(|e| (e.id.clone(), eval_stub(e))),
        )
    };
    Ok(super::list::reply(&api, index, &body, next))
}

/// `GET /v1/evaluations/count?filter=&namespace=`: how many evaluations match, without
/// listing them (Nomad 1.6's `Eval.Count`).
pub async fn count(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let (q, list) = super::list::ListOpts::parse(raw)?;
    let index = api.block(&q, evals_index).await;
    let count = {
        let s = api.state.read();
        s.evals()
            .filter(|e| q.sees(&e.namespace) && e.id.starts_with(&q.prefix))
            .filter(|e| {
                list.filter
                    .as_ref()
                    .is_none_or(|f| f.matches(&eval_stub(e)))
            })
            .count()
    };
    Ok(api.reply(index, &serde_json::json!({ "Count": count })))
}

/// `GET /v1/evaluation/:id`.
pub async fn get(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, evals_index).await;
    let eval = api
        .state
        .read()
        .eval(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("eval not found"))?;
    q.authz.check(&eval.namespace, NsCap::ReadJob)?;
    Ok(api.reply(index, &eval))
}

/// `GET /v1/evaluation/:id/allocations`: stubs of the allocations it placed.
pub async fn allocations(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, allocs_index).await;
    let body: Vec<Value> = {
        let s = api.state.read();
        s.allocs_by_eval(&id)
            .into_iter()
            .filter(|a| q.authz.allows(&a.namespace, NsCap::ReadJob))
            .map(|a| alloc_stub(&s, a))
            .collect()
    };
    Ok(api.reply(index, &body))
}

/// The most evaluations one delete request may name (Nomad's limit).
pub const MAX_DELETE_EVALS: usize = 7281;

/// `DELETE /v1/evaluations` `{"EvalIDs": [..]}` or `{"Filter": ".."}`: removes
/// evaluations (never their allocations) while the eval broker is paused, as Nomad's
/// `eval delete` for clearing a backlog. Replies `{"Count": n}`.
pub async fn delete(
    State(api): Api,
    Query(raw): Params,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let body = super::query::json_body(&body)?;
    let ids = super::query::field::<Vec<String>>(&body, "EvalIDs")?.unwrap_or_default();
    let filter = super::query::field::<String>(&body, "Filter")?.unwrap_or_default();
    if !ids.is_empty() && !filter.is_empty() {
        return Err(ApiError::bad_request(
            "EvalIDs and Filter cannot be used together",
        ));
    }
    if ids.is_empty() && filter.is_empty() {
        return Err(ApiError::bad_request(
            "EvalIDs or Filter is required: name the evaluations to delete",
        ));
    }
    if ids.len() > MAX_DELETE_EVALS {
        return Err(ApiError::bad_request(format!(
            "EvalIDs: at most {MAX_DELETE_EVALS} evaluations per request"
        )));
    }
    let eval_ids = {
        let s = api.state.read();
        if !s.scheduler_config().pause_eval_broker {
            return Err(ApiError::bad_request(
                "eval broker is enabled; eval broker must be paused to delete evals (orch operator scheduler set-config -pause-eval-broker=true)",
            ));
        }
        if filter.is_empty() {
            ids.into_iter()
                .filter(|id| s.eval(id).is_some())
                .collect::<Vec<_>>()
        } else {
            let expr = super::filter::Expr::parse(&filter)
                .map_err(|e| ApiError::bad_request(format!("Filter: {e}")))?;
            s.evals()
                .filter(|e| q.sees(&e.namespace) && expr.matches(&eval_stub(e)))
                .take(MAX_DELETE_EVALS)
                .map(|e| e.id.clone())
                .collect()
        }
    };
    let count = eval_ids.len();
    let r = api
        .replicator
        .propose(orch_core::state::Command::EvalDelete(
            orch_core::state::EvalDelete {
                eval_ids,
                alloc_ids: Vec::new(),
            },
        ))
        .await?;
    Ok(api.reply(r.index, &serde_json::json!({"Count": count})))
}
