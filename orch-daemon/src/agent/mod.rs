//! `orch agent`: starts a server (Raft, leader loop, HTTP API) with Nomad's flags and
//! config file. The client half (task drivers) arrives with the client; until then an
//! agent that asks for one says so.

pub mod bootstrap;
pub mod config;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use config::{AgentConfig, ClientConfig, ConfigError, Ports, ServerConfig, ServerJoin};

use crate::cli::flags::{FlagSpec, parse};
use crate::http::{AgentInfo, ApiState, router};
use crate::raft::{RaftConfig, RaftNode, node_id_from_name, raft_router};
use crate::server::{Leader, LeaderConfig, Replicator, StateHandle};

const FLAGS: &[FlagSpec] = &[
    FlagSpec {
        name: "dev",
        takes_value: false,
    },
    FlagSpec {
        name: "server",
        takes_value: false,
    },
    FlagSpec {
        name: "client",
        takes_value: false,
    },
    FlagSpec {
        name: "config",
        takes_value: true,
    },
    FlagSpec {
        name: "data-dir",
        takes_value: true,
    },
    FlagSpec {
        name: "bootstrap-expect",
        takes_value: true,
    },
    FlagSpec {
        name: "retry-join",
        takes_value: true,
    },
    FlagSpec {
        name: "bind",
        takes_value: true,
    },
    FlagSpec {
        name: "node",
        takes_value: true,
    },
    FlagSpec {
        name: "region",
        takes_value: true,
    },
    FlagSpec {
        name: "dc",
        takes_value: true,
    },
    FlagSpec {
        name: "log-level",
        takes_value: true,
    },
    FlagSpec {
        name: "servers",
        takes_value: true,
    },
    FlagSpec {
        name: "num-schedulers",
        takes_value: true,
    },
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
            ..ClientConfig::default()
        },
        dev: p.has("dev"),
    };
    config.merge(flags);
    config.finish()
}

/// Runs `orch agent` until interrupted.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let config = load_config(args).map_err(|e| e.to_string())?;
    if config.client.enabled && !config.dev {
        return Err("the orch client (task drivers) is not available in this build yet; run a server with -server, \
                    or -dev for a single-node server"
            .into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(serve(config))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: AgentConfig) -> Result<(), String> {
    let bind = config.bind().to_string();
    let dev_dir = config.dev.then(|| {
        std::env::temp_dir().join(format!(
            "orch-dev-{}-{}",
            std::process::id(),
            crate::server::now_nanos()
        ))
    });
    let data_dir = dev_dir
        .clone()
        .or(config.data_dir.clone())
        .ok_or("a server needs -data-dir")?;
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| format!("cannot create data dir {}: {e}", data_dir.display()))?;

    let state = StateHandle::default();
    let node_id = node_id_from_name(&config.name);
    let mut raft_config =
        RaftConfig::new(node_id, format!("{bind}:{}", config.ports.rpc), &data_dir);
    if config.dev {
        raft_config.heartbeat_ms = 100;
        raft_config.election_timeout_min_ms = 300;
        raft_config.election_timeout_max_ms = 600;
    }
    let node = RaftNode::start(raft_config, state.clone())
        .await
        .map_err(|e| e.to_string())?;
    // Joins name the serf port, as in Nomad: it serves the same Raft endpoints.
    let serf = tokio::net::TcpListener::bind(format!("{bind}:{}", config.ports.serf))
        .await
        .map_err(|e| {
            format!(
                "cannot listen on the serf port {bind}:{}: {e}",
                config.ports.serf
            )
        })?;
    let serf_addr = serf.local_addr().map_err(|e| e.to_string())?;
    let serf_router = raft_router(node.raft().clone()).merge(bootstrap::identity_router(&node));
    tokio::spawn(async move {
        let _ = axum::serve(serf, serf_router).await;
    });

    let joins = config.server.server_join.retry_join.clone();
    if joins.is_empty() {
        node.bootstrap().await.map_err(|e| e.to_string())?;
    } else {
        bootstrap::form_or_join(
            &node,
            &joins,
            config.server.bootstrap_expect,
            config.server.server_join.retry_max,
        )
        .await?;
    }

    let replicator: Arc<dyn Replicator> = Arc::new(node.replicator());
    let duration = |v: &Option<String>, name: &str| -> Result<Option<Duration>, String> {
        v.as_deref()
            .map(|s| {
                crate::http::query::parse_go_duration(s)
                    .ok_or_else(|| format!("server.{name}: {s:?} is not a duration like \"10s\""))
            })
            .transpose()
    };
    let defaults = LeaderConfig::default();
    let leader_config = LeaderConfig {
        workers: config.server.num_schedulers.unwrap_or(defaults.workers),
        heartbeat_ttl: duration(&config.server.min_heartbeat_ttl, "min_heartbeat_ttl")?
            .unwrap_or(defaults.heartbeat_ttl),
        heartbeat_grace: duration(&config.server.heartbeat_grace, "heartbeat_grace")?
            .unwrap_or(defaults.heartbeat_grace),
        max_heartbeats_per_second: config
            .server
            .max_heartbeats_per_second
            .unwrap_or(defaults.max_heartbeats_per_second),
        gc: crate::server::gc::GcConfig {
            eval_threshold: duration(&config.server.eval_gc_threshold, "eval_gc_threshold")?
                .unwrap_or(defaults.gc.eval_threshold),
            job_threshold: duration(&config.server.job_gc_threshold, "job_gc_threshold")?
                .unwrap_or(defaults.gc.job_threshold),
            deployment_threshold: duration(
                &config.server.deployment_gc_threshold,
                "deployment_gc_threshold",
            )?
            .unwrap_or(defaults.gc.deployment_threshold),
            node_threshold: duration(&config.server.node_gc_threshold, "node_gc_threshold")?
                .unwrap_or(defaults.gc.node_threshold),
            ..defaults.gc.clone()
        },
        ..defaults
    };
    let leader = Leader::new(state.clone(), Arc::clone(&replicator), leader_config);
    leader.start().await;

    let http = tokio::net::TcpListener::bind(format!("{bind}:{}", config.ports.http))
        .await
        .map_err(|e| {
            format!(
                "cannot listen for HTTP on {bind}:{}: {e}",
                config.ports.http
            )
        })?;
    let http_addr = http.local_addr().map_err(|e| e.to_string())?;
    node.set_http_addr(advertised_http(http_addr, node.advertise_addr()));
    let agent = AgentInfo {
        name: config.name.clone(),
        region: config.region.clone(),
        datacenter: config.datacenter.clone(),
        node_id: None,
        version: env!("CARGO_PKG_VERSION").to_string(),
        http_addr: http_addr.to_string(),
        server: true,
    };
    let mut api = ApiState::new(state.clone(), Arc::clone(&replicator), agent);
    api.leader = Some(Arc::clone(&leader));
    let api = Arc::new(api);
    println!(
        "==> orch agent started (server{})",
        if config.dev { ", dev mode" } else { "" }
    );
    println!("    Node name: {}", config.name);
    println!("    HTTP API:  http://{http_addr}");
    println!("    Raft RPC:  {}", node.local_addr());
    println!("    Serf:      {serf_addr}");
    println!("    Data dir:  {}", data_dir.display());
    if config.dev {
        println!(
            "    Note: no client yet, so jobs are accepted and scheduled only once nodes register."
        );
    }
    let server = axum::serve(http, router(api));
    tokio::select! {
        r = server => r.map_err(|e| format!("HTTP server failed: {e}"))?,
        _ = shutdown_signal() => println!("==> shutting down"),
    }
    let _ = node.shutdown().await;
    if let Some(dir) = dev_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(())
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
