//! `orch task-shim --enter <spec.json> <pid> <command...>`: how `alloc exec` runs a
//! command inside an isolated (exec, java) task, spawned by the client with the
//! session's stdio (pipes or a pty) already in place.
//!
//! This fresh single-threaded process joins the task's cgroup, enters the namespaces of
//! the task's pid 1 (ipc, uts, net, pid, mount) and its chroot, then forks: a pid
//! namespace only applies to children. The child drops to the task's user and
//! capabilities and execs the command with the task's environment in its directory;
//! it dies with this process (`PR_SET_PDEATHSIG`), so the client ends a session by
//! killing this one. This process waits and exits the way the command did.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::ExitCode;

use super::isolate::{FORWARDED, errno, exec_in_root, join_cgroup, wait_and_mirror};

/// The namespaces entered, in order (mount last: it changes what paths mean).
const NAMESPACES: [&str; 5] = ["ipc", "uts", "net", "pid", "mnt"];

/// Entry of the enter stage; the exit code mirrors the command's (127: setup failed,
/// with the reason on stderr, which the caller sees).
pub fn enter_main(spec_path: &Path, pid: &str, argv: &[String]) -> ExitCode {
    match enter(spec_path, pid, argv) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("orch alloc exec: {e}");
            ExitCode::from(127)
        }
    }
}

fn enter(spec_path: &Path, pid: &str, argv: &[String]) -> Result<ExitCode, String> {
    let spec = super::shim::read_spec(spec_path)?;
    let iso = spec.isolation.as_ref().ok_or("the task is not isolated")?;
    let pid: i32 = pid.parse().map_err(|_| format!("bad task pid {pid:?}"))?;
    if argv.is_empty() {
        return Err("no command to run".into());
    }
    if let Some(cg) = &spec.cgroup {
        join_cgroup(cg)?;
    }
    // Open everything first: after the mount namespace changes, /proc/<pid> may not be
    // the same (or visible) any more.
    let open = |what: &str| {
        let path = format!("/proc/{pid}/{what}");
        File::open(&path).map_err(|e| format!("cannot open {path} (is the task running?): {e}"))
    };
    let namespaces: Vec<(&str, File)> = NAMESPACES
        .iter()
        .map(|ns| Ok((*ns, open(&format!("ns/{ns}"))?)))
        .collect::<Result<_, String>>()?;
    let root = open("root")?;
    for (name, ns) in &namespaces {
        // SAFETY: setns on a descriptor we own; this process is single-threaded.
        if unsafe { libc::setns(ns.as_raw_fd(), 0) } != 0 {
            return Err(errno(format!("cannot enter the task's {name} namespace")));
        }
    }
    // SAFETY: fchdir on an open directory descriptor, then chroot to "." (a valid
    // NUL-terminated string).
    if unsafe { libc::fchdir(root.as_raw_fd()) } != 0 || unsafe { libc::chroot(c".".as_ptr()) } != 0
    {
        return Err(errno("cannot enter the task's root".into()));
    }
    drop(root);
    drop(namespaces);
    std::env::set_current_dir(&spec.cwd)
        .or_else(|_| std::env::set_current_dir("/"))
        .map_err(|e| format!("cannot change to {}: {e}", spec.cwd.display()))?;
    for sig in FORWARDED {
        // SAFETY: setting a disposition has no memory-safety preconditions.
        unsafe { libc::signal(sig, libc::SIG_IGN) };
    }
    // SAFETY: this process is single-threaded, so the child may run ordinary code.
    match unsafe { libc::fork() } {
        -1 => Err(errno("cannot fork the command".into())),
        0 => {
            // SAFETY: prctl with an integer argument; the child dies with its parent.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
            let err = match exec_in_root(argv, &spec.env, spec.user, iso.caps) {
                Ok(never) => match never {},
                Err(e) => e,
            };
            eprintln!("orch alloc exec: {err}");
            // SAFETY: _exit skips destructors, which must not run twice after a fork.
            unsafe { libc::_exit(127) }
        }
        child => Ok(wait_and_mirror(child)),
    }
}
