//! `raw_exec`: runs a command as a plain process of the agent's user, without isolation.
//!
//! Nomad ships raw_exec disabled until the operator enables it in the plugin config;
//! orch enables it by default (it is the one driver that works without root, and the
//! example job uses it): operators who do not want it must not register it in the
//! [`super::DriverRegistry`]. There is no cgroup, so stats are summed from `/proc` over
//! the task's process group, and a process that leaves the group escapes stop().

use std::path::PathBuf;

use serde_json::Value;

use super::config::{
    CommandConfig, DEFAULT_PATH, check_user_allowed, lookup_user, resolve_command,
};
use super::control;
use super::shim::ShimSpec;
use super::{Driver, DriverError, DriverFingerprint, TaskHandle, TaskSpec, procfs};

/// The raw_exec driver.
#[derive(Debug, Clone)]
pub struct RawExecDriver {
    /// The `orch` binary, run as `orch task-shim` to supervise each task (the agent passes
    /// `std::env::current_exe()`).
    pub shim_path: PathBuf,
    /// Users tasks may not name in `user` (the client's `user.denylist` when
    /// `user.checked_drivers` lists this driver; by default it does not, as in Nomad).
    pub denied_users: Vec<String>,
}

impl RawExecDriver {
    /// A driver that supervises tasks with `shim_path task-shim`.
    pub fn new(shim_path: PathBuf) -> RawExecDriver {
        RawExecDriver {
            shim_path,
            denied_users: Vec::new(),
        }
    }

    /// Starts `argv` (already resolved) for `spec` without isolation; used by java too.
    pub(crate) fn start_argv(
        &self,
        driver: &str,
        spec: &TaskSpec,
        argv: Vec<String>,
    ) -> Result<TaskHandle, DriverError> {
        if !spec.volumes.is_empty() {
            return Err(DriverError::Start(format!(
                "the {driver} driver cannot mount volumes (it runs on the host's filesystem); use exec or docker"
            )));
        }
        if spec.network.is_some() {
            return Err(DriverError::Start(format!(
                "the {driver} driver runs tasks on the host's network and cannot join the group's network namespace; use exec or docker, or network mode \"host\""
            )));
        }
        if !spec.user.is_empty() {
            check_user_allowed(driver, &spec.user, &self.denied_users)?;
        }
        let user = if spec.user.is_empty() {
            None
        } else if procfs::is_root() {
            Some(lookup_user(&spec.user)?)
        } else {
            return Err(DriverError::Start(format!(
                "cannot run as user {:?}: the agent is not root; remove `user` from the task",
                spec.user
            )));
        };
        // A task of another user owns its `local/` and `secrets/` (0700), as with exec.
        if let Some(u) = user {
            super::exec::prepare_task_dir(spec, u.uid, u.gid)?;
        }
        let shim = ShimSpec {
            task_name: spec.task_name.clone(),
            argv,
            env: spec.env.clone(),
            cwd: spec.task_dir.clone(),
            user,
            log_dir: spec.log_dir.clone(),
            log_max_files: spec.log_max_files,
            log_max_file_size_mb: spec.log_max_file_size_mb,
            state_dir: control::state_dir(&spec.task_dir),
            isolation: None,
            cgroup: None,
        };
        control::launch(driver, &self.shim_path, &shim, None)
    }
}

/// Resolves a host command for a non-isolated task (task dir first, then PATH).
pub(crate) fn resolve_host(command: &str, spec: &TaskSpec) -> Result<String, DriverError> {
    let path_env = spec.env.get("PATH").map_or(DEFAULT_PATH, |p| p);
    resolve_command(command, &spec.task_dir, path_env)
        .map(|p| p.to_string_lossy().into_owned())
        .ok_or_else(|| DriverError::Config {
            field: "command".into(),
            message: format!(
                "{command:?} not found: not an executable in the task directory {} nor in PATH ({path_env})",
                spec.task_dir.display()
            ),
        })
}

impl Driver for RawExecDriver {
    fn name(&self) -> &str {
        "raw_exec"
    }

    fn fingerprint(&self) -> DriverFingerprint {
        DriverFingerprint {
            detected: true,
            healthy: true,
            health_description: "Healthy".into(),
            attributes: [("raw_exec".to_string(), "1".to_string())].into(),
        }
    }

    fn validate_config(&self, config: &Value) -> Result<(), DriverError> {
        CommandConfig::parse(config).map(|_| ())
    }

    fn start(&self, spec: &TaskSpec) -> Result<TaskHandle, DriverError> {
        let cfg = CommandConfig::parse(&spec.config)?;
        let mut argv = vec![resolve_host(&cfg.command, spec)?];
        argv.extend(cfg.args);
        self.start_argv(self.name(), spec, argv)
    }

    // recover, try_wait, signal, stop, stats, destroy: through the task's shim files.
    crate::shim_task_control!();
}
