//! Three servers in one process on loopback, as the bench programs run them
//! (`register-bench`, `c1m-cluster`): real Raft over HTTP, the redb log fsync'd on every
//! append, the leader loops running, each server's Nomad API on a port of its own and
//! the client endpoints on its RPC port too, as an agent serves them (a follower
//! forwards a client's registration and heartbeats to the leader's RPC port).

use std::sync::Arc;
use std::time::Duration;

use orch_daemon::http::rpc_port::rpc_port_router;
use orch_daemon::http::{AgentInfo, ApiState, router};
use orch_daemon::raft::{RaftConfig, RaftNode};
use orch_daemon::server::{Leader, LeaderConfig, Replicator, StateHandle};

/// One running server.
pub struct Server {
    /// Its Raft node (shut it down at the end).
    pub node: RaftNode,
    /// Its HTTP API, `http://host:port`.
    pub http: String,
    /// Its replicated state, for benches that watch what was applied.
    #[allow(dead_code)] // register-bench reads the API only.
    pub state: StateHandle,
}

/// Starts server `i` with its data in `dir/s{i}`: bootstraps a cluster when `join` is
/// `None`, else joins the one whose RPC address `join` is.
pub async fn start_server(
    i: usize,
    dir: &std::path::Path,
    join: Option<String>,
    leader_config: LeaderConfig,
) -> Result<Server, String> {
    let state = StateHandle::default();
    let config = RaftConfig::new(100 + i as u64, "127.0.0.1:0", dir.join(format!("s{i}")));
    let node = RaftNode::start(config, state.clone())
        .await
        .map_err(|e| e.to_string())?;
    match join {
        None => node.bootstrap().await.map_err(|e| e.to_string())?,
        Some(addr) => node
            .join(&addr, Duration::from_secs(30))
            .await
            .map_err(|e| e.to_string())?,
    }
    let replicator: Arc<dyn Replicator> = Arc::new(node.replicator());
    let leader = Leader::new(state.clone(), Arc::clone(&replicator), leader_config);
    leader.start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let http = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let mut api = ApiState::new(
        state.clone(),
        replicator,
        AgentInfo {
            name: format!("s{i}"),
            ..AgentInfo::default()
        },
    );
    api.leader = Some(leader);
    api.peers = node.peer_link();
    let app = router(Arc::new(api));
    node.serve_api_on_rpc(rpc_port_router(app.clone()));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Server { node, http, state })
}

/// Starts three servers in `dir`: the first bootstraps, the other two join it. Returns
/// once all three are voters (autopilot promotes a joined server after
/// `ServerStabilizationTime`, 10 s), so a run measures a cluster in its steady state;
/// until then a joined server forwards no client calls (it knows no other voter).
pub async fn start_three(
    dir: &std::path::Path,
    leader_config: &LeaderConfig,
) -> Result<[Server; 3], String> {
    let first = start_server(0, dir, None, leader_config.clone()).await?;
    let join = first.node.local_addr().to_string();
    let second = start_server(1, dir, Some(join.clone()), leader_config.clone()).await?;
    let third = start_server(2, dir, Some(join), leader_config.clone()).await?;
    let servers = [first, second, third];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let voters = servers
            .iter()
            .map(|s| s.node.replicator().peers().len())
            .min()
            .unwrap_or(0);
        if voters == servers.len() {
            return Ok(servers);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("only {voters} voters after 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
