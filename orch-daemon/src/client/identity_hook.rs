//! A task's workload identities on the client: the tokens its `identity` blocks expose
//! (`NOMAD_TOKEN[_<name>]` in the environment, `secrets/nomad_token` or
//! `secrets/nomad_<name>.jwt` files), fetched from the servers before the task starts
//! and renewed at half their TTL, with the identity's `change_mode` applied then.
//!
//! After a client restart the running task is reattached without its setup, so the
//! first renewal comes at once: the files get fresh tokens (the old ones may be near
//! their expiry), but no change mode is applied (nothing changed for the task).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use orch_core::model::{Task, WorkloadIdentity};
use tokio::time::Instant;

use super::alloc_dir::TaskDir;
use super::safe_path::Dir;
use super::server_conn::ServerConn;

/// What the servers took too long or failed to give; the task does not start without it.
#[derive(Debug, thiserror::Error)]
pub enum IdentityHookError {
    /// The servers did not sign the identities.
    #[error("could not fetch the task's workload identities from the servers: {0}")]
    Fetch(String),
    /// The servers' answer lacked one.
    #[error("the servers signed no identity {0:?} for this task")]
    Missing(String),
    /// A token file could not be written.
    #[error("could not write workload identity file {path}: {why}")]
    File {
        /// The file, relative to the task directory.
        path: String,
        /// The I/O error.
        why: String,
    },
}

/// The identities a task sees and when they are next renewed.
#[derive(Debug, Default)]
pub struct IdentityHook {
    /// The task's exposed or named identities (the default one only with its block).
    wanted: Vec<WorkloadIdentity>,
    /// When to fetch fresh tokens; `None` when no identity expires.
    next_renewal: Option<Instant>,
    /// Whether the next renewal is the one after a reattach (no change mode then).
    after_reattach: bool,
}

/// What a renewal asks of the running task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenewAction {
    /// Nothing (noop identities, or after a reattach).
    Nothing,
    /// Restart it, so its environment carries the new tokens.
    Restart,
    /// Send it these signals (one per identity with `change_mode = "signal"`).
    Signal(Vec<String>),
}

impl IdentityHook {
    /// The hook of `task`; `reattached` when the task already runs (a client restart).
    pub fn new(task: &Task, reattached: bool) -> Self {
        let wanted: Vec<WorkloadIdentity> = task
            .identity
            .iter()
            .chain(task.identities.iter())
            .cloned()
            .collect();
        let mut hook = IdentityHook {
            wanted,
            next_renewal: None,
            after_reattach: reattached,
        };
        if reattached && hook.shortest_ttl().is_some() {
            hook.next_renewal = Some(Instant::now());
        }
        hook
    }

    /// Whether the task needs tokens before it starts.
    pub fn is_empty(&self) -> bool {
        self.wanted.is_empty()
    }

    /// When the next renewal is due, if any identity expires.
    pub fn next_renewal(&self) -> Option<Instant> {
        self.next_renewal
    }

    /// Fetches the tokens, writes the files and returns the environment variables to
    /// add; schedules the next renewal.
    pub async fn fetch(
        &mut self,
        conn: &ServerConn,
        alloc_id: &str,
        task: &str,
        dir: &TaskDir,
    ) -> Result<BTreeMap<String, String>, IdentityHookError> {
        let tokens = conn
            .task_identities(alloc_id, task)
            .await
            .map_err(|e| IdentityHookError::Fetch(e.to_string()))?;
        let mut env = BTreeMap::new();
        for w in &self.wanted {
            let name = w.token_name();
            let token = tokens
                .get(name)
                .ok_or_else(|| IdentityHookError::Missing(name.to_string()))?;
            if w.env {
                env.insert(w.env_var(), token.clone());
            }
            if w.file {
                write_token(&dir.dir, &w.file_path(), token)?;
            }
        }
        self.next_renewal = self.shortest_ttl().map(|ttl| Instant::now() + ttl / 2);
        Ok(env)
    }

    /// Renews the tokens of a running task: what the task must undergo, and the new
    /// environment (for a restart). On failure the renewal is tried again in 10 s.
    pub async fn renew(
        &mut self,
        conn: &ServerConn,
        alloc_id: &str,
        task: &str,
        dir: &TaskDir,
    ) -> Result<(RenewAction, BTreeMap<String, String>), IdentityHookError> {
        let env = match self.fetch(conn, alloc_id, task, dir).await {
            Ok(env) => env,
            Err(e) => {
                self.next_renewal = Some(Instant::now() + Duration::from_secs(10));
                return Err(e);
            }
        };
        if std::mem::take(&mut self.after_reattach) {
            return Ok((RenewAction::Nothing, env));
        }
        Ok((self.renew_action(), env))
    }

    /// The change modes of the identities that expire (those are the renewed ones).
    fn renew_action(&self) -> RenewAction {
        use orch_core::model::identity_change_mode::{RESTART, SIGNAL};
        let renewed = self.wanted.iter().filter(|w| w.ttl > 0);
        let mut signals = Vec::new();
        for w in renewed {
            match w.change_mode.as_str() {
                RESTART => return RenewAction::Restart,
                SIGNAL => signals.push(w.change_signal.clone()),
                _ => {}
            }
        }
        if signals.is_empty() {
            RenewAction::Nothing
        } else {
            RenewAction::Signal(signals)
        }
    }

    /// The shortest lifetime among the identities; `None` when none expires.
    fn shortest_ttl(&self) -> Option<Duration> {
        self.wanted
            .iter()
            .filter(|w| w.ttl > 0)
            .map(|w| Duration::from_nanos(w.ttl.unsigned_abs()))
            .min()
    }
}

/// Writes `token` to `rel` below the task directory, atomically and never through a
/// symlink the task planted (readable by all, protected by `secrets/`'s 0700).
fn write_token(task_dir: &Path, rel: &str, token: &str) -> Result<(), IdentityHookError> {
    let fail = |e: std::io::Error| IdentityHookError::File {
        path: rel.to_string(),
        why: e.to_string(),
    };
    let rel_path = Path::new(rel);
    let base = Dir::open_tail(task_dir, 1).map_err(fail)?;
    let parent = match rel_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => base.create_dir_all(p, 0o755).map_err(fail)?,
        _ => base,
    };
    let name = rel_path
        .file_name()
        .ok_or_else(|| IdentityHookError::File {
            path: rel.to_string(),
            why: "the path names no file".into(),
        })?;
    parent
        .write_atomic(name, token.as_bytes(), 0o644)
        .map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(mode: &str, signal: &str, ttl: i64) -> WorkloadIdentity {
        WorkloadIdentity {
            name: "x".into(),
            change_mode: mode.into(),
            change_signal: signal.into(),
            ttl,
            ..Default::default()
        }
    }

    #[test]
    fn renewal_applies_the_change_modes_of_expiring_identities() {
        let mut task = Task {
            identities: vec![named("signal", "SIGHUP", 10), named("noop", "", 10)],
            ..Default::default()
        };
        let hook = IdentityHook::new(&task, false);
        assert_eq!(
            hook.renew_action(),
            RenewAction::Signal(vec!["SIGHUP".into()])
        );
        assert_eq!(hook.shortest_ttl(), Some(Duration::from_nanos(10)));
        task.identities.push(named("restart", "", 10));
        assert_eq!(
            IdentityHook::new(&task, false).renew_action(),
            RenewAction::Restart
        );
        // A restart mode on an identity that never expires never fires.
        task.identities = vec![named("restart", "", 0)];
        let hook = IdentityHook::new(&task, true);
        assert_eq!(hook.renew_action(), RenewAction::Nothing);
        assert_eq!(hook.next_renewal(), None);
    }

    #[test]
    fn token_files_stay_inside_the_task_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let task_dir = tmp.path().join("web");
        std::fs::create_dir_all(task_dir.join("secrets")).unwrap();
        write_token(&task_dir, "secrets/nomad_token", "t1").unwrap();
        write_token(&task_dir, "secrets/nomad_token", "t2").unwrap();
        let read = std::fs::read_to_string(task_dir.join("secrets/nomad_token")).unwrap();
        assert_eq!(read, "t2");
        std::os::unix::fs::symlink("/etc", task_dir.join("local")).unwrap();
        assert!(write_token(&task_dir, "local/passwd", "t").is_err());
    }
}
