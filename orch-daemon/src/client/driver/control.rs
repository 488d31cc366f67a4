//! The driver side of shim-supervised tasks, shared by raw_exec, exec and java: launching
//! the shim, and waiting for, signalling, stopping and recovering the task through the
//! files it keeps in the state directory and the recorded pids.
//!
//! A pid is only trusted together with its recorded start time (`/proc/<pid>/stat`), so a
//! recovered handle never signals an unrelated process that reused the pid.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::cgroup::TaskCgroup;
use super::shim::{EXIT_FILE, SHIM_LOG, SPEC_FILE, STATE_FILE, ShimSpec, ShimState};
use super::{DriverError, ExitResult, TaskHandle, TaskUsage, procfs};

/// The driver-owned directory of a task's shim files: `<task_dir>/.orch`.
pub fn state_dir(task_dir: &Path) -> PathBuf {
    task_dir.join(".orch")
}

/// The `state` of a [`TaskHandle`] for shim-supervised tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShimHandle {
    /// Where `spec.json`, `state.json` and `exit.json` live.
    pub state_dir: PathBuf,
    /// Pids and start times of the shim and the task (the task pid is the pgid).
    pub pids: ShimState,
    /// The task's cgroup (isolating drivers).
    pub cgroup: Option<TaskCgroup>,
}

impl ShimHandle {
    /// Decodes a handle's `state`.
    pub fn decode(handle: &TaskHandle) -> Result<ShimHandle, DriverError> {
        serde_json::from_value(handle.state.clone()).map_err(|e| {
            DriverError::Gone(format!(
                "task handle of driver {} is not one this driver wrote: {e}",
                handle.driver
            ))
        })
    }
}

fn io_err(context: String) -> impl FnOnce(std::io::Error) -> DriverError {
    move |source| DriverError::Io { context, source }
}

/// Starts `spec` under a shim (`<shim_path> task-shim <state_dir>/spec.json`) and returns
/// once the task runs, or with the reason it could not be started.
pub fn launch(
    driver: &str,
    shim_path: &Path,
    spec: &ShimSpec,
    cgroup: Option<TaskCgroup>,
) -> Result<TaskHandle, DriverError> {
    let dir = &spec.state_dir;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_err(format!("cannot create {}", dir.display())))?;
    // The spec holds the task's environment (secrets): owner only, also if it existed.
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    for stale in [EXIT_FILE, STATE_FILE, SHIM_LOG] {
        let _ = fs::remove_file(dir.join(stale));
    }
    let spec_path = dir.join(SPEC_FILE);
    let json = serde_json::to_vec_pretty(spec).map_err(|e| DriverError::Start(e.to_string()))?;
    super::shim::write_atomic(&spec_path, &json)
        .map_err(io_err(format!("cannot write {}", spec_path.display())))?;
    let out = Command::new(shim_path)
        .arg("task-shim")
        .arg(&spec_path)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| {
            DriverError::Start(format!(
                "cannot run the task shim {}: {e} (the driver's shim_path must be the orch binary)",
                shim_path.display()
            ))
        })?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        let msg = msg.trim().trim_start_matches("orch task-shim: ");
        return Err(DriverError::Start(if msg.is_empty() {
            format!("the task shim failed ({})", out.status)
        } else {
            msg.to_string()
        }));
    }
    let state_path = dir.join(STATE_FILE);
    let pids: ShimState = fs::read(&state_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            DriverError::Start(format!(
                "the task shim reported success but left no readable {}",
                state_path.display()
            ))
        })?;
    let state = ShimHandle {
        state_dir: dir.clone(),
        pids,
        cgroup,
    };
    let started_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    Ok(TaskHandle {
        driver: driver.to_string(),
        started_at,
        state: serde_json::to_value(&state).map_err(|e| DriverError::Start(e.to_string()))?,
    })
}

fn read_exit(h: &ShimHandle) -> Option<ExitResult> {
    let bytes = fs::read(h.state_dir.join(EXIT_FILE)).ok()?;
    Some(
        serde_json::from_slice(&bytes).unwrap_or_else(|e| ExitResult {
            err: Some(format!("unreadable {EXIT_FILE}: {e}")),
            ..ExitResult::default()
        }),
    )
}

fn shim_alive(h: &ShimHandle) -> bool {
    procfs::is_same_process(h.pids.shim_pid, h.pids.shim_start)
}

/// The task's process group still has members (and its leader, if alive, is ours).
fn group_alive(h: &ShimHandle) -> bool {
    let p = &h.pids;
    if procfs::is_same_process(p.task_pid, p.task_start) {
        return true;
    }
    // A pid in use as a process group ID is never handed to a new process, so members of
    // group `task_pid` are ours, unless the leader's pid now names another process.
    procfs::stat(p.task_pid).is_none() && !procfs::group_members(p.task_pid).is_empty()
}

/// See [`super::Driver::try_wait`].
pub fn try_wait(h: &ShimHandle) -> Option<ExitResult> {
    if let Some(r) = read_exit(h) {
        return Some(r);
    }
    if shim_alive(h) {
        return None;
    }
    // The shim may have written the file just before exiting.
    if let Some(r) = read_exit(h) {
        return Some(r);
    }
    if group_alive(h) {
        // Running, but nobody will collect its status: report once it is gone.
        return None;
    }
    Some(ExitResult {
        err: Some(format!(
            "the task shim died without recording the task's exit status (see {})",
            h.state_dir.join(SHIM_LOG).display()
        )),
        ..ExitResult::default()
    })
}

/// See [`super::Driver::recover`].
pub fn recover(h: &ShimHandle) -> Result<(), DriverError> {
    if read_exit(h).is_some() || shim_alive(h) || group_alive(h) {
        return Ok(());
    }
    Err(DriverError::Gone(format!(
        "neither the shim (pid {}) nor the task (pid {}) is running and no exit status was recorded in {}",
        h.pids.shim_pid,
        h.pids.task_pid,
        h.state_dir.display()
    )))
}

/// See [`super::Driver::exec_target`]: on the host for raw_exec, into the namespaces
/// of the task's pid 1 for isolated tasks.
pub fn exec_target(h: &ShimHandle) -> Result<super::ExecTarget, DriverError> {
    if read_exit(h).is_some() || !procfs::is_same_process(h.pids.task_pid, h.pids.task_start) {
        return Err(DriverError::Gone("the task is not running".into()));
    }
    let spec_path = h.state_dir.join(SPEC_FILE);
    let spec = super::shim::read_spec(&spec_path).map_err(DriverError::Gone)?;
    if spec.isolation.is_none() {
        return Ok(super::ExecTarget::Host {
            cwd: spec.cwd,
            env: spec.env,
            user: spec.user,
        });
    }
    // The recorded task pid is the isolating init stage's waiting parent; the task is
    // its child, pid 1 of the task's namespaces.
    let init = h.pids.task_pid;
    let pid = procfs::children(init)
        .into_iter()
        .next()
        .or_else(|| {
            let mut members = procfs::group_members(init);
            members.retain(|(p, _)| *p != init);
            members.sort_by_key(|(_, s)| s.start_time);
            members.first().map(|(p, _)| *p)
        })
        .ok_or_else(|| DriverError::Gone("the task's process is gone".into()))?;
    Ok(super::ExecTarget::Isolated {
        spec: spec_path,
        pid,
    })
}

/// Signals by name, as `kill -l` spells them, with or without `SIG`.
pub const SIGNALS: [(&str, i32); 17] = [
    ("SIGHUP", libc::SIGHUP),
    ("SIGINT", libc::SIGINT),
    ("SIGQUIT", libc::SIGQUIT),
    ("SIGILL", libc::SIGILL),
    ("SIGTRAP", libc::SIGTRAP),
    ("SIGABRT", libc::SIGABRT),
    ("SIGKILL", libc::SIGKILL),
    ("SIGUSR1", libc::SIGUSR1),
    ("SIGSEGV", libc::SIGSEGV),
    ("SIGUSR2", libc::SIGUSR2),
    ("SIGPIPE", libc::SIGPIPE),
    ("SIGALRM", libc::SIGALRM),
    ("SIGTERM", libc::SIGTERM),
    ("SIGCONT", libc::SIGCONT),
    ("SIGSTOP", libc::SIGSTOP),
    ("SIGTSTP", libc::SIGTSTP),
    ("SIGWINCH", libc::SIGWINCH),
];

/// Parses `SIGHUP`, `hup`, `HUP`, ... into a signal number.
pub fn parse_signal(name: &str) -> Result<i32, DriverError> {
    let upper = name.trim().to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    SIGNALS
        .iter()
        .find(|(n, _)| *n == full)
        .map(|(_, s)| *s)
        .ok_or_else(|| DriverError::Signal {
            name: name.to_string(),
            known: SIGNALS
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Sends `sig` to the task's process group (and, for SIGKILL, to every process of its
/// cgroup, which catches processes that left the group).
fn send(h: &ShimHandle, sig: i32) -> Result<(), DriverError> {
    let p = &h.pids;
    let leader_is_other = procfs::stat(p.task_pid).is_some_and(|s| s.start_time != p.task_start);
    if !leader_is_other && p.task_pid > 0 {
        // SAFETY: killpg has no memory-safety preconditions.
        if unsafe { libc::killpg(p.task_pid, sig) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ESRCH) {
                return Err(DriverError::Io {
                    context: format!("cannot signal process group {}", p.task_pid),
                    source: e,
                });
            }
        }
    }
    if sig == libc::SIGKILL
        && let Some(cg) = &h.cgroup
    {
        cg.kill_all();
    }
    Ok(())
}

/// See [`super::Driver::signal`].
pub fn signal(h: &ShimHandle, name: &str) -> Result<(), DriverError> {
    let sig = parse_signal(name)?;
    if try_wait(h).is_some() {
        return Err(DriverError::Gone("the task has already exited".into()));
    }
    send(h, sig)
}

/// See [`super::Driver::stop`].
pub fn stop(h: &ShimHandle, name: &str, timeout: Duration) -> Result<ExitResult, DriverError> {
    let sig = parse_signal(name)?;
    if let Some(r) = try_wait(h) {
        return Ok(r);
    }
    send(h, sig)?;
    if let Some(r) = poll(h, timeout) {
        // The task's main process is gone; what is left of its group (background
        // children that ignored the signal) goes with it.
        send(h, libc::SIGKILL)?;
        return Ok(r);
    }
    send(h, libc::SIGKILL)?;
    if let Some(r) = poll(h, Duration::from_secs(10)) {
        return Ok(r);
    }
    Err(DriverError::Gone(format!(
        "the task did not exit within 10s of SIGKILL and the shim recorded no status (see {})",
        h.state_dir.join(SHIM_LOG).display()
    )))
}

fn poll(h: &ShimHandle, timeout: Duration) -> Option<ExitResult> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(r) = try_wait(h) {
            return Some(r);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Usage of a running task: from its cgroup when it has one, else summed over its
/// process group from `/proc`.
pub fn stats(h: &ShimHandle) -> Option<TaskUsage> {
    if try_wait(h).is_some() {
        return None;
    }
    match &h.cgroup {
        Some(cg) => Some(cg.usage()),
        None => procfs::group_usage(h.pids.task_pid),
    }
}

/// After the task exited: kills what is left of its process group (background children)
/// and removes its cgroup.
pub fn destroy(h: &ShimHandle) -> Result<(), DriverError> {
    if try_wait(h).is_some() {
        send(h, libc::SIGKILL)?;
    }
    if let Some(cg) = &h.cgroup {
        cg.destroy()?;
    }
    Ok(())
}

/// The [`Driver`](super::Driver) methods every shim-based driver implements the same way
/// (`recover`, `try_wait`, `signal`, `stop`, `stats`, `destroy`): each decodes the
/// handle and goes through the shim's files. Expand inside an `impl Driver` block.
#[macro_export]
macro_rules! shim_task_control {
    () => {
        fn recover(
            &self,
            handle: &$crate::client::driver::TaskHandle,
        ) -> Result<(), $crate::client::driver::DriverError> {
            $crate::client::driver::control::recover(
                &$crate::client::driver::control::ShimHandle::decode(handle)?,
            )
        }

        fn try_wait(
            &self,
            handle: &$crate::client::driver::TaskHandle,
        ) -> Result<Option<$crate::client::driver::ExitResult>, $crate::client::driver::DriverError>
        {
            Ok($crate::client::driver::control::try_wait(
                &$crate::client::driver::control::ShimHandle::decode(handle)?,
            ))
        }

        fn signal(
            &self,
            handle: &$crate::client::driver::TaskHandle,
            signal: &str,
        ) -> Result<(), $crate::client::driver::DriverError> {
            $crate::client::driver::control::signal(
                &$crate::client::driver::control::ShimHandle::decode(handle)?,
                signal,
            )
        }

        fn stop(
            &self,
            handle: &$crate::client::driver::TaskHandle,
            signal: &str,
            timeout: std::time::Duration,
        ) -> Result<$crate::client::driver::ExitResult, $crate::client::driver::DriverError> {
            $crate::client::driver::control::stop(
                &$crate::client::driver::control::ShimHandle::decode(handle)?,
                signal,
                timeout,
            )
        }

        fn stats(
            &self,
            handle: &$crate::client::driver::TaskHandle,
        ) -> Result<Option<$crate::client::driver::TaskUsage>, $crate::client::driver::DriverError>
        {
            Ok($crate::client::driver::control::stats(
                &$crate::client::driver::control::ShimHandle::decode(handle)?,
            ))
        }

        fn destroy(
            &self,
            handle: &$crate::client::driver::TaskHandle,
        ) -> Result<(), $crate::client::driver::DriverError> {
            $crate::client::driver::control::destroy(
                &$crate::client::driver::control::ShimHandle::decode(handle)?,
            )
        }

        fn exec_target(
            &self,
            handle: &$crate::client::driver::TaskHandle,
        ) -> Result<$crate::client::driver::ExecTarget, $crate::client::driver::DriverError> {
            $crate::client::driver::control::exec_target(
                &$crate::client::driver::control::ShimHandle::decode(handle)?,
            )
        }
    };
}

#[cfg(test)]
mod tests;
