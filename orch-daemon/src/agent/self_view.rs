//! The agent's configuration as Nomad's `/v1/agent/self` shows it (`config`): the
//! settings this agent really runs with, in Nomad's field names, secrets redacted.
//! Built once when the agent starts and handed to the HTTP layer as data.

use serde_json::{Value, json};

use super::config::AgentConfig;

/// What Nomad shows in place of a secret (`server.encrypt`).
const REDACTED: &str = "<redacted>";

/// The addresses the agent's listeners got (ports may have been chosen by the system).
#[derive(Debug, Clone, Default)]
pub struct ListenAddrs {
    /// The HTTP API.
    pub http: String,
    /// The Raft RPC port (servers only).
    pub rpc: Option<String>,
    /// The serf port (servers only).
    pub serf: Option<String>,
}

/// A server's settings as it runs with them, defaults filled in (the configuration
/// file leaves most of them unset).
#[derive(Debug, Clone)]
pub struct ServerEffective {
    /// The leader's machinery: schedulers, heartbeats, GC thresholds.
    pub leader: crate::server::LeaderConfig,
    /// Raft entries between snapshots.
    pub snapshot_every: u64,
    /// Raft entries kept behind a snapshot.
    pub logs_to_keep: u64,
    /// Wait between join rounds.
    pub retry_interval: std::time::Duration,
}

/// Nanoseconds of a duration, as Go's `time.Duration` marshals to JSON.
fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A duration as Nomad's string-typed settings show it (`"1h0m0s"`).
fn go_string(d: std::time::Duration) -> String {
    orch_core::duration::format_go_duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// `config` of `/v1/agent/self`.
pub fn config_json(c: &AgentConfig, addrs: &ListenAddrs, server: &ServerEffective) -> Value {
    let port = |a: &Option<String>, configured: u16| {
        a.as_deref()
            .and_then(|a| a.rsplit_once(':'))
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .unwrap_or(configured)
    };
    let http_port = port(&Some(addrs.http.clone()), c.ports.http);
    json!({
        "Region": c.region,
        "Datacenter": c.datacenter,
        "NodeName": c.name,
        "DataDir": c.data_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_default(),
        "LogLevel": c.log_level.to_uppercase(),
        "BindAddr": c.bind_addr.clone().unwrap_or_default(),
        "DevMode": c.dev,
        "Ports": {
            "HTTP": http_port,
            "RPC": port(&addrs.rpc, c.ports.rpc),
            "Serf": port(&addrs.serf, c.ports.serf),
        },
        "Addresses": {
            "HTTP": addrs.http,
            "RPC": addrs.rpc.clone().unwrap_or_default(),
            "Serf": addrs.serf.clone().unwrap_or_default(),
        },
        "Server": server_json(c, server),
        "Client": client_json(c),
        "ACL": acl_json(c),
        "TLSConfig": {
            "EnableHTTP": c.tls.http,
            "EnableRPC": c.tls.rpc,
            "VerifyServerHostname": c.tls.verify_server_hostname,
            "VerifyHTTPSClient": c.tls.verify_https_client,
            "CAFile": path(&c.tls.ca_file),
            "CertFile": path(&c.tls.cert_file),
            "KeyFile": path(&c.tls.key_file),
            "TLSMinVersion": c.tls.tls_min_version.clone().unwrap_or_default(),
        },
        "Plugins": c.plugin.keys().map(|name| json!({"Name": name})).collect::<Vec<_>>(),
        "Version": version(),
    })
}

/// The agent's version in Nomad's `VersionInfo` shape.
pub fn version() -> Value {
    json!({
        "Version": env!("CARGO_PKG_VERSION"),
        "VersionPrerelease": "",
        "VersionMetadata": "",
        "Revision": "",
    })
}

fn path(p: &Option<std::path::PathBuf>) -> String {
    p.as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// Nomad's `ACLConfig`: durations in nanoseconds (Go's `time.Duration`), defaults
/// filled in (the agent refused to start on a bad one, so none fails here).
fn acl_json(c: &AgentConfig) -> Value {
    let d = c.acl.durations().ok();
    let ns = |pick: fn(&crate::agent::config::AclDurations) -> i64| d.as_ref().map(pick);
    json!({
        "Enabled": c.acl.enabled,
        "TokenTTL": ns(|d| d.token_ttl),
        "PolicyTTL": ns(|d| d.policy_ttl),
        "RoleTTL": ns(|d| d.role_ttl),
        "TokenMinExpirationTTL": ns(|d| d.token_min_expiration_ttl),
        "TokenMaxExpirationTTL": ns(|d| d.token_max_expiration_ttl),
    })
}

/// Nomad's `ServerConfig`, with the values this server runs with: heartbeat
/// durations in nanoseconds, GC thresholds as Go duration strings (their types in
/// Nomad's Go).
fn server_json(c: &AgentConfig, e: &ServerEffective) -> Value {
    let s = &c.server;
    let l = &e.leader;
    json!({
        "Enabled": s.enabled || c.dev,
        "BootstrapExpect": if c.dev { 1 } else { s.bootstrap_expect },
        "NumSchedulers": l.workers,
        "HeartbeatGrace": nanos(l.heartbeat_grace),
        "MinHeartbeatTTL": nanos(l.heartbeat_ttl),
        "MaxHeartbeatsPerSecond": l.max_heartbeats_per_second,
        "EvalGCThreshold": go_string(l.gc.eval_threshold),
        "JobGCThreshold": go_string(l.gc.job_threshold),
        "DeploymentGCThreshold": go_string(l.gc.deployment_threshold),
        "NodeGCThreshold": go_string(l.gc.node_threshold),
        "RaftSnapshotThreshold": e.snapshot_every,
        "RaftTrailingLogs": e.logs_to_keep,
        "EncryptKey": if s.encrypt.is_some() { REDACTED } else { "" },
        "ServerJoin": {
            "RetryJoin": s.server_join.retry_join,
            "RetryMaxAttempts": s.server_join.retry_max,
            "RetryInterval": nanos(e.retry_interval),
        },
    })
}

fn client_json(c: &AgentConfig) -> Value {
    let cl = &c.client;
    json!({
        "Enabled": cl.enabled || c.dev,
        "Servers": cl.servers,
        "NodeClass": cl.node_class.clone().unwrap_or_default(),
        "NodePool": cl.node_pool.clone().unwrap_or_else(|| "default".into()),
        "Meta": cl.meta,
        "Options": cl.options,
        "StateDir": path(&cl.state_dir),
        "AllocDir": path(&cl.alloc_dir),
        "NetworkInterface": cl.network_interface.clone().unwrap_or_default(),
        "CpuCompute": cl.cpu_total_compute.unwrap_or(0),
        "MemoryMB": cl.memory_total_mb.unwrap_or(0),
        "MinDynamicPort": cl.min_dynamic_port.unwrap_or(crate::client::fingerprint::DEFAULT_MIN_DYNAMIC_PORT),
        "MaxDynamicPort": cl.max_dynamic_port.unwrap_or(crate::client::fingerprint::DEFAULT_MAX_DYNAMIC_PORT),
        "Reserved": {
            "CPU": cl.reserved.cpu,
            "MemoryMB": cl.reserved.memory,
            "DiskMB": cl.reserved.disk,
            "ReservedPorts": cl.reserved.reserved_ports,
        },
        "CNIPath": cl.cni_path.clone().unwrap_or_default(),
        "CNIConfigDir": path(&cl.cni_config_dir),
        "BridgeNetworkName": cl.bridge_network_name.clone().unwrap_or_default(),
        "BridgeNetworkSubnet": cl.bridge_network_subnet.clone().unwrap_or_default(),
        "BridgeNetworkHairpinMode": cl.bridge_network_hairpin_mode,
    })
}
