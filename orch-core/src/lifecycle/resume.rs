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
//!
//! The same holds in place, in the allocation itself: `alloc restart` of a failed
//! allocation of a resuming group runs again only [`rerun_in_place`] (Nomad cannot
//! restart a finished allocation at all), and a task its restart policy restarts after
//! a failure takes its started [`dependents`] down with it, to start again once their
//! condition holds; tasks that succeeded are never run again.

use std::collections::{BTreeMap, BTreeSet};

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
    for task in kept(group, &previous.task_states) {
        let Some(state) = previous.task_states.get(&task.name) else {
            continue;
        };
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

/// The tasks of `group` a resume keeps from `task_states`: those that succeeded there,
/// post hooks excepted (they belong to the run that ended).
fn kept<'a>(
    group: &'a TaskGroup,
    task_states: &'a BTreeMap<String, TaskState>,
) -> impl Iterator<Item = &'a crate::model::Task> + 'a {
    group.tasks.iter().filter(|t| {
        let post = TaskRole::of(t).map_or(true, |r| r.is_post());
        !post && task_states.get(&t.name).is_some_and(succeeded)
    })
}

/// An in-place restart of an allocation that failed (orch's `alloc restart` of a
/// resuming group): the tasks that run again in the same allocation — every task
/// that did not succeed there (the failed one, what depends on it, killed siblings,
/// post hooks) — while the ones that succeeded keep their state and are not run.
/// `None` when there is nothing to resume: the group does not resume, or the
/// allocation (`client_status`) did not fail.
pub fn rerun_in_place(
    group: &TaskGroup,
    client_status: &str,
    task_states: &BTreeMap<String, TaskState>,
) -> Option<BTreeSet<String>> {
    if !resumes(group) || client_status != client_status::FAILED {
        return None;
    }
    let keep: BTreeSet<&str> = kept(group, task_states).map(|t| t.name.as_str()).collect();
    let rerun = group
        .tasks
        .iter()
        .filter(|t| !keep.contains(t.name.as_str()))
        .map(|t| t.name.clone())
        .collect();
    Some(rerun)
}

/// The tasks of a resuming `group` that depend on `task`, directly or through others
/// (`lifecycle { depends_on }`), in task order: when `task` fails and its restart
/// policy restarts it in place, the ones of these that already started are stopped
/// and wait for their condition again. Empty for a group that does not resume.
pub fn dependents(group: &TaskGroup, task: &str) -> Vec<String> {
    if !resumes(group) {
        return Vec::new();
    }
    let mut reached: BTreeSet<&str> = BTreeSet::from([task]);
    // Each pass adds the tasks depending on one already reached; bounded by the
    // number of tasks (dependencies are acyclic, checked at validation).
    for _ in 0..group.tasks.len() {
        let before = reached.len();
        for t in &group.tasks {
            let deps = t.lifecycle.as_ref().map(|l| l.depends_on.as_slice());
            if deps
                .unwrap_or_default()
                .iter()
                .any(|d| reached.contains(d.as_str()))
            {
                reached.insert(t.name.as_str());
            }
        }
        if reached.len() == before {
            break;
        }
    }
    group
        .tasks
        .iter()
        .filter(|t| t.name != task && reached.contains(t.name.as_str()))
        .map(|t| t.name.clone())
        .collect()
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
