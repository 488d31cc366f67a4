//! Opening files below a directory a task can write to, without following symlinks.
//!
//! The agent and the shim run as root and read or write files inside allocation
//! directories (logs, templates, payloads, artifacts, `/v1/client/fs/*`), where a hostile
//! task may have planted a symlink (`alloc/logs/web.stdout.0 -> /etc/passwd`) or swapped a
//! directory for one. Every such access goes through [`Dir`]: a directory descriptor of a
//! trusted path, from which a relative path is resolved with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)` where the kernel
//! has it (Linux 5.6), and otherwise one `openat(O_NOFOLLOW)` per component. Either way a
//! symlink anywhere in the relative path, `..`, or an absolute path is refused
//! ([`is_refused`]), and nothing is ever created through a link.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether `openat2` was found missing (ENOSYS, or refused by a seccomp filter), so the
/// per-component walk is used from then on.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// An open directory that relative paths are resolved beneath.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
}

/// Whether `e` is a refusal of this module (a symlink, `..` or an absolute path on the
/// way), as opposed to a missing file or an I/O error; callers answer it with a 4xx.
/// `ENOTDIR` counts: `O_DIRECTORY | O_NOFOLLOW` on a symlinked directory reports it.
pub fn is_refused(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ELOOP) | Some(libc::EXDEV) | Some(libc::ENOTDIR)
    ) || e.kind() == io::ErrorKind::InvalidInput
}

fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path component {name:?} contains a NUL byte"),
        )
    })
}

/// The normal components of `rel`; `..`, roots and prefixes are refused.
fn components(rel: &Path) -> io::Result<Vec<&OsStr>> {
    let mut out = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "path {} leaves its directory (use a relative path without ..)",
                        rel.display()
                    ),
                ));
            }
        }
    }
    Ok(out)
}

fn check(r: libc::c_int) -> io::Result<OwnedFd> {
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: r is a descriptor the kernel just returned to us.
    Ok(unsafe { OwnedFd::from_raw_fd(r) })
}

fn openat(dir: &OwnedFd, name: &OsStr, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    let flags = flags | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: c is NUL-terminated and alive for the call; dir is an open descriptor.
    check(unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags, mode as libc::c_uint) })
}

fn openat2(
    dir: &OwnedFd,
    rel: &Path,
    flags: libc::c_int,
    mode: u32,
) -> Option<io::Result<OwnedFd>> {
    if NO_OPENAT2.load(Ordering::Relaxed) {
        return None;
    }
    let c = match cstr(rel.as_os_str()) {
        Ok(c) => c,
        Err(e) => return Some(Err(e)),
    };
    // SAFETY: open_how is a plain C struct; all-zero is its documented default.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_NOFOLLOW | libc::O_CLOEXEC) as u64;
    how.mode = if flags & libc::O_CREAT != 0 {
        u64::from(mode)
    } else {
        0
    };
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: how and c are valid for the call; the size is the struct's.
    let r = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        if matches!(
            e.raw_os_error(),
            Some(libc::ENOSYS) | Some(libc::EPERM) | Some(libc::E2BIG)
        ) {
            NO_OPENAT2.store(true, Ordering::Relaxed);
            return None;
        }
        return Some(Err(e));
    }
    // SAFETY: r is a descriptor the kernel just returned to us.
    Some(Ok(unsafe { OwnedFd::from_raw_fd(r as libc::c_int) }))
}

impl Dir {
    /// Opens `path`, a directory the agent trusts (its own data dir, an allocation
    /// directory it created); only its last component is checked for being a symlink.
    pub fn open(path: &Path) -> io::Result<Dir> {
        let path = if path.as_os_str().is_empty() {
            Path::new(".")
        } else {
            path
        };
        let c = cstr(path.as_os_str())?;
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: c is NUL-terminated and alive for the call.
        let fd = check(unsafe { libc::open(c.as_ptr(), flags) })?;
        Ok(Dir { fd })
    }

    /// Opens `path` trusting all but its last `untrusted` components, which are resolved
    /// beneath the rest (`Dir::open_tail("<alloc>/alloc/logs", 2)` refuses a swapped
    /// `alloc` or `logs`).
    pub fn open_tail(path: &Path, untrusted: usize) -> io::Result<Dir> {
        let mut base = path;
        let mut tail = Vec::new();
        for _ in 0..untrusted {
            match (base.parent(), base.file_name()) {
                (Some(p), Some(n)) => {
                    tail.push(n);
                    base = p;
                }
                _ => break,
            }
        }
        let mut rel = std::path::PathBuf::new();
        for n in tail.iter().rev() {
            rel.push(n);
        }
        let root = Dir::open(base)?;
        if rel.as_os_str().is_empty() {
            return Ok(root);
        }
        root.open_dir(&rel)
    }

    /// Opens `rel` below this directory with open(2) `flags` (`O_NOFOLLOW` and
    /// `O_CLOEXEC` are always added); `mode` applies when `O_CREAT` creates the file.
    pub fn open_at(&self, rel: &Path, flags: libc::c_int, mode: u32) -> io::Result<File> {
        let parts = components(rel)?;
        if parts.is_empty() {
            let dot = OsStr::new(".");
            return openat(&self.fd, dot, flags & !libc::O_CREAT, 0).map(File::from);
        }
        let joined: std::path::PathBuf = parts.iter().collect();
        if let Some(r) = openat2(&self.fd, &joined, flags, mode) {
            return r.map(File::from);
        }
        self.walk(&parts, flags, mode)
    }

    /// The fallback of [`Dir::open_at`] without `openat2`: one `openat(O_NOFOLLOW)` per
    /// component.
    fn walk(&self, parts: &[&OsStr], flags: libc::c_int, mode: u32) -> io::Result<File> {
        let (last, dirs) = parts
            .split_last()
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        let mut cur: Option<OwnedFd> = None;
        for d in dirs {
            let at = cur.as_ref().unwrap_or(&self.fd);
            cur = Some(openat(at, d, libc::O_RDONLY | libc::O_DIRECTORY, 0)?);
        }
        openat(cur.as_ref().unwrap_or(&self.fd), last, flags, mode).map(File::from)
    }

    /// [`Dir::open_at`] through the per-component walk, whatever the kernel offers (so
    /// tests cover the fallback on kernels with `openat2`).
    #[cfg(test)]
    pub(crate) fn open_walk(&self, rel: &Path, flags: libc::c_int, mode: u32) -> io::Result<File> {
        self.walk(&components(rel)?, flags, mode)
    }

    /// Opens the directory `rel` below this one.
    pub fn open_dir(&self, rel: &Path) -> io::Result<Dir> {
        let f = self.open_at(rel, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
        Ok(Dir { fd: f.into() })
    }

    /// Opens `rel` for reading without blocking on a FIFO (`O_NONBLOCK`), so the caller
    /// can look at the file type before reading.
    pub fn open_read(&self, rel: &Path) -> io::Result<File> {
        self.open_at(rel, libc::O_RDONLY | libc::O_NONBLOCK, 0)
    }

    /// The metadata of `rel` itself (a symlink as a symlink, never its target), through
    /// an `O_PATH` descriptor.
    pub fn metadata(&self, rel: &Path) -> io::Result<std::fs::Metadata> {
        let parts = components(rel)?;
        match parts.split_last() {
            None => File::from(self.fd.try_clone()?).metadata(),
            Some((last, dirs)) => {
                let parent = if dirs.is_empty() {
                    Dir {
                        fd: self.fd.try_clone()?,
                    }
                } else {
                    self.open_dir(&dirs.iter().collect::<std::path::PathBuf>())?
                };
                File::from(openat(&parent.fd, last, libc::O_PATH, 0)?).metadata()
            }
        }
    }

    /// Creates the directories of `rel` below this one (mode `mode` for new ones, as
    /// umask allows; existing ones are kept) and opens the last.
    pub fn create_dir_all(&self, rel: &Path, mode: u32) -> io::Result<Dir> {
        let mut cur = Dir {
            fd: self.fd.try_clone()?,
        };
        for part in components(rel)? {
            let c = cstr(part)?;
            // SAFETY: c is NUL-terminated; cur.fd is an open directory.
            let r = unsafe { libc::mkdirat(cur.fd.as_raw_fd(), c.as_ptr(), mode as libc::mode_t) };
            if r != 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::AlreadyExists {
                    return Err(e);
                }
            }
            cur = Dir {
                fd: openat(&cur.fd, part, libc::O_RDONLY | libc::O_DIRECTORY, 0)?,
            };
        }
        Ok(cur)
    }

    /// Sets this directory's mode (fchmod: never through a link).
    pub fn set_mode(&self, mode: u32) -> io::Result<()> {
        // SAFETY: fchmod on an open descriptor.
        if unsafe { libc::fchmod(self.fd.as_raw_fd(), mode as libc::mode_t) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Sets this directory's owner (fchown: never through a link).
    pub fn set_owner(&self, uid: u32, gid: u32) -> io::Result<()> {
        // SAFETY: fchown on an open descriptor.
        if unsafe { libc::fchown(self.fd.as_raw_fd(), uid, gid) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Removes the entry `name` of this directory (a symlink is removed, not followed).
    pub fn remove_file(&self, name: &OsStr) -> io::Result<()> {
        let c = cstr(name)?;
        // SAFETY: c is NUL-terminated; the descriptor is open.
        if unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), 0) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The entries' names of this directory.
    pub fn entries(&self) -> io::Result<Vec<std::ffi::OsString>> {
        let path = format!("/proc/self/fd/{}", self.fd.as_raw_fd());
        let mut out = Vec::new();
        for e in std::fs::read_dir(path)? {
            out.push(e?.file_name());
        }
        Ok(out)
    }

    /// Writes `bytes` to the file `rel` (created with `mode`, truncated; parents created
    /// 0755), never through a symlink and never into a FIFO or device.
    pub fn write_file(&self, rel: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
        let parent = match rel.parent() {
            Some(p) if !p.as_os_str().is_empty() => self.create_dir_all(p, 0o755)?,
            _ => Dir {
                fd: self.fd.try_clone()?,
            },
        };
        let name = rel
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
        // O_NONBLOCK: a FIFO planted here must not hang the writer (it is refused below).
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NONBLOCK;
        let mut f = parent.open_at(Path::new(name), flags, mode)?;
        if !f.metadata()?.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a regular file", rel.display()),
            ));
        }
        f.write_all(bytes)
    }

    /// Replaces the file `name` of this directory atomically (a `.tmp` sibling, fsync,
    /// rename), created with `mode`; readers never see a partial file and a planted
    /// symlink is replaced, not written through.
    pub fn write_atomic(&self, name: &OsStr, bytes: &[u8], mode: u32) -> io::Result<()> {
        let mut tmp = name.to_os_string();
        tmp.push(".tmp");
        match self.remove_file(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL;
        let mut f = self.open_at(Path::new(&tmp), flags, mode)?;
        // Exactly `mode`, whatever the umask took away at creation.
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        let (a, b) = (cstr(&tmp)?, cstr(name)?);
        let fd = self.fd.as_raw_fd();
        // SAFETY: both names are NUL-terminated; the descriptor is open.
        if unsafe { libc::renameat(fd, a.as_ptr(), fd, b.as_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Dir {
    /// Moves every entry of this directory into `dst` ([`Dir::move_entry`] each): how a
    /// tree built in a private staging directory (an unpacked artifact) is put into a
    /// directory a task can write to, without one path lookup the task could redirect.
    pub fn move_entries_into(&self, dst: &Dir) -> io::Result<()> {
        self.move_entries_at_depth(dst, 0)
    }

    fn move_entries_at_depth(&self, dst: &Dir, depth: usize) -> io::Result<()> {
        if depth > MAX_MOVE_DEPTH {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("directories nested deeper than {MAX_MOVE_DEPTH} levels"),
            ));
        }
        for name in self.entries()? {
            self.move_entry_at_depth(&name, dst, &name, depth)?;
        }
        Ok(())
    }

    /// Moves the entry `name` of this directory to `dst_name` in `dst` (renameat, so
    /// both must be on one filesystem). A directory merges into a real directory already
    /// there; anything else in the way (a file, a symlink a task planted) is replaced,
    /// never followed.
    pub fn move_entry(&self, name: &OsStr, dst: &Dir, dst_name: &OsStr) -> io::Result<()> {
        self.move_entry_at_depth(name, dst, dst_name, 0)
    }

    fn move_entry_at_depth(
        &self,
        name: &OsStr,
        dst: &Dir,
        dst_name: &OsStr,
        depth: usize,
    ) -> io::Result<()> {
        if self.metadata(Path::new(name))?.is_dir() {
            match dst.metadata(Path::new(dst_name)) {
                Ok(m) if m.is_dir() => {
                    let from = self.open_dir(Path::new(name))?;
                    let to = dst.open_dir(Path::new(dst_name))?;
                    return from.move_entries_at_depth(&to, depth + 1);
                }
                Ok(_) => dst.remove_file(dst_name)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        let (a, b) = (cstr(name)?, cstr(dst_name)?);
        // SAFETY: both names are NUL-terminated; both descriptors are open directories.
        let r = unsafe {
            libc::renameat(
                self.fd.as_raw_fd(),
                a.as_ptr(),
                dst.fd.as_raw_fd(),
                b.as_ptr(),
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// How deep [`Dir::move_entries_into`] merges directories (an archive's paths are
/// bounded by `PATH_MAX` anyway; this bounds the recursion).
const MAX_MOVE_DEPTH: usize = 256;

/// Writes `bytes` to `path` atomically with mode 0600 (owner only: state files hold
/// secrets and environments), trusting the directory of `path` but no link at `path`.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} names no file in a directory", path.display()),
        ));
    };
    Dir::open(dir)?.write_atomic(name, bytes, 0o600)
}

#[cfg(test)]
mod tests;
