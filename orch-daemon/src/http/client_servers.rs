//! Nomad's `GET /v1/agent/servers` (the servers a client agent calls) and `PUT
//! /v1/agent/servers?address=a&address=b` (replace them until the agent restarts), for
//! `node config -servers` and `-update-servers`. Answered by a client agent only.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::client_acl::{AGENT_READ, AGENT_WRITE, Caller};
use super::client_fs::ClientHttp;
use super::query::ApiError;

/// The most addresses one update may name.
const MAX_SERVERS: usize = 64;

/// The server-list routes of every agent.
pub fn routes() -> Router<Arc<ClientHttp>> {
    Router::new().route("/v1/agent/servers", get(list).put(update).post(update))
}

type Ch = State<Arc<ClientHttp>>;

fn no_client() -> Response {
    ApiError::bad_request(
        "this agent runs no client: ask a client agent for its servers (orch node config)",
    )
    .into_response()
}

/// `GET /v1/agent/servers`: `["host:port", ..]`.
async fn list(State(ch): Ch, req: Request) -> Response {
    if let Err(e) = ch.acl.check_node(&Caller::of(&req), AGENT_READ).await {
        return e.into_response();
    }
    match &ch.client {
        Some(client) => axum::Json(client.servers()).into_response(),
        None => no_client(),
    }
}

/// `PUT /v1/agent/servers?address=..` (repeated).
async fn update(State(ch): Ch, req: Request) -> Response {
    if let Err(e) = ch.acl.check_node(&Caller::of(&req), AGENT_WRITE).await {
        return e.into_response();
    }
    let Some(client) = &ch.client else {
        return no_client();
    };
    let addrs: Vec<String> = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == "address")
        .map(|(_, v)| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
        .filter(|v| !v.is_empty())
        .collect();
    if addrs.len() > MAX_SERVERS {
        return ApiError::bad_request(format!("address: at most {MAX_SERVERS} servers"))
            .into_response();
    }
    if let Some(bad) = addrs.iter().find(|a| !valid_addr(a)) {
        return ApiError::bad_request(format!(
            "address: {bad:?} is not host:port (e.g. 10.0.0.1:4647)"
        ))
        .into_response();
    }
    match client.set_servers(&addrs) {
        Ok(()) => axum::Json(serde_json::json!({})).into_response(),
        Err(e) => ApiError::bad_request(format!("address: {e}")).into_response(),
    }
}

/// `host:port` with a port number.
fn valid_addr(addr: &str) -> bool {
    addr.rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_need_a_host_and_a_port() {
        assert!(super::valid_addr("10.0.0.1:4647"));
        assert!(!super::valid_addr("10.0.0.1"));
        assert!(!super::valid_addr(":4647"));
        assert!(!super::valid_addr("h:port"));
    }
}
