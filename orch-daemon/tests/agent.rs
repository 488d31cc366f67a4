//! Integration tests that start the real `orch` binary: a dev agent answering Nomad's
//! HTTP API, and a server that keeps its state across a restart.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn dev_agent_serves_nomads_api_and_schedules_through_raft() {
    let dir = temp_dir("dev");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let (code, body) = send(&agent, "PUT", "/v1/jobs", example_job());
    assert_eq!(code, 200, "{body}");
    let reply: serde_json::Value = serde_json::from_str(&body).unwrap();
    let eval_id = reply["EvalID"].as_str().unwrap().to_string();
    let (code, job) = get(&agent, "/v1/job/web");
    assert_eq!(code, 200);
    assert_eq!(job["TaskGroups"][0]["Count"], 2);
    // No nodes yet: the scheduler runs the evaluation and blocks the rest.
    let mut status = String::new();
    for _ in 0..100 {
        let (_, eval) = get(&agent, &format!("/v1/evaluation/{eval_id}"));
        status = eval["Status"].as_str().unwrap_or_default().to_string();
        if status == "complete" {
            assert!(!eval["BlockedEval"].as_str().unwrap_or_default().is_empty());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(status, "complete");
    let (code, body) = send(
        &agent,
        "PUT",
        "/v1/jobs",
        serde_json::json!({"Job": {"ID": "bad", "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "raw_exec", "Resources": {"MemoryMB": 1}}]}]}}),
    );
    assert_eq!(code, 400);
    assert!(
        body.contains("TaskGroups[0].Tasks[0].Resources.MemoryMB"),
        "{body}"
    );
    assert_eq!(get(&agent, "/v1/job/bad").0, 404);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_server_keeps_its_state_across_restarts() {
    let dir = temp_dir("server");
    let data = dir.join("data");
    let args = [
        "-server",
        "-bootstrap-expect",
        "1",
        "-data-dir",
        data.to_str().unwrap(),
    ];
    {
        let agent = start(&dir, &args);
        wait_leader(&agent);
        let (code, body) = send(&agent, "PUT", "/v1/jobs", example_job());
        assert_eq!(code, 200, "{body}");
    }
    let agent = start(&dir, &args);
    wait_leader(&agent);
    let mut found = false;
    for _ in 0..50 {
        let (code, job) = get(&agent, "/v1/job/web");
        if code == 200 {
            assert_eq!(job["ID"], "web");
            found = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(found, "job registered before the restart is still there");
    let _ = std::fs::remove_dir_all(dir);
}
