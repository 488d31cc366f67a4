//! `exec`: runs a command isolated like Nomad's exec driver: new pid, mount, ipc and uts
//! namespaces (the task is pid 1 and sees only its own processes), a chroot at the task
//! directory built from read-only binds of the host's `/bin`, `/etc`, `/lib*`, `/sbin`,
//! `/usr`, the allocation directory at `/alloc`, a fresh `/proc` and a minimal `/dev`,
//! and a cgroup holding memory, cpu and pids limits. Binds are `nosuid,nodev`. Runs as
//! `nobody` unless `user` is set, as Nomad's exec does; a user in the client's
//! `user.denylist` (`root` by default) is refused. The task keeps only Nomad's default
//! capabilities (changed by `cap_add` / `cap_drop` within the plugin's `allow_caps`, see
//! [`super::caps`]) under `PR_SET_NO_NEW_PRIVS`. Needs root, cgroups and namespaces; the
//! fingerprint says which is missing.
//!
//! As pid 1 of its namespace, the task's first process receives only the signals it has a
//! handler for (the kernel protects namespace inits); stop() still works because its
//! children die of the signal and because SIGKILL after the timeout is always delivered.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::caps::CapSet;
use super::cgroup::{self, Limits, TaskCgroup};
use super::config::{
    CapRequest, CommandConfig, DEFAULT_PATH, check_user_allowed, lookup_user, object,
};
use super::control;
use super::isolate::CHROOT_DIRS;
use super::shim::{Isolation, ShimSpec};
use super::{Driver, DriverError, DriverFingerprint, TaskHandle, TaskSpec, procfs};

/// Default `pids.max` of a task's cgroup.
pub const DEFAULT_PIDS_MAX: u64 = 4096;

/// The exec driver.
#[derive(Debug, Clone)]
pub struct ExecDriver {
    /// The `orch` binary, run as `orch task-shim` to supervise each task (the agent passes
    /// `std::env::current_exe()`).
    pub shim_path: PathBuf,
    /// Maximum processes/threads per task.
    pub pids_max: u64,
    /// The plugin's `allow_caps`: what tasks may have (default Nomad's set).
    pub allow_caps: CapSet,
    /// Users tasks may not run as (the client's `user.denylist` when it checks this
    /// driver; `root` by default).
    pub denied_users: Vec<String>,
}

impl ExecDriver {
    /// A driver supervising tasks with `shim_path task-shim`, [`DEFAULT_PIDS_MAX`] pids,
    /// Nomad's default capabilities and `root` denied.
    pub fn new(shim_path: PathBuf) -> ExecDriver {
        ExecDriver {
            shim_path,
            pids_max: DEFAULT_PIDS_MAX,
            allow_caps: CapSet::defaults(),
            denied_users: vec!["root".into()],
        }
    }

    /// Why isolation is impossible here, `None` when it works.
    pub fn unavailable_reason() -> Option<String> {
        if !procfs::is_root() {
            return Some(
                "exec needs the agent to run as root (namespaces, chroot, cgroups)".into(),
            );
        }
        if cgroup::detect().is_none() {
            return Some(
                "no cgroup hierarchy with a memory controller under /sys/fs/cgroup".into(),
            );
        }
        if !Path::new("/proc/self/ns/pid").exists() || !Path::new("/proc/self/ns/mnt").exists() {
            return Some("the kernel lacks pid or mount namespaces".into());
        }
        None
    }

    /// Starts `argv` (resolved inside the chroot) isolated with the capabilities `caps`
    /// asks for within `allow_caps`; used by java too.
    pub(crate) fn start_argv(
        &self,
        driver: &str,
        spec: &TaskSpec,
        argv: Vec<String>,
        caps: CapRequest,
    ) -> Result<TaskHandle, DriverError> {
        if let Some(reason) = Self::unavailable_reason() {
            return Err(DriverError::Unavailable {
                driver: driver.to_string(),
                reason,
            });
        }
        let version = cgroup::detect().ok_or_else(|| DriverError::Unavailable {
            driver: driver.to_string(),
            reason: "no cgroups".into(),
        })?;
        // Nomad's exec runs tasks as `nobody` unless `user` is set.
        let user_name = if spec.user.is_empty() {
            "nobody"
        } else {
            &spec.user
        };
        check_user_allowed(driver, user_name, &self.denied_users)?;
        let task_caps = CapSet::for_task(self.allow_caps, caps.add, caps.drop)?;
        let user = lookup_user(user_name)?;
        prepare_task_dir(spec, user.uid, user.gid)?;

        if let Some(v) = spec
            .volumes
            .iter()
            .find(|v| !v.propagation.is_empty() && v.propagation != "private")
        {
            return Err(DriverError::Config {
                field: "volume_mount.propagation_mode".into(),
                message: format!(
                    "{:?} is not supported by the {driver} driver (its mounts are private to the task); use \"private\"",
                    v.propagation
                ),
            });
        }
        let limits = Limits {
            memory_hard_mb: if spec.memory_max_mb > 0 {
                spec.memory_max_mb
            } else {
                spec.memory_mb
            },
            memory_soft_mb: (spec.memory_max_mb > 0).then_some(spec.memory_mb),
            cpu_shares: spec.cpu_mhz.max(2),
            pids_max: self.pids_max,
        };
        let name = format!("{}-{}", spec.alloc_id, spec.task_name);
        let cg = TaskCgroup::create(version, &name, &limits)?;

        let mut env = spec.env.clone();
        for (k, v) in [
            ("NOMAD_ALLOC_DIR", "/alloc"),
            ("NOMAD_TASK_DIR", "/local"),
            ("NOMAD_SECRETS_DIR", "/secrets"),
        ] {
            env.insert(k.into(), v.into());
        }
        env.entry("PATH".into())
            .or_insert_with(|| DEFAULT_PATH.into());
        let hostname = match spec.alloc_id.get(..8) {
            Some(short) if !short.is_empty() => short.to_string(),
            _ => spec.task_name.clone(),
        };
        let shim = ShimSpec {
            task_name: spec.task_name.clone(),
            argv,
            env,
            cwd: PathBuf::from("/"),
            user: Some(user),
            log_dir: spec.log_dir.clone(),
            log_max_files: spec.log_max_files,
            log_max_file_size_mb: spec.log_max_file_size_mb,
            state_dir: control::state_dir(&spec.task_dir),
            isolation: Some(Isolation {
                root: spec.task_dir.clone(),
                ro_binds: CHROOT_DIRS.iter().map(PathBuf::from).collect(),
                rw_binds: vec![(spec.alloc_dir.join("alloc"), PathBuf::from("/alloc"))],
                hostname,
                caps: task_caps,
                netns: spec.network.as_ref().map(|n| n.netns_path.clone()),
                volumes: spec.volumes.clone(),
            }),
            cgroup: Some(cg.clone()),
        };
        control::launch(driver, &self.shim_path, &shim, Some(cg.clone())).inspect_err(|_| {
            let _ = cg.destroy();
        })
    }
}

/// Creates the task's `local` (0777), `secrets` (0700) and `tmp` (1777) and the shared
/// `alloc/` (0755) beneath the allocation directory, and hands `local` and `secrets` to
/// the task's user. Every directory is opened without following links and changed
/// through its descriptor, so a link the task planted on a restart redirects nothing.
pub(crate) fn prepare_task_dir(spec: &TaskSpec, uid: u32, gid: u32) -> Result<(), DriverError> {
    let io = |p: &Path| {
        let context = format!("cannot prepare {}", p.display());
        move |source| DriverError::Io { context, source }
    };
    let root = crate::client::safe_path::Dir::open(&spec.alloc_dir).map_err(io(&spec.alloc_dir))?;
    let shared = spec.alloc_dir.join("alloc");
    root.create_dir_all(Path::new("alloc"), 0o755)
        .map_err(io(&shared))?;
    let task_rel = spec
        .task_dir
        .strip_prefix(&spec.alloc_dir)
        .unwrap_or(Path::new(&spec.task_name));
    let task = root
        .create_dir_all(task_rel, 0o755)
        .map_err(io(&spec.task_dir))?;
    for (sub, mode, owned) in [
        ("local", 0o777, true),
        ("secrets", 0o700, true),
        ("tmp", 0o1777, false),
    ] {
        let p = spec.task_dir.join(sub);
        let d = task.create_dir_all(Path::new(sub), 0o700).map_err(io(&p))?;
        d.set_mode(mode).map_err(io(&p))?;
        if owned {
            d.set_owner(uid, gid).map_err(io(&p))?;
        }
    }
    Ok(())
}

/// exec's task config: `command`, `args`, `cap_add`, `cap_drop`.
fn parse_config(config: &Value) -> Result<(CommandConfig, CapRequest), DriverError> {
    let obj = object(config, &["command", "args", "cap_add", "cap_drop"])?;
    Ok((
        CommandConfig::from_object(obj)?,
        CapRequest::from_object(obj)?,
    ))
}

impl Driver for ExecDriver {
    fn name(&self) -> &str {
        "exec"
    }

    fn fingerprint(&self) -> DriverFingerprint {
        match Self::unavailable_reason() {
            None => DriverFingerprint {
                detected: true,
                healthy: true,
                health_description: "Healthy".into(),
                attributes: [("exec".to_string(), "1".to_string())].into(),
            },
            Some(reason) => DriverFingerprint {
                detected: false,
                healthy: false,
                health_description: reason,
                attributes: Default::default(),
            },
        }
    }

    fn validate_config(&self, config: &Value) -> Result<(), DriverError> {
        let (_, caps) = parse_config(config)?;
        CapSet::for_task(self.allow_caps, caps.add, caps.drop).map(|_| ())
    }

    fn start(&self, spec: &TaskSpec) -> Result<TaskHandle, DriverError> {
        let (cfg, caps) = parse_config(&spec.config)?;
        let mut argv = vec![cfg.command];
        argv.extend(cfg.args);
        self.start_argv(self.name(), spec, argv, caps)
    }

    // recover, try_wait, signal, stop, stats, destroy: through the task's shim files.
    crate::shim_task_control!();
}
