//! The answering side's check on routes only servers may call (Raft RPCs, joins,
//! forwarded writes, peer removal, `/serf/id`).
//!
//! Two independent checks, each on when configured:
//! - the cluster secret: `server.encrypt` (Nomad's gossip key). orch has no gossip, so it
//!   uses the key as a shared secret: every peer call carries it in
//!   [`CLUSTER_SECRET_HEADER`], compared in constant time. A wrong or missing one gets
//!   403, so a server without the key can neither join nor vote.
//! - the server role: with `tls.rpc` and `verify_server_hostname`, the caller's verified
//!   certificate must be valid for `server.<region>.nomad`; a client's certificate
//!   (`client.<region>.nomad`), though signed by the same CA, gets 403.

use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::TlsSetup;
use super::listen::PeerInfo;
use super::verify::cert_has_name;

/// The header carrying the cluster secret on peer calls.
pub const CLUSTER_SECRET_HEADER: &str = "x-orch-cluster-secret";

/// Checks callers of server-only routes; see the module doc.
#[derive(Clone, Default)]
pub struct PeerGuard {
    secret: Option<Arc<str>>,
    server_name: Option<String>,
}

impl PeerGuard {
    /// A guard requiring `secret` when set, and a server certificate when `tls` is the
    /// RPC setup with `verify_server_hostname` on.
    pub fn new(secret: Option<Arc<str>>, tls: Option<Arc<TlsSetup>>) -> PeerGuard {
        PeerGuard {
            secret,
            server_name: tls
                .filter(|t| t.settings.verify_server_hostname)
                .map(|t| t.server_name.clone()),
        }
    }

    /// Whether this guard checks anything.
    pub fn is_open(&self) -> bool {
        self.secret.is_none() && self.server_name.is_none()
    }

    /// `router` with every route behind this guard.
    pub fn protect<S: Clone + Send + Sync + 'static>(&self, router: Router<S>) -> Router<S> {
        if self.is_open() {
            return router;
        }
        router.layer(axum::middleware::from_fn_with_state(self.clone(), check))
    }

    /// Why `req` may not pass, if it may not.
    fn refusal(&self, req: &Request) -> Option<String> {
        if let Some(secret) = &self.secret {
            let given = req
                .headers()
                .get(CLUSTER_SECRET_HEADER)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if !bool::from(given.ct_eq(secret.as_bytes())) {
                return Some(
                    "this endpoint is for cluster members: the call did not carry this cluster's secret; set server.encrypt to the same key on every server".into(),
                );
            }
        }
        let peer = req.extensions().get::<ConnectInfo<PeerInfo>>();
        // Upgrade mode serves plain peers on purpose: they have no certificate to
        // check until they move to TLS (the cluster secret above still applies).
        let plain_on_tls = peer.is_some_and(|p| p.0.plain_on_tls);
        if let Some(name) = self.server_name.as_ref().filter(|_| !plain_on_tls) {
            let certs = peer.and_then(|c| c.0.certs.clone());
            let is_server = certs
                .as_ref()
                .and_then(|c| c.first())
                .is_some_and(|leaf| cert_has_name(leaf, name));
            if !is_server {
                return Some(format!(
                    "only servers may call this endpoint: present a certificate valid for {name} (tls.verify_server_hostname is on)"
                ));
            }
        }
        None
    }
}

async fn check(State(guard): State<PeerGuard>, req: Request, next: Next) -> Response {
    match guard.refusal(&req) {
        None => next.run(req).await,
        Some(message) => {
            tracing::warn!(path = %req.uri().path(), %message, "peer call refused");
            (StatusCode::FORBIDDEN, message).into_response()
        }
    }
}
