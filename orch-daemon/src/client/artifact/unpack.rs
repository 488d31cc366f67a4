//! Putting a fetched artifact in place: files, directories, and tar/zip archives unpacked with every entry checked against the destination.

use super::*;

/// Puts the local copy of the artifact where it belongs (blocking).
pub(super) fn install(req: &Request, local: &Path, dest: &Path) -> Result<(), ArtifactError> {
    let io_err = |path: &Path, error: io::Error| ArtifactError::Io {
        artifact: req.label.clone(),
        path: path.display().to_string(),
        error,
    };
    let meta = fs::metadata(local).map_err(|e| io_err(local, e))?;
    if meta.is_dir() {
        if req.mode == Mode::File {
            return Err(ArtifactError::Invalid {
                artifact: req.label.clone(),
                what: "mode \"file\" but the source is a directory".into(),
            });
        }
        if req.checksum.is_some() {
            return Err(ArtifactError::Invalid {
                artifact: req.label.clone(),
                what: "a checksum cannot be checked on a directory".into(),
            });
        }
        return copy_dir(local, dest).map_err(|e| io_err(local, e));
    }
    // Local files are checked here; downloads were checked while streaming.
    if let (Source::Path(_), Some((kind, expected))) = (&req.source, &req.checksum) {
        let mut h = Hasher::new(*kind);
        let mut f = fs::File::open(local).map_err(|e| io_err(local, e))?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f.read(&mut buf).map_err(|e| io_err(local, e))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        verify(req, *kind, expected, h.hex())?;
    }

    let open = || fs::File::open(local).map_err(|e| io_err(local, e));
    let unpack_err = |e: io::Error| ArtifactError::Archive {
        artifact: req.label.clone(),
        message: e.to_string(),
    };
    match req.archive {
        Some(Archive::Tar) => unpack_tar(req, open()?, dest),
        Some(Archive::TarGz) => unpack_tar(req, flate2::read::GzDecoder::new(open()?), dest),
        Some(Archive::Zip) => unpack_zip(req, open()?, dest),
        Some(Archive::Gz) => {
            let target = match req.mode {
                Mode::File => dest.to_path_buf(),
                _ => {
                    let name = req
                        .file_name
                        .trim_end_matches(".gz")
                        .trim_end_matches(".GZ");
                    file_target(req, dest, name)?
                }
            };
            let mut out = create_file(&target).map_err(|e| io_err(&target, e))?;
            let mut budget = Budget::new(req);
            budget.entry(&req.file_name)?;
            budget
                .copy(
                    &mut flate2::read::GzDecoder::new(open()?),
                    &mut out,
                    &req.file_name,
                )
                .map_err(|e| e.or_else(unpack_err))?;
            Ok(())
        }
        None => {
            let target = match req.mode {
                Mode::File => dest.to_path_buf(),
                Mode::Any => file_target(req, dest, &req.file_name)?,
                Mode::Dir => {
                    return Err(ArtifactError::Invalid {
                        artifact: req.label.clone(),
                        what: "mode \"dir\" needs an archive or a local directory".into(),
                    });
                }
            };
            copy_file(local, &target).map_err(|e| io_err(&target, e))?;
            Ok(())
        }
    }
}

pub(super) fn file_target(req: &Request, dir: &Path, name: &str) -> Result<PathBuf, ArtifactError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(ArtifactError::Invalid {
            artifact: req.label.clone(),
            what: "the source has no file name; use mode \"file\" with a destination file".into(),
        });
    }
    Ok(dir.join(name))
}

/// Creates (truncating) a regular file, replacing a symlink, FIFO or device rather than
/// following or opening it (`O_NOFOLLOW | O_NONBLOCK` against a race).
pub(super) fn create_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    if fs::symlink_metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        fs::remove_file(path)?;
    }
    let f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    Ok(f)
}

/// Copies `from` to `to` through [`create_file`] (never through a link at `to`),
/// keeping the source's permission bits as `fs::copy` does.
fn copy_file(from: &Path, to: &Path) -> io::Result<()> {
    let mut src = fs::File::open(from)?;
    let mut out = create_file(to)?;
    io::copy(&mut src, &mut out)?;
    out.set_permissions(src.metadata()?.permissions())
}

pub(super) fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            copy_file(&entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Where an archive entry at `rel` goes: its parent created and checked to be inside
/// `root` (canonical), so symlinks met on the way cannot lead out.
pub(super) fn entry_target(
    req: &Request,
    root: &Path,
    rel: &Path,
    name: &str,
) -> Result<PathBuf, ArtifactError> {
    let unsafe_entry = |why: &str| ArtifactError::UnsafeEntry {
        artifact: req.label.clone(),
        entry: name.to_string(),
        why: why.to_string(),
    };
    let rel = normalize_relative(rel).ok_or_else(|| unsafe_entry("escapes the destination"))?;
    let Some(file) = rel.file_name() else {
        return Ok(root.to_path_buf());
    };
    let parent = root.join(rel.parent().unwrap_or(Path::new("")));
    fs::create_dir_all(&parent).map_err(|e| ArtifactError::Io {
        artifact: req.label.clone(),
        path: parent.display().to_string(),
        error: e,
    })?;
    let parent = parent.canonicalize().map_err(|e| ArtifactError::Io {
        artifact: req.label.clone(),
        path: parent.display().to_string(),
        error: e,
    })?;
    if !parent.starts_with(root) {
        return Err(unsafe_entry("escapes the destination through a symlink"));
    }
    Ok(parent.join(file))
}

/// Checks that a symlink at `target` pointing to `link` stays inside `root`.
pub(super) fn check_symlink(
    req: &Request,
    root: &Path,
    target: &Path,
    link: &Path,
    name: &str,
) -> Result<(), ArtifactError> {
    let parent = target.parent().unwrap_or(root);
    if link.is_absolute() || !normalize_absolute(&parent.join(link)).starts_with(root) {
        return Err(ArtifactError::UnsafeEntry {
            artifact: req.label.clone(),
            entry: name.to_string(),
            why: format!(
                "is a symlink pointing outside the destination ({})",
                link.display()
            ),
        });
    }
    Ok(())
}

pub(super) fn unpack_tar(
    req: &Request,
    reader: impl Read,
    dest: &Path,
) -> Result<(), ArtifactError> {
    use tar::EntryType;
    let bad = |e: io::Error| ArtifactError::Archive {
        artifact: req.label.clone(),
        message: e.to_string(),
    };
    let io_err = |path: &Path, error: io::Error| ArtifactError::Io {
        artifact: req.label.clone(),
        path: path.display().to_string(),
        error,
    };
    let mut archive = tar::Archive::new(reader);
    let mut budget = Budget::new(req);
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.into_owned();
        let name = path.display().to_string();
        let kind = entry.header().entry_type();
        if !matches!(kind, EntryType::XGlobalHeader | EntryType::XHeader) {
            budget.entry(&name)?;
        }
        match kind {
            EntryType::XGlobalHeader | EntryType::XHeader => continue,
            EntryType::Directory => {
                let target = entry_target(req, dest, &path, &name)?;
                fs::create_dir_all(&target).map_err(|e| io_err(&target, e))?;
            }
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let target = entry_target(req, dest, &path, &name)?;
                let mode = entry.header().mode().unwrap_or(0o644);
                let mut out = create_file(&target).map_err(|e| io_err(&target, e))?;
                budget
                    .copy(&mut entry, &mut out, &name)
                    .map_err(|e| e.or_else(bad))?;
                set_mode(&target, mode).map_err(|e| io_err(&target, e))?;
            }
            EntryType::Symlink => {
                let link = entry
                    .link_name()
                    .map_err(bad)?
                    .unwrap_or_default()
                    .into_owned();
                let target = entry_target(req, dest, &path, &name)?;
                check_symlink(req, dest, &target, &link, &name)?;
                if fs::symlink_metadata(&target).is_ok() {
                    fs::remove_file(&target).map_err(|e| io_err(&target, e))?;
                }
                std::os::unix::fs::symlink(&link, &target).map_err(|e| io_err(&target, e))?;
            }
            EntryType::Link => {
                let link = entry
                    .link_name()
                    .map_err(bad)?
                    .unwrap_or_default()
                    .into_owned();
                let target = entry_target(req, dest, &path, &name)?;
                let source = entry_target(req, dest, &link, &name)?;
                let real = source.canonicalize().map_err(|e| io_err(&source, e))?;
                if !real.starts_with(dest) {
                    return Err(ArtifactError::UnsafeEntry {
                        artifact: req.label.clone(),
                        entry: name,
                        why: "is a hard link to a file outside the destination".into(),
                    });
                }
                if fs::symlink_metadata(&target).is_ok() {
                    fs::remove_file(&target).map_err(|e| io_err(&target, e))?;
                }
                fs::hard_link(&real, &target).map_err(|e| io_err(&target, e))?;
            }
            other => {
                return Err(ArtifactError::UnsafeEntry {
                    artifact: req.label.clone(),
                    entry: name,
                    why: format!("has an unsupported type ({other:?})"),
                });
            }
        }
    }
    Ok(())
}

pub(super) fn unpack_zip(req: &Request, file: fs::File, dest: &Path) -> Result<(), ArtifactError> {
    let bad = |message: String| ArtifactError::Archive {
        artifact: req.label.clone(),
        message,
    };
    let io_err = |path: &Path, error: io::Error| ArtifactError::Io {
        artifact: req.label.clone(),
        path: path.display().to_string(),
        error,
    };
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    let mut budget = Budget::new(req);
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| bad(e.to_string()))?;
        let name = entry.name().map_err(|e| bad(e.to_string()))?.to_string();
        budget.entry(&name)?;
        let Some(path) = entry.enclosed_name() else {
            return Err(ArtifactError::UnsafeEntry {
                artifact: req.label.clone(),
                entry: name,
                why: "escapes the destination".into(),
            });
        };
        let target = entry_target(req, dest, &path, &name)?;
        if entry.is_dir() {
            fs::create_dir_all(&target).map_err(|e| io_err(&target, e))?;
        } else if entry.is_symlink() {
            let mut link = String::new();
            entry
                .read_to_string(&mut link)
                .map_err(|e| bad(e.to_string()))?;
            let link = PathBuf::from(link);
            check_symlink(req, dest, &target, &link, &name)?;
            if fs::symlink_metadata(&target).is_ok() {
                fs::remove_file(&target).map_err(|e| io_err(&target, e))?;
            }
            std::os::unix::fs::symlink(&link, &target).map_err(|e| io_err(&target, e))?;
        } else {
            let mode = entry.unix_mode();
            let mut out = create_file(&target).map_err(|e| io_err(&target, e))?;
            budget
                .copy(&mut entry, &mut out, &name)
                .map_err(|e| e.or_else(|e| bad(e.to_string())))?;
            if let Some(mode) = mode {
                set_mode(&target, mode).map_err(|e| io_err(&target, e))?;
            }
        }
    }
    Ok(())
}

pub(super) fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // Keep the permission bits only, and always let the agent read and write.
    fs::set_permissions(path, fs::Permissions::from_mode((mode & 0o777) | 0o600))
}

/// What an archive may still unpack, from the request's [`ArtifactLimits`]: a
/// decompression bomb stops at the limit instead of filling the disk.
pub(super) struct Budget<'a> {
    req: &'a Request,
    bytes: u64,
    files: u64,
}

/// A failed copy: over the budget (already an [`ArtifactError`]) or an I/O error.
pub(super) enum CopyError {
    /// Past the unpacked-size limit.
    Limit(ArtifactError),
    /// Reading or writing failed.
    Io(io::Error),
}

impl CopyError {
    /// The artifact error, making an I/O error one with `wrap`.
    pub(super) fn or_else(self, wrap: impl FnOnce(io::Error) -> ArtifactError) -> ArtifactError {
        match self {
            CopyError::Limit(e) => e,
            CopyError::Io(e) => wrap(e),
        }
    }
}

impl<'a> Budget<'a> {
    pub(super) fn new(req: &'a Request) -> Budget<'a> {
        Budget {
            req,
            bytes: req.limits.unpacked_bytes,
            files: req.limits.files,
        }
    }

    /// Counts one more entry.
    pub(super) fn entry(&mut self, name: &str) -> Result<(), ArtifactError> {
        if self.files == 0 {
            return Err(ArtifactError::TooLarge {
                artifact: self.req.label.clone(),
                what: format!(
                    "the archive has more than {} entries (at {name:?})",
                    self.req.limits.files
                ),
            });
        }
        self.files -= 1;
        Ok(())
    }

    /// Copies one entry's content while the archive stays within its unpacked size.
    pub(super) fn copy(
        &mut self,
        from: &mut impl Read,
        to: &mut impl io::Write,
        name: &str,
    ) -> Result<(), CopyError> {
        let n =
            io::copy(&mut from.take(self.bytes.saturating_add(1)), to).map_err(CopyError::Io)?;
        if n > self.bytes {
            return Err(CopyError::Limit(ArtifactError::TooLarge {
                artifact: self.req.label.clone(),
                what: format!(
                    "the archive unpacks to more than {} bytes (at {name:?})",
                    self.req.limits.unpacked_bytes
                ),
            }));
        }
        self.bytes -= n;
        Ok(())
    }
}
