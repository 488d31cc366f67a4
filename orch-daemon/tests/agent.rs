//! Integration tests that start the real `orch` binary: a dev agent answering Nomad's
//! HTTP API, and a server that keeps its state across a restart.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn dev_agent_serves_nomads_api_and_schedules_through_raft() {
    let dir = temp_dir("dev");
    // A server without a client: nothing can be placed yet.
    let data = dir.join("data");
    let agent = start(
        &dir,
        &[
            "-server",
            "-bootstrap-expect",
            "1",
            "-data-dir",
            data.to_str().unwrap(),
        ],
    );
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
    let (code, text) = send(
        &agent,
        "GET",
        "/v1/metrics?format=prometheus",
        serde_json::Value::Null,
    );
    assert_eq!(code, 200);
    for name in [
        "nomad_nomad_jobs",
        "nomad_raft_applied_index",
        "nomad_nomad_broker_total_ready",
        "nomad_nomad_blocked_evals_total_blocked",
        "nomad_http_request_count{method=\"PUT\",code=\"200\"}",
        "nomad_http_request_sum{method=\"GET\",path=\"/v1/job/{id}\"}",
        "nomad_nomad_worker_invoke_scheduler_count{type=\"service\"}",
        "nomad_nomad_plan_apply_count",
        "nomad_raft_commitTime_count",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    // The JSON summary carries the same counters and timing samples, measured.
    let (code, m) = get(&agent, "/v1/metrics");
    assert_eq!(code, 200);
    let find = |kind: &str, name: &str| -> serde_json::Value {
        m[kind]
            .as_array()
            .and_then(|l| l.iter().find(|s| s["Name"] == name).cloned())
            .unwrap_or_else(|| panic!("{kind} {name} missing from {m}"))
    };
    let requests = find("Counters", "nomad.http.request_count");
    assert!(requests["Count"].as_u64().unwrap() >= 1, "{requests}");
    let scheduler = find("Samples", "nomad.nomad.worker.invoke_scheduler");
    assert!(scheduler["Count"].as_u64().unwrap() >= 1, "{scheduler}");
    assert!(scheduler["Max"].as_f64().unwrap() >= scheduler["Min"].as_f64().unwrap());
    assert!(scheduler["Sum"].as_f64().unwrap() > 0.0, "{scheduler}");
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

fn client_node(id: &str) -> serde_json::Value {
    serde_json::json!({"Node": {
        "ID": id, "Name": id, "Datacenter": "dc1",
        "Attributes": {"kernel.name": "linux", "driver.raw_exec": "1"},
        "Drivers": {"raw_exec": {"Detected": true, "Healthy": true}},
        "NodeResources": {"Cpu": {"CpuShares": 4000}, "Memory": {"MemoryMB": 4096}, "Disk": {"DiskMB": 20000}}
    }})
}

fn live_allocs(agent: &Agent) -> Vec<serde_json::Value> {
    let (_, allocs) = get(agent, "/v1/job/web/allocations");
    allocs
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["DesiredStatus"] == "run" && a["ClientStatus"] != "lost")
        .collect()
}

#[test]
fn work_moves_off_a_node_that_stops_heartbeating() {
    let dir = temp_dir("heartbeat");
    let fast = dir.join("fast.hcl");
    std::fs::write(
        &fast,
        "server {\n  min_heartbeat_ttl = \"500ms\"\n  heartbeat_grace = \"500ms\"\n}\n",
    )
    .unwrap();
    // Server only: the two nodes below are the only ones.
    let data = dir.join("data");
    let agent = start_server_with(&dir, &data, &["-config", fast.to_str().unwrap()]);
    for id in [
        "11111111-0000-4000-8000-000000000001",
        "22222222-0000-4000-8000-000000000002",
    ] {
        let (code, body) = send(&agent, "PUT", "/v1/internal/node/register", client_node(id));
        assert_eq!(code, 200, "{body}");
    }
    let (code, body) = send(&agent, "PUT", "/v1/jobs", example_job());
    assert_eq!(code, 200, "{body}");
    let mut placed = Vec::new();
    for _ in 0..100 {
        placed = live_allocs(&agent);
        if placed.len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        placed.len(),
        2,
        "both allocations placed on the registered nodes"
    );
    // Only node 1 keeps heartbeating.
    let survivor = "11111111-0000-4000-8000-000000000001";
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut moved = false;
    while std::time::Instant::now() < deadline {
        send(
            &agent,
            "PUT",
            &format!("/v1/internal/node/{survivor}/heartbeat"),
            serde_json::json!({"Status": "ready"}),
        );
        let allocs = live_allocs(&agent);
        let (_, down) = get(&agent, "/v1/node/22222222-0000-4000-8000-000000000002");
        if down["Status"] == "down"
            && allocs.len() == 2
            && allocs.iter().all(|a| a["NodeID"] == survivor)
        {
            moved = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    if !moved {
        let (_, n) = get(&agent, "/v1/node/22222222-0000-4000-8000-000000000002");
        let (_, allocs) = get(&agent, "/v1/job/web/allocations");
        let (_, evals) = get(&agent, "/v1/job/web/evaluations");
        eprintln!("node status {}", n["Status"]);
        for a in allocs.as_array().into_iter().flatten() {
            eprintln!(
                "alloc {} {} {} {}",
                a["NodeID"], a["DesiredStatus"], a["ClientStatus"], a["Name"]
            );
        }
        for e in evals.as_array().into_iter().flatten() {
            eprintln!(
                "eval {} {} blocked={} failed={}",
                e["TriggeredBy"], e["Status"], e["BlockedEval"], e["FailedTGAllocs"]
            );
        }
    }
    assert!(
        moved,
        "the silent node went down and its allocation was replaced on the live one"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Every `null` under `v`, by its path.
fn nulls(v: &serde_json::Value, path: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Null => out.push(path),
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                nulls(x, format!("{path}.{k}"), out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                nulls(x, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn agent_self_shows_the_settings_the_agent_runs_with() {
    let dir = temp_dir("agent-self");
    let cfg = dir.join("agent.hcl");
    std::fs::write(
        &cfg,
        "server {\n  heartbeat_grace = \"7s\"\n  job_gc_threshold = \"2h\"\n  server_join {\n    retry_interval = \"2s\"\n  }\n}\nacl {\n  token_ttl = \"45s\"\n}\n",
    )
    .unwrap();
    let agent = start(&dir, &["-dev", "-config", cfg.to_str().unwrap()]);
    wait_leader(&agent);
    let (code, me) = get(&agent, "/v1/agent/self");
    assert_eq!(code, 200, "{me}");
    let config = &me["config"];
    let mut found = Vec::new();
    for part in ["Server", "Client", "ACL"] {
        nulls(&config[part], part.to_string(), &mut found);
    }
    assert!(
        found.is_empty(),
        "unset settings show their defaults: {found:?}"
    );
    let server = &config["Server"];
    // Set ones as given; unset ones as the agent runs them (Nomad's types: Go
    // durations in nanoseconds, GC thresholds as strings).
    assert_eq!(server["HeartbeatGrace"], 7_000_000_000u64, "{server}");
    assert_eq!(server["JobGCThreshold"], "2h0m0s", "{server}");
    assert_eq!(server["EvalGCThreshold"], "1h0m0s", "{server}");
    assert_eq!(server["ServerJoin"]["RetryInterval"], 2_000_000_000u64);
    assert!(
        server["NumSchedulers"].as_u64().is_some_and(|n| n >= 1),
        "{server}"
    );
    assert_eq!(config["ACL"]["TokenTTL"], 45_000_000_000u64);
    assert_eq!(config["ACL"]["PolicyTTL"], 30_000_000_000u64);
    assert_eq!(config["Client"]["MinDynamicPort"], 20000);
    drop(agent);
    // A bad retry_interval is refused at start, naming the setting.
    std::fs::write(
        &cfg,
        "server {\n  server_join {\n    retry_interval = \"soon\"\n  }\n}\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(["agent", "-dev", "-config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(text.contains("server.server_join.retry_interval"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}
