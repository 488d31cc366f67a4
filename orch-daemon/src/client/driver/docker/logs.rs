//! Copies a container's stdout and stderr into Nomad's rotated log files
//! (`<alloc>/alloc/logs/<task>.stdout.<n>`, the shared [`RotatingWriter`]), so
//! `orch alloc logs` and `/v1/client/fs/logs` read docker tasks like any other.
//!
//! The pump follows the engine's log stream (`follow`, with timestamps) on the driver's
//! runtime until the container stops. It notes the timestamp of the last entry written
//! in `<task_dir>/.orch/docker-logs.ts` (at most every 250 ms, and when the stream
//! ends); a restarted client resumes from there (`since` that second, entries up to the
//! noted time skipped), so output written while no client ran is not lost. Entries of
//! the last 250 ms before a crash may appear twice. The stream ends when the container
//! stops, so `try_wait` asks the engine only once its pump is done.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use futures_util::StreamExt;

use super::engine::Engine;
use crate::client::driver::TaskSpec;
use crate::client::driver::logs::{LogKind, RotatingWriter};

/// Where a pump writes one task's logs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogTarget {
    /// `TaskSpec.log_dir`.
    pub log_dir: PathBuf,
    /// The task's name (file prefix).
    pub task: String,
    /// `logs.max_files`.
    pub max_files: u32,
    /// `logs.max_file_size` in MiB.
    pub max_file_size_mb: u32,
    /// The resume mark's file (`<task_dir>/.orch/docker-logs.ts`).
    pub mark: PathBuf,
}

impl LogTarget {
    /// The target of a task.
    pub fn of(spec: &TaskSpec) -> LogTarget {
        LogTarget {
            log_dir: spec.log_dir.clone(),
            task: spec.task_name.clone(),
            max_files: spec.log_max_files,
            max_file_size_mb: spec.log_max_file_size_mb,
            mark: spec.task_dir.join(".orch").join("docker-logs.ts"),
        }
    }
}

/// The running pumps, by container ID.
#[derive(Default)]
pub struct LogPumps {
    pumps: Mutex<HashMap<String, tokio::task::JoinHandle<()>>>,
}

impl LogPumps {
    /// Starts following `container` unless a pump already does.
    pub fn ensure(&self, engine: &Arc<Engine>, container: &str, target: &LogTarget) {
        let mut pumps = self.pumps.lock().unwrap_or_else(|e| e.into_inner());
        if pumps.get(container).is_some_and(|h| !h.is_finished()) {
            return;
        }
        let Ok(docker) = engine.client() else {
            return;
        };
        let (id, target) = (container.to_string(), target.clone());
        if let Some(h) = engine.spawn(async move {
            if let Err(e) = pump(docker, &id, &target).await {
                tracing::warn!(container = %id, error = %e, "docker log collection stopped");
            }
        }) {
            pumps.insert(container.to_string(), h);
        }
    }

    /// Whether a pump follows `container` now: its log stream ends only when the
    /// container stops, so while it runs there is no exit to look for.
    pub fn following(&self, container: &str) -> bool {
        self.pumps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(container)
            .is_some_and(|h| !h.is_finished())
    }

    /// Waits (up to `timeout`) for the pump of a stopped container to write the rest.
    pub fn drain(&self, container: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let done = self
                .pumps
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(container)
                .is_none_or(|h| h.is_finished());
            if done || Instant::now() >= deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops and forgets a container's pump.
    pub fn remove(&self, container: &str) {
        if let Some(h) = self
            .pumps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(container)
        {
            h.abort();
        }
    }
}

fn read_mark(path: &Path) -> Option<jiff::Timestamp> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn write_mark(path: &Path, ts: jiff::Timestamp) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = crate::client::safe_path::write_private_atomic(path, ts.to_string().as_bytes());
}

/// Splits the engine's `<RFC 3339 timestamp> <message>` entry.
fn split_timestamp(bytes: &[u8]) -> (Option<jiff::Timestamp>, &[u8]) {
    let Some(space) = bytes.iter().position(|b| *b == b' ') else {
        return (None, bytes);
    };
    let ts = std::str::from_utf8(&bytes[..space])
        .ok()
        .and_then(|s| s.parse().ok());
    match ts {
        Some(ts) => (Some(ts), &bytes[space + 1..]),
        None => (None, bytes),
    }
}

async fn pump(docker: bollard::Docker, id: &str, t: &LogTarget) -> std::io::Result<()> {
    let open =
        |kind| RotatingWriter::open(&t.log_dir, &t.task, kind, t.max_files, t.max_file_size_mb);
    let (mut out, mut err) = (open(LogKind::Stdout)?, open(LogKind::Stderr)?);
    let resume = read_mark(&t.mark);
    let since = resume.map_or(0, |ts| i32::try_from(ts.as_second()).unwrap_or(0));
    let mut stream = docker.logs(
        id,
        Some(LogsOptions {
            follow: true,
            stdout: true,
            stderr: true,
            since,
            timestamps: true,
            tail: "all".into(),
            ..Default::default()
        }),
    );
    let mut last: Option<jiff::Timestamp> = None;
    let mut noted = Instant::now();
    while let Some(item) = stream.next().await {
        let item = item.map_err(std::io::Error::other)?;
        let (writer, bytes) = match &item {
            LogOutput::StdOut { message } | LogOutput::Console { message } => (&mut out, message),
            LogOutput::StdErr { message } => (&mut err, message),
            LogOutput::StdIn { .. } => continue,
        };
        let (ts, body) = split_timestamp(bytes);
        if let (Some(ts), Some(resume)) = (ts, resume)
            && ts <= resume
        {
            continue;
        }
        writer.write_all(body)?;
        last = ts.or(last);
        if noted.elapsed() >= Duration::from_millis(250)
            && let Some(ts) = last
        {
            write_mark(&t.mark, ts);
            noted = Instant::now();
        }
    }
    out.flush()?;
    err.flush()?;
    if let Some(ts) = last {
        write_mark(&t.mark, ts);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_split_from_messages() {
        let (ts, body) = split_timestamp(b"2026-12-01T14:00:00.123456789Z hello world\n");
        assert_eq!(body, b"hello world\n");
        assert_eq!(ts.map(|t| t.as_second()), Some(1_796_133_600));
        let (ts, body) = split_timestamp(b"no-timestamp here");
        assert!(ts.is_none());
        assert_eq!(body, b"no-timestamp here");
    }
}
