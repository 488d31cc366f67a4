//! `eval delete` through the real CLI: refused while the eval broker runs, and with it
//! paused the named evaluation (or those a filter matches) is removed and never
//! scheduled after the broker resumes. `deployment unblock` is refused with the reason
//! (orch runs one region, so no deployment waits for peer regions).

mod common;

use std::time::Duration;

use common::*;

fn cli(agent: &Agent, args: &[&str]) -> (bool, String) {
    let out = orch_cli(agent, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn job_evals(agent: &Agent, job: &str) -> Vec<serde_json::Value> {
    let (_, v) = get(agent, &format!("/v1/job/{job}/evaluations"));
    v.as_array().cloned().unwrap_or_default()
}

#[test]
fn evaluations_are_deleted_only_with_the_broker_paused_and_never_run() {
    let dir = temp_dir("eval-delete");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let (ok, out) = cli(
        &agent,
        &[
            "operator",
            "scheduler",
            "set-config",
            "-pause-eval-broker=true",
        ],
    );
    assert!(ok, "{out}");
    let mut job = example_job()["Job"].clone();
    job["ID"] = "paused-a".into();
    job["Name"] = "paused-a".into();
    let (code, body) = send(
        &agent,
        "PUT",
        "/v1/jobs",
        serde_json::json!({"Job": job.clone()}),
    );
    assert_eq!(code, 200, "{body}");
    job["ID"] = "paused-b".into();
    job["Name"] = "paused-b".into();
    let (code, body) = send(&agent, "PUT", "/v1/jobs", serde_json::json!({"Job": job}));
    assert_eq!(code, 200, "{body}");
    let eval_a = job_evals(&agent, "paused-a")[0]["ID"]
        .as_str()
        .unwrap()
        .to_string();

    let (ok, out) = cli(&agent, &["eval", "delete", &eval_a[..8]]);
    assert!(ok, "{out}");
    assert!(out.contains("Successfully deleted 1 evaluation"), "{out}");
    let (ok, out) = cli(
        &agent,
        &["eval", "delete", "-yes", "-filter", "JobID == \"paused-b\""],
    );
    assert!(
        ok && out.contains("Successfully deleted 1 evaluation"),
        "{out}"
    );
    assert!(job_evals(&agent, "paused-a").is_empty());

    // Resumed: the deleted evaluations are not scheduled; refused again once running.
    let (ok, out) = cli(
        &agent,
        &[
            "operator",
            "scheduler",
            "set-config",
            "-pause-eval-broker=false",
        ],
    );
    assert!(ok, "{out}");
    let (ok, out) = cli(
        &agent,
        &["eval", "delete", "-yes", "-filter", "JobID == \"x\""],
    );
    assert!(!ok && out.contains("eval broker must be paused"), "{out}");
    let mut job = example_job()["Job"].clone();
    job["ID"] = "after".into();
    job["Name"] = "after".into();
    let (code, body) = send(&agent, "PUT", "/v1/jobs", serde_json::json!({"Job": job}));
    assert_eq!(code, 200, "{body}");
    wait_for(Duration::from_secs(60), "the next job placed", || {
        (!job_allocs(&agent, "after").is_empty()).then_some(())
    });
    assert!(job_allocs(&agent, "paused-a").is_empty());
    assert!(job_allocs(&agent, "paused-b").is_empty());
    assert!(job_evals(&agent, "paused-a").is_empty());

    // No deployment of a single region is ever blocked.
    let (code, body) = send(
        &agent,
        "PUT",
        "/v1/deployment/unblock/nope",
        serde_json::json!({}),
    );
    assert_eq!(code, 404, "{body}");
    let deployment = wait_for(Duration::from_secs(60), "the job's deployment", || {
        let (_, d) = get(&agent, "/v1/job/after/deployment");
        d["ID"].as_str().map(str::to_string)
    });
    let (ok, out) = cli(&agent, &["deployment", "unblock", &deployment]);
    assert!(!ok && out.contains("unblock"), "{out}");
    drop(agent);
    let _ = std::fs::remove_dir_all(dir);
}
