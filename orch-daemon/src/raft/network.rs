//! The client side of the peer RPCs: openraft's messages posted as postcard bodies to the
//! peer's [`raft_router`](super::raft_router) over HTTP.

use std::error::Error;
use std::time::Duration;

use openraft::BasicNode;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError as OpenraftError, RemoteError,
    Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::health::Contacts;
use super::types::{NodeId, TypeConfig};
use crate::tls::{AgentSecurity, Link, TlsError};

/// Content type of every postcard body.
pub(crate) const POSTCARD: &str = "application/x-postcard";

/// Timeouts of the peer RPCs.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// Connecting to a peer; short, so a dead peer is noticed quickly.
    pub connect_timeout: Duration,
    /// Upper bound on one request when openraft does not give a shorter one.
    pub request_timeout: Duration,
    /// Upper bound on one snapshot chunk; the last one waits for the follower to
    /// decode, install and save the whole snapshot, which takes seconds for tens of
    /// megabytes (a timed-out chunk restarts the transfer from the first).
    pub snapshot_timeout: Duration,
    /// TLS and the cluster secret for calls to peers (default: plain HTTP, no secret).
    pub security: AgentSecurity,
}

impl Default for NetworkConfig {
    /// One second to connect, ten to answer: generous for a loaded server, short enough
    /// that a dead peer does not stall replication to the others (they run in parallel).
    /// A minute for a snapshot chunk: an unreachable peer fails at connect anyway.
    fn default() -> Self {
        NetworkConfig {
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(10),
            snapshot_timeout: Duration::from_secs(60),
            security: AgentSecurity::default(),
        }
    }
}

/// Why a postcard call to a peer failed.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum CallError {
    /// The request never reached the peer (connection refused or connect timeout); it is
    /// safe to retry, nothing was sent.
    #[error("peer {addr} unreachable: {message}; check that it is running and reachable")]
    Unreachable {
        /// Peer address.
        addr: String,
        /// The transport error.
        message: String,
    },
    /// The request may have reached the peer, but no valid answer came back.
    #[error("call to peer {addr} failed: {message}; check the peer's log")]
    Failed {
        /// Peer address.
        addr: String,
        /// What went wrong.
        message: String,
    },
}

/// Posts `body` postcard-encoded to `<scheme>://{addr}{path}` and decodes the postcard
/// reply.
pub(crate) async fn post_postcard<Req: Serialize, Resp: DeserializeOwned>(
    client: &Link,
    addr: &str,
    path: &str,
    body: &Req,
    timeout: Duration,
) -> Result<Resp, CallError> {
    let bytes = postcard::to_allocvec(body).map_err(|e| CallError::Failed {
        addr: addr.to_string(),
        message: format!("encode: {e}"),
    })?;
    post_postcard_bytes(client, addr, path, bytes, timeout).await
}

/// Posts an already postcard-encoded `body` and decodes the postcard reply.
pub(crate) async fn post_postcard_bytes<Resp: DeserializeOwned>(
    client: &Link,
    addr: &str,
    path: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Resp, CallError> {
    let failed = |message: String| CallError::Failed {
        addr: addr.to_string(),
        message,
    };
    let resp = client
        .client()
        .post(client.url(addr, path))
        .header(reqwest::header::CONTENT_TYPE, POSTCARD)
        .timeout(timeout)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            if e.is_connect() {
                CallError::Unreachable {
                    addr: addr.to_string(),
                    message: error_chain(&e),
                }
            } else {
                failed(error_chain(&e))
            }
        })?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| failed(error_chain(&e)))?;
    if !status.is_success() {
        return Err(failed(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        )));
    }
    postcard::from_bytes(&body).map_err(|e| failed(format!("decode reply: {e}")))
}

/// The error and its sources, for messages (reqwest hides the cause in the chain).
fn error_chain(e: &dyn Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// Creates one [`PeerClient`] per peer; all share one connection pool.
#[derive(Clone)]
pub struct HttpNetwork {
    client: Link,
    config: NetworkConfig,
    contacts: std::sync::Arc<Contacts>,
}

impl HttpNetwork {
    /// A network with the given timeouts, TLS and cluster secret.
    pub fn new(config: NetworkConfig) -> Result<HttpNetwork, TlsError> {
        let client = config
            .security
            .rpc_link(crate::tls::http_client_builder().connect_timeout(config.connect_timeout))?;
        Ok(HttpNetwork {
            client,
            config,
            contacts: std::sync::Arc::default(),
        })
    }

    /// When each peer last answered (the replication health reads it).
    pub(crate) fn contacts(&self) -> &std::sync::Arc<Contacts> {
        &self.contacts
    }

    /// The client peers are called with, and their scheme.
    pub(crate) fn client(&self) -> &Link {
        &self.client
    }

    /// The client for requests built by hand (`.get(network.url(..))`).
    pub(crate) fn http(&self) -> &reqwest::Client {
        self.client.client()
    }

    /// `<scheme>://<addr><path>` for a peer's RPC address.
    pub(crate) fn url(&self, addr: &str, path: &str) -> String {
        self.client.url(addr, path)
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        self.config.request_timeout
    }
}

impl RaftNetworkFactory<TypeConfig> for HttpNetwork {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> PeerClient {
        PeerClient {
            target,
            addr: node.addr.clone(),
            client: self.client.clone(),
            max_timeout: self.config.request_timeout,
            snapshot_timeout: self.config.snapshot_timeout,
            contacts: self.contacts.clone(),
        }
    }
}

/// RPCs to one peer.
pub struct PeerClient {
    target: NodeId,
    addr: String,
    client: Link,
    max_timeout: Duration,
    snapshot_timeout: Duration,
    contacts: std::sync::Arc<Contacts>,
}

impl PeerClient {
    /// Posts `req` to the peer's `path`, waiting at most openraft's deadline or `cap`.
    async fn call<Req, Resp, E>(
        &self,
        path: &str,
        req: &Req,
        option: &RPCOption,
        cap: Duration,
    ) -> Result<Resp, RPCError<NodeId, BasicNode, OpenraftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: Error + DeserializeOwned,
    {
        let timeout = option.hard_ttl().min(cap);
        let reply: Result<Resp, OpenraftError<NodeId, E>> =
            match post_postcard(&self.client, &self.addr, path, req, timeout).await {
                Ok(reply) => {
                    self.contacts.peer_answered(self.target);
                    reply
                }
                Err(e) => {
                    self.contacts.peer_failed(self.target, e.to_string());
                    return Err(match e {
                        CallError::Unreachable { .. } => {
                            RPCError::Unreachable(Unreachable::new(&e))
                        }
                        CallError::Failed { .. } => RPCError::Network(NetworkError::new(&e)),
                    });
                }
            };
        reply.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, OpenraftError<NodeId>>>
    {
        self.call("/raft/append", &rpc, &option, self.max_timeout)
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, OpenraftError<NodeId, InstallSnapshotError>>,
    > {
        self.call("/raft/snapshot", &rpc, &option, self.snapshot_timeout)
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, OpenraftError<NodeId>>> {
        self.call("/raft/vote", &rpc, &option, self.max_timeout)
            .await
    }
}
