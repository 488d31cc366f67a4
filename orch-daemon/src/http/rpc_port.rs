//! What the HTTP API shows outside its own port: the few client endpoints a server also
//! answers on its RPC port, and a client-only agent's pass-through to the servers.
//!
//! **Why only the client endpoints on the RPC port.** Clients join servers on the RPC
//! port (`-servers host:4647`, Nomad's `client.servers`), and `client::server_conn`
//! calls `/v1/internal/node/...`, `/v1/node/:id/allocations`, `/v1/service/:name` and
//! (templates, with a task's workload identity) `/v1/var/:path` and `/v1/vars` there. Those stay (the port speaks mutual TLS under `tls.rpc`, so only holders of a
//! certificate from the cluster's CA reach them; without TLS they are exactly as open as
//! the same routes on the HTTP port). Everything else of `/v1` answers 404 there: the
//! RPC port is for cluster members, the HTTP API for users, and serving the whole API
//! on both doubled what had to be secured. Users and client-only agents reach the API
//! on the HTTP port; a client-only agent learns a server's HTTP address from its RPC
//! port (`GET /raft/http-addr`).

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use tower::ServiceExt;

use super::client_fs::{ClientHttp, forward};
use super::query::ApiError;
use crate::tls::Link;

/// Whether a path is one of the client endpoints the RPC port keeps.
pub fn is_client_endpoint(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["v1", "internal", ..] => true,
        ["v1", "node", id, "allocations"] => !id.is_empty(),
        ["v1", "service", name] => !name.is_empty(),
        // Templates read variables with their task's workload identity.
        ["v1", "var", ..] | ["v1", "vars"] => true,
        _ => false,
    }
}

/// `api` restricted to the client endpoints, for the RPC port; anything else is 404.
pub fn rpc_port_router(api: Router) -> Router {
    Router::new().fallback(move |req: Request| {
        let api = api.clone();
        async move {
            if !is_client_endpoint(req.uri().path()) {
                return ApiError::not_found(
                    "the RPC port serves only orch's client endpoints; use the HTTP API port (default 4646)",
                )
                .into_response();
            }
            match api.oneshot(req).await {
                Ok(resp) => resp.into_response(),
                Err(never) => match never {},
            }
        }
    })
}

/// A client-only agent answers `/v1/client/*` itself and passes every other API call to
/// a server's HTTP API, found through the server's RPC address (`servers`, asked with
/// `rpc`), so tools pointed at any agent work (as with Nomad's client agents).
pub fn proxy_router(servers: Vec<String>, rpc: Link, http: Link) -> Router {
    let ch = std::sync::Arc::new((
        ClientHttp {
            client: None,
            state: None,
            http,
            acl: super::client_acl::ClientAcl::Off,
            data_dir: None,
        },
        rpc,
        servers,
    ));
    Router::new().fallback(move |req: Request| {
        let ch = std::sync::Arc::clone(&ch);
        async move {
            let (http, rpc, servers) = &*ch;
            // Bodies are small API requests; buffer once so each server can be tried.
            let (parts, body) = req.into_parts();
            let body = match axum::body::to_bytes(body, 64 << 20).await {
                Ok(b) => b,
                Err(e) => return ApiError::bad_request(format!("body: {e}")).into_response(),
            };
            let mut last = None;
            for s in servers {
                let addr = match http_addr(rpc, s).await {
                    Ok(a) => a,
                    Err(e) => {
                        last = Some(ApiError::new(StatusCode::BAD_GATEWAY, e).into_response());
                        continue;
                    }
                };
                let req = Request::from_parts(parts.clone(), Body::from(body.clone()));
                let resp = forward(http, &addr, req).await;
                if resp.status() != StatusCode::BAD_GATEWAY {
                    return resp;
                }
                last = Some(resp);
            }
            last.unwrap_or_else(|| {
                ApiError::new(StatusCode::BAD_GATEWAY, "no servers configured").into_response()
            })
        }
    })
}

/// A server's HTTP API address, asked from its RPC port.
async fn http_addr(rpc: &Link, server: &str) -> Result<String, String> {
    let resp = rpc
        .client()
        .get(rpc.url(server, crate::raft::HTTP_ADDR_PATH))
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| format!("server {server} unreachable: {e}"))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| format!("server {server}: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "server {server} has no HTTP API address yet: {text}"
        ));
    }
    Ok(text)
}
