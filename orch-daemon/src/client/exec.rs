//! `alloc exec` sessions on this client: a command started beside a running task where
//! its driver says ([`ExecTarget`]), with pipes or a pseudo-terminal, as a stream of
//! [`SessionEvent`]s and a handle for input and terminal size.
//!
//! - raw_exec: on the host, in the task's directory, with its environment and user.
//! - exec, java (isolated): `orch task-shim --enter` joins the task's cgroup,
//!   namespaces and chroot, then runs the command as the task's user.
//! - docker: `docker exec` through the engine's API ([`container`]).
//!
//! A session that is dropped kills its command's process group (a command that outlives
//! its caller would be a process nobody supervises).

mod container;
mod pty;

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::driver::shim::UserIds;
use super::driver::{DEFAULT_PATH, ExecTarget, resolve_command};
use crate::ws::exec_frames::TerminalSize;

/// How long output may still arrive after the command exited (a background process
/// holding the terminal must not hold the session open forever).
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

/// The largest output chunk read at once.
const CHUNK: usize = 32 * 1024;

/// What a session reports, in order; `Exited` is the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// Output on stdout (all of it, with a terminal).
    Stdout(Vec<u8>),
    /// Output on stderr.
    Stderr(Vec<u8>),
    /// The command ended with this code (128 + the signal when a signal ended it).
    Exited(i32),
}

/// Why a session could not start; the message is what the caller sees.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// Starting the process failed.
    #[error("cannot start {command:?}: {reason}")]
    Start {
        /// The command.
        command: String,
        /// Why.
        reason: String,
    },
    /// The command is not in the task's directory or on its `PATH`.
    #[error("command {0:?} not found in the task's directory or on its PATH")]
    NotFound(String),
    /// The docker engine refused or failed.
    #[error("docker exec: {0}")]
    Docker(String),
}

/// A running `alloc exec` command.
pub struct Session {
    events: mpsc::Receiver<SessionEvent>,
    input: Input,
}

enum Input {
    Process {
        stdin: Option<Box<dyn AsyncWrite + Send + Unpin>>,
        terminal: Option<OwnedFd>,
        pgid: i32,
    },
    Container(container::ContainerInput),
}

impl Session {
    /// Starts `command` at `target`, with a terminal when `tty`.
    pub async fn start(
        target: ExecTarget,
        command: Vec<String>,
        tty: bool,
    ) -> Result<Session, ExecError> {
        match target {
            ExecTarget::Container { socket, id } => {
                let (events, input) = container::start(&socket, &id, command, tty).await?;
                Ok(Session {
                    events,
                    input: Input::Container(input),
                })
            }
            ExecTarget::Host { cwd, env, user } => {
                let program = host_program(&command, &cwd, &env)?;
                let mut cmd = tokio::process::Command::new(program);
                cmd.args(&command[1..])
                    .current_dir(&cwd)
                    .env_clear()
                    .envs(&env);
                if let Some(UserIds { uid, gid }) = user
                    && super::driver::procfs::is_root()
                {
                    cmd.uid(uid).gid(gid);
                }
                spawn(cmd, &command, tty)
            }
            ExecTarget::Isolated { spec, pid } => {
                let shim = std::env::current_exe().map_err(|e| ExecError::Start {
                    command: command.join(" "),
                    reason: format!("cannot find the orch binary: {e}"),
                })?;
                let mut cmd = tokio::process::Command::new(shim);
                cmd.arg("task-shim")
                    .arg("--enter")
                    .arg(&spec)
                    .arg(pid.to_string())
                    .args(&command)
                    .env_clear();
                spawn(cmd, &command, tty)
            }
        }
    }

    /// The next output, or the exit; `None` after the exit was reported.
    pub async fn next_event(&mut self) -> Option<SessionEvent> {
        self.events.recv().await
    }

    /// Feeds the command's input; data after [`Session::close_stdin`] is dropped.
    pub async fn write_stdin(&mut self, data: &[u8]) {
        let failed = match &mut self.input {
            Input::Process { stdin, .. } => match stdin {
                Some(w) => w.write_all(data).await.and(w.flush().await).is_err(),
                None => false,
            },
            Input::Container(c) => c.write(data).await.is_err(),
        };
        if failed {
            // The command stopped reading (it exited or closed its input).
            self.close_stdin().await;
        }
    }

    /// Ends the command's input (end of file; with a terminal, the EOF character).
    pub async fn close_stdin(&mut self) {
        match &mut self.input {
            Input::Process {
                stdin, terminal, ..
            } => {
                if terminal.is_some() {
                    if let Some(w) = stdin {
                        // A terminal has no end of file: ^D at the start of a line is one.
                        let _ = w.write_all(&[4]).await;
                    }
                } else if let Some(mut w) = stdin.take() {
                    let _ = w.shutdown().await;
                }
            }
            Input::Container(c) => c.close().await,
        }
    }

    /// The caller's terminal changed size.
    pub async fn resize(&mut self, size: TerminalSize) {
        match &mut self.input {
            Input::Process {
                terminal: Some(t), ..
            } => pty::set_size(t, size),
            Input::Process { .. } => {}
            Input::Container(c) => c.resize(size).await,
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Input::Process { pgid, .. } = self.input
            && pgid > 0
        {
            // SAFETY: kill has no memory-safety preconditions; the group is the
            // command's own session (setsid in the child), never the agent's.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
}

/// The program of a host command: resolved in the task's directory, `local/`, then its
/// `PATH`, as raw_exec resolves a task's command.
fn host_program(
    command: &[String],
    cwd: &Path,
    env: &BTreeMap<String, String>,
) -> Result<PathBuf, ExecError> {
    let first = command.first().map(String::as_str).unwrap_or_default();
    let path_env = env.get("PATH").map_or(DEFAULT_PATH, |p| p);
    resolve_command(first, cwd, path_env).ok_or_else(|| ExecError::NotFound(first.to_string()))
}

/// Starts `cmd` in its own session, with pipes or a new terminal as its stdio, and the
/// tasks that report its output and exit.
fn spawn(
    mut cmd: tokio::process::Command,
    command: &[String],
    tty: bool,
) -> Result<Session, ExecError> {
    let start_err = |reason: String| ExecError::Start {
        command: command.join(" "),
        reason,
    };
    let terminal = if tty {
        let (master, slave) = pty::open().map_err(|e| start_err(format!("no terminal: {e}")))?;
        let dup = |fd: &OwnedFd| fd.try_clone().map_err(|e| start_err(e.to_string()));
        cmd.stdin(Stdio::from(dup(&slave)?))
            .stdout(Stdio::from(dup(&slave)?))
            .stderr(Stdio::from(slave));
        Some(master)
    } else {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        None
    };
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if tty && libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.kill_on_drop(false);
    let mut child = cmd.spawn().map_err(|e| start_err(e.to_string()))?;
    // The child holds the terminal's other end now; ours must go, or the terminal never
    // reports end of file. (`cmd` owns the copies given to the child.)
    drop(cmd);
    let pgid = child.id().map_or(0, |p| p as i32);
    let (tx, events) = mpsc::channel(64);
    let mut pumps = Vec::new();
    let stdin: Option<Box<dyn AsyncWrite + Send + Unpin>> = match &terminal {
        Some(master) => {
            let reader = master.try_clone().map_err(|e| start_err(e.to_string()))?;
            pumps.push(pty::pump(reader, tx.clone()));
            let writer = master.try_clone().map_err(|e| start_err(e.to_string()))?;
            Some(Box::new(tokio::fs::File::from_std(std::fs::File::from(
                writer,
            ))))
        }
        None => {
            if let Some(out) = child.stdout.take() {
                pumps.push(tokio::spawn(pump(out, tx.clone(), SessionEvent::Stdout)));
            }
            if let Some(err) = child.stderr.take() {
                pumps.push(tokio::spawn(pump(err, tx.clone(), SessionEvent::Stderr)));
            }
            child
                .stdin
                .take()
                .map(|w| Box::new(w) as Box<dyn AsyncWrite + Send + Unpin>)
        }
    };
    tokio::spawn(async move {
        let code = match child.wait().await {
            Ok(status) => status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
            Err(_) => -1,
        };
        let drained = futures_util::future::join_all(pumps);
        let _ = tokio::time::timeout(DRAIN_AFTER_EXIT, drained).await;
        let _ = tx.send(SessionEvent::Exited(code)).await;
    });
    Ok(Session {
        events,
        input: Input::Process {
            stdin,
            terminal,
            pgid,
        },
    })
}

/// Copies one output pipe into events until it ends.
async fn pump<R: AsyncRead + Unpin>(
    mut reader: R,
    tx: mpsc::Sender<SessionEvent>,
    wrap: fn(Vec<u8>) -> SessionEvent,
) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if tx.send(wrap(buf[..n].to_vec())).await.is_err() {
                    return;
                }
            }
        }
    }
}
