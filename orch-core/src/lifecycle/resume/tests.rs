//! Resume from failure: what a replacement carries, and the property that a resumed
//! allocation never reruns a task that succeeded.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::lifecycle::plan;
use crate::model::{Task, TaskLifecycle};

const OK: TaskRun = TaskRun::Exited { success: true };
const KILLED: TaskRun = TaskRun::Exited { success: false };

fn task(name: &str, hook: &str, deps: &[String]) -> Task {
    Task {
        name: name.into(),
        lifecycle: (!hook.is_empty() || !deps.is_empty()).then(|| TaskLifecycle {
            hook: hook.into(),
            depends_on: deps.to_vec(),
            condition: if deps.is_empty() { "" } else { "success" }.into(),
            ..TaskLifecycle::default()
        }),
        ..Task::default()
    }
}

fn group(tasks: Vec<Task>, resume: &str) -> TaskGroup {
    TaskGroup {
        name: "g".into(),
        tasks,
        resume: resume.into(),
        ..TaskGroup::default()
    }
}

/// The state a client reports for a task that ended as `run`.
fn reported(run: TaskRun) -> TaskState {
    let (event, failed, code) = match run {
        TaskRun::Exited { success: true } => ("Terminated", false, 0),
        TaskRun::Exited { success: false } => ("Killed", false, 0),
        _ => ("Terminated", true, 1),
    };
    TaskState {
        state: "dead".into(),
        failed,
        events: vec![TaskEvent {
            event_type: event.into(),
            exit_code: code,
            ..TaskEvent::default()
        }],
        ..TaskState::default()
    }
}

fn failed_alloc(states: &BTreeMap<String, TaskRun>) -> Allocation {
    Allocation {
        id: "prev".into(),
        client_status: client_status::FAILED.into(),
        task_states: states
            .iter()
            .map(|(k, v)| (k.clone(), reported(*v)))
            .collect(),
        ..Allocation::default()
    }
}

fn db_backup(resume: &str) -> TaskGroup {
    group(
        vec![
            task("db", "", &[]),
            task("backup", "", &["db".into()]),
            task("cleanup", "postfail", &[]),
        ],
        resume,
    )
}

#[test]
fn only_succeeded_tasks_of_a_failed_allocation_are_carried() {
    let prev = failed_alloc(
        &[
            ("db".to_string(), OK),
            ("backup".to_string(), TaskRun::Failed),
            ("cleanup".to_string(), OK),
        ]
        .into_iter()
        .collect(),
    );
    let carried = carried_states(&db_backup(RESUME_FROM_FAILURE), &prev, 7);
    assert_eq!(carried.keys().collect::<Vec<_>>(), vec!["db"]);
    let events = &carried["db"].events;
    assert_eq!(
        events.last().map(|e| e.event_type.as_str()),
        Some(RESUMED_EVENT)
    );
    assert_eq!(events.last().map(|e| e.time), Some(7));
    // The carried state still reads as succeeded: a second replacement resumes too.
    assert!(succeeded(&carried["db"]));

    // Nomad's behaviour without `resume`, and for a previous allocation that did not fail.
    assert!(carried_states(&db_backup(""), &prev, 7).is_empty());
    let mut complete = prev.clone();
    complete.client_status = client_status::COMPLETE.into();
    assert!(carried_states(&db_backup(RESUME_FROM_FAILURE), &complete, 7).is_empty());

    // The replacement's client: db is done, backup starts at once.
    let g = db_backup(RESUME_FROM_FAILURE);
    let runs = resumed_runs(&g, &carried);
    assert_eq!(runs, [("db".to_string(), OK)].into_iter().collect());
    let p = plan(&g).unwrap();
    assert_eq!(p.next(&runs, false).start, vec!["backup"]);
}

#[test]
fn an_in_place_restart_reruns_what_did_not_succeed() {
    let g = db_backup(RESUME_FROM_FAILURE);
    let states = failed_alloc(
        &[
            ("db".to_string(), OK),
            ("backup".to_string(), TaskRun::Failed),
            ("cleanup".to_string(), OK),
        ]
        .into_iter()
        .collect(),
    )
    .task_states;
    let rerun = rerun_in_place(&g, client_status::FAILED, &states).unwrap();
    // The postfail hook belongs to the run that ended: it may run again.
    assert_eq!(rerun.into_iter().collect::<Vec<_>>(), ["backup", "cleanup"]);
    // Nothing to resume: a group without `resume`, an allocation that did not fail.
    assert!(rerun_in_place(&db_backup(""), client_status::FAILED, &states).is_none());
    assert!(rerun_in_place(&g, client_status::COMPLETE, &states).is_none());
}

#[test]
fn dependents_are_transitive_and_only_for_a_resuming_group() {
    let g = group(
        vec![
            task("db", "", &[]),
            task("backup", "", &["db".into()]),
            task("report", "", &["backup".into()]),
            task("other", "", &[]),
        ],
        RESUME_FROM_FAILURE,
    );
    assert_eq!(dependents(&g, "db"), ["backup", "report"]);
    assert_eq!(dependents(&g, "backup"), ["report"]);
    assert!(dependents(&g, "other").is_empty());
    let plain = TaskGroup {
        resume: String::new(),
        ..g
    };
    assert!(dependents(&plain, "db").is_empty());
}

#[test]
fn a_killed_task_is_not_a_success() {
    assert!(!succeeded(&reported(KILLED)));
    assert!(!succeeded(&reported(TaskRun::Failed)));
    assert!(succeeded(&reported(OK)));
    let mut running = reported(OK);
    running.state = "running".into();
    assert!(!succeeded(&running));
}

/// Runs the plan from `start` to its outcome, applying `exits` to running tasks in turn
/// (0 success, 1 killed, 2 failed), and returns every task it started and the states.
fn simulate(
    p: &crate::lifecycle::LifecyclePlan,
    start: BTreeMap<String, TaskRun>,
    exits: &[(prop::sample::Index, u8)],
) -> (Vec<String>, BTreeMap<String, TaskRun>) {
    let mut observed = start;
    let mut started = Vec::new();
    let mut exits = exits.iter();
    for _ in 0..100 {
        let d = p.next(&observed, false);
        if d.outcome.is_some() {
            break;
        }
        for name in d.start {
            started.push(name.clone());
            observed.insert(name, TaskRun::Running);
        }
        for (name, _) in d.kill {
            observed.insert(name, KILLED);
        }
        let running: Vec<String> = observed
            .iter()
            .filter(|(_, s)| **s == TaskRun::Running)
            .map(|(k, _)| k.clone())
            .collect();
        match exits.next() {
            Some((pick, outcome)) if !running.is_empty() => {
                let s = [OK, KILLED, TaskRun::Failed][usize::from(*outcome % 3)];
                observed.insert(running[pick.index(running.len())].clone(), s);
            }
            _ => {
                for name in running {
                    observed.insert(name, OK);
                }
            }
        }
    }
    (started, observed)
}

fn arb_group() -> impl Strategy<Value = TaskGroup> {
    let hooks = prop_oneof![4 => Just(""), 1 => Just("prestart"), 1 => Just("postfail"), 1 => Just("poststop")];
    prop::collection::vec((hooks, any::<u8>()), 1..7).prop_map(|spec| {
        let tasks = spec
            .iter()
            .enumerate()
            .map(|(i, (hook, mask))| {
                let post = |h: &str| h == "poststop" || h == "postfail";
                let deps: Vec<String> = (0..i)
                    .filter(|&j| mask & (1 << j) != 0 && !post(spec[j].0) && !post(hook))
                    .map(|j| format!("t{j}"))
                    .collect();
                task(&format!("t{i}"), hook, &deps)
            })
            .collect();
        group(tasks, RESUME_FROM_FAILURE)
    })
}

/// The tasks of `g` (post hooks excepted) that succeeded in a run that ended as `ended`.
fn succeeded_tasks(g: &TaskGroup, ended: &BTreeMap<String, TaskRun>) -> Vec<String> {
    g.tasks
        .iter()
        .filter(|t| !TaskRole::of(t).unwrap().is_post() && ended.get(&t.name) == Some(&OK))
        .map(|t| t.name.clone())
        .collect()
}

proptest! {
    #[test]
    fn resume_never_reruns_a_succeeded_task(
        g in arb_group(),
        first in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3), 0..20),
        second in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3), 0..20),
    ) {
        let Ok(p) = plan(&g) else { return Ok(()) };
        let (_, ended) = simulate(&p, BTreeMap::new(), &first);
        let prev = failed_alloc(&ended);
        let carried = carried_states(&g, &prev, 1);
        // A reschedule: the replacement carries what succeeded.
        let (started, _) = simulate(&p, resumed_runs(&g, &carried), &second);
        // In place: the client keeps every task it does not rerun as it ended.
        let rerun = rerun_in_place(&g, client_status::FAILED, &prev.task_states).unwrap();
        let kept: BTreeMap<String, TaskRun> = g
            .tasks
            .iter()
            .filter(|t| !rerun.contains(&t.name))
            .map(|t| (t.name.clone(), OK))
            .collect();
        let (started_in_place, _) = simulate(&p, kept, &second);
        for t in succeeded_tasks(&g, &ended) {
            prop_assert!(!started.contains(&t), "{} succeeded and ran again", t);
            prop_assert!(!rerun.contains(&t), "{} succeeded and is rerun in place", t);
            prop_assert!(!started_in_place.contains(&t), "{} succeeded and ran again in place", t);
        }
    }
}
