//! The per-task supervisor: `orch task-shim <spec.json>`, a hidden subcommand of the
//! `orch` binary.
//!
//! Drivers never spawn tasks themselves: the task's parent must outlive the client so that
//! its exit status is collected even while no client runs, and so that a restarted client
//! can [`super::Driver::recover`] it. The shim forks into the background (own session),
//! spawns the task in its own process group, copies its stdout/stderr into rotating log
//! files, records pids in `state.json` and, when the task ends, its [`ExitResult`] in
//! `exit.json` (written atomically), both in the driver-owned state directory
//! (`<task_dir>/.orch/`). The foreground `orch task-shim` exits 0 once the task was
//! started, or 1 with the reason on stderr, so `start()` is synchronous about failures.
//!
//! For isolating drivers the task is not spawned directly: the shim runs
//! `orch task-shim --init <fd> <spec.json>` (see [`super::isolate`]), which enters new
//! namespaces, joins the cgroup, builds the chroot and execs the task as pid 1.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::cgroup::TaskCgroup;
use super::logs::{LogKind, RotatingWriter};
use super::{ExitResult, procfs};

/// File names inside the state directory.
pub const SPEC_FILE: &str = "spec.json";
/// Pids of the shim and the task, written once the task started.
pub const STATE_FILE: &str = "state.json";
/// The task's [`ExitResult`], written when it ended.
pub const EXIT_FILE: &str = "exit.json";
/// The shim's own diagnostics (its stderr).
pub const SHIM_LOG: &str = "shim.log";

/// What the shim runs; written by the driver as `spec.json` in the state directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShimSpec {
    /// Task name (log file names).
    pub task_name: String,
    /// Command and arguments. For isolated tasks the command is resolved inside the chroot.
    pub argv: Vec<String>,
    /// The complete environment of the task.
    pub env: BTreeMap<String, String>,
    /// Working directory (inside the chroot for isolated tasks).
    pub cwd: PathBuf,
    /// Run as this uid/gid (`None`: the shim's own).
    pub user: Option<UserIds>,
    /// Where the log files go.
    pub log_dir: PathBuf,
    /// `logs.max_files`.
    pub log_max_files: u32,
    /// `logs.max_file_size` in MiB.
    pub log_max_file_size_mb: u32,
    /// The driver-owned directory holding this spec, `state.json` and `exit.json`.
    pub state_dir: PathBuf,
    /// Namespaces + chroot (exec, java as root); `None` runs the task as is (raw_exec).
    pub isolation: Option<Isolation>,
    /// The cgroup the task joins (created and limited by the driver).
    pub cgroup: Option<TaskCgroup>,
}

/// A user to switch to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserIds {
    /// User ID.
    pub uid: u32,
    /// Primary group ID.
    pub gid: u32,
}

/// How an isolated task's filesystem and namespaces are built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Isolation {
    /// The new root (the task directory).
    pub root: PathBuf,
    /// Host directories bound read-only at the same path inside the root (symlinks on
    /// the host, like `/bin -> usr/bin`, are recreated as symlinks).
    pub ro_binds: Vec<PathBuf>,
    /// Host directories bound read-write: (host path, path inside the root).
    pub rw_binds: Vec<(PathBuf, PathBuf)>,
    /// Hostname in the task's UTS namespace.
    pub hostname: String,
    /// The task's capabilities (every other one is dropped from all five sets); a spec
    /// written without them gets Nomad's defaults.
    #[serde(default = "super::caps::CapSet::defaults")]
    pub caps: super::caps::CapSet,
    /// The group's network namespace to join (bridge, none, cni modes); `None`: the
    /// host's network.
    #[serde(default)]
    pub netns: Option<PathBuf>,
    /// Host volumes bound into the root (after the other binds).
    #[serde(default)]
    pub volumes: Vec<super::TaskVolume>,
}

/// `state.json`: identifies the shim and the task's process group across client restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShimState {
    /// The background shim process.
    pub shim_pid: i32,
    /// Its start time (`/proc/<pid>/stat`), to tell it from a later process with its pid.
    pub shim_start: u64,
    /// The task's first process; also its process group ID.
    pub task_pid: i32,
    /// Its start time.
    pub task_start: u64,
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers never see
/// a partial file; mode 0600, never through a link (the state directory is 0700).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    crate::client::safe_path::write_private_atomic(path, bytes)
}

/// Entry point of `orch task-shim ...` (dispatched by the CLI; not in its help text).
pub fn main(args: &[String]) -> ExitCode {
    match args {
        [flag, fd, spec] if flag == "--init" => super::isolate::init_main(fd, Path::new(spec)),
        [flag, spec, pid, argv @ ..] if flag == "--enter" => {
            super::enter::enter_main(Path::new(spec), pid, argv)
        }
        [spec] => match launch(Path::new(spec)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("orch task-shim: {e}");
                ExitCode::from(1)
            }
        },
        _ => {
            eprintln!("usage: orch task-shim <spec.json> (used by orch's task drivers)");
            ExitCode::from(2)
        }
    }
}

/// Reads a `spec.json`; the error names the file.
pub(super) fn read_spec(path: &Path) -> Result<ShimSpec, String> {
    let text =
        fs::read(path).map_err(|e| format!("cannot read task spec {}: {e}", path.display()))?;
    serde_json::from_slice(&text).map_err(|e| format!("invalid task spec {}: {e}", path.display()))
}

/// A pipe whose both ends close on exec.
pub(super) fn cloexec_pipe() -> io::Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

/// Foreground part: forks the supervisor into the background and waits for its word that
/// the task started (or why not).
fn launch(spec_path: &Path) -> Result<(), String> {
    let spec = read_spec(spec_path)?;
    let (mut rx, tx) = cloexec_pipe().map_err(|e| format!("cannot create a pipe: {e}"))?;
    // SAFETY: `orch task-shim` runs before anything starts a thread, so the child is a
    // complete copy of a single-threaded process and may run any code.
    match unsafe { libc::fork() } {
        -1 => Err(format!("cannot fork: {}", io::Error::last_os_error())),
        0 => {
            drop(rx);
            let code = supervise(&spec, tx);
            std::process::exit(code)
        }
        _ => {
            drop(tx);
            let mut msg = String::new();
            let _ = rx.read_to_string(&mut msg);
            match msg.strip_prefix("ok") {
                Some(_) => Ok(()),
                None if msg.is_empty() => Err(format!(
                    "the shim exited before starting the task; see {}",
                    spec.state_dir.join(SHIM_LOG).display()
                )),
                None => Err(msg),
            }
        }
    }
}

/// Background part: new session, stdio away from the caller, start, log, wait, record.
fn supervise(spec: &ShimSpec, mut notify: File) -> i32 {
    // SAFETY: setsid has no memory-safety preconditions; failure (already a leader) is
    // harmless.
    unsafe { libc::setsid() };
    redirect_stdio(&spec.state_dir.join(SHIM_LOG));
    let started = start_task(spec);
    let (mut child, state) = match started {
        Ok(v) => v,
        Err(e) => {
            let _ = notify.write_all(e.as_bytes());
            return 1;
        }
    };
    let state_json = serde_json::to_vec(&state).unwrap_or_default();
    if let Err(e) = write_atomic(&spec.state_dir.join(STATE_FILE), &state_json) {
        let _ = notify.write_all(format!("cannot write the shim state: {e}").as_bytes());
        let _ = child.kill();
        return 1;
    }
    let _ = notify.write_all(b"ok");
    drop(notify);

    let mut copiers = Vec::new();
    for (kind, pipe) in [
        (
            LogKind::Stdout,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
        (
            LogKind::Stderr,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
    ] {
        let Some(pipe) = pipe else { continue };
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let spec = spec.clone();
        std::thread::spawn(move || {
            copy_logs(&spec, kind, pipe);
            let _ = done_tx.send(());
        });
        copiers.push(done_rx);
    }
    let status = child.wait();
    // Background processes of the task may keep the pipes open: do not wait for them
    // long once the task itself is gone.
    for done in copiers {
        let _ = done.recv_timeout(Duration::from_secs(2));
    }
    let result = exit_result(status, spec);
    let json = serde_json::to_vec(&result).unwrap_or_default();
    if let Err(e) = write_atomic(&spec.state_dir.join(EXIT_FILE), &json) {
        eprintln!("cannot write {}: {e}", EXIT_FILE);
        return 1;
    }
    0
}

fn redirect_stdio(log: &Path) {
    let null = File::open("/dev/null");
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(log);
    // SAFETY: dup2 onto the standard descriptors of this process; the sources stay open
    // for the duration of the calls.
    unsafe {
        if let Ok(n) = &null {
            libc::dup2(n.as_raw_fd(), 0);
        }
        if let Ok(l) = &log {
            libc::dup2(l.as_raw_fd(), 1);
            libc::dup2(l.as_raw_fd(), 2);
        } else if let Ok(n) = &null {
            libc::dup2(n.as_raw_fd(), 1);
            libc::dup2(n.as_raw_fd(), 2);
        }
    }
}

fn copy_logs(spec: &ShimSpec, kind: LogKind, mut pipe: Box<dyn Read + Send>) {
    let writer = RotatingWriter::open(
        &spec.log_dir,
        &spec.task_name,
        kind,
        spec.log_max_files,
        spec.log_max_file_size_mb,
    );
    let mut writer = match writer {
        Ok(w) => Some(w),
        Err(e) => {
            eprintln!("cannot open {} log: {e}", kind.as_str());
            None
        }
    };
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // Keep draining even when the disk is full, or the task would block.
                if let Some(w) = writer.as_mut()
                    && let Err(e) = w.write_all(&buf[..n])
                {
                    eprintln!("cannot write {} log: {e}", kind.as_str());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
}

/// Spawns the task (or the isolating init stage) in its own process group.
fn start_task(spec: &ShimSpec) -> Result<(std::process::Child, ShimState), String> {
    let Some(program) = spec.argv.first() else {
        return Err("no command to run".into());
    };
    let mut cmd;
    let mut status_rx = None;
    if spec.isolation.is_some() {
        let (rx, tx) = cloexec_pipe().map_err(|e| format!("cannot create a pipe: {e}"))?;
        // The init stage inherits the write end (no close-on-exec) and reports setup
        // failures through it; a successful exec of the task closes it.
        let tx: OwnedFd = tx.into();
        // SAFETY: fcntl on a descriptor we own.
        unsafe { libc::fcntl(tx.as_raw_fd(), libc::F_SETFD, 0) };
        // /proc/self/exe works even when the binary was replaced on disk (an upgrade
        // while tasks run).
        cmd = Command::new("/proc/self/exe");
        cmd.arg("task-shim")
            .arg("--init")
            .arg(tx.as_raw_fd().to_string())
            .arg(spec.state_dir.join(SPEC_FILE))
            .env_clear();
        status_rx = Some((rx, tx));
    } else {
        cmd = Command::new(program);
        cmd.args(&spec.argv[1..])
            .env_clear()
            .envs(&spec.env)
            .current_dir(&spec.cwd);
        if let Some(u) = spec.user {
            cmd.uid(u.uid).gid(u.gid);
        }
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {program:?}: {e}"))?;
    if let Some((mut rx, tx)) = status_rx {
        drop(tx);
        let mut msg = String::new();
        let _ = rx.read_to_string(&mut msg);
        if !msg.is_empty() {
            let mut child = child;
            let _ = child.wait();
            return Err(msg);
        }
    }
    let pid = i32::try_from(child.id()).map_err(|_| "pid out of range".to_string())?;
    let me = std::process::id() as i32;
    let state = ShimState {
        shim_pid: me,
        shim_start: procfs::start_time(me).unwrap_or(0),
        task_pid: pid,
        task_start: procfs::start_time(pid).unwrap_or(0),
    };
    Ok((child, state))
}

fn exit_result(status: io::Result<ExitStatus>, spec: &ShimSpec) -> ExitResult {
    let oom_killed = spec.cgroup.as_ref().is_some_and(|c| c.oom_kills() > 0);
    match status {
        Ok(s) => ExitResult {
            exit_code: s.code().unwrap_or(0),
            signal: s.signal().unwrap_or(0),
            oom_killed,
            err: None,
        },
        Err(e) => ExitResult {
            exit_code: 0,
            signal: 0,
            oom_killed,
            err: Some(format!("cannot collect the task's exit status: {e}")),
        },
    }
}
