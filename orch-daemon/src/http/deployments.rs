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
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, deployments_index).await;
    let body: Vec<Deployment> = api
        .state
        .read()
        .deployments()
        .filter(|d| q.sees(&d.namespace) && d.id.starts_with(&q.prefix))
        .cloned()
        .collect();
    Ok(api.reply(index, &body))
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
