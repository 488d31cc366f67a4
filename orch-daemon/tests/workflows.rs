//! orch's workflow extensions on the real binary: task dependencies (`depends_on`), the
//! `postfail` hook, and `resume = "from_failure"` (on a reschedule and in place, by
//! `alloc restart` and by the restart policy), with the users' example: update the
//! db, back it up, clean up only if the backup failed; dependencies between jobs and
//! ordered groups (`tests/workflows/jobs.rs`); updates gated on a real Prometheus
//! (`tests/workflows/gates.rs`); releases rolled back together (`tests/workflows/releases.rs`).

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::Value;

/// The allocation of `job` whose client status is `status`, if any.
fn alloc_with_status(agent: &impl HasHttp, job: &str, status: &str) -> Option<Value> {
    job_allocs(agent, job)
        .into_iter()
        .find(|a| a["ClientStatus"] == status)
}

/// A raw_exec `config` block running `script` with `/bin/sh -c`.
fn sh(script: &str) -> String {
    format!(
        r#"config {{
        command = "/bin/sh"
        args    = ["-c", "{script}"]
      }}"#
    )
}

/// The db → backup → cleanup (postfail) job. `backup` is the backup task's script;
/// every task appends a start timestamp to `<out>/<task>` (and db its end to `db-end`),
/// so start order and run counts are read back from files outside the allocation.
fn db_backup_job(id: &str, out: &Path, backup: &str, extra_group: &str) -> String {
    let o = out.display();
    format!(
        r#"
job "{id}" {{
  type = "batch"
  group "g" {{
    {extra_group}
    restart {{
      attempts = 0
      mode     = "fail"
    }}
    task "db" {{
      driver = "raw_exec"
      {db}
    }}
    task "backup" {{
      driver = "raw_exec"
      lifecycle {{
        depends_on = ["db"]
        condition  = "success"
      }}
      {backup}
    }}
    task "cleanup" {{
      driver = "raw_exec"
      lifecycle {{
        hook = "postfail"
      }}
      {cleanup}
    }}
  }}
}}
"#,
        db = sh(&format!(
            "date +%s%N >> {o}/db; sleep 1; date +%s%N > {o}/db-end"
        )),
        backup = sh(&format!("date +%s%N >> {o}/backup; {backup}")),
        cleanup = sh(&format!("date +%s%N >> {o}/cleanup")),
    )
}

/// The timestamps a task appended, one per run.
fn stamps(out: &Path, task: &str) -> Vec<u128> {
    std::fs::read_to_string(out.join(task))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn no_reschedule() -> &'static str {
    "reschedule {\n      attempts  = 0\n      unlimited = false\n    }"
}

#[test]
fn backup_waits_for_db_and_postfail_runs_only_when_it_fails() {
    let dir = temp_dir("workflows-postfail");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let failing = dir.join("failing");
    let passing = dir.join("passing");
    std::fs::create_dir_all(&failing).unwrap();
    std::fs::create_dir_all(&passing).unwrap();
    run_hcl(
        &agent,
        &db_backup_job("fails", &failing, "exit 1", no_reschedule()),
    );
    run_hcl(
        &agent,
        &db_backup_job("passes", &passing, "exit 0", no_reschedule()),
    );

    // The allocation is failed as soon as backup fails; postfail runs after that.
    let failed = wait_for(
        Duration::from_secs(60),
        "the failing backup's allocation to fail and its postfail task to end",
        || {
            alloc_with_status(&agent, "fails", "failed")
                .filter(|a| a["TaskStates"]["cleanup"]["State"] == "dead")
        },
    );
    let done = wait_for(
        Duration::from_secs(60),
        "the passing backup's allocation to complete",
        || alloc_with_status(&agent, "passes", "complete"),
    );

    for out in [&failing, &passing] {
        let db_end = stamps(out, "db-end");
        let backup = stamps(out, "backup");
        assert_eq!(db_end.len(), 1, "db ran once");
        assert_eq!(backup.len(), 1, "backup ran once");
        assert!(db_end[0] <= backup[0], "backup started before db succeeded");
    }
    // Postfail ran after the failed backup, and not at all when it succeeded.
    let cleanup = stamps(&failing, "cleanup");
    assert_eq!(cleanup.len(), 1, "postfail runs once when the backup fails");
    assert!(stamps(&failing, "backup")[0] <= cleanup[0]);
    assert!(
        stamps(&passing, "cleanup").is_empty(),
        "postfail must not run on success"
    );

    let full = |a: &Value| {
        get(
            &agent,
            &format!("/v1/allocation/{}", a["ID"].as_str().unwrap()),
        )
        .1
    };
    let failed = full(&failed);
    assert_eq!(failed["TaskStates"]["backup"]["Failed"], true);
    assert_eq!(failed["TaskStates"]["cleanup"]["State"], "dead");
    let done = full(&done);
    assert_eq!(done["TaskStates"]["backup"]["Failed"], false);
    let never: Vec<String> = done["TaskStates"]["cleanup"]["Events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["Type"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(!never.contains(&"Started".to_string()), "{never:?}");
}

#[test]
fn a_rescheduled_allocation_resumes_from_the_failed_task() {
    let dir = temp_dir("workflows-resume");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let o = out.display();
    // Fails the first time, succeeds once the marker exists.
    let backup = format!("test -e {o}/failed-once && exit 0; touch {o}/failed-once; exit 1");
    let group = "resume = \"from_failure\"\n    reschedule {\n      attempts  = 1\n      interval  = \"1h\"\n      delay     = \"5s\"\n      unlimited = false\n    }";
    run_hcl(&agent, &db_backup_job("resumes", &out, &backup, group));

    let done = wait_for(
        Duration::from_secs(90),
        "the replacement allocation to complete",
        || alloc_with_status(&agent, "resumes", "complete"),
    );
    let failed =
        alloc_with_status(&agent, "resumes", "failed").expect("the first allocation failed");
    let id = done["ID"].as_str().unwrap();
    let full = get(&agent, &format!("/v1/allocation/{id}")).1;
    assert_eq!(full["PreviousAllocation"], failed["ID"]);

    assert_eq!(
        stamps(&out, "db").len(),
        1,
        "db succeeded once and is not rerun"
    );
    let backup = stamps(&out, "backup");
    assert_eq!(backup.len(), 2, "the failed backup reran");
    assert_eq!(
        stamps(&out, "cleanup").len(),
        1,
        "postfail ran for the failure only"
    );
    assert!(stamps(&out, "db-end")[0] <= backup[0]);

    // The replacement keeps db's state from the failed allocation, marked as resumed.
    let db = &full["TaskStates"]["db"];
    assert_eq!(db["State"], "dead");
    assert_eq!(db["Failed"], false);
    let kinds: Vec<&str> = db["Events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["Type"].as_str())
        .collect();
    assert_eq!(kinds.last(), Some(&"Resumed"), "{kinds:?}");
}

/// Restarted in place by its restart policy: `backup` fails once, and `watch`, which
/// started with it (`condition = "started"`), is stopped and waits for it again.
fn policy_restart_job(out: &Path) -> String {
    let o = out.display();
    let task = |name: &str, lifecycle: &str, script: &str| {
        format!(
            "task \"{name}\" {{\n      driver = \"raw_exec\"\n      {lifecycle}\n      {}\n    }}",
            sh(&format!("date +%s%N >> {o}/{name}; {script}"))
        )
    };
    let after = |dep: &str, cond: &str| {
        format!(
            "lifecycle {{\n        depends_on = [\"{dep}\"]\n        condition  = \"{cond}\"\n      }}"
        )
    };
    format!(
        r#"
job "policy" {{
  type = "batch"
  group "g" {{
    resume = "from_failure"
    {reschedule}
    restart {{
      attempts = 1
      delay    = "1s"
      interval = "10m"
      mode     = "fail"
    }}
    {db}
    {backup}
    {watch}
  }}
}}
"#,
        reschedule = no_reschedule(),
        db = task("db", "", "exit 0"),
        backup = task(
            "backup",
            &after("db", "success"),
            &format!("sleep 1; test -e {o}/failed-once && exit 0; touch {o}/failed-once; exit 1")
        ),
        watch = task("watch", &after("backup", "started"), "sleep 3"),
    )
}

#[test]
fn restarts_in_place_resume_from_the_failed_task() {
    let dir = temp_dir("workflows-inplace");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let (restarted, policy) = (dir.join("restarted"), dir.join("policy"));
    std::fs::create_dir_all(&restarted).unwrap();
    std::fs::create_dir_all(&policy).unwrap();
    let r = restarted.display();
    let backup = format!("test -e {r}/failed-once && exit 0; touch {r}/failed-once; exit 1");
    let group = format!("resume = \"from_failure\"\n    {}", no_reschedule());
    run_hcl(
        &agent,
        &db_backup_job("restarted", &restarted, &backup, &group),
    );
    run_hcl(&agent, &policy_restart_job(&policy));

    // `alloc restart` of the failed allocation resumes it in place: same allocation,
    // db kept, backup run again, postfail not run again once backup succeeds.
    let failed = wait_for(
        Duration::from_secs(60),
        "the allocation to fail and its postfail task to end",
        || {
            alloc_with_status(&agent, "restarted", "failed")
                .filter(|a| a["TaskStates"]["cleanup"]["State"] == "dead")
        },
    );
    let id = failed["ID"].as_str().unwrap().to_string();
    let out = orch_cli(&agent, &["alloc", "restart", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done = wait_for(
        Duration::from_secs(60),
        "the resumed allocation to complete",
        || alloc_with_status(&agent, "restarted", "complete"),
    );
    assert_eq!(done["ID"], id.as_str(), "resumed in place, not replaced");
    assert_eq!(job_allocs(&agent, "restarted").len(), 1);
    assert_eq!(
        stamps(&restarted, "db").len(),
        1,
        "db succeeded and is not rerun"
    );
    assert_eq!(
        stamps(&restarted, "backup").len(),
        2,
        "the failed backup reran"
    );
    assert_eq!(
        stamps(&restarted, "cleanup").len(),
        1,
        "postfail ran for the failure only"
    );
    let full = get(&agent, &format!("/v1/allocation/{id}")).1;
    let events = |task: &str| -> Vec<String> {
        full["TaskStates"][task]["Events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["Type"].as_str().map(str::to_string))
            .collect()
    };
    let db_events = events("db");
    assert_eq!(
        db_events.iter().filter(|e| *e == "Started").count(),
        1,
        "{db_events:?}"
    );
    assert!(events("backup").contains(&"Restart Signaled".to_string()));
    assert_eq!(full["TaskStates"]["backup"]["Restarts"], 1);
    // Restarting it again: complete, nothing to resume.
    let again = orch_cli(&agent, &["alloc", "restart", &id]);
    assert!(!again.status.success());

    // The restart policy restarts the failed backup in place; watch, which started
    // with it, is stopped and starts again after it; db is never rerun.
    wait_for(
        Duration::from_secs(60),
        "the policy job to complete",
        || alloc_with_status(&agent, "policy", "complete"),
    );
    assert_eq!(
        stamps(&policy, "db").len(),
        1,
        "db succeeded and is not rerun"
    );
    let backup = stamps(&policy, "backup");
    let watch = stamps(&policy, "watch");
    assert_eq!(backup.len(), 2, "the restart policy reran backup");
    assert_eq!(
        watch.len(),
        2,
        "watch restarted with its dependency: {watch:?}"
    );
    // The first backup ran for a second before it failed: watch's second start is
    // after that failure.
    assert!(
        watch[1] >= backup[0] + 1_000_000_000,
        "watch restarted before backup failed"
    );
}

#[test]
fn dependency_errors_are_refused_with_their_place() {
    let dir = temp_dir("workflows-validate");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let job = db_backup_job("bad", &dir, "exit 0", "")
        .replace("depends_on = [\"db\"]", "depends_on = [\"x\"]");
    let path = dir.join("bad.nomad.hcl");
    std::fs::write(&path, job).unwrap();
    let out = orch_cli(&agent, &["job", "run", path.to_str().unwrap()]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(r#"group "g" task "backup" lifecycle depends_on[0]: unknown task "x""#),
        "{text}"
    );
}

#[path = "workflows/jobs.rs"]
mod jobs;

#[path = "workflows/gates.rs"]
mod gates;

#[path = "workflows/releases.rs"]
mod releases;
