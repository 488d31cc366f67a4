//! Periodic and parameterized jobs through a real `orch agent -dev`: children launched on
//! a seconds-granular schedule actually run (raw_exec tasks append `date +%s` to files in
//! a temp dir), `prohibit_overlap` skips launches while a child runs, `periodic force`
//! launches at once, a dispatched job sees its payload and meta, and `orch job status`
//! shows a parent's next launch as Nomad's CLI does.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// A batch job whose raw_exec task runs `script` under `/bin/sh`.
fn job_hcl(id: &str, head: &str, script: &str) -> String {
    format!(
        r#"
job "{id}" {{
  type = "batch"
  {head}
  group "g" {{
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "{script}"]
      }}
      resources {{
        cpu    = 20
        memory = 16
      }}
    }}
  }}
}}
"#
    )
}

/// Unix seconds written by the children, one line each.
fn stamps(path: &Path) -> Vec<i64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn children(agent: &Agent, parent: &str) -> Vec<String> {
    let (_, jobs) = get(agent, &format!("/v1/jobs?prefix={parent}/"));
    jobs.as_array()
        .into_iter()
        .flatten()
        .filter(|j| j["ParentID"] == parent)
        .map(|j| j["ID"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn enc(id: &str) -> String {
    id.replace('/', "%2F")
}

fn orch(agent: &Agent, args: &[&str]) -> std::process::Output {
    orch_cli(agent, args)
}

#[test]
fn periodic_children_run_on_schedule_and_never_overlap_when_prohibited() {
    let dir = temp_dir("periodic");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let every = dir.join("every.txt");
    let slow = dir.join("slow.txt");
    run_hcl(
        &agent,
        &job_hcl(
            "tick",
            r#"periodic { crons = ["*/2 * * * * * *"] }"#,
            &format!("date +%s >> {}", every.display()),
        ),
    );
    run_hcl(
        &agent,
        &job_hcl(
            "slow",
            r#"periodic {
    cron             = "*/2 * * * * * *"
    prohibit_overlap = true
  }"#,
            &format!("date +%s >> {}; sleep 5", slow.display()),
        ),
    );
    // The parents themselves never run.
    assert!(job_allocs(&agent, "tick").is_empty());
    let (_, parent) = get(&agent, "/v1/job/tick");
    assert_eq!(parent["Status"], "running");

    let ticks = wait_for(Duration::from_secs(30), "three scheduled runs", || {
        let s = stamps(&every);
        (s.len() >= 3).then_some(s)
    });
    // Launches every 2 s: children start about 2 s apart.
    for pair in ticks.windows(2) {
        let gap = pair[1] - pair[0];
        assert!((1..=4).contains(&gap), "tick starts {ticks:?}");
    }
    let kids = children(&agent, "tick");
    assert!(kids.len() >= 3, "{kids:?}");
    for k in &kids {
        let secs: i64 = k.rsplit('-').next().unwrap().parse().unwrap();
        assert_eq!(secs % 2, 0, "launch times follow */2: {k}");
    }
    let (_, summary) = get(&agent, "/v1/job/tick/summary");
    let c = &summary["Children"];
    let total = ["Pending", "Running", "Dead"]
        .iter()
        .map(|k| c[k].as_u64().unwrap_or(0))
        .sum::<u64>();
    assert!(total >= 3, "{summary}");

    // prohibit_overlap: each slow child runs 5 s, so launches in between are skipped.
    let slow_runs = wait_for(Duration::from_secs(30), "two slow runs", || {
        let s = stamps(&slow);
        (s.len() >= 2).then_some(s)
    });
    for pair in slow_runs.windows(2) {
        assert!(
            pair[1] - pair[0] >= 5,
            "a slow child started while the previous one ran: {slow_runs:?}"
        );
    }
    let (s, _) = send(&agent, "DELETE", "/v1/job/tick", Value::Null);
    assert_eq!(s, 200);
    let (s, _) = send(&agent, "DELETE", "/v1/job/slow", Value::Null);
    assert_eq!(s, 200);
}

#[test]
fn force_launches_now_and_dispatch_delivers_payload_and_meta() {
    let dir = temp_dir("dispatch");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let forced = dir.join("forced.txt");
    run_hcl(
        &agent,
        &job_hcl(
            "yearly",
            r#"periodic { cron = "@yearly" }"#,
            &format!("date +%s >> {}", forced.display()),
        ),
    );
    let out = orch(&agent, &["job", "periodic", "force", "-detach", "yearly"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Force periodic successful"), "{stdout}");
    wait_for(Duration::from_secs(20), "the forced child to run", || {
        (!stamps(&forced).is_empty()).then_some(())
    });
    let out = orch(
        &agent,
        &["job", "periodic", "force", "-detach", "nope-none"],
    );
    assert!(!out.status.success());

    run_hcl(
        &agent,
        r#"
job "work" {
  type = "batch"
  parameterized {
    payload       = "required"
    meta_required = ["who"]
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "cat ${NOMAD_TASK_DIR}/input.txt; echo; echo who=$NOMAD_META_who"]
      }
      dispatch_payload { file = "input.txt" }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#,
    );
    let input = dir.join("in.txt");
    std::fs::write(&input, "payload-bytes").unwrap();
    let input = input.to_str().unwrap();
    // Missing required meta: a 400 naming the key, through the CLI and the API.
    let out = orch(&agent, &["job", "dispatch", "work", input]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Dispatch did not provide required meta keys: [\"who\"]"),
        "{err}"
    );
    let (s, body) = send(
        &agent,
        "POST",
        "/v1/job/work/dispatch",
        json!({"Payload": "eA=="}),
    );
    assert_eq!(s, 400, "{body}");
    let (s, body) = send(
        &agent,
        "POST",
        "/v1/job/work/dispatch",
        json!({"Meta": {"who": "x"}}),
    );
    assert!(s == 400 && body.contains("Payload is required"), "{body}");

    let out = orch(
        &agent,
        &["job", "dispatch", "-meta", "who=tester", "work", input],
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let child = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Dispatched Job ID = "))
        .unwrap_or_else(|| panic!("no job ID in {stdout}"))
        .trim()
        .to_string();
    assert!(child.starts_with("work/dispatch-"), "{child}");
    assert!(stdout.contains("Evaluation ID"), "{stdout}");
    let alloc = wait_for(
        Duration::from_secs(30),
        "the dispatched child to finish",
        || {
            let (_, allocs) = get(&agent, &format!("/v1/job/{}/allocations", enc(&child)));
            allocs
                .as_array()
                .and_then(|a| a.first().cloned())
                .filter(|a| a["ClientStatus"] == "complete")
        },
    );
    let id = alloc["ID"].as_str().unwrap();
    let (_, log) = get_text(
        &agent,
        &format!("/v1/client/fs/logs/{id}?task=t&type=stdout&plain=true"),
    );
    assert_eq!(log.trim(), "payload-bytes\nwho=tester");
    // The parent never ran; its summary counts the child.
    assert!(job_allocs(&agent, "work").is_empty());
    let (_, summary) = get(&agent, "/v1/job/work/summary");
    assert_eq!(summary["Children"]["Dead"], 1, "{summary}");
}

/// Seconds in a Go duration string as `formatTimeDifference` prints it (`1h2m3s`).
fn go_secs(d: &str) -> i64 {
    let (mut total, mut n) = (0, 0);
    for c in d.chars() {
        match c {
            '0'..='9' => n = n * 10 + i64::from(c.to_digit(10).unwrap()),
            'h' => (total, n) = (total + n * 3600, 0),
            'm' => (total, n) = (total + n * 60, 0),
            's' => (total, n) = (total + n, 0),
            other => panic!("unexpected {other:?} in duration {d:?}"),
        }
    }
    total
}

fn status_kv(agent: &Agent, job: &str) -> Vec<(String, String)> {
    let out = orch(agent, &["job", "status", job]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    cli_kv(&stdout)
}

fn next_launch_line(kv: &[(String, String)]) -> Option<String> {
    kv.iter()
        .find(|(k, _)| k == "Next Periodic Launch")
        .map(|(_, v)| v.clone())
}

#[test]
fn job_status_shows_the_next_periodic_launch() {
    let dir = temp_dir("next-launch");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    // Far-future schedules, so nothing launches while the test looks.
    run_hcl(
        &agent,
        &job_hcl("utc", r#"periodic { cron = "0 0 1 1 * 2099" }"#, "true"),
    );
    run_hcl(
        &agent,
        &job_hcl(
            "ny",
            r#"periodic {
    crons     = ["0 9 1 7 * 2099", "0 9 LW 12 * 2099"]
    time_zone = "America/New_York"
  }"#,
            "true",
        ),
    );
    run_hcl(
        &agent,
        &job_hcl(
            "off",
            r#"periodic {
    cron    = "* * * * *"
    enabled = false
  }"#,
            "true",
        ),
    );

    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let kv = status_kv(&agent, "utc");
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let line = next_launch_line(&kv).unwrap_or_else(|| panic!("no next launch in {kv:?}"));
    let (at, rest) = line.split_once(' ').unwrap();
    assert_eq!(at, "2099-01-01T00:00:00Z", "{line}");
    let d = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(" from now)"))
        .unwrap_or_else(|| panic!("{line}"));
    // 2099-01-01T00:00:00Z is Unix second 4_070_908_800.
    let left = go_secs(d);
    assert!(
        (4_070_908_800 - after..=4_070_908_800 - before).contains(&left),
        "{line}: {left}s left, checked between {before} and {after}"
    );
    assert!(kv.contains(&("Periodic".into(), "true".into())), "{kv:?}");

    // In the job's zone: the earliest of its crons, July 1st 09:00 EDT.
    let line = next_launch_line(&status_kv(&agent, "ny")).unwrap();
    assert!(line.starts_with("2099-07-01T09:00:00-04:00 ("), "{line}");

    // Disabled: no line. Stopped: "none (job stopped)", as Nomad prints it.
    let kv = status_kv(&agent, "off");
    assert_eq!(next_launch_line(&kv), None, "{kv:?}");
    let out = orch(&agent, &["job", "stop", "-detach", "utc"]);
    assert!(out.status.success());
    let line = next_launch_line(&status_kv(&agent, "utc"));
    assert_eq!(line.as_deref(), Some("none (job stopped)"));
}
