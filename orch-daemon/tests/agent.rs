//! Integration tests that start the real `orch` binary: a dev agent answering Nomad's
//! HTTP API, and a server that keeps its state across a restart.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Agent {
    child: Child,
    http: String,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "orch-it-{}-{name}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Starts `orch agent` with every port chosen by the OS and waits for its HTTP address.
fn start(dir: &Path, extra: &[&str]) -> Agent {
    let config = dir.join("ports.hcl");
    std::fs::write(&config, "ports {\n  http = 0\n  rpc = 0\n  serf = 0\n}\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_orch"))
        .arg("agent")
        .args([
            "-config",
            config.to_str().unwrap(),
            "-bind",
            "127.0.0.1",
            "-node",
            "it-node",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start orch");
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    let mut http = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(addr) = line.trim().strip_prefix("HTTP API:") {
            http = Some(addr.trim().to_string());
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Agent {
        child,
        http: http.expect("agent printed its HTTP address"),
    }
}

fn get(agent: &Agent, path: &str) -> (u16, serde_json::Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::get(format!("{}{path}", agent.http)).await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    })
}

fn send(agent: &Agent, method: &str, path: &str, body: serde_json::Value) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = client
            .request(m, format!("{}{path}", agent.http))
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

fn wait_leader(agent: &Agent) {
    for _ in 0..100 {
        if get(agent, "/v1/status/leader").0 == 200 {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no leader");
}

fn example_job() -> serde_json::Value {
    let hcl = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/web.nomad.hcl"),
    )
    .unwrap();
    let job = orch_parse(&hcl);
    serde_json::json!({ "Job": job })
}

fn orch_parse(hcl: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(["job", "run", "-output", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(hcl.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["Job"].clone()
}

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
