//! Starting, bootstrapping, joining and stopping one Raft server.
//!
//! The RPC listener speaks TLS when the agent's `tls.rpc` is on (callers must present a
//! certificate from the CA) and serves the Raft routes behind the peer guard, plus the
//! client endpoints the agent hands over (`crate::http::rpc_port` says why only those).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use openraft::error::InitializeError;
use openraft::{BasicNode, Config, SnapshotPolicy};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::batcher::ProposalBatcher;
use super::error::RaftError;
use super::forwarder::Forwarder;
use super::health::{Monitor, SharedHealth};
use super::http::{HttpAddrSlot, JoinRequest, RpcState, http_addr_router, raft_router};
use super::log_store::LogStore;
use super::network::{HttpNetwork, NetworkConfig};
use super::replicator::RaftReplicator;
use super::state_machine::StateMachine;
use super::transfer::{ElectionSwitch, TransferContext};
use super::types::{NodeId, OrchRaft};
use crate::server::StateHandle;

/// The size of one snapshot chunk sent to a lagging server. Big enough that a snapshot
/// of hundreds of megabytes goes in a hundred requests, small enough that a chunk is
/// sent and decoded well within the election timeout on a loaded machine (each chunk
/// refreshes the follower's timer, see `raft::http`'s snapshot handler) and fits a peer
/// request ([`MAX_PEER_BODY_BYTES`](super::http::MAX_PEER_BODY_BYTES)).
pub const SNAPSHOT_CHUNK_BYTES: u64 = 4 << 20;

/// What `<data_dir>/raft/` holds: the redb log of postcard-encoded entries (format 1)
/// and the state in orch_core's snapshot format (see `crate::data_format`).
pub const RAFT_DIR_FORMAT: crate::data_format::Marker = crate::data_format::Marker {
    format: 1,
    state_format: orch_core::state::SNAPSHOT_FORMAT,
};

/// How a Raft server runs. Build it with [`RaftConfig::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct RaftConfig {
    /// This server's Raft ID; stable for the life of its data dir (see
    /// [`node_id_from_name`]). Starting with another ID on the same data dir is refused.
    pub node_id: NodeId,
    /// Address to listen on for peer RPCs (`host:port`, port 0 picks a free one).
    pub rpc_addr: String,
    /// Address peers dial to reach this server; defaults to the bound address, which is
    /// only right when `rpc_addr` is not a wildcard (`0.0.0.0`).
    pub advertise_addr: Option<String>,
    /// The server's data dir; Raft keeps its files in `<data_dir>/raft/`.
    pub data_dir: PathBuf,
    /// Leader heartbeat interval.
    pub heartbeat_ms: u64,
    /// Lower bound of the randomized election timeout.
    pub election_timeout_min_ms: u64,
    /// Upper bound of the randomized election timeout.
    pub election_timeout_max_ms: u64,
    /// Take a snapshot (and purge the log before it) every this many entries.
    pub snapshot_every: u64,
    /// Entries kept before the snapshot point, so briefly lagging followers catch up from
    /// the log instead of needing the whole snapshot.
    pub logs_to_keep: u64,
    /// Peer RPC timeouts.
    pub network: NetworkConfig,
    /// Free bytes kept on the data dir's filesystem: below them this server holds its
    /// writes back, reports itself unhealthy and hands leadership away (`crate::disk`).
    pub disk_reserve_bytes: u64,
}

impl RaftConfig {
    /// Defaults: 150 ms heartbeats and 500-1000 ms randomized elections (a killed
    /// leader is replaced in about 1.5-2 s, also when the first candidate's log is
    /// behind: `raft::election` has the longer log campaign), snapshot every 8192
    /// entries, keep 1000 entries after a snapshot. openraft times AppendEntries out
    /// after one heartbeat interval and votes after the lower bound: the `-dev` values
    /// (100, 300-600) elect faster but lost a loaded five-server cluster its leader for
    /// tens of seconds under the nemesis (benches/README.md).
    pub fn new(node_id: NodeId, rpc_addr: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        RaftConfig {
            node_id,
            rpc_addr: rpc_addr.into(),
            advertise_addr: None,
            data_dir: data_dir.into(),
            heartbeat_ms: 150,
            election_timeout_min_ms: 500,
            election_timeout_max_ms: 1000,
            snapshot_every: 8192,
            logs_to_keep: 1000,
            network: NetworkConfig::default(),
            disk_reserve_bytes: crate::disk::DEFAULT_RESERVE_MB * 1024 * 1024,
        }
    }

    fn openraft_config(&self) -> Result<Config, RaftError> {
        let config = Config {
            cluster_name: "orch".into(),
            heartbeat_interval: self.heartbeat_ms,
            election_timeout_min: self.election_timeout_min_ms,
            election_timeout_max: self.election_timeout_max_ms,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(self.snapshot_every.max(1)),
            max_in_snapshot_log_to_keep: self.logs_to_keep,
            snapshot_max_chunk_size: SNAPSHOT_CHUNK_BYTES,
            install_snapshot_timeout: u64::try_from(self.network.snapshot_timeout.as_millis())
                .unwrap_or(u64::MAX),
            ..Config::default()
        };
        config
            .validate()
            .map_err(|e| RaftError::Config(e.to_string()))
    }
}

/// The RPC listener on `config.rpc_addr`, the address it got and the one peers are told.
async fn bind_rpc(
    config: &RaftConfig,
) -> Result<(TcpListener, std::net::SocketAddr, String), RaftError> {
    let bind_error = |source| RaftError::Bind {
        addr: config.rpc_addr.clone(),
        source,
    };
    let listener = TcpListener::bind(&config.rpc_addr)
        .await
        .map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    let advertise = config
        .advertise_addr
        .clone()
        .unwrap_or_else(|| addr.to_string());
    Ok((listener, addr, advertise))
}

/// What answers this server's vote requests (`raft::election`), on the lease and
/// election switch of its leadership transfers.
fn campaigner_of(
    config: &RaftConfig,
    transfer: &TransferContext,
    network: &HttpNetwork,
) -> super::election::Campaigner {
    super::election::Campaigner::new(
        transfer.raft.clone(),
        network.contacts().clone(),
        transfer.switch.clone(),
        transfer.lease,
        Duration::from_millis(config.election_timeout_min_ms),
    )
}

/// A stable Raft ID from a server's name (or advertise address): 64-bit FNV-1a of its
/// UTF-8 bytes. Deterministic across builds and platforms, so the same name always gives
/// the same ID; distinct names collide with negligible probability.
pub fn node_id_from_name(name: &str) -> NodeId {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.as_bytes() {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A running Raft server: the openraft instance, its RPC listener and the storage.
pub struct RaftNode {
    raft: OrchRaft,
    batcher: ProposalBatcher,
    health: SharedHealth,
    forwarder: Forwarder,
    node_id: NodeId,
    addr: SocketAddr,
    advertise: String,
    network: HttpNetwork,
    /// What leadership transfers need (`operator raft transfer-leadership`).
    transfer: TransferContext,
    /// Leadership confirmations for linearizable requests, shared.
    reads: super::read_index::ReadIndexBatcher,
    campaigner: super::election::Campaigner,
    /// Whether this server is cut off from the cluster (`raft::lease`).
    standing: super::lease::Standing,
    security: crate::tls::AgentSecurity,
    state: StateHandle,
    /// The client endpoints served on the RPC port once set.
    api_on_rpc: Arc<std::sync::OnceLock<axum::Router>>,
    http_addr: HttpAddrSlot,
    stop_http: std::sync::Mutex<Option<oneshot::Sender<()>>>,
    http_task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl RaftNode {
    /// Opens the storage in `<data_dir>/raft/`, loads the last snapshot into `state`,
    /// starts openraft and the RPC listener. A restarted server rejoins its cluster by
    /// itself; a new one must be [`bootstrap`](Self::bootstrap)ped,
    /// [`initialize`](Self::initialize)d or [`join`](Self::join)ed.
    pub async fn start(config: RaftConfig, state: StateHandle) -> Result<RaftNode, RaftError> {
        let dir = config.data_dir.join("raft");
        std::fs::create_dir_all(&dir).map_err(|e| RaftError::Storage {
            path: dir.clone(),
            message: e.to_string(),
        })?;
        check_node_id(&dir, config.node_id)?;
        crate::data_format::check_or_mark(
            &dir,
            "Raft directory",
            RAFT_DIR_FORMAT,
            orch_core::state::OLDEST_READABLE_SNAPSHOT_FORMAT,
        )?;
        let raft_config = config.openraft_config()?;
        let reserve = crate::disk::DiskReserve::new(&dir, config.disk_reserve_bytes);
        let log_store = open_log_store(&dir.join("raft.redb"), &reserve).await?;
        let state_machine = StateMachine::open(&dir, state.clone(), reserve.clone())?;
        let network = HttpNetwork::new(config.network.clone())
            .map_err(|e| RaftError::Raft(format!("peer HTTP client: {e}")))?;

        let (listener, addr, advertise) = bind_rpc(&config).await?;

        let raft = OrchRaft::new(
            config.node_id,
            Arc::new(raft_config),
            network.clone(),
            log_store,
            state_machine,
        )
        .await
        .map_err(|e| RaftError::Raft(e.to_string()))?;

        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        // Clients name the servers' RPC port (Nomad's `client.servers`); the agent hands
        // over the few client endpoints served here (see `crate::http::rpc_port_router`).
        let api_on_rpc: Arc<std::sync::OnceLock<axum::Router>> = Arc::default();
        let late_api = Arc::clone(&api_on_rpc);
        let http_addr = HttpAddrSlot::default();
        let batcher = ProposalBatcher::start(raft.clone());
        let transfer = TransferContext {
            raft: raft.clone(),
            network: network.clone(),
            switch: ElectionSwitch::default(),
            lease: Duration::from_millis(config.election_timeout_max_ms),
        };
        let health = spawn_health_monitor(&config, &network, &state, reserve, &transfer);
        let standing = super::lease::spawn(super::lease::LeaseInputs {
            raft: raft.clone(),
            contacts: network.contacts().clone(),
            lease: transfer.lease,
        });
        let reads = super::read_index::ReadIndexBatcher::default();
        let campaigner = campaigner_of(&config, &transfer, &network);
        let rpc = RpcState {
            raft: raft.clone(),
            batcher: batcher.clone(),
            contacts: network.contacts().clone(),
            health: health.clone(),
            transfer: transfer.clone(),
            reads: reads.clone(),
            campaigner: campaigner.clone(),
        };
        let security = config.network.security.clone();
        let app = rpc_app(rpc, &security, http_addr.clone(), late_api);
        let http_task = serve_rpc(listener, app, &security, stop_rx)?;

        let forwarder = Forwarder::start(network.clone(), raft.clone());
        Ok(RaftNode {
            raft,
            batcher,
            health,
            forwarder,
            node_id: config.node_id,
            addr,
            advertise,
            network,
            transfer,
            reads,
            campaigner,
            standing,
            security,
            state,
            api_on_rpc,
            http_addr,
            stop_http: std::sync::Mutex::new(Some(stop_tx)),
            http_task: std::sync::Mutex::new(Some(http_task)),
        })
    }

    /// The openraft instance (metrics, triggers, membership changes).
    pub fn raft(&self) -> &OrchRaft {
        &self.raft
    }

    /// The Raft RPC routes of this server behind its peer guard, to mount on another
    /// listener (the serf port answers joins and peer RPCs too).
    pub fn rpc_router(&self) -> axum::Router {
        self.security.peer_guard().protect(raft_router(RpcState {
            raft: self.raft.clone(),
            batcher: self.batcher.clone(),
            contacts: self.network.contacts().clone(),
            health: self.health.clone(),
            transfer: self.transfer.clone(),
            reads: self.reads.clone(),
            campaigner: self.campaigner.clone(),
        }))
    }

    /// The TLS and cluster secret this server applies to peer traffic.
    pub fn security(&self) -> &crate::tls::AgentSecurity {
        &self.security
    }

    /// The client this server calls peers with (TLS, secret) and their scheme.
    pub fn peer_link(&self) -> crate::tls::Link {
        self.network.client().clone()
    }

    /// This server's Raft ID.
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// Serves `api` (the client endpoints, see `crate::http::rpc_port_router`) on the
    /// RPC port too: clients connect there, as Nomad's do. A second call is ignored.
    pub fn serve_api_on_rpc(&self, api: axum::Router) {
        let _ = self.api_on_rpc.set(api);
    }

    /// The address the RPC listener is bound to (the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address peers use for this server.
    pub fn advertise_addr(&self) -> &str {
        &self.advertise
    }

    /// Publishes who this server is and its HTTP API address to peers (see
    /// [`super::HTTP_ADDR_PATH`], [`super::http::MEMBER_PATH`]); only the first call
    /// counts.
    pub fn set_identity(&self, me: crate::server::PeerAgent) {
        let _ = self.http_addr.set(me);
    }

    /// The write path for the rest of the daemon.
    pub fn replicator(&self) -> RaftReplicator {
        RaftReplicator::new(
            self.transfer.clone(),
            self.batcher.clone(),
            self.forwarder.clone(),
            JoinRequest {
                node_id: self.node_id,
                addr: self.advertise.clone(),
            },
            self.state.clone(),
            self.health.clone(),
            self.reads.clone(),
            self.standing.clone(),
        )
    }

    /// Makes this server a one-server cluster (`bootstrap_expect = 1`, dev mode).
    /// Harmless on restart: an already initialized server is left as it is.
    pub async fn bootstrap(&self) -> Result<(), RaftError> {
        let members = BTreeMap::from([(self.node_id, self.advertise.clone())]);
        self.initialize(members).await
    }

    /// Forms a new cluster of `members` (ID -> RPC address, including this server). Call
    /// it on one server only; the others learn the membership from it. Harmless on an
    /// already initialized server.
    pub async fn initialize(&self, members: BTreeMap<NodeId, String>) -> Result<(), RaftError> {
        let nodes: BTreeMap<NodeId, BasicNode> = members
            .into_iter()
            .map(|(id, addr)| (id, BasicNode { addr }))
            .collect();
        match self.raft.initialize(nodes).await {
            Ok(()) => Ok(()),
            Err(openraft::error::RaftError::APIError(InitializeError::NotAllowed(_))) => Ok(()),
            Err(e) => Err(RaftError::Raft(e.to_string())),
        }
    }

    /// Asks the server at `leader_addr` (any server; followers redirect to the leader) to
    /// add this one as a voter, retrying until `timeout` passes.
    pub async fn join(&self, leader_addr: &str, timeout: Duration) -> Result<(), RaftError> {
        let me = JoinRequest {
            node_id: self.node_id,
            addr: self.advertise.clone(),
        };
        super::membership::join_cluster(&self.network, &me, leader_addr, timeout).await
    }

    /// Keeps this server in the cluster: after a long time without a leader it asks to
    /// join again through `joins` and its known peers ([`super::membership::spawn_rejoin_watch`]).
    pub fn watch_membership(&self, joins: Vec<String>) {
        super::membership::spawn_rejoin_watch(
            self.raft.clone(),
            self.network.clone(),
            JoinRequest {
                node_id: self.node_id,
                addr: self.advertise.clone(),
            },
            joins,
        );
    }

    /// Stops the RPC listener and openraft, releasing the data dir. Further calls are
    /// no-ops.
    pub async fn shutdown(&self) -> Result<(), RaftError> {
        let stop = self
            .stop_http
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
        let task = self
            .http_task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(mut task) = task {
            // Graceful shutdown waits for open connections; peers keep theirs alive, so
            // give them a moment and then cut them.
            if tokio::time::timeout(Duration::from_secs(1), &mut task)
                .await
                .is_err()
            {
                task.abort();
                let _ = task.await;
            }
        }
        self.raft
            .shutdown()
            .await
            .map_err(|e| RaftError::Raft(format!("shutdown: {e}")))
    }
}

/// The RPC listener's routes: the Raft routes behind the peer guard, the open
/// `/raft/http-addr`, and whatever the agent later hands over for clients
/// (`late_api`, 503 until then).
fn rpc_app(
    rpc: RpcState,
    security: &crate::tls::AgentSecurity,
    http_addr: HttpAddrSlot,
    late_api: Arc<std::sync::OnceLock<axum::Router>>,
) -> axum::Router {
    security
        .peer_guard()
        .protect(raft_router(rpc))
        .merge(http_addr_router(http_addr))
        .fallback(move |req: axum::extract::Request| {
            let api = late_api.get().cloned();
            async move {
                use axum::response::IntoResponse;
                use tower::ServiceExt;
                match api {
                    Some(router) => match router.oneshot(req).await {
                        Ok(resp) => resp.into_response(),
                        Err(never) => match never {},
                    },
                    None => (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        "the server is starting; retry in a moment",
                    )
                        .into_response(),
                }
            }
        })
}

/// Serves the peer RPC routes on `listener` (TLS when `tls.rpc` is on) until `stop`.
fn serve_rpc(
    listener: TcpListener,
    app: axum::Router,
    security: &crate::tls::AgentSecurity,
    stop: oneshot::Receiver<()>,
) -> Result<JoinHandle<()>, RaftError> {
    let tls = security
        .rpc_listener_config()
        .map_err(|e| RaftError::Raft(e.to_string()))?;
    Ok(tokio::spawn(async move {
        let stop = async move {
            let _ = stop.await;
        };
        if let Err(e) = crate::tls::serve(listener, tls, app, stop).await {
            tracing::error!(error = %e, "raft RPC listener failed");
        }
    }))
}

/// Starts the replication health monitor (`raft::health`); the health it publishes.
fn spawn_health_monitor(
    config: &RaftConfig,
    network: &HttpNetwork,
    state: &StateHandle,
    reserve: crate::disk::DiskReserve,
    transfer: &TransferContext,
) -> super::health::SharedHealth {
    let health = super::health::unmeasured();
    tokio::spawn(super::health::run(Monitor {
        raft: transfer.raft.clone(),
        contacts: network.contacts().clone(),
        network: network.clone(),
        contact_floor: Duration::from_millis((10 * config.heartbeat_ms).max(1000)),
        health: health.clone(),
        state: state.clone(),
        reserve,
        transfer: transfer.clone(),
    }));
    health
}

/// Opens the log database, waiting briefly if a just-stopped instance in this process
/// still holds it (openraft's tasks drop their handles asynchronously).
async fn open_log_store(
    path: &Path,
    reserve: &crate::disk::DiskReserve,
) -> Result<LogStore, RaftError> {
    let mut attempts = 0;
    loop {
        match LogStore::open(path, reserve.clone()) {
            Ok(store) => return Ok(store),
            Err(e) if attempts < 20 && e.to_string().contains("already open") => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Records the node ID in `<dir>/node_id` on first start and refuses a different one
/// later: a log written under one identity must not be replayed under another.
fn check_node_id(dir: &Path, node_id: NodeId) -> Result<(), RaftError> {
    let path = dir.join("node_id");
    match std::fs::read_to_string(&path) {
        Ok(s) => {
            let stored: NodeId = s.trim().parse().map_err(|_| RaftError::Storage {
                path: path.clone(),
                message: format!("{s:?} is not a node ID"),
            })?;
            if stored != node_id {
                return Err(RaftError::Storage {
                    path,
                    message: format!(
                        "the data dir belongs to raft node {stored}, not {node_id}; keep the server's name/ID or use a fresh data dir"
                    ),
                });
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::write(&path, node_id.to_string()).map_err(|e| RaftError::Storage {
                path,
                message: e.to_string(),
            })
        }
        Err(e) => Err(RaftError::Storage {
            path,
            message: e.to_string(),
        }),
    }
}
