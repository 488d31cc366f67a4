//! Task drivers: the seam between the client's task runner and the operating system.
//!
//! A driver turns a [`TaskSpec`] into a running process and reports how it ended. The
//! trait is object safe and synchronous on purpose: drivers make blocking system calls
//! (fork, mount, cgroup files), so the client calls them from `spawn_blocking`, and a
//! third party can implement one in its own crate without pulling in an async runtime.
//!
//! A running task is described by a [`TaskHandle`]: opaque, serializable driver state
//! that the client writes to disk so that a restarted client can [`Driver::recover`] the
//! task instead of starting it again.
//!
//! The built-in drivers (`raw_exec`, `exec`, `java`) do not parent tasks themselves: each
//! task runs under a [`shim`] (`orch task-shim`, the same binary), which survives the
//! client, writes the logs ([`logs`]) and records the exit status. Build the set the
//! client offers with [`DriverRegistry::with_builtin`]`(std::env::current_exe()?)`.
//!
//! Layout:
//! - [`registry`]: the drivers a client offers, by name.
//! - [`raw_exec`], [`exec`], [`java`]: the built-in drivers.
//! - [`docker`]: containers on a Docker Engine (the engine supervises them, not a shim).
//! - [`shim`]: `orch task-shim`, the per-task supervisor; [`control`]: the driver side
//!   of it (launch, wait, signal, stop, recover).
//! - `isolate`: the shim's isolating init stage for exec (namespaces, chroot, user);
//!   `enter`: `alloc exec`'s way into such a task (`orch task-shim --enter`);
//!   `privileges`: its last step (capability sets, user switch, no-new-privs).
//! - [`caps`]: capability names and Nomad's `allow_caps` / `cap_add` / `cap_drop` rules.
//! - [`cgroup`]: per-task cgroups (v1 or v2): limits, OOM count, stats.
//! - [`logs`]: rotating log files and their reader.
//! - [`procfs`]: what the drivers read from `/proc`.
//! - [`config`]: drivers' `config` blocks, command resolution and user lookup.

pub mod caps;
pub mod cgroup;
pub mod config;
pub mod control;
pub mod docker;
mod enter;
pub mod exec;
mod isolate;
pub mod java;
pub mod logs;
mod privileges;
pub mod procfs;
pub mod raw_exec;
pub mod registry;
pub mod shim;

pub use config::{DEFAULT_PATH, resolve_command};
pub use docker::DockerDriver;
pub use exec::ExecDriver;
pub use java::JavaDriver;
pub use raw_exec::RawExecDriver;
pub use registry::DriverRegistry;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a driver reports about itself on this machine; becomes the node's
/// `Drivers[name]` entry and `driver.<name>` attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverFingerprint {
    /// The driver can run here at all (e.g. a JVM was found for `java`).
    pub detected: bool,
    /// It can run tasks right now.
    pub healthy: bool,
    /// Why not, or a short status.
    pub health_description: String,
    /// Node attributes, without the `driver.` prefix handled by the client
    /// (e.g. `java.version` → `driver.java.version`).
    pub attributes: BTreeMap<String, String>,
}

/// Everything a driver needs to start one task. Built by the client from the allocation,
/// with every `${...}` already interpolated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// Allocation ID.
    pub alloc_id: String,
    /// Task name.
    pub task_name: String,
    /// The task's `config` block (JSON object, interpolated).
    pub config: serde_json::Value,
    /// The full environment of the task (`NOMAD_*` and the `env` block).
    pub env: BTreeMap<String, String>,
    /// `user`: run as this user (empty: the agent's user for raw_exec, `nobody` for exec
    /// when running as root).
    pub user: String,
    /// The allocation directory (`<data_dir>/alloc/<alloc_id>`), holding `alloc/`.
    pub alloc_dir: PathBuf,
    /// The task directory (`<alloc_dir>/<task>`), holding `local/`, `secrets/`, `tmp/`.
    pub task_dir: PathBuf,
    /// Where the log files go (`<alloc_dir>/alloc/logs`), named `<task>.stdout.<n>`.
    pub log_dir: PathBuf,
    /// `logs.max_files`.
    pub log_max_files: u32,
    /// `logs.max_file_size` in MiB.
    pub log_max_file_size_mb: u32,
    /// `resources.cpu` in MHz (cpu shares for isolating drivers).
    pub cpu_mhz: u64,
    /// `resources.memory` in MiB (the limit; the soft limit when `memory_max_mb` is set).
    pub memory_mb: u64,
    /// `resources.memory_max` in MiB (0: not set).
    pub memory_max_mb: u64,
    /// The node's ID (the docker driver's `com.hashicorp.nomad.node_id` label).
    pub node_id: String,
    /// The node's name.
    pub node_name: String,
    /// The allocation's group ports (`network { port "http" { to = 8080 } }`) with the
    /// host ports the scheduler assigned: docker maps the ones a task lists in `ports`.
    pub ports: Vec<PortMapping>,
    /// The allocation's network namespace when the group is not in host mode (set by
    /// `client::network`); `None`: the host's network (or the driver's own).
    #[serde(default)]
    pub network: Option<TaskNetwork>,
    /// Host volumes to bind into the task (`volume_mount`s, resolved by the client).
    #[serde(default)]
    pub volumes: Vec<TaskVolume>,
}

/// One host volume bound into a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskVolume {
    /// The host directory (the client's `host_volume` path).
    pub host_path: PathBuf,
    /// Where the task sees it (inside its root for exec, the container for docker).
    pub destination: PathBuf,
    /// A write inside the task fails.
    pub read_only: bool,
    /// `private`, `host-to-task` or `bidirectional`.
    pub propagation: String,
}

/// One assigned group port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// The port's label (`http`).
    pub label: String,
    /// The host IP it is reserved on.
    pub host_ip: String,
    /// The host port.
    pub value: u16,
    /// The port inside the task (`to`; 0: the same as `value`).
    pub to: u16,
}

/// The network namespace a task joins (bridge, none and cni modes), built by the
/// client before the group's tasks start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskNetwork {
    /// A bind-mounted netns file of the allocation, or a pause container's
    /// `/proc/<pid>/ns/net`.
    pub netns_path: PathBuf,
    /// The docker pause container holding the namespace, when the docker driver made
    /// it ([`docker::DockerDriver::create_network_sandbox`]): docker tasks join it with
    /// `network_mode = "container:<id>"`.
    pub sandbox_container: Option<String>,
}

/// A started task, as the driver needs it to wait for, signal, stop or recover it.
/// Persisted by the client (JSON); `state` is the driver's own business.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskHandle {
    /// Driver name that produced it.
    pub driver: String,
    /// Unix nanoseconds when the task started.
    pub started_at: i64,
    /// Driver-specific state (pids, cgroup paths, ...).
    pub state: serde_json::Value,
}

/// How a task ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitResult {
    /// Exit code (0 when killed by a signal).
    pub exit_code: i32,
    /// Signal that killed it (0: none).
    pub signal: i32,
    /// The kernel's OOM killer ended it.
    pub oom_killed: bool,
    /// The driver lost track of it or could not collect the status.
    pub err: Option<String>,
}

impl ExitResult {
    /// Exited with code 0, no signal, no OOM, no error.
    pub fn successful(&self) -> bool {
        self.exit_code == 0 && self.signal == 0 && !self.oom_killed && self.err.is_none()
    }
}

/// Resource usage of a running task (Nomad's `TaskResourceUsage`, simplified).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskUsage {
    /// Resident memory in bytes.
    pub rss_bytes: u64,
    /// Memory charged to the task (cgroup usage; RSS when there is no cgroup).
    pub memory_usage_bytes: u64,
    /// Cumulative cpu time in nanoseconds (user + system), for rate computation.
    pub cpu_total_ns: u64,
    /// Cumulative user cpu time in nanoseconds.
    pub cpu_user_ns: u64,
    /// Cumulative system cpu time in nanoseconds.
    pub cpu_system_ns: u64,
    /// Which measurements these are (`RSS`, `Cache`, `Usage`, ... as Nomad names them).
    pub measured: Vec<String>,
}

/// Errors drivers return. Messages say what to change.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The task's `config` block is wrong: `field` is the path inside it.
    #[error("config.{field}: {message}")]
    Config {
        /// Field path inside the config block (`command`, `args[1]`).
        field: String,
        /// What was expected.
        message: String,
    },
    /// The driver cannot run on this machine (missing binary, no cgroups, not root).
    #[error("driver {driver} unavailable: {reason}")]
    Unavailable {
        /// Driver name.
        driver: String,
        /// Why.
        reason: String,
    },
    /// Starting failed (exec error, mount failure, ...).
    #[error("failed to start task: {0}")]
    Start(String),
    /// The handle does not describe a live task any more.
    #[error("task is gone: {0}")]
    Gone(String),
    /// A signal name that is not one of the known ones.
    #[error("unknown signal {name:?}: use one of {known} (the SIG prefix is optional)")]
    Signal {
        /// The name given.
        name: String,
        /// The names accepted.
        known: String,
    },
    /// The driver cannot do what was asked (e.g. `alloc exec` into its tasks).
    #[error("{0}")]
    Unsupported(String),
    /// An operating-system call failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Where `alloc exec` runs a command beside a running task, as its driver says; the
/// client's [`crate::client::exec`] starts it there.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecTarget {
    /// On the host, in the task's directory, with its environment and user (raw_exec).
    Host {
        /// The task's working directory.
        cwd: PathBuf,
        /// The task's environment.
        env: BTreeMap<String, String>,
        /// The task's user (`None`: the agent's).
        user: Option<shim::UserIds>,
    },
    /// Inside an isolated task's namespaces, chroot and cgroup (exec, java as root),
    /// entered by `orch task-shim --enter` ([`enter`]).
    Isolated {
        /// The task's `spec.json` (environment, user, capabilities, cgroup).
        spec: PathBuf,
        /// A process inside the task's namespaces (its pid 1).
        pid: i32,
    },
    /// `docker exec` in a container.
    Container {
        /// The engine's unix socket.
        socket: String,
        /// The container.
        id: String,
    },
}

/// A task driver. Implementations must be cheap to share (`Arc<dyn Driver>`).
pub trait Driver: Send + Sync {
    /// The name jobspecs use in `driver = "..."`.
    fn name(&self) -> &str;

    /// Detects whether and how the driver can run here. Called at start and
    /// periodically; must not block for long.
    fn fingerprint(&self) -> DriverFingerprint;

    /// Checks a task's `config` block before anything is started.
    fn validate_config(&self, config: &serde_json::Value) -> Result<(), DriverError>;

    /// Starts the task and returns at once with its handle. The process must outlive the
    /// client (own session/process group) so that a restarted client can recover it.
    fn start(&self, spec: &TaskSpec) -> Result<TaskHandle, DriverError>;

    /// Re-attaches to a task started by an earlier client process. `Ok(())` when the
    /// task is still running or has an exit status to report through [`Driver::wait`];
    /// `Err(Gone)` when nothing is left to find.
    fn recover(&self, handle: &TaskHandle) -> Result<(), DriverError>;

    /// Non-blocking: `Some` once the task has exited (idempotent afterwards).
    fn try_wait(&self, handle: &TaskHandle) -> Result<Option<ExitResult>, DriverError>;

    /// Sends a signal by name (`SIGHUP`, `SIGUSR1`, ...) to the task.
    fn signal(&self, handle: &TaskHandle, signal: &str) -> Result<(), DriverError>;

    /// Stops the task: `signal` (the task's `kill_signal`, default `SIGINT` as Nomad),
    /// then after `timeout` SIGKILL to the whole process group. Blocks until it exited.
    fn stop(
        &self,
        handle: &TaskHandle,
        signal: &str,
        timeout: Duration,
    ) -> Result<ExitResult, DriverError>;

    /// Current resource usage, `None` when the task is not running.
    fn stats(&self, handle: &TaskHandle) -> Result<Option<TaskUsage>, DriverError>;

    /// Frees what the task held (cgroups, mounts) after it exited.
    fn destroy(&self, handle: &TaskHandle) -> Result<(), DriverError>;

    /// Where `alloc exec` runs a command beside the running task. Drivers that cannot
    /// keep the default, which refuses with the driver's name.
    fn exec_target(&self, handle: &TaskHandle) -> Result<ExecTarget, DriverError> {
        let _ = handle;
        Err(DriverError::Unsupported(format!(
            "the {} driver does not support alloc exec",
            self.name()
        )))
    }
}
