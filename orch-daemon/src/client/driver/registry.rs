//! The drivers a client offers, by name. The client fingerprints every registered driver
//! and looks a task's `driver = "..."` up here; a third party adds its own driver with
//! [`DriverRegistry::register`], without touching this module:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use orch_daemon::client::driver::*;
//!
//! /// A driver whose tasks succeed at once.
//! struct Noop;
//!
//! impl Driver for Noop {
//!     fn name(&self) -> &str { "noop" }
//!     fn fingerprint(&self) -> DriverFingerprint {
//!         DriverFingerprint { detected: true, healthy: true, ..Default::default() }
//!     }
//!     fn validate_config(&self, _: &serde_json::Value) -> Result<(), DriverError> { Ok(()) }
//!     fn start(&self, _: &TaskSpec) -> Result<TaskHandle, DriverError> {
//!         Ok(TaskHandle { driver: "noop".into(), started_at: 0, state: serde_json::Value::Null })
//!     }
//!     fn recover(&self, _: &TaskHandle) -> Result<(), DriverError> { Ok(()) }
//!     fn try_wait(&self, _: &TaskHandle) -> Result<Option<ExitResult>, DriverError> {
//!         Ok(Some(ExitResult::default()))
//!     }
//!     fn signal(&self, _: &TaskHandle, _: &str) -> Result<(), DriverError> { Ok(()) }
//!     fn stop(&self, _: &TaskHandle, _: &str, _: Duration) -> Result<ExitResult, DriverError> {
//!         Ok(ExitResult::default())
//!     }
//!     fn stats(&self, _: &TaskHandle) -> Result<Option<TaskUsage>, DriverError> { Ok(None) }
//!     fn destroy(&self, _: &TaskHandle) -> Result<(), DriverError> { Ok(()) }
//! }
//!
//! let shim = std::env::current_exe().unwrap_or_default();
//! let mut drivers = DriverRegistry::with_builtin(shim);
//! drivers.register(Arc::new(Noop));
//! assert!(drivers.get("noop").is_some());
//! assert_eq!(drivers.names(), ["exec", "java", "noop", "raw_exec"]);
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::caps::CapSet;
use super::docker::{DockerDriver, DockerOptions};
use super::exec::ExecDriver;
use super::java::JavaDriver;
use super::raw_exec::RawExecDriver;
use super::{Driver, DriverFingerprint};

/// What the client's config sets for the built-in drivers (built by the agent from the
/// `plugin` blocks and client `options`, see `agent::plugins`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverOptions {
    /// Offer `raw_exec` (off unless enabled, as in Nomad).
    pub raw_exec: bool,
    /// `plugin "exec" { config { allow_caps } }`.
    pub exec_allow_caps: CapSet,
    /// `plugin "java" { config { allow_caps } }`.
    pub java_allow_caps: CapSet,
    /// `user.denylist`: users tasks of the checked drivers may not run as.
    pub user_denylist: Vec<String>,
    /// `user.checked_drivers`: the drivers the denylist applies to.
    pub user_checked_drivers: Vec<String>,
    /// `plugin "docker" { config { ... } }`.
    pub docker: DockerOptions,
}

impl Default for DriverOptions {
    /// Nomad's defaults: no raw_exec, the default capabilities, `root` (and Windows'
    /// `Administrator`) denied to exec and java (and qemu, which orch lacks).
    fn default() -> Self {
        DriverOptions {
            raw_exec: false,
            exec_allow_caps: CapSet::defaults(),
            java_allow_caps: CapSet::defaults(),
            user_denylist: vec!["root".into(), "Administrator".into()],
            user_checked_drivers: vec!["exec".into(), "qemu".into(), "java".into()],
            docker: DockerOptions::default(),
        }
    }
}

impl DriverOptions {
    /// The denylist that applies to `driver` (empty when it is not checked).
    pub fn denylist_for(&self, driver: &str) -> Vec<String> {
        if self.user_checked_drivers.iter().any(|d| d == driver) {
            self.user_denylist.clone()
        } else {
            Vec::new()
        }
    }
}

/// Drivers by name (sorted, so fingerprints and listings are stable).
#[derive(Clone, Default)]
pub struct DriverRegistry {
    drivers: BTreeMap<String, Arc<dyn Driver>>,
    /// The docker driver as itself, for its network sandbox hook (bridge networking).
    docker: Option<Arc<DockerDriver>>,
}

impl DriverRegistry {
    /// An empty registry.
    pub fn new() -> DriverRegistry {
        DriverRegistry::default()
    }

    /// raw_exec, exec and java. `shim_path` is the `orch` binary that supervises tasks as
    /// `orch task-shim`: the agent passes `std::env::current_exe()`, tests
    /// `env!("CARGO_BIN_EXE_orch")`.
    pub fn with_builtin(shim_path: PathBuf) -> DriverRegistry {
        let mut r = DriverRegistry::without_raw_exec(shim_path.clone());
        r.register(Arc::new(RawExecDriver::new(shim_path)));
        r
    }

    /// exec and java only: what a client offers unless `raw_exec` is enabled (it runs
    /// tasks unisolated as the agent's user, so Nomad keeps it off by default).
    pub fn without_raw_exec(shim_path: PathBuf) -> DriverRegistry {
        let mut r = DriverRegistry::new();
        r.register(Arc::new(ExecDriver::new(shim_path.clone())));
        r.register(Arc::new(JavaDriver::new(shim_path)));
        r
    }

    /// The built-in drivers as `options` configure them: what the agent offers. docker
    /// is always registered, as in Nomad; its fingerprint says whether an engine answers.
    pub fn with_options(shim_path: PathBuf, options: &DriverOptions) -> DriverRegistry {
        let mut r = DriverRegistry::new();
        let mut exec = ExecDriver::new(shim_path.clone());
        exec.allow_caps = options.exec_allow_caps;
        exec.denied_users = options.denylist_for("exec");
        r.register(Arc::new(exec));
        let mut java = JavaDriver::new(shim_path.clone());
        java.exec.allow_caps = options.java_allow_caps;
        java.exec.denied_users = options.denylist_for("java");
        java.raw.denied_users = options.denylist_for("java");
        r.register(Arc::new(java));
        if options.raw_exec {
            let mut raw = RawExecDriver::new(shim_path);
            raw.denied_users = options.denylist_for("raw_exec");
            r.register(Arc::new(raw));
        }
        match DockerDriver::new(options.docker.clone()) {
            Ok(d) => r.register_docker(Arc::new(d)),
            Err(e) => tracing::warn!(error = %e, "the docker driver is not offered"),
        }
        r
    }

    /// Adds a driver under its [`Driver::name`], returning the one it replaces.
    pub fn register(&mut self, driver: Arc<dyn Driver>) -> Option<Arc<dyn Driver>> {
        if driver.name() == "docker" {
            self.docker = None;
        }
        self.drivers.insert(driver.name().to_string(), driver)
    }

    /// Adds the docker driver, also reachable as itself through [`DriverRegistry::docker`].
    pub fn register_docker(&mut self, driver: Arc<DockerDriver>) {
        self.register(Arc::clone(&driver) as Arc<dyn Driver>);
        self.docker = Some(driver);
    }

    /// The docker driver, when registered with [`DriverRegistry::register_docker`]: the
    /// allocation runner creates and removes network sandboxes through it.
    pub fn docker(&self) -> Option<Arc<DockerDriver>> {
        self.docker.clone()
    }

    /// The driver named `name` (a task's `driver`).
    pub fn get(&self, name: &str) -> Option<Arc<dyn Driver>> {
        self.drivers.get(name).cloned()
    }

    /// Registered names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.drivers.keys().map(String::as_str).collect()
    }

    /// Fingerprints every driver (for the node's `Drivers` and `driver.*` attributes).
    pub fn fingerprint_all(&self) -> BTreeMap<String, DriverFingerprint> {
        self.drivers
            .iter()
            .map(|(n, d)| (n.clone(), d.fingerprint()))
            .collect()
    }
}

impl std::fmt::Debug for DriverRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverRegistry")
            .field("drivers", &self.names())
            .finish()
    }
}
