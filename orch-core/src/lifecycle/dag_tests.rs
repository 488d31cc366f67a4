//! Task dependencies (`depends_on`/`condition`) and the `postfail` hook: unit tests of
//! the plan, the validation errors users see, and the DAG property test.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::model::{Task, TaskGroup, TaskLifecycle};

const OK: TaskRun = TaskRun::Exited { success: true };
const KILLED: TaskRun = TaskRun::Exited { success: false };
const R: TaskRun = TaskRun::Running;
const F: TaskRun = TaskRun::Failed;

fn task(name: &str, hook: &str, deps: &[&str], cond: &str) -> Task {
    let lifecycle = (!hook.is_empty() || !deps.is_empty()).then(|| TaskLifecycle {
        hook: hook.into(),
        sidecar: false,
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        // A condition without dependencies is refused; only set it with some.
        condition: if deps.is_empty() { "" } else { cond }.into(),
    });
    Task {
        name: name.into(),
        lifecycle,
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

fn obs(pairs: &[(&str, TaskRun)]) -> BTreeMap<String, TaskRun> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// The users' example: update the db, back it up, clean up only if that failed.
fn db_backup() -> LifecyclePlan {
    plan(&group(vec![
        task("db", "", &[], ""),
        task("backup", "", &["db"], "success"),
        task("cleanup", "postfail", &[], ""),
        task("report", "poststop", &[], ""),
    ]))
    .unwrap()
}

#[test]
fn a_dependent_waits_for_success() {
    let p = db_backup();
    assert_eq!(p.next(&BTreeMap::new(), false).start, vec!["db"]);
    let d = p.next(&obs(&[("db", R)]), false);
    assert!(d.start.is_empty() && d.outcome.is_none());
    assert_eq!(p.next(&obs(&[("db", OK)]), false).start, vec!["backup"]);
}

#[test]
fn postfail_runs_only_when_a_task_failed() {
    let p = db_backup();
    // Backup fails: postfail and poststop both run, the allocation fails.
    let d = p.next(&obs(&[("db", OK), ("backup", F)]), false);
    assert_eq!(d.start, vec!["cleanup", "report"]);
    let d = p.next(
        &obs(&[("db", OK), ("backup", F), ("cleanup", OK), ("report", OK)]),
        false,
    );
    assert_eq!(
        d.outcome,
        Some(AllocOutcome::Failed {
            task: "backup".into()
        })
    );
    // Backup succeeds: only poststop runs.
    let d = p.next(&obs(&[("db", OK), ("backup", OK)]), false);
    assert_eq!(d.start, vec!["report"]);
    let d = p.next(&obs(&[("db", OK), ("backup", OK), ("report", OK)]), false);
    assert_eq!(d.outcome, Some(AllocOutcome::Complete));
}

#[test]
fn a_dependency_that_cannot_hold_ends_the_main_phase() {
    let p = db_backup();
    // db killed (not failed): backup can never start; the allocation completes.
    let d = p.next(&obs(&[("db", KILLED)]), false);
    assert_eq!(d.start, vec!["report"]);
    let d = p.next(&obs(&[("db", KILLED), ("report", OK)]), false);
    assert_eq!(d.outcome, Some(AllocOutcome::Complete));
}

#[test]
fn started_and_healthy_conditions() {
    let p = plan(&group(vec![
        task("a", "", &[], ""),
        task("b", "", &["a"], "started"),
        task("c", "", &["a"], "healthy"),
    ]))
    .unwrap();
    assert_eq!(p.next(&BTreeMap::new(), false).start, vec!["a"]);
    // Without checks, running is healthy.
    assert_eq!(p.next(&obs(&[("a", R)]), false).start, vec!["b", "c"]);

    let mut checked = task("a", "", &[], "");
    checked.services.push(crate::model::Service {
        checks: vec![crate::model::ServiceCheck::default()],
        ..crate::model::Service::default()
    });
    let p = plan(&group(vec![checked, task("c", "", &["a"], "healthy")])).unwrap();
    assert!(p.next(&obs(&[("a", R)]), false).start.is_empty());
    let healthy = ["a".to_string()].into_iter().collect();
    assert_eq!(
        p.next_with_health(&obs(&[("a", R)]), &healthy, false).start,
        vec!["c"]
    );
}

#[test]
fn a_prestart_chain() {
    let p = plan(&group(vec![
        task("migrate", "prestart", &[], ""),
        task("seed", "prestart", &["migrate"], ""),
        task("web", "", &[], ""),
    ]))
    .unwrap();
    assert_eq!(p.next(&BTreeMap::new(), false).start, vec!["migrate"]);
    assert_eq!(p.next(&obs(&[("migrate", OK)]), false).start, vec!["seed"]);
    let d = p.next(&obs(&[("migrate", OK), ("seed", OK)]), false);
    assert_eq!(d.start, vec!["web"]);
}

/// The validation message of a group's dependency problems, through the one parse path.
fn hcl_errors(tasks: &str) -> String {
    let src = format!(
        r#"job "j" {{
  type = "batch"
  group "g" {{
{tasks}
  }}
}}"#
    );
    match crate::jobspec::parse_jobspec("j.hcl", &src, &Default::default()) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

/// A raw_exec task; two spaces in `lifecycle` separate its attributes (HCL allows only
/// one on a line inside a one-line block).
fn t(name: &str, lifecycle: &str) -> String {
    let lifecycle = lifecycle
        .replace("  ", "\n")
        .replace("{ ", "{\n")
        .replace(" }", "\n}");
    format!(
        r#"    task "{name}" {{
      driver = "raw_exec"
      config {{ command = "true" }}
      {lifecycle}
    }}
"#
    )
}

#[test]
fn validation_names_the_field_and_the_problem() {
    let e = hcl_errors(&t("backup", r#"lifecycle { depends_on = ["x"] }"#));
    assert!(
        e.contains(r#"group "g" task "backup" lifecycle depends_on[0]: unknown task "x""#),
        "{e}"
    );
    assert!(e.contains("Lifecycle.DependsOn[0]"), "{e}");

    let e = hcl_errors(&t("a", r#"lifecycle { depends_on = ["a"] }"#));
    assert!(e.contains("cannot depend on itself"), "{e}");

    let e = hcl_errors(&format!(
        "{}{}",
        t("a", r#"lifecycle { depends_on = ["b"] }"#),
        t("b", r#"lifecycle { depends_on = ["a"] }"#)
    ));
    assert!(e.contains("form a cycle"), "{e}");

    // A prestart task waiting for a main task: the hook closes the cycle.
    let e = hcl_errors(&format!(
        "{}{}",
        t(
            "init",
            r#"lifecycle { hook = "prestart"  depends_on = ["web"] }"#
        ),
        t("web", "")
    ));
    assert!(e.contains(r#""init" → "web" → "init""#), "{e}");

    let e = hcl_errors(&format!(
        "{}{}",
        t("a", ""),
        t(
            "b",
            r#"lifecycle { depends_on = ["a"]  condition = "done" }"#
        )
    ));
    assert!(
        e.contains(r#"lifecycle condition: unknown condition "done""#),
        "{e}"
    );

    let e = hcl_errors(&format!(
        "{}{}",
        t("a", ""),
        t(
            "b",
            r#"lifecycle { hook = "poststop"  depends_on = ["a"] }"#
        )
    ));
    assert!(e.contains("depends_on is not allowed"), "{e}");

    let e = hcl_errors(&format!(
        "{}{}",
        t("a", r#"lifecycle { hook = "postfail" }"#),
        t("b", r#"lifecycle { depends_on = ["a"] }"#)
    ));
    assert!(e.contains("runs after every other task"), "{e}");

    let e = hcl_errors(&format!(
        "{}{}",
        t(
            "proxy",
            r#"lifecycle { hook = "prestart"  sidecar = true }"#
        ),
        t("b", r#"lifecycle { depends_on = ["proxy"] }"#)
    ));
    assert!(e.contains("is a sidecar"), "{e}");

    let e = hcl_errors(&t("a", r#"lifecycle { condition = "started" }"#));
    assert!(e.contains("condition needs depends_on"), "{e}");

    // The users' example is accepted.
    let ok = format!(
        "{}{}{}",
        t("db", ""),
        t("backup", r#"lifecycle { depends_on = ["db"] }"#),
        t("cleanup", r#"lifecycle { hook = "postfail" }"#)
    );
    assert_eq!(hcl_errors(&ok), "");
}

#[test]
fn success_on_a_service_main_task_is_refused() {
    let src = format!(
        "job \"j\" {{\n group \"g\" {{\n{}{} }}\n}}",
        t("a", ""),
        t("b", r#"lifecycle { depends_on = ["a"] }"#)
    );
    let e = crate::jobspec::parse_jobspec("j.hcl", &src, &Default::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("never reaches"), "{e}");
}

#[test]
fn json_form_round_trips() {
    let src = format!(
        "{}{}",
        t("db", ""),
        t(
            "backup",
            r#"lifecycle { depends_on = ["db"]  condition = "started" }"#
        )
    );
    let hcl = format!("job \"j\" {{\n type = \"batch\"\n group \"g\" {{\n{src} }}\n}}");
    let job = crate::jobspec::parse_jobspec("j.hcl", &hcl, &Default::default()).unwrap();
    let lc = job.task_groups[0].tasks[1].lifecycle.clone().unwrap();
    assert_eq!(lc.depends_on, vec!["db"]);
    assert_eq!(lc.condition, "started");
    let json = serde_json::to_value(&job).unwrap();
    assert_eq!(
        json["TaskGroups"][0]["Tasks"][1]["Lifecycle"]["DependsOn"],
        serde_json::json!(["db"])
    );
    let back = crate::jobspec::from_json::job_from_json_value(json).unwrap();
    assert_eq!(back, job);
}

// ---- property test: a DAG never starts a task before its dependencies hold ----

/// A group of up to 6 tasks with random hooks and random dependencies on earlier
/// tasks, post hooks neither depending nor depended on (what validation refuses); the
/// few plans still refused (a prestart task waiting for a main one) are skipped.
fn arb_dag() -> impl Strategy<Value = TaskGroup> {
    let hooks = prop_oneof![
        4 => Just(""),
        1 => Just("prestart"),
        1 => Just("poststart"),
        1 => Just("poststop"),
        1 => Just("postfail"),
    ];
    let conds = prop_oneof![Just("success"), Just("started"), Just("healthy")];
    prop::collection::vec((hooks, conds, any::<u8>()), 1..7).prop_map(|spec| {
        let tasks = spec
            .iter()
            .enumerate()
            .map(|(i, (hook, cond, mask))| {
                let post = |h: &str| h == "poststop" || h == "postfail";
                let deps: Vec<String> = (0..i)
                    .filter(|&j| mask & (1 << j) != 0 && !post(spec[j].0) && !post(hook))
                    .map(|j| format!("t{j}"))
                    .collect();
                let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
                task(&format!("t{i}"), hook, &deps, cond)
            })
            .collect();
        group(tasks)
    })
}

fn cond_holds(cond: &str, s: TaskRun) -> bool {
    match cond {
        "started" => s == R || s.is_dead(),
        "healthy" => s == R || s == OK,
        _ => s == OK,
    }
}

proptest! {
    #[test]
    fn a_dag_never_starts_a_task_before_its_dependencies_hold(
        g in arb_dag(),
        exits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3), 0..30),
    ) {
        let Ok(p) = plan(&g) else { return Ok(()) };
        let mut observed: BTreeMap<String, TaskRun> = BTreeMap::new();
        let mut exits = exits.into_iter();
        for _round in 0..100 {
            let d = p.next(&observed, false);
            for name in &d.start {
                let t = g.tasks.iter().find(|t| &t.name == name).unwrap();
                let Some(lc) = &t.lifecycle else { continue };
                for dep in &lc.depends_on {
                    let s = observed.get(dep).copied().unwrap_or_default();
                    prop_assert!(cond_holds(&lc.condition, s),
                        "{name} started while {dep} was {s:?} (condition {})", lc.condition);
                }
                if p.role(name) == Some(TaskRole::Postfail) {
                    prop_assert!(observed.values().any(|s| *s == F), "postfail without a failure");
                }
            }
            if d.outcome.is_some() {
                break;
            }
            for name in d.start {
                observed.insert(name, R);
            }
            for (name, _) in d.kill {
                observed.insert(name, KILLED);
            }
            let running: Vec<String> = observed
                .iter()
                .filter(|(_, s)| **s == R)
                .map(|(k, _)| k.clone())
                .collect();
            match exits.next() {
                Some((pick, outcome)) if !running.is_empty() => {
                    let s = [OK, KILLED, F][usize::from(outcome)];
                    observed.insert(running[pick.index(running.len())].clone(), s);
                }
                _ => {
                    for name in running {
                        observed.insert(name, OK);
                    }
                }
            }
        }
        // Every run ends, and never with a task still alive.
        let d = p.next(&observed, false);
        prop_assert!(d.outcome.is_some(), "no outcome: {observed:?}");
    }
}
