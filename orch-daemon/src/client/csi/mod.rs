//! The client's side of CSI: the plugin tasks this node runs, their health as the
//! servers see it, and the volumes staged and published for this node's allocations.
//!
//! - `mod` (here): [`CsiManager`], the registry of plugin tasks (by plugin ID) and the
//!   directories everything lives in, under `<state_dir>/csi/`.
//! - `fingerprint`: probing each plugin over its socket and reporting the node's
//!   plugin instances to the servers when they change.
//! - `mounts`: `NodeStageVolume`/`NodePublishVolume` before an allocation's tasks
//!   start, the reverse when it ends, with a record on disk of what was mounted.
//! - `controller`: controller operations the servers ask this node to run.
//!
//! Plugin tasks must see host paths as they are: orch runs them with `raw_exec`
//! (the socket path and the staging and publish paths are the host's). Drivers that
//! give the task its own root are refused for `csi_plugin` tasks, since the plugin's
//! mounts would stay inside the task.

mod controller;
mod fingerprint;
mod mounts;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orch_core::model::csi::NodeCsiPlugins;
use orch_core::model::{TaskCsiPluginConfig, csi_plugin_type};

use super::server_conn::ServerConn;
use crate::csi::CsiClient;

pub use controller::ControllerError;
pub use mounts::MountedVolume;

/// How long one call to a plugin may take (probes, stage, publish).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// One plugin task this node runs.
#[derive(Debug, Clone)]
struct PluginTask {
    alloc_id: String,
    config: TaskCsiPluginConfig,
    socket: PathBuf,
    started: Instant,
}

/// The node's CSI plugins and mounts. Shared by the client, its allocation runners and
/// its HTTP endpoints.
pub struct CsiManager {
    root: PathBuf,
    node_id: String,
    conn: Arc<ServerConn>,
    /// By plugin ID and type: a controller job and a node job of one plugin may both
    /// run here, each with its own socket.
    plugins: Mutex<BTreeMap<(String, String), PluginTask>>,
    /// Held over a mount or an unmount, so the "is anyone else using it" checks and
    /// the calls they guard do not interleave.
    mount_lock: tokio::sync::Mutex<()>,
    /// What the servers were last told, and when (None: nothing yet).
    reported: tokio::sync::Mutex<Option<(NodeCsiPlugins, Instant)>>,
    /// Wakes the fingerprint loop when a plugin task starts or stops.
    changed: tokio::sync::Notify,
}

impl CsiManager {
    /// A manager keeping its sockets, mounts and records under `state_root/csi`.
    pub fn new(state_root: &Path, node_id: &str, conn: Arc<ServerConn>) -> Arc<CsiManager> {
        Arc::new(CsiManager {
            root: state_root.join("csi"),
            node_id: node_id.to_string(),
            conn,
            plugins: Mutex::new(BTreeMap::new()),
            mount_lock: tokio::sync::Mutex::new(()),
            reported: tokio::sync::Mutex::new(None),
            changed: tokio::sync::Notify::new(),
        })
    }

    /// The directory holding the socket of plugin `id`'s `kind` instance (what the
    /// task's `CSI_ENDPOINT` names), created 0700.
    pub fn socket_dir(&self, plugin_id: &str, kind: &str) -> std::io::Result<PathBuf> {
        let dir = self
            .root
            .join("plugins")
            .join(format!("{plugin_id}-{kind}"));
        std::fs::create_dir_all(&dir)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        Ok(dir)
    }

    /// Records that allocation `alloc_id` runs plugin `config.id`; returns the socket
    /// path the plugin must listen on. A later task for the same plugin replaces it.
    pub fn register(
        &self,
        alloc_id: &str,
        config: &TaskCsiPluginConfig,
    ) -> std::io::Result<PathBuf> {
        let socket = self
            .socket_dir(&config.id, &config.plugin_type)?
            .join("csi.sock");
        let task = PluginTask {
            alloc_id: alloc_id.to_string(),
            config: config.clone(),
            socket: socket.clone(),
            started: Instant::now(),
        };
        let key = (config.id.clone(), config.plugin_type.clone());
        self.lock().insert(key, task);
        self.changed.notify_one();
        Ok(socket)
    }

    /// Forgets the plugins allocation `alloc_id` ran (its tasks stopped).
    pub fn deregister_alloc(&self, alloc_id: &str) {
        let before = self.lock().len();
        self.lock().retain(|_, p| p.alloc_id != alloc_id);
        if self.lock().len() != before {
            self.changed.notify_one();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), PluginTask>> {
        self.plugins.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connection to this node's instance of plugin `plugin_id` that serves the
    /// controller (`controller`) or the node service: that type's, else a monolith's.
    async fn client(&self, plugin_id: &str, controller: bool) -> Result<CsiClient, String> {
        let kind = if controller {
            csi_plugin_type::CONTROLLER
        } else {
            csi_plugin_type::NODE
        };
        let socket = {
            let plugins = self.lock();
            [kind, csi_plugin_type::MONOLITH]
                .iter()
                .find_map(|k| plugins.get(&(plugin_id.to_string(), k.to_string())))
                .map(|p| p.socket.clone())
        };
        let socket =
            socket.ok_or_else(|| format!("CSI plugin {plugin_id:?} does not run on this node"))?;
        CsiClient::connect(&socket, CALL_TIMEOUT)
            .await
            .map_err(|e| format!("CSI plugin {plugin_id:?}: {e}"))
    }

    /// The node's root of per-plugin staging and publish directories.
    fn node_dir(&self, plugin_id: &str) -> PathBuf {
        self.root.join("node").join(plugin_id)
    }
}

/// The drivers whose tasks see host paths unchanged, so a plugin's socket and mounts
/// are the host's.
pub fn driver_can_run_plugins(driver: &str) -> bool {
    driver == "raw_exec"
}
