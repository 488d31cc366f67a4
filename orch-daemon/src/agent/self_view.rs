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

/// `config` of `/v1/agent/self`.
pub fn config_json(c: &AgentConfig, addrs: &ListenAddrs) -> Value {
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
        "Server": server_json(c),
        "Client": client_json(c),
        "ACL": {
            "Enabled": c.acl.enabled,
            "TokenTTL": c.acl.token_ttl,
            "PolicyTTL": c.acl.policy_ttl,
            "RoleTTL": c.acl.role_ttl,
            "TokenMinExpirationTTL": c.acl.token_min_expiration_ttl,
            "TokenMaxExpirationTTL": c.acl.token_max_expiration_ttl,
        },
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

fn server_json(c: &AgentConfig) -> Value {
    let s = &c.server;
    json!({
        "Enabled": s.enabled || c.dev,
        "BootstrapExpect": if c.dev { 1 } else { s.bootstrap_expect },
        "NumSchedulers": s.num_schedulers,
        "HeartbeatGrace": s.heartbeat_grace,
        "MinHeartbeatTTL": s.min_heartbeat_ttl,
        "MaxHeartbeatsPerSecond": s.max_heartbeats_per_second,
        "EvalGCThreshold": s.eval_gc_threshold,
        "JobGCThreshold": s.job_gc_threshold,
        "DeploymentGCThreshold": s.deployment_gc_threshold,
        "NodeGCThreshold": s.node_gc_threshold,
        "RaftSnapshotThreshold": s.raft_snapshot_threshold,
        "RaftTrailingLogs": s.raft_trailing_logs,
        "EncryptKey": if s.encrypt.is_some() { REDACTED } else { "" },
        "ServerJoin": {
            "RetryJoin": s.server_join.retry_join,
            "RetryMaxAttempts": s.server_join.retry_max,
            "RetryInterval": s.server_join.retry_interval,
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
        "MinDynamicPort": cl.min_dynamic_port,
        "MaxDynamicPort": cl.max_dynamic_port,
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
