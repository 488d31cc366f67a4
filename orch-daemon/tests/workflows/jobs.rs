//! Dependencies between jobs (`depends_on { job, condition }`) and ordered groups
//! (`update { ordered = true }`) on the real binary. Every wait polls with a deadline.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::common::*;
use super::{sh, stamps};

/// Unix nanoseconds of one of Nomad's RFC 3339 times.
fn nanos(v: &Value) -> i128 {
    v.as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map_or(0, |t| t.as_nanosecond())
}

/// A service job whose one task appends its start time to `<out>/<job>-<index>`, then
/// runs until stopped (appending its stop time to `<out>/stop-<index>`).
fn service(id: &str, out: &Path, count: u32, extra_job: &str, update: &str) -> String {
    let o = out.display();
    let script = format!(
        "date +%s%N >> {o}/{id}-$NOMAD_ALLOC_INDEX; trap 'date +%s%N >> {o}/stop-$NOMAD_ALLOC_INDEX; exit 0' INT TERM; while true; do sleep 0.1; done"
    );
    format!(
        r#"
job "{id}" {{
  {extra_job}
  group "g" {{
    count = {count}
    update {{
      min_healthy_time = "1s"
      {update}
    }}
    task "t" {{
      driver = "raw_exec"
      {config}
    }}
  }}
}}
"#,
        config = sh(&script)
    )
}

/// The job's allocations asked to run, with their full records.
fn running_allocs(agent: &Agent, job: &str) -> Vec<Value> {
    job_allocs(agent, job)
        .into_iter()
        .filter(|a| a["DesiredStatus"] == "run")
        .map(|a| {
            get(
                agent,
                &format!("/v1/allocation/{}", a["ID"].as_str().unwrap_or("")),
            )
            .1
        })
        .collect()
}

fn healthy(a: &Value) -> bool {
    a["ClientStatus"] == "running" && a["DeploymentStatus"]["Healthy"] == true
}

#[test]
fn a_job_waits_for_another_jobs_health_and_cycles_are_refused() {
    let dir = temp_dir("workflows-job-deps");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let wait_db = "depends_on {\n    job       = \"db\"\n    condition = \"healthy\"\n  }";
    run_hcl(&agent, &service("web", &out, 1, wait_db, ""));

    // web waits, and says why: in its summary, its blocked evaluation and `job status`.
    let summary = wait_for(
        Duration::from_secs(30),
        "web's summary to say it waits",
        || {
            let (_, s) = get(&agent, "/v1/job/web/summary");
            s["Waiting"]["g"].is_string().then_some(s)
        },
    );
    assert_eq!(
        summary["Waiting"]["g"],
        "waiting for job \"db\" to be healthy: it is not registered"
    );
    let blocked = wait_for(Duration::from_secs(30), "web's blocked evaluation", || {
        let (_, evals) = get(&agent, "/v1/job/web/evaluations");
        evals
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["Status"] == "blocked")
            .cloned()
    });
    assert_eq!(blocked["TriggeredBy"], "job-dependency");
    assert!(
        blocked["StatusDescription"]
            .as_str()
            .is_some_and(|d| d.contains("waiting for job \"db\" to be healthy")),
        "{blocked}"
    );
    assert_eq!(summary["Summary"]["g"]["Queued"], 1);
    let status = orch_cli(&agent, &["job", "status", "web"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("Dependencies"), "{text}");
    assert!(
        text.contains("waiting for job \"db\" to be healthy"),
        "{text}"
    );
    assert!(!text.contains("Placement Failure"), "{text}");
    assert!(job_allocs(&agent, "web").is_empty());

    // A cycle back to web is refused at registration, with the field path.
    let cycle = orch_parse(&service("db", &out, 1, "depends_on { job = \"web\" }", ""));
    let (code, body) = send(
        &agent,
        "PUT",
        "/v1/jobs",
        serde_json::json!({ "Job": cycle }),
    );
    assert_eq!(code, 400, "{body}");
    assert!(
        body.contains("DependsOn[0].Job: dependency cycle between jobs: db -> web -> db"),
        "{body}"
    );
    // `job plan` refuses it the same way.
    let (code, body) = send(
        &agent,
        "POST",
        "/v1/job/db/plan",
        serde_json::json!({ "Job": cycle }),
    );
    assert_eq!(code, 400, "{body}");
    assert!(
        body.contains("DependsOn[0].Job: dependency cycle between jobs: db -> web -> db"),
        "{body}"
    );

    // db runs; web is placed only once db is healthy.
    run_hcl(&agent, &service("db", &out, 1, "", ""));
    let web = wait_for(Duration::from_secs(90), "web to be placed and run", || {
        running_allocs(&agent, "web")
            .into_iter()
            .find(|a| a["ClientStatus"] == "running")
    });
    let db = running_allocs(&agent, "db");
    assert_eq!(db.len(), 1);
    assert!(
        healthy(&db[0]),
        "db must be healthy before web is placed: {}",
        db[0]
    );
    let db_healthy_at = nanos(&db[0]["DeploymentStatus"]["Timestamp"]);
    let web_created = web["CreateTime"].as_i64().unwrap_or(0) as i128;
    assert!(
        db_healthy_at > 0 && web_created >= db_healthy_at,
        "web placed at {web_created}, db healthy at {db_healthy_at}"
    );
    let web_started = stamps(&out, "web-0");
    assert_eq!(web_started.len(), 1);
    assert!(web_started[0] as i128 >= db_healthy_at);
    let (_, summary) = get(&agent, "/v1/job/web/summary");
    assert!(summary.get("Waiting").is_none(), "{summary}");
}

#[test]
fn an_ordered_group_of_three_starts_in_index_order_and_stops_in_reverse() {
    let dir = temp_dir("workflows-ordered");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    run_hcl(&agent, &service("sts", &out, 3, "", "ordered = true"));

    let allocs = wait_for(
        Duration::from_secs(120),
        "three healthy allocations",
        || {
            let a = running_allocs(&agent, "sts");
            (a.len() == 3 && a.iter().all(healthy)).then_some(a)
        },
    );
    let mut by_index: Vec<(String, Value)> = allocs
        .into_iter()
        .map(|a| (a["Name"].as_str().unwrap_or("").to_string(), a))
        .collect();
    by_index.sort_by(|a, b| a.0.cmp(&b.0));
    let started: Vec<u128> = (0..3)
        .map(|i| {
            let s = stamps(&out, &format!("sts-{i}"));
            assert_eq!(s.len(), 1, "index {i} started once");
            s[0]
        })
        .collect();
    for i in 1..3 {
        let before = nanos(&by_index[i - 1].1["DeploymentStatus"]["Timestamp"]);
        assert!(
            started[i] as i128 >= before,
            "index {i} started at {} before index {} was healthy at {before}",
            started[i],
            i - 1
        );
        assert!(started[i - 1] < started[i], "start order: {started:?}");
    }

    // Stopping goes from the highest index down.
    let stop = orch_cli(&agent, &["job", "stop", "-detach", "sts"]);
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    let stopped = wait_for(Duration::from_secs(120), "every index to stop", || {
        let s: Vec<Vec<u128>> = (0..3).map(|i| stamps(&out, &format!("stop-{i}"))).collect();
        s.iter().all(|v| !v.is_empty()).then_some(s)
    });
    assert!(
        stopped[2][0] < stopped[1][0] && stopped[1][0] < stopped[0][0],
        "stop order: {stopped:?}"
    );
}
