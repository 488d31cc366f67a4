//! The feeder's part of orch's job-level workflows (`core::workflow`): releasing the
//! evaluations that waited for a job dependency, and evaluating a stopped job again
//! when an allocation of its ordered group ended (its next index stops then).

use orch_core::broker::BlockedEvals;
use orch_core::model::{Evaluation, eval_status, job_type, trigger};
use orch_core::state::StateStore;
use orch_core::workflow::{job_deps, ordered};

use crate::clock::new_uuid;

/// Releases the blocked evaluations whose job dependency now holds. O(blocked) with a
/// job lookup each; evaluations of jobs without dependencies are never released here.
pub(super) fn release_dependents(tracker: &mut BlockedEvals, s: &StateStore) -> Vec<Evaluation> {
    tracker.release_where(|e| job_deps::release(s, e))
}

/// Pending evaluations for the stopped jobs whose ordered groups have their next stop
/// to make, after the allocations changed since `last_index`.
pub(super) fn ordered_stop_evals(s: &StateStore, last_index: u64, now: i64) -> Vec<Evaluation> {
    let jobs = ordered::stops_pending(s, s.allocs_modified_after(last_index));
    jobs.into_iter()
        .map(|(namespace, job_id)| {
            let job = s.job(&namespace, &job_id);
            Evaluation {
                id: new_uuid(),
                priority: job.map_or(50, |j| j.priority),
                eval_type: job.map_or_else(|| job_type::SERVICE.into(), |j| j.job_type.clone()),
                triggered_by: trigger::JOB_DEREGISTER.into(),
                job_modify_index: job.map_or(0, |j| j.job_modify_index),
                status: eval_status::PENDING.into(),
                create_time: now,
                modify_time: now,
                namespace,
                job_id,
                ..Evaluation::default()
            }
        })
        .collect()
}
