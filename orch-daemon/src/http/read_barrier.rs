//! Consistent requests: every request on the replicated state that is not `?stale`
//! waits for the server's read barrier first ([`Replicator::read_barrier`](crate::server::Replicator::read_barrier)),
//! so what it reads includes every write acknowledged before the request, whichever
//! server answers. Writes wait too: their handlers check the state before proposing
//! (a scale of a job that is not there is a 404), and a follower behind the leader, or
//! a deposed leader, refused a scale of a job registered and acknowledged just before.
//! `?stale` (empty or true, as Nomad's `parseConsistency` reads it) answers from this
//! server's state at once.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiState;
use super::query::ApiError;

/// Paths answered from this agent's own view, not from the replicated state: the
/// agent, its status, the client's local endpoints, metrics and streams.
const LOCAL_PREFIXES: &[&str] = &[
    "/v1/agent/",
    "/v1/status/",
    "/v1/client/",
    "/v1/metrics",
    "/v1/regions",
    "/v1/event/stream",
    "/v1/operator/snapshot",
];

/// The middleware: the barrier, then the handler.
pub async fn consistent_requests(
    State(api): State<Arc<ApiState>>,
    req: Request,
    next: Next,
) -> Response {
    match needs_barrier(&req) {
        Ok(false) => {}
        Ok(true) => {
            if let Err(e) = api.replicator.read_barrier().await {
                return ApiError::from(e).into_response();
            }
        }
        Err(e) => return e.into_response(),
    }
    next.run(req).await
}

fn needs_barrier(req: &Request) -> Result<bool, ApiError> {
    let path = req.uri().path();
    if !path.starts_with("/v1/") || LOCAL_PREFIXES.iter().any(|p| path.starts_with(p)) {
        return Ok(false);
    }
    Ok(!stale(req.uri().query().unwrap_or(""))?)
}

/// Nomad's `stale`: present and empty is true, otherwise `strconv.ParseBool`.
fn stale(query: &str) -> Result<bool, ApiError> {
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "stale" {
            continue;
        }
        if value.is_empty() {
            return Ok(true);
        }
        return orch_core::strconv::parse_bool(value).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Expect `true` or `false` for `stale` query string parameter, got {value}"
            ))
        });
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, uri: &str) -> Request {
        Request::builder()
            .method(method)
            .uri(uri)
            .body(axum::body::Body::empty())
            .unwrap()
    }

    #[test]
    fn requests_on_the_state_wait_for_the_barrier_and_stale_ones_do_not() {
        assert!(needs_barrier(&req("GET", "/v1/jobs")).unwrap());
        assert!(needs_barrier(&req("GET", "/v1/job/x?stale=false")).unwrap());
        assert!(!needs_barrier(&req("GET", "/v1/job/x?stale")).unwrap());
        assert!(!needs_barrier(&req("GET", "/v1/job/x?stale=&index=3")).unwrap());
        assert!(!needs_barrier(&req("GET", "/v1/job/x?index=3&stale=T")).unwrap());
        assert!(needs_barrier(&req("PUT", "/v1/jobs")).unwrap());
        assert!(needs_barrier(&req("POST", "/v1/job/x/scale")).unwrap());
        assert!(!needs_barrier(&req("GET", "/v1/agent/self")).unwrap());
        assert!(!needs_barrier(&req("GET", "/v1/client/fs/logs/a")).unwrap());
        assert!(!needs_barrier(&req("GET", "/ui/")).unwrap());
        assert!(needs_barrier(&req("GET", "/v1/job/x?stale=maybe")).is_err());
    }
}
