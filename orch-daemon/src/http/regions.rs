//! `/v1/regions`: orch runs one region per cluster.

use axum::extract::State;
use axum::response::Response;

use super::query::Api;

/// `GET /v1/regions`.
pub async fn regions(State(api): Api) -> Response {
    api.reply(
        api.state.latest_index().max(1),
        std::slice::from_ref(&api.agent.region),
    )
}
