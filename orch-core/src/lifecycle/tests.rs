use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::model::{Task, TaskGroup, TaskLifecycle};

fn task(name: &str, hook: Option<(&str, bool)>) -> Task {
    Task {
        name: name.into(),
        lifecycle: hook.map(|(h, sidecar)| TaskLifecycle {
            hook: h.into(),
            sidecar,
            ..TaskLifecycle::default()
        }),
        ..Task::default()
    }
}

fn group(tasks: Vec<Task>) -> TaskGroup {
    TaskGroup {
        name: "g".into(),
        tasks,
        ..TaskGroup::default()
    }
}

/// init (prestart), proxy (prestart sidecar), web + worker (main), announce (poststart),
/// logs (poststart sidecar), cleanup (poststop).
fn full() -> LifecyclePlan {
    plan(&group(vec![
        task("init", Some(("prestart", false))),
        task("proxy", Some(("prestart", true))),
        task("web", None),
        task("worker", None),
        task("announce", Some(("poststart", false))),
        task("logs", Some(("poststart", true))),
        task("cleanup", Some(("poststop", false))),
    ]))
    .unwrap()
}

fn obs(pairs: &[(&str, TaskRun)]) -> BTreeMap<String, TaskRun> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

const R: TaskRun = TaskRun::Running;
const OK: TaskRun = TaskRun::Exited { success: true };
const BAD: TaskRun = TaskRun::Exited { success: false };
const F: TaskRun = TaskRun::Failed;

#[test]
fn roles() {
    let p = full();
    assert_eq!(p.role("init"), Some(TaskRole::Prestart { sidecar: false }));
    assert_eq!(p.role("proxy"), Some(TaskRole::Prestart { sidecar: true }));
    assert_eq!(p.role("web"), Some(TaskRole::Main));
    assert_eq!(p.role("logs"), Some(TaskRole::Poststart { sidecar: true }));
    assert_eq!(p.role("cleanup"), Some(TaskRole::Poststop));
    assert_eq!(p.role("nope"), None);
}

#[test]
fn errors() {
    let e = plan(&group(vec![task("a", Some(("prestop", false)))])).unwrap_err();
    assert!(matches!(e, LifecycleError::UnknownHook { .. }));
    assert!(e.to_string().contains("prestop"));
    assert!(matches!(
        plan(&group(vec![])),
        Err(LifecycleError::NoTasks { .. })
    ));
    let e = plan(&group(vec![task("a", None), task("a", None)])).unwrap_err();
    assert!(matches!(e, LifecycleError::DuplicateTask { .. }));
    let mut a = task("a", None);
    a.leader = true;
    let mut b = task("b", None);
    b.leader = true;
    let e = plan(&group(vec![a, b])).unwrap_err();
    assert!(matches!(e, LifecycleError::MultipleLeaders { .. }));
}

#[test]
fn prestart_first_then_main_then_poststart() {
    let p = full();
    let d = p.next(&BTreeMap::new(), false);
    assert_eq!(d.start, vec!["init", "proxy"]);
    assert!(d.kill.is_empty() && d.outcome.is_none());

    // init still running: nothing new.
    let d = p.next(&obs(&[("init", R), ("proxy", R)]), false);
    assert_eq!(d, Decision::default());

    // init done, proxy not yet running: main waits for the sidecar to be started.
    let d = p.next(&obs(&[("init", OK)]), false);
    assert_eq!(d.start, vec!["proxy"]);

    let d = p.next(&obs(&[("init", OK), ("proxy", R)]), false);
    assert_eq!(d.start, vec!["web", "worker"]);

    // Poststart waits for every main task.
    let d = p.next(&obs(&[("init", OK), ("proxy", R), ("web", R)]), false);
    assert_eq!(d.start, vec!["worker"]);
    let d = p.next(
        &obs(&[("init", OK), ("proxy", R), ("web", R), ("worker", R)]),
        false,
    );
    assert_eq!(d.start, vec!["announce", "logs"]);
}

#[test]
fn a_starting_task_is_alive_but_not_started() {
    const S: TaskRun = TaskRun::Starting;
    let p = full();
    // A sidecar still setting up holds main back, and is not started twice.
    let d = p.next(&obs(&[("init", OK), ("proxy", S)]), false);
    assert_eq!(d, Decision::default());
    // Main tasks handed to their runners but not running yet: poststart waits.
    let d = p.next(
        &obs(&[("init", OK), ("proxy", R), ("web", S), ("worker", R)]),
        false,
    );
    assert_eq!(d, Decision::default());
    // A main task that already ended counts as started.
    let d = p.next(
        &obs(&[("init", OK), ("proxy", R), ("web", OK), ("worker", R)]),
        false,
    );
    assert_eq!(d.start, vec!["announce", "logs"]);
    // Stopping kills starting tasks too, and the allocation is not over while one is.
    let d = p.next(&obs(&[("init", OK), ("proxy", S)]), true);
    assert_eq!(d.kill.len(), 1);
    assert_eq!(d.kill[0].0, "proxy");
    assert!(d.outcome.is_none());
}

#[test]
fn failed_prestart_fails_alloc_main_never_starts() {
    let p = full();
    let d = p.next(&obs(&[("init", F), ("proxy", R)]), false);
    assert!(d.start.is_empty());
    assert_eq!(
        d.kill,
        vec![("proxy".into(), KillReason::SiblingFailed("init".into()))]
    );
    assert_eq!(d.outcome, None);
    // Once the proxy is dead, poststop runs, then the alloc fails.
    let d = p.next(&obs(&[("init", F), ("proxy", BAD)]), false);
    assert_eq!(d.start, vec!["cleanup"]);
    assert_eq!(d.outcome, None);
    let d = p.next(&obs(&[("init", F), ("proxy", BAD), ("cleanup", OK)]), false);
    assert_eq!(
        d,
        Decision {
            outcome: Some(AllocOutcome::Failed {
                task: "init".into()
            }),
            ..Decision::default()
        }
    );
}

#[test]
fn main_done_kills_sidecars_then_poststop() {
    let p = full();
    let base = [("init", OK), ("proxy", R), ("announce", R), ("logs", R)];
    let mut o = obs(&base);
    o.insert("web".into(), OK);
    o.insert("worker".into(), OK);
    let d = p.next(&o, false);
    assert_eq!(
        d.kill,
        vec![
            ("proxy".into(), KillReason::MainTasksDone),
            ("logs".into(), KillReason::MainTasksDone)
        ]
    );
    // The ephemeral poststart task runs to completion; poststop waits for it.
    assert!(d.start.is_empty());
    o.insert("proxy".into(), BAD);
    o.insert("logs".into(), BAD);
    assert!(p.next(&o, false).start.is_empty());
    o.insert("announce".into(), OK);
    let d = p.next(&o, false);
    assert_eq!(d.start, vec!["cleanup"]);
    o.insert("cleanup".into(), R);
    assert_eq!(p.next(&o, false), Decision::default());
    o.insert("cleanup".into(), OK);
    assert_eq!(p.next(&o, false).outcome, Some(AllocOutcome::Complete));
}

#[test]
fn one_main_done_other_running_is_not_teardown() {
    let p = full();
    let o = obs(&[("init", OK), ("proxy", R), ("web", OK), ("worker", R)]);
    let d = p.next(&o, false);
    assert!(d.kill.is_empty());
    assert_eq!(d.start, vec!["announce", "logs"]);
}

#[test]
fn sidecar_failure_kills_everything_then_poststop() {
    let p = full();
    let o = obs(&[
        ("init", OK),
        ("proxy", F),
        ("web", R),
        ("worker", R),
        ("logs", R),
    ]);
    let d = p.next(&o, false);
    let why = KillReason::SiblingFailed("proxy".into());
    assert_eq!(
        d.kill,
        vec![
            ("web".into(), why.clone()),
            ("worker".into(), why.clone()),
            ("logs".into(), why)
        ]
    );
    assert!(d.start.is_empty());
}

#[test]
fn leader_exit_kills_the_rest() {
    let mut web = task("web", None);
    web.leader = true;
    let p = plan(&group(vec![
        task("proxy", Some(("prestart", true))),
        web,
        task("worker", None),
        task("cleanup", Some(("poststop", false))),
    ]))
    .unwrap();
    assert_eq!(p.leader(), Some("web"));
    let o = obs(&[("proxy", R), ("web", OK), ("worker", R)]);
    let d = p.next(&o, false);
    let why = KillReason::LeaderDead("web".into());
    assert_eq!(
        d.kill,
        vec![("proxy".into(), why.clone()), ("worker".into(), why)]
    );
    let o = obs(&[("proxy", BAD), ("web", OK), ("worker", BAD)]);
    let d = p.next(&o, false);
    assert_eq!(d.start, vec!["cleanup"]);
    assert_eq!(d.outcome, None);
}

#[test]
fn alloc_stopping_kills_all_then_poststop() {
    let p = full();
    let o = obs(&[
        ("init", OK),
        ("proxy", R),
        ("web", R),
        ("worker", R),
        ("logs", R),
    ]);
    let d = p.next(&o, true);
    assert_eq!(d.kill.len(), 4);
    assert!(d.kill.iter().all(|(_, r)| *r == KillReason::AllocStopping));
    assert!(d.start.is_empty());
    // Stopped before anything ran: poststop still runs.
    let d = p.next(&BTreeMap::new(), true);
    assert_eq!(d.start, vec!["cleanup"]);
    let d = p.next(&obs(&[("cleanup", OK)]), true);
    assert_eq!(d.outcome, Some(AllocOutcome::Complete));
}

#[test]
fn killed_prestart_blocks_main_and_ends_alloc() {
    let p = full();
    let d = p.next(&obs(&[("init", BAD), ("proxy", R)]), false);
    assert_eq!(d.kill, vec![("proxy".into(), KillReason::MainTasksDone)]);
    assert!(d.start.is_empty());
}

#[test]
fn simple_batch_group() {
    let p = plan(&group(vec![task("main", None)])).unwrap();
    assert_eq!(p.next(&BTreeMap::new(), false).start, vec!["main"]);
    assert_eq!(p.next(&obs(&[("main", R)]), false), Decision::default());
    assert_eq!(
        p.next(&obs(&[("main", OK)]), false).outcome,
        Some(AllocOutcome::Complete)
    );
    assert_eq!(
        p.next(&obs(&[("main", F)]), false).outcome,
        Some(AllocOutcome::Failed {
            task: "main".into()
        })
    );
}

#[test]
fn group_without_main_tasks() {
    let p = plan(&group(vec![
        task("a", Some(("prestart", false))),
        task("s", Some(("prestart", true))),
        task("z", Some(("poststop", false))),
    ]))
    .unwrap();
    assert_eq!(p.next(&BTreeMap::new(), false).start, vec!["a", "s"]);
    let d = p.next(&obs(&[("a", OK), ("s", R)]), false);
    assert_eq!(d.kill, vec![("s".into(), KillReason::MainTasksDone)]);
    let d = p.next(&obs(&[("a", OK), ("s", BAD)]), false);
    assert_eq!(d.start, vec!["z"]);
}

// ---- property test ----

fn arb_role() -> impl Strategy<Value = Option<(&'static str, bool)>> {
    prop_oneof![
        Just(None),
        Just(Some(("prestart", false))),
        Just(Some(("prestart", true))),
        Just(Some(("poststart", false))),
        Just(Some(("poststart", true))),
        Just(Some(("poststop", false))),
    ]
}

fn arb_group() -> impl Strategy<Value = TaskGroup> {
    (
        prop::collection::vec(arb_role(), 1..7),
        any::<Option<prop::sample::Index>>(),
    )
        .prop_map(|(roles, leader)| {
            let mut tasks: Vec<Task> = roles
                .into_iter()
                .enumerate()
                .map(|(i, r)| task(&format!("t{i}"), r))
                .collect();
            if let Some(ix) = leader {
                let n = tasks.len();
                tasks[ix.index(n)].leader = true;
            }
            group(tasks)
        })
}

/// One step of the simulated task runners: how each running task may end.
#[derive(Debug, Clone)]
enum Step {
    Exit {
        pick: prop::sample::Index,
        outcome: u8,
    },
    Stop,
}

fn arb_steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            8 => (any::<prop::sample::Index>(), 0u8..3)
                .prop_map(|(pick, outcome)| Step::Exit { pick, outcome }),
            1 => Just(Step::Stop),
        ],
        0..30,
    )
}

proptest! {
    #[test]
    fn lifecycle_invariants(g in arb_group(), steps in arb_steps()) {
        let p = plan(&g).unwrap();
        let mut observed: BTreeMap<String, TaskRun> = BTreeMap::new();
        let mut stopping = false;
        let mut steps = steps.into_iter();
        for _round in 0..100 {
            let d = p.next(&observed, stopping);
            prop_assert_eq!(&d, &p.next(&observed, stopping), "next is deterministic");
            for name in &d.start {
                prop_assert_eq!(observed.get(name).copied().unwrap_or_default(), TaskRun::NotStarted);
                match p.role(name).unwrap() {
                    TaskRole::Main => {
                        for t in &g.tasks {
                            if p.role(&t.name) == Some(TaskRole::Prestart { sidecar: false }) {
                                prop_assert_eq!(
                                    observed.get(&t.name).copied(),
                                    Some(TaskRun::Exited { success: true }),
                                    "main started before prestart {} succeeded", t.name
                                );
                            }
                        }
                    }
                    TaskRole::Poststop => {
                        for t in &g.tasks {
                            if p.role(&t.name) == Some(TaskRole::Main) {
                                prop_assert_ne!(observed.get(&t.name).copied(), Some(TaskRun::Running));
                            }
                        }
                    }
                    _ => {}
                }
            }
            for (name, _) in &d.kill {
                prop_assert_eq!(observed.get(name).copied(), Some(TaskRun::Running));
            }
            if d.outcome.is_some() {
                prop_assert!(d.start.is_empty());
                prop_assert!(!observed.values().any(|s| *s == TaskRun::Running));
                break;
            }
            // Apply the decision.
            for name in d.start {
                observed.insert(name, TaskRun::Running);
            }
            for (name, _) in d.kill {
                observed.insert(name, TaskRun::Exited { success: false });
            }
            // Then one random transition of a running task.
            let running: Vec<String> = observed
                .iter()
                .filter(|(_, s)| **s == TaskRun::Running)
                .map(|(k, _)| k.clone())
                .collect();
            match steps.next() {
                Some(Step::Stop) => stopping = true,
                Some(Step::Exit { pick, outcome }) if !running.is_empty() => {
                    let name = running[pick.index(running.len())].clone();
                    let s = match outcome {
                        0 => TaskRun::Exited { success: true },
                        1 => TaskRun::Exited { success: false },
                        _ => TaskRun::Failed,
                    };
                    observed.insert(name, s);
                }
                // Out of steps: every running task exits successfully.
                _ => {
                    for name in running {
                        observed.insert(name, TaskRun::Exited { success: true });
                    }
                }
            }
        }
        // Every run ends.
        prop_assert!(p.next(&observed, stopping).outcome.is_some());
    }
}
