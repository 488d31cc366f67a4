//! `orch agent`: starts a server (Raft, leader loop, HTTP API), a client (task drivers)
//! or both, with Nomad's flags and config file.
//!
//! Modules: [`config`] (Nomad's agent config file and flags, combined) and [`bootstrap`]
//! (forming a cluster from `bootstrap_expect` and `retry_join`).

pub mod bootstrap;
pub mod config;
pub mod plugins;
mod reload;
pub mod self_view;
mod server_settings;
mod usage;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use config::{AgentConfig, ClientConfig, ConfigError, Ports, ServerConfig, ServerJoin};

use crate::cli::flags::{FlagSpec, help_asked, parse, print_usage};
use crate::client::driver::DriverRegistry;
use crate::client::{Client, ClientSettings};
use crate::http::client_acl::{ClientAcl, RemoteAcl};
use crate::http::client_fs::{ClientHttp, client_router};
use crate::http::rpc_port::{proxy_router, rpc_port_router};
use crate::http::{AclSettings, AgentInfo, ApiState, router_with};
use crate::raft::{RaftNode, node_id_from_name};
use crate::server::{Leader, Replicator, StateHandle};

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("dev"),
    FlagSpec::switch("acl-enabled"),
    FlagSpec::switch("server"),
    FlagSpec::switch("client"),
    FlagSpec::value("config"),
    FlagSpec::value("data-dir"),
    FlagSpec::value("bootstrap-expect"),
    FlagSpec::value("retry-join"),
    FlagSpec::value("bind"),
    FlagSpec::value("node"),
    FlagSpec::value("region"),
    FlagSpec::value("dc"),
    FlagSpec::value("log-level"),
    FlagSpec::value("servers"),
    FlagSpec::value("node-class"),
    FlagSpec::value("node-pool"),
    FlagSpec::value("num-schedulers"),
];

/// Builds the agent configuration from config files and flags (flags win).
pub fn load_config(args: &[String]) -> Result<AgentConfig, ConfigError> {
    let p = parse(args, FLAGS).map_err(ConfigError::Flag)?;
    if let Some(extra) = p.positional.first() {
        return Err(ConfigError::Flag(format!(
            "unexpected argument {extra:?}; orch agent takes only flags"
        )));
    }
    let mut config = AgentConfig::default();
    for file in p.all("config") {
        config.merge(AgentConfig::from_file(std::path::Path::new(file))?);
    }
    let one = |name: &str| p.all(name).last().cloned();
    let number = |name: &str| -> Result<Option<u64>, ConfigError> {
        one(name)
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    ConfigError::Flag(format!("-{name} expects a whole number, got {v:?}"))
                })
            })
            .transpose()
    };
    let flags = AgentConfig {
        name: one("node").unwrap_or_default(),
        region: one("region").unwrap_or_else(|| AgentConfig::default().region),
        datacenter: one("dc").unwrap_or_else(|| AgentConfig::default().datacenter),
        data_dir: one("data-dir").map(PathBuf::from),
        bind_addr: one("bind"),
        log_level: one("log-level").unwrap_or_else(|| AgentConfig::default().log_level),
        ports: Ports::default(),
        server: ServerConfig {
            enabled: p.has("server"),
            bootstrap_expect: number("bootstrap-expect")?.map_or(0, |n| n as u32),
            server_join: ServerJoin {
                retry_join: p.all("retry-join").to_vec(),
                ..ServerJoin::default()
            },
            num_schedulers: number("num-schedulers")?.map(|n| n as usize),
            ..ServerConfig::default()
        },
        client: ClientConfig {
            enabled: p.has("client"),
            servers: p.all("servers").to_vec(),
            node_class: one("node-class"),
            node_pool: one("node-pool"),
            ..ClientConfig::default()
        },
        autoscaler: Default::default(),
        acl: crate::agent::config::AclBlock {
            enabled: p.has("acl-enabled"),
            ..Default::default()
        },
        plugin: Default::default(),
        tls: Default::default(),
        dev: p.has("dev"),
    };
    config.merge(flags);
    config.check_plugins()?;
    config.acl.times()?;
    config.finish()
}

/// Runs `orch agent` until interrupted.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    if help_asked(args) {
        return print_usage(usage::USAGE);
    }
    let config = load_config(args).map_err(|e| e.to_string())?;
    init_logging(&config.log_level)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(serve(config))?;
    Ok(ExitCode::SUCCESS)
}

/// Logs to stderr at `log_level` (Nomad's names: `trace`, `debug`, `info`, `warn`,
/// `err`/`error`, `off`, any case). openraft logs at `warn` and above whatever the level
/// below `debug`: its `info` lines describe every replication step.
fn init_logging(log_level: &str) -> Result<(), String> {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    let level = crate::log_monitor::parse_level(log_level).ok_or_else(|| {
        format!(
            "log_level {log_level:?} is not a log level: use trace, debug, info, warn, error or off"
        )
    })?;
    let openraft = if level >= LevelFilter::DEBUG {
        level
    } else {
        level.min(LevelFilter::WARN)
    };
    let filter = Targets::new()
        .with_target("openraft", openraft)
        .with_default(level);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    // A second agent in one process (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(crate::log_monitor::layer())
        .try_init();
    Ok(())
}

async fn serve(config: AgentConfig) -> Result<(), String> {
    let bind = config.bind().to_string();
    let dev_dir = config.dev.then(|| {
        std::env::temp_dir().join(format!(
            "orch-dev-{}-{}",
            std::process::id(),
            crate::clock::now_nanos()
        ))
    });
    let data_dir = dev_dir
        .clone()
        .or(config.data_dir.clone())
        .ok_or("the agent needs -data-dir")?;
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| format!("cannot create data dir {}: {e}", data_dir.display()))?;

    let security = agent_security(&config)?;
    reload::reload_on_sighup(security.tls.clone())?;
    // The HTTP listener comes first: the client advertises its address.
    let http = tokio::net::TcpListener::bind(format!("{bind}:{}", config.ports.http))
        .await
        .map_err(|e| {
            format!(
                "cannot listen for HTTP on {bind}:{}: {e}",
                config.ports.http
            )
        })?;
    let http_addr = http.local_addr().map_err(|e| e.to_string())?;

    let server = if config.server.enabled {
        Some(start_server(&config, &security, &data_dir, &bind, http_addr).await?)
    } else {
        None
    };

    let client = if config.client.enabled {
        Some(start_client(&config, &security, &data_dir, &bind, http_addr).await?)
    } else {
        None
    };
    let app = api_app(
        &config,
        &security,
        server.as_ref(),
        client.as_ref(),
        http_addr,
        &data_dir,
    )?;
    print_banner(
        &config,
        security.http_scheme(),
        http_addr,
        server.as_ref(),
        client.as_deref(),
        &data_dir,
    );
    let http_tls = security.http_listener_config().map_err(|e| e.to_string())?;
    let serve = crate::tls::serve(http, http_tls, app, std::future::pending());
    tokio::select! {
        r = serve => r.map_err(|e| format!("HTTP server failed: {e}"))?,
        _ = shutdown_signal() => println!("==> shutting down"),
    }
    if config.dev
        && let Some(c) = &client
    {
        // The dev data dir goes away with the agent, so its tasks must too.
        c.stop_all(Duration::from_secs(15)).await;
    }
    if let Some(s) = server {
        let _ = s.node.shutdown().await;
    }
    if let Some(dir) = dev_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(())
}

/// Starts the client: remote servers are named by their RPC port (called over the RPC
/// link); a server+client agent's client calls its own HTTP API (the HTTP link).
async fn start_client(
    config: &AgentConfig,
    security: &crate::tls::AgentSecurity,
    data_dir: &std::path::Path,
    bind: &str,
    http_addr: std::net::SocketAddr,
) -> Result<Arc<Client>, String> {
    let link = crate::tls::http_client_builder().connect_timeout(Duration::from_secs(2));
    let (servers, servers_link) = if !config.client.servers.is_empty() {
        (config.client.servers.clone(), security.rpc_link(link))
    } else {
        (vec![http_addr.to_string()], security.http_link(link))
    };
    let servers_link = servers_link.map_err(|e| e.to_string())?;
    let shim = std::env::current_exe()
        .map_err(|e| format!("cannot find the orch binary to supervise tasks with: {e}"))?;
    let mut client_config = config.client.clone();
    client_config.nvidia = config.nvidia_settings().map_err(|e| e.to_string())?;
    let client = Client::new(ClientSettings {
        config: client_config,
        name: config.name.clone(),
        region: config.region.clone(),
        datacenter: config.datacenter.clone(),
        servers,
        servers_link,
        data_dir: data_dir.to_path_buf(),
        http_addr: http_addr.to_string(),
        bind_addr: bind.to_string(),
        drivers: DriverRegistry::with_options(
            shim,
            &config.driver_options().map_err(|e| e.to_string())?,
        ),
    })
    .map_err(|e| e.to_string())?;
    client.start().await;
    Ok(client)
}

/// The HTTP API this agent serves: a server's whole API (its client endpoints also on
/// the RPC port), or a client-only agent's client routes plus its pass-through.
fn api_app(
    config: &AgentConfig,
    security: &crate::tls::AgentSecurity,
    server: Option<&ServerParts>,
    client: Option<&Arc<Client>>,
    http_addr: std::net::SocketAddr,
    data_dir: &std::path::Path,
) -> Result<axum::Router, String> {
    let acl_times = config.acl.times().map_err(|e| e.to_string())?;
    let rpc_link = security
        .rpc_link(crate::tls::http_client_builder())
        .map_err(|e| e.to_string())?;
    let client_http = ClientHttp {
        client: client.cloned(),
        state: server.map(|s| s.state.clone()),
        http: security
            .http_link(crate::tls::http_client_builder())
            .map_err(|e| e.to_string())?,
        acl: client_acl(config, server, acl_times, &rpc_link),
        data_dir: Some(data_dir.to_path_buf()),
    };
    let Some(s) = server else {
        let proxy = proxy_router(
            config.client.servers.clone(),
            rpc_link,
            client_http.http.clone(),
        );
        let monitor = crate::http::agent_monitor::client_routes(client_http.clone());
        return Ok(client_router(client_http)
            .merge(crate::http::ui::routes())
            .merge(monitor)
            .merge(proxy)
            .layer(axum::middleware::from_fn(crate::http::log_request)));
    };
    let mut api = ApiState::new(
        s.state.clone(),
        Arc::clone(&s.replicator),
        AgentInfo {
            name: config.name.clone(),
            region: config.region.clone(),
            datacenter: config.datacenter.clone(),
            node_id: client.map(|c| c.node_id().to_string()),
            version: env!("CARGO_PKG_VERSION").to_string(),
            http_addr: http_addr.to_string(),
            server: true,
            data_dir: config.data_dir.clone(),
            config: self_view::config_json(
                config,
                &self_view::ListenAddrs {
                    http: http_addr.to_string(),
                    rpc: Some(s.node.local_addr().to_string()),
                    serf: Some(s.serf_addr.to_string()),
                },
                &s.effective,
            ),
        },
    );
    api.leader = Some(Arc::clone(&s.leader));
    api.peers = s.node.peer_link();
    api.agents = client_http.http.clone();
    api.keyring = Arc::clone(&s.keyring);
    api.acl = AclSettings {
        enabled: config.acl.enabled,
        bootstrap_reset_file: Some(data_dir.join("server").join("acl-bootstrap-reset")),
        token_min_ttl_nanos: acl_times.token_min_ttl_nanos,
        token_max_ttl_nanos: acl_times.token_max_ttl_nanos,
    };
    let app = router_with(Arc::new(api), client_router(client_http));
    let peer_keys = security
        .peer_guard()
        .protect(crate::server::keyring::peer_router(Arc::clone(&s.keyring)));
    s.node
        .serve_api_on_rpc(peer_keys.merge(rpc_port_router(app.clone())));
    Ok(app)
}

/// Prints the start-up lines (`==> orch agent started`, addresses, drivers, data dir);
/// tests and operators read the addresses from them, `Data dir:` last.
fn print_banner(
    config: &AgentConfig,
    scheme: &str,
    http_addr: std::net::SocketAddr,
    server: Option<&ServerParts>,
    client: Option<&Client>,
    data_dir: &std::path::Path,
) {
    let roles = match (server.is_some(), client.is_some()) {
        (true, true) => "server, client",
        (true, false) => "server",
        _ => "client",
    };
    println!(
        "==> orch agent started ({roles}{})",
        if config.dev { ", dev mode" } else { "" }
    );
    println!("    Node name: {}", config.name);
    println!("    HTTP API:  {scheme}://{http_addr}");
    if let Some(s) = server {
        println!("    Raft RPC:  {}", s.node.local_addr());
        println!("    Serf:      {}", s.serf_addr);
    }
    if let Some(c) = client {
        println!("    Client node ID: {}", c.node_id());
        if config.dev {
            println!(
                "    raw_exec:  enabled (dev mode); it runs tasks unisolated as the agent's user"
            );
        }
        let drivers: Vec<String> = c
            .node()
            .drivers
            .iter()
            .filter(|(_, d)| d.detected)
            .map(|(n, d)| {
                if d.healthy {
                    n.clone()
                } else {
                    format!("{n} (unhealthy: {})", d.health_description)
                }
            })
            .collect();
        println!("    Drivers:   {}", drivers.join(", "));
    }
    println!("    Data dir:  {}", data_dir.display());
}

/// What a running server consists of.
struct ServerParts {
    node: RaftNode,
    state: StateHandle,
    replicator: Arc<dyn Replicator>,
    leader: Arc<Leader>,
    serf_addr: std::net::SocketAddr,
    keyring: Arc<crate::server::keyring::Keyring>,
    /// The settings it runs with, for `/v1/agent/self`.
    effective: self_view::ServerEffective,
}

/// How the agent's `/v1/client/...` endpoints authorize callers: not at all with ACLs
/// off; through the local state on a server; by asking the servers on a client-only
/// agent (answers cached for the `acl` TTLs).
fn client_acl(
    config: &AgentConfig,
    server: Option<&ServerParts>,
    times: crate::agent::config::AclTimes,
    rpc: &crate::tls::Link,
) -> ClientAcl {
    match (config.acl.enabled, server) {
        (false, _) => ClientAcl::Off,
        (true, Some(s)) => ClientAcl::Local(s.state.clone()),
        (true, None) => ClientAcl::Remote(Arc::new(RemoteAcl::new(
            config.client.servers.clone(),
            rpc.clone(),
            times.cache_ttl,
        ))),
    }
}

async fn start_server(
    config: &AgentConfig,
    security: &crate::tls::AgentSecurity,
    data_dir: &std::path::Path,
    bind: &str,
    http_addr: std::net::SocketAddr,
) -> Result<ServerParts, String> {
    let state = StateHandle::default();
    let node_id = node_id_from_name(&config.name);
    let raft_config = server_settings::raft_config(config, security, node_id, bind, data_dir)?;
    let (snapshot_every, logs_to_keep) = (raft_config.snapshot_every, raft_config.logs_to_keep);
    let node = RaftNode::start(raft_config, state.clone())
        .await
        .map_err(|e| e.to_string())?;
    let serf_addr = serve_serf(&node, security, &format!("{bind}:{}", config.ports.serf)).await?;

    let joins = config.server.server_join.retry_join.clone();
    let retry_interval = config
        .server
        .server_join
        .interval()
        .map_err(|e| e.to_string())?;
    form_or_join_cluster(config, &node, &joins, retry_interval).await?;
    node.watch_membership(joins);
    let replicator: Arc<dyn Replicator> = Arc::new(node.replicator());
    let leader_config = server_settings::leader_config(config)?;
    let effective = self_view::ServerEffective {
        leader: leader_config.clone(),
        snapshot_every,
        logs_to_keep,
        retry_interval,
    };
    let leader = Leader::new(state.clone(), Arc::clone(&replicator), leader_config);
    leader.start().await;
    node.set_identity(crate::server::PeerAgent {
        http_addr: advertised_http(http_addr, node.advertise_addr()),
        name: config.name.clone(),
        region: config.region.clone(),
        datacenter: config.datacenter.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    });
    let keystore = data_dir.join("server").join("keystore");
    let keyring =
        Arc::new(crate::server::keyring::Keyring::open(keystore).map_err(|e| e.to_string())?);
    crate::server::keyring::spawn_keystore_cleanup(state.clone(), Arc::clone(&keyring));
    Ok(ServerParts {
        node,
        state,
        replicator,
        leader,
        serf_addr,
        keyring,
        effective,
    })
}

/// Bootstraps a cluster of one, waits for `bootstrap_expect` peers, or joins through
/// `joins`, as the `server` block says.
async fn form_or_join_cluster(
    config: &AgentConfig,
    node: &RaftNode,
    joins: &[String],
    retry_interval: Duration,
) -> Result<(), String> {
    if joins.is_empty() && config.server.bootstrap_expect > 1 {
        // As Nomad: a server expecting peers waits for them (their retry_join, or
        // `orch server join` here) instead of leading a cluster of one.
        tracing::info!(
            expect = config.server.bootstrap_expect,
            "waiting for other servers: run `orch server join <serf address>` or list this server in their retry_join"
        );
    } else if joins.is_empty() {
        node.bootstrap().await.map_err(|e| e.to_string())?;
    } else {
        bootstrap::form_or_join(
            node,
            joins,
            config.server.bootstrap_expect,
            config.server.server_join.retry_max,
            retry_interval,
        )
        .await?;
    }

    Ok(())
}

/// Listens on the serf port: joins name it, as in Nomad, so it serves the same Raft
/// endpoints (and `/serf/id`) with the RPC port's TLS and guard.
async fn serve_serf(
    node: &RaftNode,
    security: &crate::tls::AgentSecurity,
    addr: &str,
) -> Result<std::net::SocketAddr, String> {
    let serf = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on the serf port {addr}: {e}"))?;
    let serf_addr = serf.local_addr().map_err(|e| e.to_string())?;
    let serf_router = node.rpc_router().merge(bootstrap::identity_router(node));
    let tls = security.rpc_listener_config().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = crate::tls::serve(serf, tls, serf_router, std::future::pending()).await;
    });
    Ok(serf_addr)
}

/// The agent's TLS material and cluster secret, loaded once at start-up.
fn agent_security(config: &AgentConfig) -> Result<crate::tls::AgentSecurity, String> {
    let tls = crate::tls::TlsSetup::load(&config.tls.settings(), &config.region)
        .map_err(|e| e.to_string())?;
    Ok(crate::tls::AgentSecurity {
        tls: tls.map(Arc::new),
        secret: config
            .server
            .encrypt
            .as_deref()
            .map(|k| Arc::from(k.trim())),
    })
}

/// The HTTP address peers should use: the bound one, or with a wildcard bind the host
/// peers already dial for Raft.
fn advertised_http(bound: std::net::SocketAddr, raft_advertise: &str) -> String {
    if !bound.ip().is_unspecified() {
        return bound.to_string();
    }
    let host = raft_advertise
        .rsplit_once(':')
        .map_or(raft_advertise, |(h, _)| h);
    format!("{host}:{}", bound.port())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
