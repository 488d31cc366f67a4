//! Named network namespaces: a namespace kept alive by a bind mount of its nsfs file on
//! a plain file, as `ip netns add` does, so it outlives the thread that made it and a
//! restarted client finds it again by path.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// `statfs` type of nsfs, the filesystem of `/proc/*/ns/*` and their bind mounts.
const NSFS_MAGIC: i64 = 0x6e73_6673;

fn cstr(p: &Path) -> io::Result<std::ffi::CString> {
    std::ffi::CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path with a NUL byte"))
}

/// Whether `path` is a bind-mounted network namespace (not just the empty file).
pub fn is_netns(path: &Path) -> bool {
    let Ok(c) = cstr(path) else { return false };
    // SAFETY: an all-zero statfs is a valid out value; c is NUL-terminated.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::statfs(c.as_ptr(), &mut st) == 0 && st.f_type as i64 == NSFS_MAGIC }
}

/// Creates the namespace `dir/name` (or finds it, after a client restart) and returns
/// its path. The new namespace has only a down loopback; CNI sets it up.
pub fn create(dir: &Path, name: &str) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let path = dir.join(name);
    if is_netns(&path) {
        return Ok(path);
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    let target = path.clone();
    // A thread of its own: unshare moves only the calling thread, which then ends, so
    // no other code of the agent ever runs inside the new namespace.
    let made = std::thread::spawn(move || -> io::Result<()> {
        // SAFETY: unshare has no memory-safety preconditions.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let src = cstr(Path::new("/proc/thread-self/ns/net"))?;
        let dst = cstr(&target)?;
        // SAFETY: both strings are NUL-terminated; a bind mount takes no data.
        let r = unsafe {
            libc::mount(
                src.as_ptr(),
                dst.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    })
    .join()
    .map_err(|_| io::Error::other("the namespace thread panicked"))?;
    if let Err(e) = made {
        let _ = fs::remove_file(&path);
        return Err(e);
    }
    Ok(path)
}

/// Unmounts and removes the namespace at `path` (gone with its last user: veths inside
/// are destroyed with it). Missing is fine.
pub fn remove(path: &Path) -> io::Result<()> {
    if is_netns(path) {
        let c = cstr(path)?;
        // SAFETY: c is NUL-terminated.
        if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
