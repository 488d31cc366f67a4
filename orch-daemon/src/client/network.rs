//! Group networks other than the host's: Nomad's `network { mode = "bridge" }`, `"none"`
//! and `"cni/<name>"`, built as Nomad builds them, with CNI.
//!
//! Each allocation that asks for one gets a network namespace of its own ([`netns`],
//! under the client's state directory), set up by running the network's CNI plugins
//! ([`cni`]) against it: for `bridge`, Nomad's list (loopback, a `bridge` with
//! host-local addresses and masquerading, `firewall`, and `portmap` publishing the
//! group's ports from the host). All tasks of the group share it, so they talk over
//! localhost: an exec task's init joins it (`setns`) before anything else, a docker
//! task's container joins the pause container that holds it.
//!
//! What was set up is written to `<state_dir>/network/<alloc>.json` before the tasks
//! start, so teardown (CNI `DEL` in reverse, then the namespace removed) works after a
//! client restart or crash: the client tears down every recorded network whose
//! allocation it no longer runs when it starts ([`NetworkManager::cleanup_orphans`]).

pub mod cni;
pub mod netns;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use orch_core::model::{Allocation, TaskGroup};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::driver::DockerDriver;

/// Why an allocation's network could not be built or removed.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// A mode orch does not build.
    #[error(
        "network mode {0:?} is not supported: use \"host\", \"bridge\", \"none\" or \"cni/<name>\""
    )]
    Mode(String),
    /// A task's driver cannot join the group's network.
    #[error(
        "task {task:?}: the {driver} driver cannot join a {mode} network (it runs on the host's network); use exec or docker, or network mode \"host\""
    )]
    Driver {
        /// Task name.
        task: String,
        /// Its driver.
        driver: String,
        /// The group's mode.
        mode: String,
    },
    /// `cni/<name>` names no configuration in `cni_config_dir`.
    #[error("network mode \"cni/{name}\": no CNI network named {name:?} in {dir}")]
    UnknownCni {
        /// The name.
        name: String,
        /// The directory searched.
        dir: String,
    },
    /// Running the plugins failed.
    #[error(transparent)]
    Cni(#[from] cni::CniError),
    /// The docker pause container holding a docker group's namespace.
    #[error("the network sandbox (docker pause container): {0}")]
    Sandbox(String),
    /// The namespace or the state file.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// The client's CNI settings (Nomad's client `cni_path`, `cni_config_dir`,
/// `bridge_network_name`, `bridge_network_subnet`, `bridge_network_hairpin_mode`).
#[derive(Debug, Clone)]
pub struct NetworkSettings {
    /// Directories with the plugin binaries.
    pub cni_paths: Vec<PathBuf>,
    /// Where `cni/<name>` networks are configured (`.conflist`, `.conf`, `.json`).
    pub cni_config_dir: PathBuf,
    /// The bridge's name (and the CNI network's).
    pub bridge_name: String,
    /// The bridge's subnet, from which allocations get addresses.
    pub bridge_subnet: String,
    /// Hairpin mode on the bridge's ports.
    pub hairpin: bool,
    /// The client's state directory: namespaces and records go beneath it.
    pub state_dir: PathBuf,
}

impl NetworkSettings {
    /// Nomad's defaults, with Debian's plugin directory searched after Nomad's.
    pub fn defaults(state_dir: PathBuf) -> NetworkSettings {
        NetworkSettings {
            cni_paths: vec!["/opt/cni/bin".into(), "/usr/lib/cni".into()],
            cni_config_dir: "/opt/cni/config".into(),
            bridge_name: "nomad".into(),
            bridge_subnet: "172.26.64.0/20".into(),
            hairpin: false,
            state_dir,
        }
    }
}

/// One allocation's network as set up; persisted so that it can be torn down later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocNetwork {
    /// The allocation.
    pub alloc_id: String,
    /// The group's mode.
    pub mode: String,
    /// The namespace the tasks join.
    pub netns: PathBuf,
    /// Whether orch made the namespace (else a docker pause container holds it).
    pub owns_netns: bool,
    /// The docker pause container holding the namespace, when the group has docker
    /// tasks (they join it with `network_mode = "container:<id>"`).
    #[serde(default)]
    pub sandbox_container: Option<String>,
    /// The CNI list that was run.
    pub conflist: Value,
    /// Its `ADD` result, the `prevResult` of `DEL`.
    pub result: Value,
    /// The `portMappings` given to `portmap`.
    pub runtime_config: Value,
    /// The allocation's address on the network.
    pub ip: Option<String>,
}

/// Builds and removes allocation networks; one per client.
#[derive(Clone)]
pub struct NetworkManager {
    settings: NetworkSettings,
    /// Makes the pause containers of groups with docker tasks.
    docker: Option<Arc<DockerDriver>>,
}

impl std::fmt::Debug for NetworkManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkManager")
            .field("settings", &self.settings)
            .field("docker", &self.docker.is_some())
            .finish()
    }
}

/// The group's network mode, `host` when it has none.
pub fn group_mode(group: &TaskGroup) -> String {
    group
        .networks
        .first()
        .map(|n| n.mode.clone())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "host".into())
}

impl NetworkManager {
    /// A manager with `settings`; `docker` holds the namespaces of groups with docker
    /// tasks (a container can join another container's namespace, not a netns file).
    pub fn new(settings: NetworkSettings, docker: Option<Arc<DockerDriver>>) -> NetworkManager {
        NetworkManager { settings, docker }
    }

    fn netns_dir(&self) -> PathBuf {
        self.settings.state_dir.join("netns")
    }

    fn records_dir(&self) -> PathBuf {
        self.settings.state_dir.join("network")
    }

    fn record_path(&self, alloc_id: &str) -> PathBuf {
        self.records_dir().join(format!("{alloc_id}.json"))
    }

    /// Refuses a group whose network this client cannot build, or whose tasks cannot
    /// join it, before anything is started.
    pub fn check(&self, group: &TaskGroup) -> Result<(), NetworkError> {
        let mode = group_mode(group);
        if mode == "host" {
            return Ok(());
        }
        self.conflist(&mode)?;
        if let Some(t) = group.tasks.iter().find(|t| t.driver == "raw_exec") {
            return Err(NetworkError::Driver {
                task: t.name.clone(),
                driver: t.driver.clone(),
                mode,
            });
        }
        Ok(())
    }

    /// The CNI list for `mode`.
    fn conflist(&self, mode: &str) -> Result<Value, NetworkError> {
        let s = &self.settings;
        match mode {
            "bridge" => Ok(cni::bridge_conflist(
                &s.bridge_name,
                &s.bridge_subnet,
                s.hairpin,
            )),
            "none" => Ok(json!({
                "cniVersion": "0.4.0",
                "name": "orch-none",
                "plugins": [{"type": "loopback"}]
            })),
            m => match m.strip_prefix("cni/") {
                Some(name) if !name.is_empty() => self.cni_network(name),
                _ => Err(NetworkError::Mode(m.to_string())),
            },
        }
    }

    /// The list named `name` in `cni_config_dir` (a single-plugin `.conf` becomes a
    /// list of one).
    fn cni_network(&self, name: &str) -> Result<Value, NetworkError> {
        let dir = &self.settings.cni_config_dir;
        let unknown = || NetworkError::UnknownCni {
            name: name.to_string(),
            dir: dir.display().to_string(),
        };
        let entries = std::fs::read_dir(dir).map_err(|_| unknown())?;
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for path in files {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !["conflist", "conf", "json"].contains(&ext) {
                continue;
            }
            let Ok(text) = std::fs::read(&path) else {
                continue;
            };
            if text.len() > 1 << 20 {
                continue;
            }
            let Ok(v) = serde_json::from_slice::<Value>(&text) else {
                continue;
            };
            if v["name"] != name {
                continue;
            }
            if v["plugins"].is_array() {
                return Ok(v);
            }
            return Ok(json!({"cniVersion": v["cniVersion"], "name": name, "plugins": [v]}));
        }
        Err(unknown())
    }

    /// Builds the network of `alloc`'s group (`None` in host mode): in a docker pause
    /// container's namespace when the group has docker tasks, else in a namespace of
    /// its own. A network already recorded for the allocation (a restarted client) is
    /// reused as it is.
    pub fn setup(
        &self,
        alloc: &Allocation,
        group: &TaskGroup,
    ) -> Result<Option<AllocNetwork>, NetworkError> {
        let mode = group_mode(group);
        if mode == "host" {
            return Ok(None);
        }
        if let Some(net) = self.recorded(&alloc.id)
            && netns::is_netns(&net.netns)
        {
            return Ok(Some(net));
        }
        let conflist = self.conflist(&mode)?;
        let io = |context: String| move |source| NetworkError::Io { context, source };
        let (path, owns_netns, sandbox_container) =
            if group.tasks.iter().any(|t| t.driver == "docker") {
                let docker = self.docker.as_ref().ok_or_else(|| {
                    NetworkError::Sandbox(
                        "the group has docker tasks but this client has no docker driver".into(),
                    )
                })?;
                let sandbox = docker
                    .create_network_sandbox(&alloc.id, None)
                    .map_err(|e| NetworkError::Sandbox(e.to_string()))?;
                (sandbox.netns_path, false, Some(sandbox.container_id))
            } else {
                let path = netns::create(&self.netns_dir(), &alloc.id).map_err(io(format!(
                    "cannot create the network namespace of {}",
                    alloc.id
                )))?;
                (path, true, None)
            };
        let mut net = AllocNetwork {
            alloc_id: alloc.id.clone(),
            mode,
            netns: path,
            owns_netns,
            sandbox_container,
            conflist,
            result: Value::Null,
            runtime_config: json!({"portMappings": port_mappings(alloc)}),
            ip: None,
        };
        // Recorded before ADD, so a crash in between still gets torn down.
        self.record(&net)?;
        let added = cni::add(&net.conflist, &self.invocation(&net));
        match added {
            Ok(result) => {
                net.ip = cni::result_ip(&result);
                net.result = result;
                self.record(&net)?;
                Ok(Some(net))
            }
            Err(e) => {
                let _ = self.teardown(&alloc.id);
                Err(e.into())
            }
        }
    }

    fn invocation<'a>(&'a self, net: &'a AllocNetwork) -> cni::Invocation<'a> {
        cni::Invocation {
            container_id: &net.alloc_id,
            netns: &net.netns,
            ifname: "eth0",
            paths: &self.settings.cni_paths,
            runtime_config: &net.runtime_config,
        }
    }

    fn record(&self, net: &AllocNetwork) -> Result<(), NetworkError> {
        let path = self.record_path(&net.alloc_id);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(self.records_dir())?;
            let bytes = serde_json::to_vec(net).map_err(std::io::Error::other)?;
            crate::client::safe_path::write_private_atomic(&path, &bytes)
        };
        write().map_err(|source| NetworkError::Io {
            context: format!(
                "cannot record the network of {} in {}",
                net.alloc_id,
                path.display()
            ),
            source,
        })
    }

    /// The network recorded for `alloc_id`, if any.
    pub fn recorded(&self, alloc_id: &str) -> Option<AllocNetwork> {
        let bytes = std::fs::read(self.record_path(alloc_id)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Removes `alloc_id`'s network: CNI `DEL` (firewall and port rules, the address),
    /// then the namespace (and the veth in it), then the record. Nothing recorded: done.
    pub fn teardown(&self, alloc_id: &str) -> Result<(), NetworkError> {
        let Some(net) = self.recorded(alloc_id) else {
            return Ok(());
        };
        let result = (!net.result.is_null()).then_some(&net.result);
        let deleted = cni::del(&net.conflist, result, &self.invocation(&net));
        if let Err(e) = &deleted {
            tracing::warn!(alloc = alloc_id, error = %e, "CNI DEL failed; removing the namespace anyway");
        }
        if let (Some(id), Some(docker)) = (&net.sandbox_container, &self.docker) {
            docker
                .destroy_network_sandbox(id)
                .map_err(|e| NetworkError::Sandbox(e.to_string()))?;
        }
        if net.owns_netns {
            netns::remove(&net.netns).map_err(|source| NetworkError::Io {
                context: format!(
                    "cannot remove the network namespace {}",
                    net.netns.display()
                ),
                source,
            })?;
        }
        let _ = std::fs::remove_file(self.record_path(alloc_id));
        deleted.map_err(Into::into)
    }

    /// Tears down every recorded network whose allocation is not in `live` (the client
    /// crashed, or the allocation was removed while it was away).
    pub fn cleanup_orphans(&self, live: &BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(self.records_dir()) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            if live.contains(id) {
                continue;
            }
            if let Err(err) = self.teardown(id) {
                tracing::warn!(alloc = id, error = %err, "cleaning up a leftover network failed");
            }
        }
    }
}

/// The group's ports as `portmap` takes them: host port → `to` (the same port when
/// `to` is unset), TCP and UDP, as Nomad maps them, on the address the scheduler gave
/// the network (the node's: loopback in `-dev`, so nothing is published beyond it).
pub fn port_mappings(alloc: &Allocation) -> Vec<Value> {
    let mut out = Vec::new();
    for n in &alloc.allocated_resources.shared.networks {
        for p in n.reserved_ports.iter().chain(&n.dynamic_ports) {
            let container = if p.to > 0 { p.to as u16 } else { p.value };
            for proto in ["tcp", "udp"] {
                let mut m =
                    json!({"hostPort": p.value, "containerPort": container, "protocol": proto});
                if !n.ip.is_empty() {
                    m["hostIP"] = json!(n.ip);
                }
                out.push(m);
            }
        }
    }
    out
}

impl NetworkSettings {
    /// The CNI settings of the client block, Nomad's defaults where unset.
    pub fn from_config(
        config: &crate::agent::config::ClientConfig,
        state_root: &std::path::Path,
    ) -> NetworkSettings {
        let mut s = NetworkSettings::defaults(state_root.to_path_buf());
        if let Some(p) = &config.cni_path {
            s.cni_paths = p
                .split(':')
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .collect();
        }
        if let Some(d) = &config.cni_config_dir {
            s.cni_config_dir = d.clone();
        }
        if let Some(n) = &config.bridge_network_name {
            s.bridge_name = n.clone();
        }
        if let Some(n) = &config.bridge_network_subnet {
            s.bridge_subnet = n.clone();
        }
        s.hairpin = config.bridge_network_hairpin_mode;
        s
    }
}

#[cfg(test)]
mod tests;
