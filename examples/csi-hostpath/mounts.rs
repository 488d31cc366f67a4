//! Bind mounts and the mount table: `mount(2)`/`umount2(2)` through libc, and
//! `/proc/self/mountinfo` to tell whether a path is already a mount point (what makes
//! stage and publish idempotent).

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// One mount point of the mount table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountPoint {
    /// The filesystem's device (`major:minor`).
    pub dev: String,
    /// The directory of that filesystem mounted here (a bind mount's source).
    pub root: PathBuf,
    /// Where it is mounted.
    pub path: PathBuf,
    /// Whether it is mounted read-only.
    pub read_only: bool,
}

/// The mount points of this process's mount namespace.
pub fn mount_points() -> io::Result<Vec<MountPoint>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")?;
    Ok(parse_mountinfo(&text))
}

/// Parses mountinfo: fields 3 to 6 are the device, the root within it, the mount
/// point (both with octal escapes for space, tab, newline, backslash) and the
/// per-mount options.
pub fn parse_mountinfo(text: &str) -> Vec<MountPoint> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(' ').skip(2);
            let dev = fields.next()?;
            let root = fields.next()?;
            let path = fields.next()?;
            let options = fields.next()?;
            Some(MountPoint {
                dev: dev.to_string(),
                root: PathBuf::from(unescape(root)),
                path: PathBuf::from(unescape(path)),
                read_only: options.split(',').any(|o| o == "ro"),
            })
        })
        .collect()
}

/// Where `dir` lives: the device of the filesystem holding it (the mount with the
/// longest prefix of its path) and its path within that filesystem, which is what a
/// bind mount of `dir` shows as its root. Also that holding mount's path.
fn fs_location(dir: &Path, table: &[MountPoint]) -> io::Result<Option<(String, PathBuf, PathBuf)>> {
    let dir = std::fs::canonicalize(dir)?;
    let home = table
        .iter()
        .filter(|m| dir.starts_with(&m.path))
        .max_by_key(|m| m.path.as_os_str().len());
    Ok(home.and_then(|home| {
        let rest = dir.strip_prefix(&home.path).ok()?;
        Some((home.dev.clone(), home.root.join(rest), home.path.clone()))
    }))
}

/// Whether `dir` (or something in it) is bind-mounted anywhere.
pub fn is_bind_mounted(dir: &Path) -> io::Result<bool> {
    let table = mount_points()?;
    let Some((dev, root, home)) = fs_location(dir, &table)? else {
        return Ok(false);
    };
    Ok(table
        .iter()
        .any(|m| m.dev == dev && m.path != home && m.root.starts_with(&root)))
}

/// Whether `mount` shows exactly the directory `dir` (a bind mount of it, or of a
/// bind mount of it).
pub fn shows(mount: &MountPoint, dir: &Path) -> io::Result<bool> {
    let table = mount_points()?;
    Ok(fs_location(dir, &table)?
        .is_some_and(|(dev, root, _)| mount.dev == dev && mount.root == root))
}

/// Undoes mountinfo's `\NNN` octal escapes.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                let value =
                    (d[0] - b'0') as u32 * 64 + (d[1] - b'0') as u32 * 8 + (d[2] - b'0') as u32;
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The topmost mount at `path` (the last in the table), if `path` is a mount point.
pub fn mount_at(path: &Path) -> io::Result<Option<MountPoint>> {
    let wanted = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    Ok(mount_points()?.into_iter().rev().find(|m| m.path == wanted))
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path holds a NUL byte"))
}

/// Bind-mounts `source` on `target`; read-only takes a second step (a bind mount
/// ignores `MS_RDONLY` until remounted), undone if that step fails.
pub fn bind(source: &Path, target: &Path, read_only: bool) -> io::Result<()> {
    let (src, dst) = (c_path(source)?, c_path(target)?);
    let mount = |flags: libc::c_ulong| {
        // SAFETY: both paths are NUL-terminated C strings alive for the call; the
        // filesystem type and data are null, as bind mounts take.
        let rc = unsafe {
            libc::mount(
                src.as_ptr(),
                dst.as_ptr(),
                std::ptr::null(),
                flags,
                std::ptr::null(),
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    };
    mount(libc::MS_BIND)?;
    if read_only && let Err(err) = mount(libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY) {
        let _ = unmount(target);
        return Err(err);
    }
    Ok(())
}

/// Unmounts everything stacked at `target`: a plain unmount, lazily (`MNT_DETACH`)
/// when the mount is busy, so a workload still holding a file open cannot keep it.
pub fn unmount(target: &Path) -> io::Result<()> {
    let dst = c_path(target)?;
    for _ in 0..16 {
        if mount_at(target)?.is_none() {
            return Ok(());
        }
        // SAFETY: `dst` is a NUL-terminated C string alive for both calls.
        let rc = unsafe { libc::umount2(dst.as_ptr(), 0) };
        if rc != 0 {
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EBUSY) => {
                    // SAFETY: as above.
                    if unsafe { libc::umount2(dst.as_ptr(), libc::MNT_DETACH) } != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                Some(libc::EINVAL) => return Ok(()), // not a mount point after all
                _ => return Err(err),
            }
        }
    }
    Err(io::Error::other(
        "mounts are still stacked after 16 unmounts",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_give_paths_and_read_only() {
        let text = "36 35 98:0 /mnt1 /mnt/a\\040b rw,noatime master:1 - ext3 /dev/root rw\n\
                    37 35 98:0 / /ro ro,relatime shared:2 - ext4 /dev/sda ro\n";
        let points = parse_mountinfo(text);
        assert_eq!(points[0].dev, "98:0");
        assert_eq!(points[0].root, PathBuf::from("/mnt1"));
        assert_eq!(points[0].path, PathBuf::from("/mnt/a b"));
        assert!(!points[0].read_only);
        assert_eq!(points[1].path, PathBuf::from("/ro"));
        assert!(points[1].read_only);
    }
}
