//! The leader's periodic dispatcher: launches the children of periodic jobs on schedule
//! (Nomad's `PeriodicDispatch`).
//!
//! What is due is decided by `orch_core::periodic::due_launches` from the replicated
//! state alone (each parent's recorded last launch, written with every child), so this
//! loop keeps no schedule of its own: a new leader continues where the old one stopped,
//! making up at most one missed launch. The only local memory is the launches skipped
//! for `prohibit_overlap`, so they are not retried; a new leader forgets them and may
//! launch once as soon as the running child has finished.
//!
//! [`launch`] is shared with `POST /v1/job/:id/periodic/force`, which needs no leader
//! state: it proposes the child like any write.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use orch_core::periodic::{LaunchRefused, due_launches, launch_command};
use orch_core::state::{JobKey, Response};

use super::{ReplicateError, Replicator, StateHandle};
use crate::clock::{new_uuid, now_nanos};

/// Longest sleep between looks at the schedule (new parents are noticed through the
/// state's change notifications sooner).
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// Why a launch could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// No job by that ID.
    #[error("job {0:?} not found")]
    NotFound(String),
    /// The job is not an active periodic job.
    #[error("{0}")]
    NotPeriodic(LaunchRefused),
    /// The write failed.
    #[error(transparent)]
    Replicate(#[from] ReplicateError),
}

impl From<LaunchRefused> for LaunchError {
    fn from(r: LaunchRefused) -> Self {
        match r {
            LaunchRefused::NotFound(id) => LaunchError::NotFound(id),
            other => LaunchError::NotPeriodic(other),
        }
    }
}

/// Proposes the launch of `parent`'s child at `at` (Unix nanoseconds):
/// `orch_core::periodic::launch_command`, one log entry that also records the launch
/// on the parent.
pub async fn launch(
    state: &StateHandle,
    replicator: &dyn Replicator,
    namespace: &str,
    parent_id: &str,
    at: i64,
) -> Result<Response, LaunchError> {
    let cmd = launch_command(
        &state.read(),
        namespace,
        parent_id,
        at,
        now_nanos(),
        new_uuid(),
    )?;
    Ok(replicator.propose(cmd).await?)
}

/// Runs the dispatcher forever; it acts only while this server leads.
pub async fn run(state: StateHandle, replicator: Arc<dyn Replicator>) {
    let mut changes = state.subscribe();
    let mut skipped: BTreeMap<JobKey, i64> = BTreeMap::new();
    loop {
        if !replicator.is_leader() {
            skipped.clear();
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let now = now_nanos();
        let plan = due_launches(&state.read(), now, &skipped);
        for due in plan.due {
            let (ns, id) = &due.parent;
            if due.overlapping {
                tracing::debug!(job = %id, "periodic launch skipped: a previous child still runs (prohibit_overlap)");
                skipped.insert(due.parent.clone(), due.at);
                continue;
            }
            if due.missed {
                tracing::info!(job = %id, "making up a missed periodic launch now");
            }
            if let Err(e) = launch(&state, replicator.as_ref(), ns, id, due.at).await {
                tracing::warn!(job = %id, error = %e, "periodic launch failed");
                // Not retried in a tight loop: the next pass tries again.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            skipped.remove(&due.parent);
        }
        let wait = plan.next.map_or(MAX_SLEEP, |next| {
            let ns = u64::try_from(next.saturating_sub(now_nanos())).unwrap_or(0);
            Duration::from_nanos(ns).min(MAX_SLEEP)
        });
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests;
