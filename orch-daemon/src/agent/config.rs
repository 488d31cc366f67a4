//! The agent's configuration: Nomad's agent config file (HCL or JSON) and command-line
//! flags, combined as Nomad combines them (flags win, lists append).

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use super::plugins::{DockerGc, DockerVolumes, PluginBlock, PluginSettings};

mod cluster_scaling;
mod devices;
mod tls;
pub use cluster_scaling::{ClusterBlock, hooks as cluster_hooks};
pub use devices::{AttributeText, DeclaredDevice, split_name as split_device_name};
pub use tls::TlsBlock;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read agent config {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid, or uses a setting orch does not support.
    #[error("agent config {path}: {message}")]
    Invalid {
        /// File.
        path: PathBuf,
        /// What is wrong, naming the setting.
        message: String,
    },
    /// A command-line flag is wrong.
    #[error("{0}")]
    Flag(String),
}

/// Listening ports, as Nomad's `ports` block.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ports {
    /// HTTP API (default 4646).
    pub http: u16,
    /// Server-to-server RPC: Raft and forwarding (default 4647).
    pub rpc: u16,
    /// Gossip port in Nomad; orch listens for joins here (default 4648).
    pub serf: u16,
}

impl Default for Ports {
    fn default() -> Self {
        Ports {
            http: 4646,
            rpc: 4647,
            serf: 4648,
        }
    }
}

/// `server_join` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerJoin {
    /// Servers to join, `host:port` of their serf port.
    pub retry_join: Vec<String>,
    /// Attempts before giving up (0: forever).
    pub retry_max: u32,
    /// Wait between attempts, Go duration (`"30s"`; default [`DEFAULT_RETRY_INTERVAL`]).
    pub retry_interval: Option<String>,
}

/// Wait between join rounds when `retry_interval` is not set: half a second, so a
/// cluster forms as soon as its servers answer (Nomad waits 30 s).
pub const DEFAULT_RETRY_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

impl ServerJoin {
    /// `retry_interval` checked (a positive Go duration), or the default.
    pub fn interval(&self) -> Result<std::time::Duration, ConfigError> {
        let Some(text) = &self.retry_interval else {
            return Ok(DEFAULT_RETRY_INTERVAL);
        };
        orch_core::duration::parse_go_duration(text)
            .ok()
            .filter(|n| *n > 0)
            .map(|n| std::time::Duration::from_nanos(n.unsigned_abs()))
            .ok_or_else(|| {
                ConfigError::Flag(format!(
                    "server.server_join.retry_interval: {text:?} is not a positive duration such as 15s"
                ))
            })
    }
}

/// `server` block.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Run a server.
    pub enabled: bool,
    /// Servers to wait for before bootstrapping the cluster.
    pub bootstrap_expect: u32,
    /// Where to find other servers.
    pub server_join: ServerJoin,
    /// Scheduler workers (default: one per core).
    pub num_schedulers: Option<usize>,
    /// Heartbeat grace before a silent client is marked down, Go duration.
    pub heartbeat_grace: Option<String>,
    /// How often clients must heartbeat, Go duration (default `10s`).
    pub min_heartbeat_ttl: Option<String>,
    /// Heartbeats per second the leader accepts at most; the TTL grows with the number
    /// of clients to stay under it (default 50).
    pub max_heartbeats_per_second: Option<f64>,
    /// Age at which terminal evaluations and allocations are collected (default `1h`).
    pub eval_gc_threshold: Option<String>,
    /// Age at which dead jobs are collected (default `4h`).
    pub job_gc_threshold: Option<String>,
    /// Age at which terminal deployments are collected (default `1h`).
    pub deployment_gc_threshold: Option<String>,
    /// Age at which down nodes are collected (default `24h`).
    pub node_gc_threshold: Option<String>,
    /// Raft entries between snapshots (Nomad's `raft_snapshot_threshold`; default
    /// 8192). After a snapshot the log before it is purged, keeping the trailing logs.
    pub raft_snapshot_threshold: Option<u64>,
    /// Entries kept in the log behind a snapshot, so a briefly lagging server catches up
    /// from the log rather than a whole snapshot (Nomad's `raft_trailing_logs`; orch's
    /// default is 1000: its entries are batches of many writes, not single writes).
    pub raft_trailing_logs: Option<u64>,
    /// MiB kept free on the data dir's filesystem (orch's; default 64, 0 turns it
    /// off). Under it the server holds its Raft writes back, reports itself unhealthy
    /// and hands leadership away, until space returns (`crate::disk`).
    pub disk_reserve_mb: Option<u64>,
    /// Nomad's gossip key (base64). orch has no gossip: it is the cluster secret every
    /// peer call (Raft, join, forwarding) carries in a header, compared in constant
    /// time; servers without it cannot join or vote. Unset: peer routes are open.
    pub encrypt: Option<String>,
}

/// `client` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// Run a client.
    pub enabled: bool,
    /// The NVIDIA device plugin's settings, from its `plugin` block (set by the agent,
    /// not read from the `client` block).
    #[serde(skip)]
    pub nvidia: super::plugins::NvidiaSettings,
    /// Servers' RPC addresses for a client-only agent.
    pub servers: Vec<String>,
    /// Node class.
    pub node_class: Option<String>,
    /// Node pool.
    pub node_pool: Option<String>,
    /// Node metadata (`meta { rack = "r1" }`), visible to constraints as `${meta.rack}`.
    pub meta: std::collections::BTreeMap<String, String>,
    /// Host volumes by name (`host_volume "data" { path = "/srv" read_only = true }`).
    pub host_volume: std::collections::BTreeMap<String, HostVolume>,
    /// Devices the operator declares (`device "nvidia/gpu/T4" { ids = [...] }`), offered
    /// beside the fingerprinted ones (orch's; `agent::config::devices`).
    pub device: std::collections::BTreeMap<String, DeclaredDevice>,
    /// Where the client keeps its own state (default `<data_dir>/client`).
    pub state_dir: Option<PathBuf>,
    /// Where allocation directories go (default `<data_dir>/alloc`).
    pub alloc_dir: Option<PathBuf>,
    /// Overrides the fingerprinted cpu capacity in MHz.
    pub cpu_total_compute: Option<u64>,
    /// Overrides the fingerprinted memory in MiB.
    pub memory_total_mb: Option<u64>,
    /// Resources kept back for the host.
    pub reserved: Reserved,
    /// Network interface whose address the node advertises (default: the one the agent
    /// binds to, else the default route's).
    pub network_interface: Option<String>,
    /// Lowest port handed out for dynamic ports (default 20000).
    pub min_dynamic_port: Option<u16>,
    /// Highest port handed out for dynamic ports (default 32000).
    pub max_dynamic_port: Option<u16>,
    /// Nomad's client `options`: `user.denylist` and `user.checked_drivers` (others
    /// are refused, see `agent::plugins`).
    pub options: std::collections::BTreeMap<String, String>,
    /// Where CNI plugins are looked for, colon-separated (default `/opt/cni/bin`, then
    /// Debian's `/usr/lib/cni`).
    pub cni_path: Option<String>,
    /// Where `cni/<name>` networks are configured (default `/opt/cni/config`).
    pub cni_config_dir: Option<PathBuf>,
    /// The bridge of `bridge` mode (default `nomad`).
    pub bridge_network_name: Option<String>,
    /// Its subnet (default `172.26.64.0/20`).
    pub bridge_network_subnet: Option<String>,
    /// Hairpin mode on the bridge's ports.
    pub bridge_network_hairpin_mode: bool,
}

/// `client.host_volume "name"` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostVolume {
    /// Host path.
    pub path: String,
    /// Mounted read-only into every task that uses it.
    pub read_only: bool,
}

/// `client.reserved` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Reserved {
    /// MHz.
    pub cpu: u64,
    /// MiB.
    pub memory: u64,
    /// MiB.
    pub disk: u64,
    /// Host ports never handed out (`"22,80,8000-8100"`).
    pub reserved_ports: String,
}

/// `acl` block (Nomad's): turns on access control for the agent's API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AclBlock {
    /// Check every request against the caller's token.
    pub enabled: bool,
    /// How long a client agent trusts a resolved token (Go duration; default `30s`).
    pub token_ttl: Option<String>,
    /// How long a client agent trusts resolved policies (default `30s`).
    pub policy_ttl: Option<String>,
    /// How long a client agent trusts resolved roles (default `30s`).
    pub role_ttl: Option<String>,
    /// Shortest lifetime a token may be created with (default `1m`).
    pub token_min_expiration_ttl: Option<String>,
    /// Longest lifetime a token may be created with (default `24h`).
    pub token_max_expiration_ttl: Option<String>,
}

/// The `acl` block checked and in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AclTimes {
    /// How long a client agent caches an authorization answer: the shortest of
    /// `token_ttl`, `policy_ttl` and `role_ttl` (the answer depends on all three).
    pub cache_ttl: std::time::Duration,
    /// `token_min_expiration_ttl` in nanoseconds.
    pub token_min_ttl_nanos: i64,
    /// `token_max_expiration_ttl` in nanoseconds.
    pub token_max_ttl_nanos: i64,
}

/// Each duration of the `acl` block in nanoseconds, defaults filled in: what the agent
/// runs with (and shows in `/v1/agent/self`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AclDurations {
    /// `token_ttl` (default 30 s).
    pub token_ttl: i64,
    /// `policy_ttl` (default 30 s).
    pub policy_ttl: i64,
    /// `role_ttl` (default 30 s).
    pub role_ttl: i64,
    /// `token_min_expiration_ttl` (default 1 min).
    pub token_min_expiration_ttl: i64,
    /// `token_max_expiration_ttl` (default 24 h).
    pub token_max_expiration_ttl: i64,
}

impl AclBlock {
    /// The block's durations, each checked; an error names the setting.
    pub fn durations(&self) -> Result<AclDurations, ConfigError> {
        let dur = |name: &str, v: &Option<String>, default: i64| -> Result<i64, ConfigError> {
            match v {
                None => Ok(default),
                Some(text) => orch_core::duration::parse_go_duration(text)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        ConfigError::Flag(format!(
                            "acl.{name}: {text:?} is not a positive duration such as 30s or 1h"
                        ))
                    }),
            }
        };
        const SEC: i64 = 1_000_000_000;
        let d = AclDurations {
            token_ttl: dur("token_ttl", &self.token_ttl, 30 * SEC)?,
            policy_ttl: dur("policy_ttl", &self.policy_ttl, 30 * SEC)?,
            role_ttl: dur("role_ttl", &self.role_ttl, 30 * SEC)?,
            token_min_expiration_ttl: dur(
                "token_min_expiration_ttl",
                &self.token_min_expiration_ttl,
                60 * SEC,
            )?,
            token_max_expiration_ttl: dur(
                "token_max_expiration_ttl",
                &self.token_max_expiration_ttl,
                24 * 3600 * SEC,
            )?,
        };
        if d.token_min_expiration_ttl > d.token_max_expiration_ttl {
            return Err(ConfigError::Flag(
                "acl.token_min_expiration_ttl is longer than acl.token_max_expiration_ttl; make the minimum the shorter".into(),
            ));
        }
        Ok(d)
    }

    /// The block's durations as the agent uses them; an error names the setting.
    pub fn times(&self) -> Result<AclTimes, ConfigError> {
        let d = self.durations()?;
        let cache = d.token_ttl.min(d.policy_ttl).min(d.role_ttl);
        Ok(AclTimes {
            cache_ttl: std::time::Duration::from_nanos(cache.unsigned_abs()),
            token_min_ttl_nanos: d.token_min_expiration_ttl,
            token_max_ttl_nanos: d.token_max_expiration_ttl,
        })
    }

    /// Laid over `self`: set values win, `enabled` adds up.
    fn merge(&mut self, other: AclBlock) {
        self.enabled |= other.enabled;
        for (mine, theirs) in [
            (&mut self.token_ttl, other.token_ttl),
            (&mut self.policy_ttl, other.policy_ttl),
            (&mut self.role_ttl, other.role_ttl),
            (
                &mut self.token_min_expiration_ttl,
                other.token_min_expiration_ttl,
            ),
            (
                &mut self.token_max_expiration_ttl,
                other.token_max_expiration_ttl,
            ),
        ] {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
    }
}

/// `autoscaler` block: where the leader's autoscaler finds its metric sources, and orch's
/// cluster-scaling policies (`cluster "<name>" { ... }`, `cluster_scaling`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutoscalerBlock {
    /// Prometheus base URL for `source = "prometheus"` checks (`http://127.0.0.1:9090`).
    pub prometheus_address: Option<String>,
    /// Cluster-scaling policies by name.
    pub cluster: std::collections::BTreeMap<String, ClusterBlock>,
}

/// The whole agent configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// Node name (default: the hostname).
    pub name: String,
    /// Region (default `global`).
    pub region: String,
    /// Datacenter (default `dc1`).
    pub datacenter: String,
    /// Where state lives; required for servers outside dev mode.
    pub data_dir: Option<PathBuf>,
    /// Address to bind every listener to (default `127.0.0.1` in dev mode, `0.0.0.0`
    /// otherwise).
    pub bind_addr: Option<String>,
    /// Log level (`trace`, `debug`, `info`, `warn`, `error`).
    pub log_level: String,
    /// Ports.
    pub ports: Ports,
    /// Server settings.
    pub server: ServerConfig,
    /// Client settings.
    pub client: ClientConfig,
    /// Autoscaler sources (servers only).
    pub autoscaler: AutoscalerBlock,
    /// Access control.
    pub acl: AclBlock,
    /// Task driver plugins (`plugin "raw_exec" { config { enabled = true } }`).
    pub plugin: std::collections::BTreeMap<String, PluginBlock>,
    /// TLS for the HTTP API and the RPC port.
    pub tls: TlsBlock,
    /// Dev mode: one in-memory server+client on 127.0.0.1.
    #[serde(skip)]
    pub dev: bool,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            name: String::new(),
            region: "global".into(),
            datacenter: "dc1".into(),
            data_dir: None,
            bind_addr: None,
            log_level: "info".into(),
            ports: Ports::default(),
            server: ServerConfig::default(),
            client: ClientConfig::default(),
            autoscaler: AutoscalerBlock::default(),
            acl: AclBlock::default(),
            plugin: Default::default(),
            tls: TlsBlock::default(),
            dev: false,
        }
    }
}

impl AgentConfig {
    /// Reads a config file, HCL (`.hcl`) or JSON (`.json`).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.into(),
            message,
        };
        if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))
        } else {
            hcl::from_str(&text).map_err(|e| invalid(explain_hcl_error(&e.to_string())))
        }
    }

    /// Laid over `self`: a later file or flags. Set values win, lists append, as in Nomad.
    pub fn merge(&mut self, other: AgentConfig) {
        let d = AgentConfig::default();
        if !other.name.is_empty() {
            self.name = other.name;
        }
        if other.region != d.region {
            self.region = other.region;
        }
        if other.datacenter != d.datacenter {
            self.datacenter = other.datacenter;
        }
        if other.data_dir.is_some() {
            self.data_dir = other.data_dir;
        }
        if other.bind_addr.is_some() {
            self.bind_addr = other.bind_addr;
        }
        if other.log_level != d.log_level {
            self.log_level = other.log_level;
        }
        if other.ports != d.ports {
            let p = other.ports;
            if p.http != d.ports.http {
                self.ports.http = p.http;
            }
            if p.rpc != d.ports.rpc {
                self.ports.rpc = p.rpc;
            }
            if p.serf != d.ports.serf {
                self.ports.serf = p.serf;
            }
        }
        self.server.enabled |= other.server.enabled;
        if other.server.bootstrap_expect != 0 {
            self.server.bootstrap_expect = other.server.bootstrap_expect;
        }
        let join = other.server.server_join;
        self.server.server_join.retry_join.extend(join.retry_join);
        if join.retry_max != 0 {
            self.server.server_join.retry_max = join.retry_max;
        }
        if join.retry_interval.is_some() {
            self.server.server_join.retry_interval = join.retry_interval;
        }
        if other.server.num_schedulers.is_some() {
            self.server.num_schedulers = other.server.num_schedulers;
        }
        if other.server.heartbeat_grace.is_some() {
            self.server.heartbeat_grace = other.server.heartbeat_grace;
        }
        if other.server.min_heartbeat_ttl.is_some() {
            self.server.min_heartbeat_ttl = other.server.min_heartbeat_ttl;
        }
        if other.server.max_heartbeats_per_second.is_some() {
            self.server.max_heartbeats_per_second = other.server.max_heartbeats_per_second;
        }
        if other.server.raft_snapshot_threshold.is_some() {
            self.server.raft_snapshot_threshold = other.server.raft_snapshot_threshold;
        }
        if other.server.disk_reserve_mb.is_some() {
            self.server.disk_reserve_mb = other.server.disk_reserve_mb;
        }
        if other.server.raft_trailing_logs.is_some() {
            self.server.raft_trailing_logs = other.server.raft_trailing_logs;
        }
        if other.server.encrypt.is_some() {
            self.server.encrypt = other.server.encrypt;
        }
        self.tls.merge(other.tls);
        for (mine, theirs) in [
            (
                &mut self.server.eval_gc_threshold,
                other.server.eval_gc_threshold,
            ),
            (
                &mut self.server.job_gc_threshold,
                other.server.job_gc_threshold,
            ),
            (
                &mut self.server.deployment_gc_threshold,
                other.server.deployment_gc_threshold,
            ),
            (
                &mut self.server.node_gc_threshold,
                other.server.node_gc_threshold,
            ),
        ] {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
        self.merge_client(other.client);
        self.acl.merge(other.acl);
        self.plugin.extend(other.plugin);
        if other.autoscaler.prometheus_address.is_some() {
            self.autoscaler.prometheus_address = other.autoscaler.prometheus_address;
        }
        self.autoscaler.cluster.extend(other.autoscaler.cluster);
        self.dev |= other.dev;
    }

    /// Merges a later `client` block: set values win, maps and lists add up.
    fn merge_client(&mut self, other: ClientConfig) {
        let c = &mut self.client;
        c.enabled |= other.enabled;
        c.servers.extend(other.servers);
        c.meta.extend(other.meta);
        c.host_volume.extend(other.host_volume);
        c.device.extend(other.device);
        c.options.extend(other.options);
        let set = |mine: &mut Option<String>, theirs: Option<String>| {
            if theirs.is_some() {
                *mine = theirs;
            }
        };
        set(&mut c.node_class, other.node_class);
        set(&mut c.node_pool, other.node_pool);
        set(&mut c.network_interface, other.network_interface);
        set(&mut c.cni_path, other.cni_path);
        set(&mut c.bridge_network_name, other.bridge_network_name);
        set(&mut c.bridge_network_subnet, other.bridge_network_subnet);
        c.bridge_network_hairpin_mode |= other.bridge_network_hairpin_mode;
        if other.cni_config_dir.is_some() {
            c.cni_config_dir = other.cni_config_dir;
        }
        if other.state_dir.is_some() {
            c.state_dir = other.state_dir;
        }
        if other.alloc_dir.is_some() {
            c.alloc_dir = other.alloc_dir;
        }
        for (mine, theirs) in [
            (&mut c.cpu_total_compute, other.cpu_total_compute),
            (&mut c.memory_total_mb, other.memory_total_mb),
        ] {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
        for (mine, theirs) in [
            (&mut c.min_dynamic_port, other.min_dynamic_port),
            (&mut c.max_dynamic_port, other.max_dynamic_port),
        ] {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
        if other.reserved != Reserved::default() {
            c.reserved = other.reserved;
        }
    }

    /// Fills what dev mode implies and checks the combination makes sense.
    pub fn finish(mut self) -> Result<Self, ConfigError> {
        if self.dev {
            self.server.enabled = true;
            self.client.enabled = true;
            self.server.bootstrap_expect = 1;
            self.bind_addr.get_or_insert_with(|| "127.0.0.1".into());
        }
        if self.name.is_empty() {
            self.name = std::fs::read_to_string("/etc/hostname")
                .map(|s| s.trim().to_string())
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "orch".into());
        }
        if let Some(a) = &self.autoscaler.prometheus_address
            && !a.starts_with("http://")
        {
            return Err(ConfigError::Flag(format!(
                "autoscaler.prometheus_address {a:?} must be an http:// URL such as \"http://127.0.0.1:9090\" (https is not supported yet: put a local proxy in front)"
            )));
        }
        if !self.server.enabled && !self.client.enabled {
            return Err(ConfigError::Flag(
                "the agent must run a server, a client or both: pass -dev, -server or -client (or enable them in the config file)".into(),
            ));
        }
        if self.server.enabled && !self.dev && self.data_dir.is_none() {
            return Err(ConfigError::Flag(
                "a server needs -data-dir (or data_dir in the config file) to keep its state"
                    .into(),
            ));
        }
        if self.client.enabled && !self.dev && self.data_dir.is_none() {
            return Err(ConfigError::Flag(
                "a client needs -data-dir (or data_dir in the config file) for its allocations and state"
                    .into(),
            ));
        }
        if self.client.enabled && !self.server.enabled && self.client.servers.is_empty() {
            return Err(ConfigError::Flag(
                "a client-only agent needs servers to join: pass -servers HOST:PORT (or client.servers in the config file)"
                    .into(),
            ));
        }
        if self.server.enabled
            && !self.dev
            && self.server.bootstrap_expect == 0
            && self.server.server_join.retry_join.is_empty()
        {
            return Err(ConfigError::Flag(
                "a server needs -bootstrap-expect N (to form a cluster) or -retry-join HOST:PORT (to join one)".into(),
            ));
        }
        if let Some(pool) = &self.client.node_pool {
            check_client_node_pool(pool)?;
        }
        devices::check(&self.client.device)?;
        self.server.server_join.interval()?;
        self.acl.durations()?;
        self.tls.check()?;
        if let Some(key) = &self.server.encrypt {
            tls::check_encrypt(key)?;
        }
        if let Some(rate) = self.server.max_heartbeats_per_second
            && !(rate > 0.0 && rate.is_finite())
        {
            return Err(ConfigError::Flag(format!(
                "server.max_heartbeats_per_second must be a positive number, got {rate}"
            )));
        }
        Ok(self)
    }

    /// The address listeners bind to.
    pub fn bind(&self) -> &str {
        self.bind_addr.as_deref().unwrap_or("0.0.0.0")
    }
}

/// hcl-rs names the unknown field; add what to do about it.
/// A client's `node_pool`: Nomad's name rule, and never the built-in `all`.
fn check_client_node_pool(pool: &str) -> Result<(), ConfigError> {
    if pool == orch_core::model::NODE_POOL_ALL {
        return Err(ConfigError::Flag(
            "client.node_pool cannot be \"all\": it is the built-in pool of every node; name another pool (or leave it unset for \"default\")".into(),
        ));
    }
    orch_core::model::node_pool::validate_pool_name(pool)
        .map_err(|e| ConfigError::Flag(format!("client.node_pool: {e}")))
}

fn explain_hcl_error(message: &str) -> String {
    if message.contains("unknown field") {
        format!(
            "{message}; orch supports name, region, datacenter, data_dir, bind_addr, log_level, ports, server, client, autoscaler, acl, tls and plugin \"raw_exec\", \"exec\", \"java\" or \"docker\" (remove or rename the setting)"
        )
    } else {
        message.to_string()
    }
}

#[cfg(test)]
mod tests;
