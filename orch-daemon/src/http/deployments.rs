//! `/v1/deployments` and `/v1/deployment/:id` (reads; deployment writes arrive with the
//! deployment watcher).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use orch_core::model::Deployment;
use orch_core::state::{StateStore, table};

use super::{ApiError, QueryOpts};

use super::query::{Api, Params};

fn deployments_index(s: &StateStore) -> u64 {
    s.index(table::DEPLOYMENTS)
}

/// `GET /v1/deployments`: full deployments, `prefix` on the ID, `namespace` (`*` all).
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let (q, list) = super::list::ListOpts::parse(raw)?;
    let index = api.block(&q, deployments_index).await;
    let (body, next) = list.page_by_id(
        api.state
            .read()
            .deployments()
            .filter(|d| q.sees(&d.namespace) && d.id.starts_with(&q.prefix))
            .map(|d| (d.id.clone(), deployment_json(d))),
    );
    Ok(super::list::reply(&api, index, &body, next))
}

fn deployment_json(d: &Deployment) -> serde_json::Value {
    serde_json::to_value(d).unwrap_or(serde_json::Value::Null)
}

/// `GET /v1/deployment/:id`.
pub async fn get_deployment(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, deployments_index).await;
    let d = api
        .state
        .read()
        .deployment(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("deployment not found"))?;
    Ok(api.reply(index, &d))
}
