//! The isolating init stage, `orch task-shim --init <fd> <spec.json>`, spawned by the
//! shim in the task's process group for exec (and java as root).
//!
//! `unshare(CLONE_NEWPID)` only moves the caller's *children* into the new pid namespace,
//! so this stage unshares (pid, mount, ipc, uts), then forks: the child is pid 1 of the new
//! namespace; it joins the cgroup, builds the chroot in its private mount namespace (so
//! no mount is visible on the host), sets the hostname, drops to the task's user and
//! execs the task. The parent stays behind ignoring signals, waits, and exits the way the
//! task did (same code, or re-raising the same signal), so the shim sees the task's
//! status. Setup failures go to the status descriptor `<fd>`, which the shim reads until
//! the close-on-exec of a successful exec closes it.
//!
//! Both processes are fresh single-threaded processes, so the forked child may run
//! ordinary code.

use std::ffi::CString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::fd::FromRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::shim::{Isolation, ShimSpec};

/// Signals the waiting parent ignores (the task gets them through the process group).
pub(super) const FORWARDED: [i32; 9] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGPIPE,
    libc::SIGTTIN,
    libc::SIGTTOU,
];

/// Host directories bound read-only into an exec chroot, when they exist.
pub const CHROOT_DIRS: [&str; 7] = ["/bin", "/etc", "/lib", "/lib32", "/lib64", "/sbin", "/usr"];

/// Device nodes bound into the chroot's `/dev`.
const DEVICES: [&str; 5] = ["null", "zero", "random", "urandom", "tty"];

/// Entry of the init stage; never returns on success in the child (it execs).
pub fn init_main(fd: &str, spec_path: &Path) -> ExitCode {
    let Ok(fd) = fd.parse::<i32>() else {
        eprintln!("orch task-shim --init: bad status descriptor {fd:?}");
        return ExitCode::from(2);
    };
    // SAFETY: the shim passed us this descriptor, open and ours alone.
    let mut status = unsafe { File::from_raw_fd(fd) };
    // SAFETY: fcntl on a descriptor we own; close-on-exec so only setup failures are
    // ever written to it and a successful exec closes it.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    let fail = |status: &mut File, msg: String| {
        let _ = status.write_all(msg.as_bytes());
        ExitCode::from(127)
    };
    let spec: ShimSpec = match fs::read(spec_path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => return fail(&mut status, format!("cannot read task spec: {e}")),
    };
    let Some(iso) = spec.isolation.clone() else {
        return fail(&mut status, "task spec has no isolation".into());
    };
    for sig in FORWARDED {
        // SAFETY: setting a disposition has no memory-safety preconditions.
        unsafe { libc::signal(sig, libc::SIG_IGN) };
    }
    if let Some(path) = &iso.netns
        && let Err(e) = join_netns(path)
    {
        return fail(
            &mut status,
            format!("cannot join the network namespace {}: {e}", path.display()),
        );
    }
    let flags = libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS;
    // SAFETY: unshare has no memory-safety preconditions.
    if unsafe { libc::unshare(flags) } != 0 {
        let e = io::Error::last_os_error();
        return fail(
            &mut status,
            format!("cannot create namespaces (exec needs root and namespace support): {e}"),
        );
    }
    // SAFETY: this process is single-threaded (see the module doc).
    match unsafe { libc::fork() } {
        -1 => {
            let e = io::Error::last_os_error();
            fail(&mut status, format!("cannot fork the task: {e}"))
        }
        0 => {
            let err = setup_and_exec(&spec, &iso);
            let _ = status.write_all(err.as_bytes());
            // SAFETY: _exit skips destructors, which must not run twice after a fork.
            unsafe { libc::_exit(127) }
        }
        child => {
            drop(status);
            wait_and_mirror(child)
        }
    }
}

/// Moves this (single-threaded) process into the network namespace at `path`; the
/// task, forked next, inherits it.
fn join_netns(path: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let ns = File::open(path)?;
    // SAFETY: setns on a descriptor we own; no memory-safety preconditions.
    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Waits for pid 1 and ends this process the same way.
pub(super) fn wait_and_mirror(child: i32) -> ExitCode {
    let mut st = 0;
    loop {
        // SAFETY: st is a valid out pointer.
        let r = unsafe { libc::waitpid(child, &mut st, 0) };
        if r == child {
            break;
        }
        if r == -1 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return ExitCode::from(125);
        }
    }
    if libc::WIFEXITED(st) {
        return ExitCode::from(libc::WEXITSTATUS(st) as u8);
    }
    let sig = libc::WTERMSIG(st);
    // SAFETY: restoring the default action and raising the signal on ourselves; no core
    // dump of this process is wanted, so limit it first.
    unsafe {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::kill(libc::getpid(), sig);
    }
    ExitCode::from(128u8.wrapping_add(sig as u8))
}

/// `what` with the last OS error.
pub(super) fn errno(what: String) -> String {
    format!("{what}: {}", io::Error::last_os_error())
}

fn cstr(p: &Path) -> Result<CString, String> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| format!("path {} has a NUL", p.display()))
}

fn mount(src: Option<&Path>, dst: &Path, fstype: Option<&str>, flags: u64) -> Result<(), String> {
    let src_c = src.map(cstr).transpose()?;
    let dst_c = cstr(dst)?;
    let fs_c = fstype
        .map(|f| CString::new(f).map_err(|_| "bad fs type".to_string()))
        .transpose()?;
    let ptr = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is null or a NUL-terminated string alive for the call.
    let r = unsafe {
        libc::mount(
            ptr(&src_c),
            dst_c.as_ptr(),
            ptr(&fs_c),
            flags as libc::c_ulong,
            std::ptr::null(),
        )
    };
    if r != 0 {
        return Err(errno(format!(
            "cannot mount {} on {}",
            src.map_or("-".into(), |s| s.display().to_string()),
            dst.display()
        )));
    }
    Ok(())
}

/// Binds `src` at `dst`, then remounts it `nosuid` (no setuid binary of the host
/// raises privileges inside), and `ro,nodev` for read-only binds (host directories) and
/// `nodev` for the allocation directory, so a device node a task creates there opens
/// nothing. Device binds under `/dev` pass `devices = true`.
fn bind(src: &Path, dst: &Path, read_only: bool, devices: bool) -> Result<(), String> {
    let rec = libc::MS_BIND | libc::MS_REC;
    mount(Some(src), dst, None, rec)?;
    let mut flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_NOSUID;
    if read_only {
        flags |= libc::MS_RDONLY;
    }
    if !devices {
        flags |= libc::MS_NODEV;
    }
    mount(None, dst, None, flags)
}

/// Binds a host volume at its destination inside `root`: the directories on the way
/// are created without following links (the task directory is the task's to write),
/// then the bind is remounted `nosuid,nodev` (and `ro` when read-only). Propagation is
/// `private`: the task's mount namespace is private as a whole (see `build_root`), so
/// the exec driver refuses the other modes up front.
fn bind_volume(root: &Path, v: &super::TaskVolume) -> Result<(), String> {
    let rel = v.destination.strip_prefix("/").unwrap_or(&v.destination);
    crate::client::safe_path::Dir::open(root)
        .and_then(|d| d.create_dir_all(rel, 0o755))
        .map_err(|e| {
            format!(
                "cannot create the mount point {}: {e}",
                v.destination.display()
            )
        })?;
    let dst = inside(root, &v.destination);
    bind(&v.host_path, &dst, v.read_only, false)
        .map_err(|e| format!("cannot mount host volume {}: {e}", v.host_path.display()))
}

/// `root` + absolute `path`.
fn inside(root: &Path, path: &Path) -> PathBuf {
    root.join(path.strip_prefix("/").unwrap_or(path))
}

/// Builds the chroot. Runs in the task's private mount namespace.
fn build_root(iso: &Isolation) -> Result<(), String> {
    let root = &iso.root;
    // Nothing mounted from here on may propagate to the host.
    mount(None, Path::new("/"), None, libc::MS_REC | libc::MS_PRIVATE)?;
    let mkdir =
        |p: &Path| fs::create_dir_all(p).map_err(|e| format!("cannot create {}: {e}", p.display()));
    for host in &iso.ro_binds {
        let Ok(meta) = fs::symlink_metadata(host) else {
            continue;
        };
        let dst = inside(root, host);
        if meta.file_type().is_symlink() {
            let target =
                fs::read_link(host).map_err(|e| format!("cannot read {}: {e}", host.display()))?;
            if fs::symlink_metadata(&dst).is_err() {
                symlink(&target, &dst)
                    .map_err(|e| format!("cannot create {}: {e}", dst.display()))?;
            }
            continue;
        }
        mkdir(&dst)?;
        bind(host, &dst, true, false)?;
    }
    for (host, at) in &iso.rw_binds {
        let dst = inside(root, at);
        mkdir(&dst)?;
        bind(host, &dst, false, false)?;
    }
    for v in &iso.volumes {
        bind_volume(root, v)?;
    }
    let proc_dir = root.join("proc");
    mkdir(&proc_dir)?;
    let nosuid = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    mount(Some(Path::new("proc")), &proc_dir, Some("proc"), nosuid)?;
    let dev = root.join("dev");
    mkdir(&dev)?;
    mount(
        Some(Path::new("tmpfs")),
        &dev,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NOEXEC,
    )?;
    for name in DEVICES {
        let host = Path::new("/dev").join(name);
        if !host.exists() {
            continue;
        }
        let dst = dev.join(name);
        File::create(&dst).map_err(|e| format!("cannot create {}: {e}", dst.display()))?;
        bind(&host, &dst, false, true)?;
    }
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        let _ = symlink(target, dev.join(name));
    }
    mkdir(&dev.join("shm"))?;
    for dir in ["local", "secrets", "tmp"] {
        mkdir(&root.join(dir))?;
    }
    Ok(())
}

/// Pid 1's work: cgroup, chroot, hostname, user, exec. Returns only on failure.
fn setup_and_exec(spec: &ShimSpec, iso: &Isolation) -> String {
    match try_setup(spec, iso) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

fn try_setup(spec: &ShimSpec, iso: &Isolation) -> Result<std::convert::Infallible, String> {
    if let Some(cg) = &spec.cgroup {
        join_cgroup(cg)?;
    }
    build_root(iso)?;
    let host = iso.hostname.as_bytes();
    // SAFETY: host is valid for host.len() bytes.
    if unsafe { libc::sethostname(host.as_ptr().cast(), host.len()) } != 0 {
        return Err(errno(format!("cannot set hostname {:?}", iso.hostname)));
    }
    let root = cstr(&iso.root)?;
    // SAFETY: root is a NUL-terminated string.
    if unsafe { libc::chroot(root.as_ptr()) } != 0 {
        return Err(errno(format!("cannot chroot to {}", iso.root.display())));
    }
    std::env::set_current_dir(&spec.cwd)
        .or_else(|_| std::env::set_current_dir("/"))
        .map_err(|e| format!("cannot change to {}: {e}", spec.cwd.display()))?;
    exec_in_root(&spec.argv, &spec.env, spec.user, iso.caps)
}

/// Moves this process into the task's cgroup (every hierarchy, v1 or v2).
pub(super) fn join_cgroup(cg: &super::cgroup::TaskCgroup) -> Result<(), String> {
    for procs in cg.procs_files() {
        fs::write(&procs, "0")
            .map_err(|e| format!("cannot join cgroup {}: {e}", procs.display()))?;
    }
    Ok(())
}

/// The last step into a task's root (the task itself, or `alloc exec`'s command):
/// resolves `argv[0]` on the task's `PATH` inside the current root, drops to `user` with
/// `caps`, restores default signal handling and execs. Returns only on failure.
pub(super) fn exec_in_root(
    argv: &[String],
    env: &std::collections::BTreeMap<String, String>,
    user: Option<super::shim::UserIds>,
    caps: super::caps::CapSet,
) -> Result<std::convert::Infallible, String> {
    let program = argv.first().ok_or("no command to run")?;
    let path_env = env.get("PATH").map_or(super::DEFAULT_PATH, |p| p);
    let resolved = super::resolve_command(program, Path::new("/"), path_env).ok_or_else(|| {
        format!("command {program:?} not found in the task's chroot (PATH={path_env})")
    })?;
    super::privileges::drop_privileges(user, caps)?;
    let argv: Vec<CString> = std::iter::once(cstr(&resolved))
        .chain(
            argv[1..]
                .iter()
                .map(|a| CString::new(a.as_str()).map_err(|_| format!("argument {a:?} has a NUL"))),
        )
        .collect::<Result<_, _>>()?;
    let envp: Vec<CString> = env
        .iter()
        .filter_map(|(k, v)| CString::new(format!("{k}={v}")).ok())
        .collect();
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|a| a.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    // SAFETY: restore default dispositions and an empty mask for the task; the arrays are
    // NULL-terminated and point at strings alive for the call.
    unsafe {
        for sig in 1..32 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        libc::execve(argv_p[0], argv_p.as_ptr(), envp_p.as_ptr());
    }
    Err(errno(format!("cannot execute {}", resolved.display())))
}
