//! The services of one job or one allocation (`/v1/job/:id/services`,
//! `/v1/allocation/:id/services`): the `nomad` provider's registrations, filtered.

use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::acl::NsCap;
use orch_core::model::ServiceRegistration;
use orch_core::state::table;

use super::query::{Api, Params, Query};
use super::{ApiError, QueryOpts};

/// `GET /v1/job/:id/services`: every registration of the job's allocations; Nomad's
/// `job not found` 404 for an unknown job.
pub async fn job_services(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let ns = q.ns().to_string();
    q.authz.check(&ns, NsCap::ReadJob)?;
    let index = api.block(&q, |s| s.index(table::SERVICES).max(1)).await;
    let s = api.state.read();
    if s.job(&ns, &id).is_none() {
        return Err(ApiError::not_found("job not found"));
    }
    let body: Vec<&ServiceRegistration> = s
        .services()
        .filter(|r| r.namespace == ns && r.job_id == id)
        .collect();
    Ok(api.reply(index, &body))
}

/// `GET /v1/allocation/:id/services`: the allocation's registrations; Nomad's `alloc
/// not found` 404 for an unknown allocation.
pub async fn alloc_services(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, |s| s.index(table::SERVICES).max(1)).await;
    let s = api.state.read();
    let alloc = s
        .alloc_stub(&id)
        .ok_or_else(|| ApiError::not_found("alloc not found"))?;
    q.authz.check(&alloc.namespace, NsCap::ReadJob)?;
    let body = s.services_by_alloc(&id);
    Ok(api.reply(index, &body))
}
