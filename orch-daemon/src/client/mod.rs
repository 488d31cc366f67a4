//! The client agent: fingerprints the node, registers and heartbeats with the servers,
//! runs the allocations placed on this node through task drivers and reports their state.
//!
//! Tasks outlive the client process (drivers start them in their own session): a client
//! that is killed and started again reads its state directory and reattaches to them.
//! While the servers are unreachable the tasks keep running and reports are kept until
//! they can be sent.
//!
//! Layout:
//! - [`server_conn`]: the HTTP link to the servers (register, heartbeat, allocation
//!   watch, status updates); the client reaches the servers through nothing else.
//! - [`fingerprint`]: what this machine offers, as Nomad's attributes and resources.
//! - [`state`]: the client's state on disk, for reattaching after a restart.
//! - [`alloc_runner`]: one allocation; [`task_runner`]: one task in it; `alloc_calls`:
//!   what operators ask of a running allocation (signal, restart, exec, stop all).
//! - [`alloc_dir`]: Nomad's allocation and task directory layout.
//! - [`artifact`]: `artifact` downloads; [`template`]: `template` rendering;
//!   [`template_hook`]: renders templates into the task and re-renders on changes.
//! - [`health`]: allocation health for deployments.
//! - [`services`]: catalog registrations and their health checks.
//! - [`stats`]: resource usage of tasks and the host.
//! - [`driver`]: the task drivers; [`exec`]: `alloc exec` sessions beside their tasks.
//! - [`safe_path`]: opening files in allocation directories without following symlinks.

mod alloc_calls;
pub mod alloc_dir;
pub mod alloc_runner;
pub mod artifact;
pub mod csi;
mod disconnect;
pub mod driver;
pub mod exec;
pub mod fingerprint;
pub mod gc;
pub mod health;
pub mod identity_hook;
pub mod migrate;
pub mod network;
pub mod node_meta;
pub mod safe_path;
pub mod server_conn;
pub mod services;
pub mod state;
pub mod stats;
pub mod sticky;
pub mod task_runner;
pub mod template;
pub mod template_hook;
pub mod volumes;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orch_core::model::{Allocation, Node, client_status, desired_status};
use tokio::sync::mpsc;

use alloc_dir::AllocDir;
use alloc_runner::{AllocCommand, AllocRunner, Reporter, SharedAllocState};
use driver::DriverRegistry;
use server_conn::{ConnError, ServerConn};
use state::{LocalAllocState, StateDir};

/// How often drivers are fingerprinted again (Nomad's period), so the node's `Drivers`
/// follow an engine that stops or comes back.
pub const DRIVER_FINGERPRINT_PERIOD: Duration = Duration::from_secs(30);

/// How a client is set up (built by the agent from its config).
pub struct ClientSettings {
    /// The `client` block.
    pub config: crate::agent::config::ClientConfig,
    /// Node name.
    pub name: String,
    /// Region.
    pub region: String,
    /// Datacenter.
    pub datacenter: String,
    /// Server addresses (HTTP or RPC port).
    pub servers: Vec<String>,
    /// How to call them: TLS (CA, this agent's certificate) when the port they name
    /// speaks it. `Link::plain()` for plain HTTP.
    pub servers_link: crate::tls::Link,
    /// The agent's data dir (`client/` and `alloc/` go below it unless configured).
    pub data_dir: PathBuf,
    /// The agent's HTTP address, advertised for `/v1/client/*`.
    pub http_addr: String,
    /// The bind address.
    pub bind_addr: String,
    /// Task drivers.
    pub drivers: DriverRegistry,
}

/// Why a client could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The state or allocation directory is unusable.
    #[error("client directory {path}: {source}")]
    Dir {
        /// Which.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The servers cannot be reached or configured.
    #[error(transparent)]
    Conn(#[from] ConnError),
    /// The state directory was written in a format this build does not read.
    #[error(transparent)]
    Format(#[from] crate::data_format::FormatError),
}

struct Running {
    state: SharedAllocState,
    checks: services::CheckResults,
    commands: mpsc::UnboundedSender<AllocCommand>,
    modify_index: u64,
}

impl Running {
    /// Asks the runner to stop the allocation's tasks (its desired status set to stop).
    fn request_stop(&self) {
        let mut a = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .alloc
            .clone();
        a.desired_status = desired_status::STOP.into();
        let _ = self.commands.send(AllocCommand::Update(Box::new(a)));
    }
}

/// A running client.
pub struct Client {
    node_id: String,
    /// The registered node; replaced when a driver's fingerprint changes.
    node: std::sync::RwLock<Arc<Node>>,
    /// Set when the node changed since it was registered.
    reregister: std::sync::atomic::AtomicBool,
    /// The configuration's `meta`, before the dynamic keys are applied.
    static_meta: BTreeMap<String, String>,
    /// Keys set or removed at run time (`node meta apply`).
    dynamic_meta: Mutex<node_meta::DynamicMeta>,
    region: String,
    drivers: DriverRegistry,
    /// The client config, for the devices fingerprinted again with the drivers.
    config: crate::agent::config::ClientConfig,
    conn: Arc<ServerConn>,
    state_dir: StateDir,
    alloc_root: PathBuf,
    reporter: Arc<Reporter>,
    allocs: Mutex<BTreeMap<String, Running>>,
    stats: Mutex<stats::StatsCache>,
    network: network::NetworkManager,
    csi: Arc<csi::CsiManager>,
}

impl Client {
    /// Fingerprints the node and opens the client's directories; [`Client::start`]
    /// then connects.
    pub fn new(settings: ClientSettings) -> Result<Arc<Client>, ClientError> {
        let state_root = settings
            .config
            .state_dir
            .clone()
            .unwrap_or_else(|| settings.data_dir.join("client"));
        let alloc_root = settings
            .config
            .alloc_dir
            .clone()
            .unwrap_or_else(|| settings.data_dir.join("alloc"));
        let dir_err = |path: &PathBuf| {
            let path = path.clone();
            move |source| ClientError::Dir { path, source }
        };
        let state_dir = StateDir::open(&state_root).map_err(dir_err(&state_root))?;
        crate::data_format::check_or_mark(
            &state_root,
            "client state directory",
            state::CLIENT_STATE_FORMAT,
            0,
        )?;
        std::fs::create_dir_all(&alloc_root).map_err(dir_err(&alloc_root))?;
        let (node_id, secret) = state_dir.node_identity().map_err(dir_err(&state_root))?;
        let mut node = fingerprint::fingerprint(
            &fingerprint::FingerprintInput {
                node_id: &node_id,
                secret_id: &secret,
                name: &settings.name,
                datacenter: &settings.datacenter,
                http_addr: &settings.http_addr,
                bind_addr: &settings.bind_addr,
                alloc_dir: &alloc_root,
                config: &settings.config,
            },
            &settings.drivers,
        );
        let static_meta = node.meta.clone();
        let dynamic_meta = node_meta::DynamicMeta::load(&state_root);
        node.meta = dynamic_meta.applied(&static_meta);
        let network = network::NetworkManager::new(
            network::NetworkSettings::from_config(&settings.config, &state_root),
            settings.drivers.docker(),
        );
        let conn = Arc::new(ServerConn::new(
            &settings.servers,
            settings.servers_link.clone(),
            &node_id,
            &secret,
        )?);
        Ok(Arc::new(Client {
            network,
            csi: csi::CsiManager::new(&state_root, &node_id, Arc::clone(&conn)),
            node_id: node.id.clone(),
            node: std::sync::RwLock::new(Arc::new(node)),
            reregister: std::sync::atomic::AtomicBool::new(false),
            static_meta,
            dynamic_meta: Mutex::new(dynamic_meta),
            region: settings.region,
            drivers: settings.drivers,
            config: settings.config,
            conn,
            state_dir,
            alloc_root,
            reporter: Arc::new(Reporter::default()),
            allocs: Mutex::new(BTreeMap::new()),
            stats: Mutex::new(stats::StatsCache::default()),
        }))
    }

    /// This node's ID.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The fingerprinted node (as last registered).
    pub fn node(&self) -> Arc<Node> {
        Arc::clone(&self.node.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Fingerprints the drivers every [`DRIVER_FINGERPRINT_PERIOD`] and the devices
    /// every NVIDIA `fingerprint_period`, and re-registers the node when that changed
    /// anything (an engine that went away or came back, a GPU that failed).
    async fn driver_loop(self: Arc<Self>) {
        let device_period = self.config.nvidia.fingerprint_period;
        let tick = DRIVER_FINGERPRINT_PERIOD.min(device_period);
        let (mut drivers_at, mut devices_at) = (Duration::ZERO, Duration::ZERO);
        loop {
            tokio::time::sleep(tick).await;
            drivers_at += tick;
            devices_at += tick;
            let drivers_due = drivers_at >= DRIVER_FINGERPRINT_PERIOD;
            let devices_due = devices_at >= device_period;
            if drivers_due {
                drivers_at = Duration::ZERO;
            }
            if devices_due {
                devices_at = Duration::ZERO;
            }
            if !drivers_due && !devices_due {
                continue;
            }
            let mut node = (*self.node()).clone();
            let drivers = self.drivers.clone();
            let config = self.config.clone();
            let Ok((changed, node)) = tokio::task::spawn_blocking(move || {
                let drivers_changed =
                    drivers_due && fingerprint::apply_drivers(&mut node, &drivers);
                let devices_changed = devices_due && fingerprint::apply_devices(&mut node, &config);
                (drivers_changed || devices_changed, node)
            })
            .await
            else {
                continue;
            };
            if changed {
                tracing::info!("driver or device fingerprints changed; registering the node again");
                *self.node.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(node);
                self.reregister
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// The servers this client calls (`host:port`).
    pub fn servers(&self) -> Vec<String> {
        self.conn.servers()
    }

    /// Replaces the servers this client calls (`node config -update-servers`); until
    /// the agent restarts, when `client.servers` applies again.
    pub fn set_servers(&self, addrs: &[String]) -> Result<(), String> {
        self.conn.set_servers(addrs).map_err(|e| e.to_string())
    }

    /// The node's metadata: as registered, the dynamic keys, and the configuration's.
    pub fn node_meta(
        &self,
    ) -> (
        BTreeMap<String, String>,
        node_meta::MetaChanges,
        BTreeMap<String, String>,
    ) {
        let dynamic = self
            .dynamic_meta
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .overlay()
            .clone();
        (self.node().meta.clone(), dynamic, self.static_meta.clone())
    }

    /// Applies dynamic metadata changes, saves them and registers the node again at
    /// once, so the servers schedule on the new keys; returns the node's meta.
    pub async fn apply_node_meta(
        &self,
        changes: node_meta::MetaChanges,
    ) -> Result<BTreeMap<String, String>, String> {
        let meta = {
            let mut dynamic = self.dynamic_meta.lock().unwrap_or_else(|e| e.into_inner());
            dynamic.apply(changes).map_err(|e| e.to_string())?;
            dynamic.applied(&self.static_meta)
        };
        let node = {
            let mut current = self.node.write().unwrap_or_else(|e| e.into_inner());
            let mut node = (**current).clone();
            node.meta = meta.clone();
            *current = Arc::new(node);
            Arc::clone(&current)
        };
        if let Err(e) = self.conn.register(&node).await {
            // The heartbeat loop registers it again; the change is saved either way.
            self.reregister
                .store(true, std::sync::atomic::Ordering::Relaxed);
            return Err(format!(
                "the metadata is saved on the node, but registering it with the servers failed ({e}); it is retried"
            ));
        }
        Ok(meta)
    }

    /// The node's CSI plugins and mounts (controller calls, `volume detach`).
    pub fn csi(&self) -> &Arc<csi::CsiManager> {
        &self.csi
    }

    /// Drivers, for stats.
    pub fn drivers(&self) -> &DriverRegistry {
        &self.drivers
    }

    /// The directory of an allocation this client runs (or ran).
    pub fn alloc_dir(&self, alloc_id: &str) -> Option<AllocDir> {
        let known = self.lock_allocs().contains_key(alloc_id);
        known.then(|| AllocDir::new(&self.alloc_root, alloc_id))
    }

    /// The local state of an allocation this client runs.
    pub fn alloc_state(&self, alloc_id: &str) -> Option<LocalAllocState> {
        self.lock_allocs()
            .get(alloc_id)
            .map(|r| r.state.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// The latest service check results of an allocation this client runs.
    pub fn alloc_checks(&self, alloc_id: &str) -> Option<BTreeMap<String, services::CheckResult>> {
        self.lock_allocs()
            .get(alloc_id)
            .map(|r| r.checks.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// IDs of the allocations this client runs.
    pub fn alloc_ids(&self) -> Vec<String> {
        self.lock_allocs().keys().cloned().collect()
    }

    fn lock_allocs(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Running>> {
        self.allocs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Restores allocations from disk, then registers, heartbeats, watches and reports
    /// in background tasks.
    pub async fn start(self: &Arc<Self>) {
        let restored = self.state_dir.load_all();
        let live: std::collections::BTreeSet<String> = restored
            .iter()
            .filter(|st| !alloc_runner::is_finished(st))
            .map(|st| st.alloc.id.clone())
            .collect();
        let net = self.network.clone();
        let _ = tokio::task::spawn_blocking(move || net.cleanup_orphans(&live)).await;
        for st in restored {
            self.spawn_alloc(st, true);
        }
        tokio::spawn(Arc::clone(self).heartbeat_loop());
        tokio::spawn(Arc::clone(self).sync_loop());
        tokio::spawn(Arc::clone(self).watch_loop());
        tokio::spawn(Arc::clone(self).stats_loop());
        tokio::spawn(Arc::clone(self).driver_loop());
        tokio::spawn(Arc::clone(&self.csi).run());
    }

    /// Nomad's `AllocResourceUsage` of an allocation this client runs.
    pub fn alloc_stats(&self, alloc_id: &str) -> Option<serde_json::Value> {
        let st = self.alloc_state(alloc_id)?;
        let tasks: Vec<String> = st.tasks.keys().cloned().collect();
        Some(self.lock_stats().alloc_json(alloc_id, &tasks))
    }

    /// Nomad's `HostStats`.
    pub fn host_stats(&self) -> serde_json::Value {
        self.lock_stats().host_json(&self.alloc_root)
    }

    /// The latest usage sample of a task (for the autoscaler's `nomad` source).
    pub fn task_sample(&self, alloc_id: &str, task: &str) -> Option<stats::TaskSample> {
        self.lock_stats().task(alloc_id, task).cloned()
    }

    fn lock_stats(&self) -> std::sync::MutexGuard<'_, stats::StatsCache> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Samples every running task's usage and the host's once a second.
    async fn stats_loop(self: Arc<Self>) {
        let mhz = self
            .node()
            .attributes
            .get("cpu.frequency")
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(1000.0);
        loop {
            let mut work = Vec::new();
            for id in self.alloc_ids() {
                if let Some(st) = self.alloc_state(&id) {
                    for (task, t) in st.tasks {
                        if let Some(h) = t.handle
                            && let Some(d) = self.drivers.get(&h.driver)
                        {
                            work.push((id.clone(), task, d, h));
                        }
                    }
                }
            }
            let sampled = tokio::task::spawn_blocking(move || {
                work.into_iter()
                    .filter_map(|(a, t, d, h)| match d.stats(&h) {
                        Ok(Some(u)) => Some((a, t, u)),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
            {
                let mut cache = self.lock_stats();
                let live = sampled
                    .iter()
                    .map(|(a, t, _)| (a.clone(), t.clone()))
                    .collect();
                for (a, t, u) in sampled {
                    cache.record(&a, &t, u, mhz);
                }
                cache.retain(&live);
                cache.sample_host_cpu();
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Registers until it works, then heartbeats within the TTL, re-registering when
    /// the servers forgot the node.
    async fn heartbeat_loop(self: Arc<Self>) {
        let mut registered = false;
        let mut last_contact = std::time::Instant::now();
        let mut stopped = std::collections::BTreeSet::new();
        loop {
            let ttl;
            if self
                .reregister
                .swap(false, std::sync::atomic::Ordering::Relaxed)
            {
                registered = false;
            }
            let result = if registered {
                self.conn.heartbeat(&self.node_id).await
            } else {
                self.conn.register(&self.node()).await
            };
            match result {
                Ok(t) => {
                    last_contact = std::time::Instant::now();
                    stopped.clear();
                    if !registered {
                        tracing::info!(node = %self.node_id, "client registered with the servers");
                    }
                    registered = true;
                    ttl = t;
                }
                Err(ConnError::UnknownNode) => {
                    registered = false;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "heartbeat failed; tasks keep running, retrying");
                    {
                        let allocs = self.allocs.lock().unwrap_or_else(|e| e.into_inner());
                        disconnect::stop_overdue(&allocs, last_contact.elapsed(), &mut stopped);
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            }
            // Heartbeat well inside the TTL so one lost request does not mark us down.
            tokio::time::sleep((ttl / 3).max(Duration::from_millis(100))).await;
        }
    }

    /// Sends queued allocation updates in batches (every 200 ms at most, as Nomad).
    async fn sync_loop(self: Arc<Self>) {
        loop {
            self.reporter.notify.notified().await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            loop {
                let batch = self.reporter.take();
                if batch.is_empty() {
                    break;
                }
                match self.conn.update_allocs(&self.node_id, &batch).await {
                    Ok(()) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "allocation update failed; retrying");
                        self.reporter.put_back(batch);
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        }
    }

    /// Watches this node's allocations (blocking queries) and starts, updates or
    /// removes runners.
    async fn watch_loop(self: Arc<Self>) {
        let mut index = 0u64;
        loop {
            match self
                .conn
                .node_allocs(&self.node_id, index, Duration::from_secs(30))
                .await
            {
                Ok((allocs, new_index)) => {
                    index = if new_index < index { 0 } else { new_index };
                    self.reconcile(allocs);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "watching allocations failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    fn reconcile(&self, allocs: Vec<Allocation>) {
        let mut seen = std::collections::BTreeSet::new();
        for alloc in allocs {
            seen.insert(alloc.id.clone());
            let existing = self
                .lock_allocs()
                .get(&alloc.id)
                .map(|r| (r.modify_index, r.commands.clone()));
            match existing {
                Some((modify_index, tx)) => {
                    // AllocModifyIndex moves only when the servers change the
                    // allocation, not on this client's own status reports.
                    if alloc.alloc_modify_index != modify_index {
                        if let Some(r) = self.lock_allocs().get_mut(&alloc.id) {
                            r.modify_index = alloc.alloc_modify_index;
                        }
                        let _ = tx.send(AllocCommand::Update(Box::new(alloc)));
                    }
                }
                None => {
                    // Only allocations the servers still want and that did not end.
                    let ended = matches!(
                        alloc.client_status.as_str(),
                        client_status::COMPLETE | client_status::FAILED | client_status::LOST
                    );
                    if ended || alloc.desired_status != desired_status::RUN {
                        continue;
                    }
                    let st = LocalAllocState {
                        alloc,
                        tasks: BTreeMap::new(),
                        client_status: client_status::PENDING.into(),
                        client_description: String::new(),
                        deployment_health: None,
                        health_deployment: None,
                    };
                    self.spawn_alloc(st, false);
                }
            }
        }
        // Allocations the servers garbage-collected: drop runner, state and directory.
        let gone: Vec<String> = self
            .lock_allocs()
            .keys()
            .filter(|id| !seen.contains(*id))
            .cloned()
            .collect();
        for id in gone {
            let finished = self
                .alloc_state(&id)
                .is_some_and(|s| s.tasks.values().all(|t| t.done));
            if !finished {
                // Still running tasks: ask the runner to stop them first.
                if let Some(r) = self.lock_allocs().get(&id) {
                    r.request_stop();
                }
                continue;
            }
            self.forget_alloc(&id);
        }
    }

    fn spawn_alloc(&self, st: LocalAllocState, restoring: bool) {
        let id = st.alloc.id.clone();
        let previous = self
            .lock_allocs()
            .get(&st.alloc.previous_allocation)
            .map(|r| Arc::clone(&r.state));
        let modify_index = st.alloc.alloc_modify_index;
        let shared = Arc::new(Mutex::new(st));
        let checks = services::CheckResults::default();
        let (tx, rx) = mpsc::unbounded_channel();
        let runner = AllocRunner {
            state: Arc::clone(&shared),
            node: self.node(),
            region: self.region.clone(),
            drivers: self.drivers.clone(),
            dir: AllocDir::new(&self.alloc_root, &id),
            state_dir: self.state_dir.clone(),
            reporter: Arc::clone(&self.reporter),
            commands: rx,
            restoring,
            conn: Arc::clone(&self.conn),
            checks: Arc::clone(&checks),
            task_envs: Default::default(),
            network: self.network.clone(),
            previous,
            csi: Arc::clone(&self.csi),
            csi_mounts: BTreeMap::new(),
        };
        self.lock_allocs().insert(
            id,
            Running {
                state: shared,
                checks,
                commands: tx,
                modify_index,
            },
        );
        tokio::spawn(runner.run());
    }
}
