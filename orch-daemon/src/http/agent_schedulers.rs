//! `/v1/agent/schedulers` (each scheduler worker of this server and what it is doing)
//! and `/v1/agent/schedulers/config` (GET, and PUT/POST to resize the pool or change
//! its schedulers at run time), in Nomad's shapes. Servers only.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use super::query::{Api, field, json_body};
use super::{ApiError, ApiState};

fn leader(api: &ApiState) -> Result<&std::sync::Arc<crate::server::Leader>, ApiError> {
    api.leader.as_ref().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            "Server only endpoint: this agent runs no scheduler workers; ask a server (-server)",
        )
    })
}

/// `GET /v1/agent/schedulers`.
pub async fn workers(State(api): Api) -> Result<Response, ApiError> {
    let workers = leader(&api)?.workers.workers();
    let index = api.state.latest_index().max(1);
    Ok(api.reply(
        index,
        &json!({"server_id": api.agent.name, "schedulers": workers}),
    ))
}

fn config_body(api: &ApiState, pool: &crate::server::workers::WorkerPool) -> Value {
    let (num, enabled) = pool.config();
    json!({"server_id": api.agent.name, "num_schedulers": num, "enabled_schedulers": enabled})
}

/// `GET /v1/agent/schedulers/config`.
pub async fn get_config(State(api): Api) -> Result<Response, ApiError> {
    let body = config_body(&api, &leader(&api)?.workers);
    Ok(api.reply(api.state.latest_index().max(1), &body))
}

/// `PUT/POST /v1/agent/schedulers/config`: `{num_schedulers, enabled_schedulers}`;
/// new workers start at once, surplus ones stop after their current evaluation.
pub async fn set_config(State(api): Api, body: Bytes) -> Result<Response, ApiError> {
    let leader = leader(&api)?;
    let body = json_body(&body)?;
    let num: i64 = field(&body, "num_schedulers")?.ok_or_else(|| {
        ApiError::bad_request("num_schedulers: missing; send the number of scheduler workers")
    })?;
    let num = usize::try_from(num).map_err(|_| {
        ApiError::bad_request(format!("num_schedulers: {num} is negative; use 0 or more"))
    })?;
    let enabled: Vec<String> = field(&body, "enabled_schedulers")?.ok_or_else(|| {
        ApiError::bad_request(
            "enabled_schedulers: missing; list the schedulers to run, \"_core\" among them",
        )
    })?;
    let start = leader
        .workers
        .set_config(num, enabled)
        .map_err(|e| ApiError::bad_request(format!("Invalid request: {e}")))?;
    leader.spawn_workers(start);
    let body = config_body(&api, &leader.workers);
    Ok(api.reply(api.state.latest_index().max(1), &body))
}
