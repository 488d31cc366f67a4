//! `/v1/system/*`: operator-triggered housekeeping.

use axum::extract::State;
use axum::response::Response;

use super::ApiError;
use super::query::Api;

/// `PUT /v1/system/gc`: runs the core GC now, ignoring the age thresholds, as Nomad's
/// forced GC does (terminal evaluations and allocations, dead jobs, terminal deployments,
/// down nodes with nothing running).
pub async fn gc(State(api): Api) -> Result<Response, ApiError> {
    let leader = api.leader.as_ref().ok_or_else(|| {
        ApiError::bad_request("this agent runs no server: send /v1/system/gc to a server")
    })?;
    let collected = leader.gc(true).await?;
    tracing::info!(collected, "forced core GC");
    Ok(api.reply(api.state.latest_index().max(1), &serde_json::Value::Null))
}

/// `PUT /v1/system/reconcile/summaries`: Nomad rebuilds its stored job summaries here.
/// orch stores none (every summary is computed from the allocations when read), so they
/// are always reconciled and there is nothing to rebuild.
pub async fn reconcile_summaries(State(api): Api) -> Response {
    api.reply(api.state.latest_index().max(1), &serde_json::Value::Null)
}
