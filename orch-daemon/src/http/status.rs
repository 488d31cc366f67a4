//! `/v1/status/leader` and `/v1/status/peers`: where the cluster's leader and voters are.

use axum::extract::State;
use axum::response::Response;

use super::query::Api;

/// `GET /v1/status/leader`: the leader's RPC address as a JSON string (`""` if none).
pub async fn leader(State(api): Api) -> Response {
    let addr = api.replicator.leader_addr().unwrap_or_default();
    api.reply(api.state.latest_index().max(1), &addr)
}

/// `GET /v1/status/peers`: the voters' RPC addresses.
pub async fn peers(State(api): Api) -> Response {
    api.reply(api.state.latest_index().max(1), &api.replicator.peers())
}
