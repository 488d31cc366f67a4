//! Task log files: the rotating writer the shim feeds a task's stdout/stderr into, and
//! the reader the HTTP log endpoint (`/v1/client/fs/logs`) serves them with.
//!
//! Files follow Nomad's naming, `<log_dir>/<task>.<stdout|stderr>.<n>` with `n` counting
//! from 0: when a file reaches `max_file_size` the writer starts `n + 1` and deletes files
//! so that at most `max_files` remain. Readers treat the files of one stream, in index
//! order, as one concatenated byte stream whose start moves as old files are deleted.

use crate::client::safe_path::{Dir, is_refused};
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Which of a task's two streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// The task's standard output.
    Stdout,
    /// The task's standard error.
    Stderr,
}

impl LogKind {
    /// The word used in file names and in the API's `type` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Stdout => "stdout",
            LogKind::Stderr => "stderr",
        }
    }

    /// Parses the API's `type` parameter (`stdout` / `stderr`).
    pub fn parse(s: &str) -> Option<LogKind> {
        match s {
            "stdout" => Some(LogKind::Stdout),
            "stderr" => Some(LogKind::Stderr),
            _ => None,
        }
    }
}

/// One existing log file of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// Rotation index (`n` in `<task>.stdout.<n>`).
    pub index: u64,
    /// Full path.
    pub path: PathBuf,
    /// Size in bytes when listed.
    pub size: u64,
}

/// Lists a stream's files, oldest (lowest index) first, so a reader can walk them as one
/// stream. Files that vanish while listing (rotation) are skipped.
pub fn list_log_files(log_dir: &Path, task: &str, kind: LogKind) -> io::Result<Vec<LogFile>> {
    let prefix = format!("{task}.{}.", kind.as_str());
    let mut out = Vec::new();
    let entries = match fs::read_dir(log_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(index) = name
            .strip_prefix(&prefix)
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        // Only regular files: a link or FIFO a task planted is not a log file.
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        out.push(LogFile {
            index,
            path: entry.path(),
            size: meta.len(),
        });
    }
    out.sort_by_key(|f| f.index);
    Ok(out)
}

/// Appends to a stream's files, rotating at `max_bytes` and keeping `max_files` of them.
/// Used by the shim; continues the newest existing file after a restart, as Nomad does.
pub struct RotatingWriter {
    dir: PathBuf,
    /// `dir`, opened once without following links: every file is created through it.
    handle: Dir,
    task: String,
    kind: LogKind,
    max_files: u64,
    max_bytes: u64,
    index: u64,
    size: u64,
    file: File,
}

impl RotatingWriter {
    /// Opens (creating `log_dir` if needed) the newest file of the stream for appending.
    /// `max_files` and `max_file_size_mb` of 0 are treated as 1.
    pub fn open(
        log_dir: &Path,
        task: &str,
        kind: LogKind,
        max_files: u32,
        max_file_size_mb: u32,
    ) -> io::Result<RotatingWriter> {
        Self::open_bytes(
            log_dir,
            task,
            kind,
            max_files,
            u64::from(max_file_size_mb.max(1)) * 1024 * 1024,
        )
    }

    /// As [`RotatingWriter::open`] with the size limit in bytes (tests use tiny limits).
    pub fn open_bytes(
        log_dir: &Path,
        task: &str,
        kind: LogKind,
        max_files: u32,
        max_bytes: u64,
    ) -> io::Result<RotatingWriter> {
        let handle = open_log_dir(log_dir)?;
        let existing = list_log_files(log_dir, task, kind)?;
        let (index, size) = existing.last().map_or((0, 0), |f| (f.index, f.size));
        let max_bytes = max_bytes.max(1);
        let (index, size) = if size >= max_bytes {
            (index + 1, 0)
        } else {
            (index, size)
        };
        let file = open_append(&handle, task, kind, index)?;
        let mut w = RotatingWriter {
            dir: log_dir.to_path_buf(),
            handle,
            task: task.to_string(),
            kind,
            max_files: u64::from(max_files.max(1)),
            max_bytes,
            index,
            size,
            file,
        };
        w.prune()?;
        Ok(w)
    }

    /// Index of the file being written.
    pub fn index(&self) -> u64 {
        self.index
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.index += 1;
        self.size = 0;
        self.file = open_append(&self.handle, &self.task, self.kind, self.index)?;
        self.prune()
    }

    /// Deletes files older than the newest `max_files`.
    fn prune(&mut self) -> io::Result<()> {
        let Some(oldest_kept) = (self.index + 1).checked_sub(self.max_files) else {
            return Ok(());
        };
        for f in list_log_files(&self.dir, &self.task, self.kind)? {
            if f.index < oldest_kept {
                let name = f.path.file_name().unwrap_or_default();
                match self.handle.remove_file(name) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

impl Write for RotatingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.size >= self.max_bytes {
            self.rotate()?;
        }
        let room = usize::try_from(self.max_bytes - self.size).unwrap_or(usize::MAX);
        let n = self.file.write(&buf[..buf.len().min(room)])?;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Opens the log directory for writing, creating it first when missing. Its last two
/// components (`alloc/logs`) are resolved without following links, so a task that
/// swapped them for a link redirects nothing.
fn open_log_dir(log_dir: &Path) -> io::Result<Dir> {
    match Dir::open_tail(log_dir, 2) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(log_dir)?;
            Dir::open_tail(log_dir, 2)
        }
        r => r,
    }
}

/// Opens (creating, mode 0644) a stream's file for appending. A link (or anything but a
/// regular file) a task put in its place is removed and a fresh file created: never
/// written through, and the task's logs still work.
fn open_append(dir: &Dir, task: &str, kind: LogKind, index: u64) -> io::Result<File> {
    let name = format!("{task}.{}.{index}", kind.as_str());
    let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_NONBLOCK;
    let open = || -> io::Result<File> {
        let f = dir.open_at(Path::new(&name), flags, 0o644)?;
        if !f.metadata()?.is_file() {
            return Err(io::Error::from_raw_os_error(libc::ELOOP));
        }
        Ok(f)
    };
    match open() {
        // ENXIO: a FIFO without a reader (O_NONBLOCK keeps the open from hanging).
        Err(e) if is_refused(&e) || e.raw_os_error() == Some(libc::ENXIO) => {
            dir.remove_file(std::ffi::OsStr::new(&name))?;
            open()
        }
        r => r,
    }
}

/// Opens a log file for reading without following a link or blocking on a FIFO; only
/// regular files are read.
fn open_log_file(path: &Path) -> io::Result<File> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::from(io::ErrorKind::NotFound));
    };
    let file = Dir::open_tail(dir, 2)?.open_read(Path::new(name))?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file; log files are", path.display()),
        ));
    }
    Ok(file)
}

/// `<dir>/<task>.<kind>.<index>`.
pub fn log_path(dir: &Path, task: &str, kind: LogKind, index: u64) -> PathBuf {
    dir.join(format!("{task}.{}.{index}", kind.as_str()))
}

/// Where reading starts, as Nomad's `origin` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `offset` bytes after the start of the oldest kept file.
    Start,
    /// `offset` bytes before the end of the newest file.
    End,
}

/// A piece of a log stream: which file, where in it, and the bytes (Nomad's
/// `StreamFrame` `File`/`Offset`/`Data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChunk {
    /// File name (without directory).
    pub file: String,
    /// Offset of `data` inside that file.
    pub offset: u64,
    /// The bytes.
    pub data: Vec<u8>,
}

/// A position in a stream: a file index and an offset inside it. Survives rotation,
/// unlike a position in the concatenation (whose start moves when files are deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPosition {
    /// File index.
    pub index: u64,
    /// Offset inside that file.
    pub offset: u64,
}

/// Resolves `origin` + `offset` on the concatenation of the stream's current files to a
/// file position. Offsets past either end clamp to that end, as Nomad does.
pub fn seek_position(
    log_dir: &Path,
    task: &str,
    kind: LogKind,
    origin: Origin,
    offset: u64,
) -> io::Result<LogPosition> {
    let files = list_log_files(log_dir, task, kind)?;
    let Some(last) = files.last() else {
        return Ok(LogPosition {
            index: 0,
            offset: 0,
        });
    };
    let total: u64 = files.iter().map(|f| f.size).sum();
    let mut abs = match origin {
        Origin::Start => offset.min(total),
        Origin::End => total.saturating_sub(offset),
    };
    for f in &files {
        if abs < f.size {
            return Ok(LogPosition {
                index: f.index,
                offset: abs,
            });
        }
        abs -= f.size;
    }
    Ok(LogPosition {
        index: last.index,
        offset: last.size,
    })
}

/// Reads up to `limit` bytes from `origin`/`offset` across the stream's files (the
/// non-following `/v1/client/fs/logs` call). One chunk per file touched.
pub fn read_logs(
    log_dir: &Path,
    task: &str,
    kind: LogKind,
    origin: Origin,
    offset: u64,
    limit: usize,
) -> io::Result<Vec<LogChunk>> {
    let pos = seek_position(log_dir, task, kind, origin, offset)?;
    let mut follower = LogFollower::new(log_dir, task, kind, pos);
    let mut out = Vec::new();
    let mut left = limit;
    while left > 0 {
        match follower.poll(left)? {
            Some(chunk) => {
                left -= chunk.data.len();
                out.push(chunk);
            }
            None => break,
        }
    }
    Ok(out)
}

/// Follows a stream from a position: each [`LogFollower::poll`] returns bytes written
/// since the last one, moving on to newer files as the writer rotates. The caller polls
/// (e.g. every 100 ms) for `follow=true`.
pub struct LogFollower {
    dir: PathBuf,
    task: String,
    kind: LogKind,
    pos: LogPosition,
}

impl LogFollower {
    /// Starts at `pos` (from [`seek_position`]).
    pub fn new(log_dir: &Path, task: &str, kind: LogKind, pos: LogPosition) -> LogFollower {
        LogFollower {
            dir: log_dir.to_path_buf(),
            task: task.to_string(),
            kind,
            pos,
        }
    }

    /// Where the next read starts.
    pub fn position(&self) -> LogPosition {
        self.pos
    }

    /// Up to `max` new bytes from one file, or `None` when there is nothing new yet.
    /// If the current file was deleted by rotation, skips to the oldest remaining file.
    pub fn poll(&mut self, max: usize) -> io::Result<Option<LogChunk>> {
        loop {
            let path = log_path(&self.dir, &self.task, self.kind, self.pos.index);
            let mut file = match open_log_file(&path) {
                Ok(f) => f,
                // A link or FIFO in place of a log file is skipped like a missing one.
                Err(e) if e.kind() == io::ErrorKind::NotFound || is_refused(&e) => {
                    let files = list_log_files(&self.dir, &self.task, self.kind)?;
                    match files.iter().find(|f| f.index > self.pos.index) {
                        Some(next) => {
                            self.pos = LogPosition {
                                index: next.index,
                                offset: 0,
                            };
                            continue;
                        }
                        None => return Ok(None),
                    }
                }
                Err(e) => return Err(e),
            };
            let size = file.metadata()?.len();
            if self.pos.offset < size {
                file.seek(SeekFrom::Start(self.pos.offset))?;
                let want = usize::try_from(size - self.pos.offset)
                    .unwrap_or(usize::MAX)
                    .min(max);
                let mut data = Vec::with_capacity(want);
                file.take(want as u64).read_to_end(&mut data)?;
                let chunk = LogChunk {
                    file: file_name(&path),
                    offset: self.pos.offset,
                    data,
                };
                self.pos.offset += chunk.data.len() as u64;
                return Ok(Some(chunk));
            }
            // At the end of this file: move on only once a newer one exists (the writer
            // never writes an older file again after starting a newer one).
            let next = log_path(&self.dir, &self.task, self.kind, self.pos.index + 1);
            if next.exists() {
                self.pos = LogPosition {
                    index: self.pos.index + 1,
                    offset: 0,
                };
                continue;
            }
            return Ok(None);
        }
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
