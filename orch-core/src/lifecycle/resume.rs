//! Resuming a failed allocation from the point of failure (orch's group-level
//! `resume = "from_failure"`).
//!
//! Nomad reruns every task of a replacement allocation. With `resume = "from_failure"`
//! the scheduler copies into the replacement of a *failed* allocation the reported
//! states of the tasks that succeeded there ([`carried_states`]), and the client takes
//! those tasks as already exited successfully ([`resumed_runs`]): the lifecycle plan
//! never starts them again, and what depends on them starts at once. So a replacement
//! reruns the failed task, what depends on it and whatever had not succeeded (killed
//! siblings, sidecars, post hooks), never a task that succeeded. The carried states stay
//! with the allocation, so a second replacement resumes from the same point.
//!
//! Replacements for other reasons (a new job version, a lost node) rerun everything, as
//! in Nomad: their previous allocation did not fail.

use std::collections::BTreeMap;

use super::{TaskRole, TaskRun};
use crate::model::{
    Allocation, RESUME_FROM_FAILURE, TaskEvent, TaskGroup, TaskState, client_status,
};

/// The event a carried task's state gets in the replacement allocation.
pub const RESUMED_EVENT: &str = "Resumed";

/// Whether a reported task state says the task exited successfully for good: dead, not
/// failed, and its last end was a zero exit (not a kill).
pub fn succeeded(state: &TaskState) -> bool {
    if state.state != "dead" || state.failed {
        return false;
    }
    let last_end = state
        .events
        .iter()
        .rev()
        .find(|e| e.event_type == "Terminated" || e.event_type == "Killed");
    last_end.is_some_and(|e| e.event_type == "Terminated" && e.exit_code == 0 && e.signal == 0)
}

/// Whether the group's succeeded tasks are carried over to a replacement.
fn resumes(group: &TaskGroup) -> bool {
    group.resume == RESUME_FROM_FAILURE
}

/// The task states the replacement of `previous` starts with (placed at `now`): for a
/// group that resumes and a previous allocation that failed, the states of its tasks
/// that succeeded (post hooks excepted: they belong to the run that ends), each with a
/// [`RESUMED_EVENT`]. Empty otherwise, which is Nomad's behaviour.
pub fn carried_states(
    group: &TaskGroup,
    previous: &Allocation,
    now: i64,
) -> BTreeMap<String, TaskState> {
    if !resumes(group) || previous.client_status != client_status::FAILED {
        return BTreeMap::new();
    }
    let mut out = BTreeMap::new();
    for task in &group.tasks {
        let post = TaskRole::of(task).map_or(true, |r| r.is_post());
        let Some(state) = previous.task_states.get(&task.name) else {
            continue;
        };
        if post || !succeeded(state) {
            continue;
        }
        let mut state = state.clone();
        state.events.push(TaskEvent {
            event_type: RESUMED_EVENT.into(),
            time: now,
            display_message: format!(
                "Task succeeded in allocation {}; not run again (resume = \"from_failure\")",
                previous.id
            ),
            ..TaskEvent::default()
        });
        out.insert(task.name.clone(), state);
    }
    out
}

/// On the client: the lifecycle view of the tasks an allocation of `group` carries
/// (`task_states` as placed): every carried task that succeeded is exited successfully.
/// Empty for a group that does not resume.
pub fn resumed_runs(
    group: &TaskGroup,
    task_states: &BTreeMap<String, TaskState>,
) -> BTreeMap<String, TaskRun> {
    if !resumes(group) {
        return BTreeMap::new();
    }
    group
        .tasks
        .iter()
        .filter(|t| task_states.get(&t.name).is_some_and(succeeded))
        .filter(|t| TaskRole::of(t).is_ok_and(|r| !r.is_post()))
        .map(|t| (t.name.clone(), TaskRun::Exited { success: true }))
        .collect()
}

#[cfg(test)]
mod tests;
