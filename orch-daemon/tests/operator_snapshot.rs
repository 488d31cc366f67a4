//! Operator snapshots on the real binary: `orch operator snapshot save|inspect|restore`
//! and `/v1/operator/snapshot`, saved on one cluster (ACLs on) and restored into a fresh
//! three-server cluster; a corrupted archive is refused and changes nothing.

mod common;

use std::time::Duration;

use common::{
    Agent, orch_cli, orch_cli_token, sleep_job, start, temp_dir, three_servers, wait_for,
    wait_leader,
};
use serde_json::{Value, json};

/// One HTTP call with a token and a raw body; status, `X-Nomad-Index` and body bytes.
fn call(
    agent: &Agent,
    method: &str,
    path: &str,
    token: &str,
    body: Vec<u8>,
) -> (u16, u64, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = reqwest::Client::new()
            .request(m, format!("{}{path}", agent.http))
            .body(body);
        if !token.is_empty() {
            req = req.header("X-Nomad-Token", token);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let index = r
            .headers()
            .get("x-nomad-index")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        (status, index, r.bytes().await.unwrap().to_vec())
    })
}

fn json(agent: &Agent, path: &str, token: &str) -> Value {
    let (status, _, body) = call(agent, "GET", path, token, Vec::new());
    assert_eq!(
        status,
        200,
        "GET {path}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).unwrap()
}

fn put_json(agent: &Agent, path: &str, token: &str, body: Value) -> Value {
    let (status, _, out) = call(agent, "PUT", path, token, body.to_string().into_bytes());
    assert_eq!(status, 200, "PUT {path}: {}", String::from_utf8_lossy(&out));
    serde_json::from_slice(&out).unwrap_or(Value::Null)
}

fn acl_config(dir: &std::path::Path) -> String {
    let config = dir.join("acl.hcl");
    std::fs::write(&config, "acl {\n  enabled = true\n}\n").unwrap();
    config.to_str().unwrap().to_string()
}

fn bootstrap(agent: &Agent) -> String {
    let v = wait_for(Duration::from_secs(30), "ACL bootstrap", || {
        let (status, _, body) = call(agent, "POST", "/v1/acl/bootstrap", "", Vec::new());
        (status == 200).then(|| serde_json::from_slice::<Value>(&body).unwrap())
    });
    v["SecretID"].as_str().unwrap().to_string()
}

/// What must survive a restore: jobs and allocations with their indexes, token names.
fn summary(agent: &Agent, token: &str, stale: bool) -> Value {
    let q = if stale { "?stale=true" } else { "" };
    let jobs: Vec<Value> = json(agent, &format!("/v1/jobs{q}"), token)
        .as_array()
        .unwrap()
        .iter()
        .map(|j| json!([j["ID"], j["CreateIndex"], j["JobModifyIndex"]]))
        .collect();
    let mut allocs: Vec<Value> = json(agent, &format!("/v1/allocations{q}"), token)
        .as_array()
        .unwrap()
        .iter()
        .map(|a| json!([a["ID"], a["JobID"], a["CreateIndex"], a["EvalID"]]))
        .collect();
    allocs.sort_by_key(|a| a.to_string());
    let mut tokens: Vec<Value> = json(agent, &format!("/v1/acl/tokens{q}"), token)
        .as_array()
        .unwrap()
        .iter()
        .map(|t| json!([t["AccessorID"], t["Name"], t["CreateIndex"]]))
        .collect();
    tokens.sort_by_key(|t| t.to_string());
    json!({ "jobs": jobs, "allocs": allocs, "tokens": tokens })
}

#[test]
fn save_on_one_cluster_restore_on_a_fresh_three_server_cluster() {
    // The source: a dev agent (server and client) with ACLs on, a job and its allocation.
    let src_dir = temp_dir("opsnap-src");
    let src = start(&src_dir, &["-dev", "-config", &acl_config(&src_dir)]);
    wait_leader(&src);
    let root = bootstrap(&src);
    put_json(
        &src,
        "/v1/acl/token",
        &root,
        json!({"Name": "ops", "Type": "management"}),
    );
    put_json(&src, "/v1/jobs", &root, sleep_job("sleeper", "default"));
    wait_for(
        Duration::from_secs(60),
        "the sleeper's allocation running",
        || {
            let allocs = json(&src, "/v1/allocations", &root);
            allocs
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["ClientStatus"] == "running")
                .then_some(())
        },
    );
    let before = summary(&src, &root, false);

    // Save: management only; through the CLI, then inspect the file.
    let (status, _, _) = call(&src, "GET", "/v1/operator/snapshot", "", Vec::new());
    assert_eq!(status, 403, "a snapshot without a token");
    let file = src_dir.join("backup.snap");
    let file_s = file.to_str().unwrap();
    let out = orch_cli_token(&src, &root, &["operator", "snapshot", "save", file_s]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "save: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), format!("State file written to {file_s}"));
    let out = orch_cli_token(&src, &root, &["operator", "snapshot", "inspect", file_s]);
    let inspect = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "inspect: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kv = common::cli_kv(&inspect);
    let saved_index: u64 = kv
        .iter()
        .find(|(k, _)| k == "Index")
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert!(saved_index > 0, "{inspect}");
    let row = |table: &str, n: &str| inspect.lines().any(|l| l.split_whitespace().eq([table, n]));
    assert!(row("Jobs", "1") && row("Allocations", "1"), "{inspect}");
    assert!(row("ACLTokens", "2"), "{inspect}");
    assert!(row("NodePools", "2") && row("Variables", "0"), "{inspect}");
    drop(src);

    // The target: a fresh three-server cluster with ACLs on, its own bootstrap token.
    let dir = temp_dir("opsnap-dst");
    let cfg = acl_config(&dir);
    let extra: &[&str] = &["-config", &cfg];
    let servers = three_servers(&dir, [extra, extra, extra]);
    let leader = servers.iter().find(|s| is_leader(s)).unwrap_or(&servers[0]);
    let target_root = bootstrap(leader);

    // A follower saves only when stale reads are allowed.
    let follower = servers.iter().find(|s| !is_leader(s)).unwrap();
    let (status, _, body) = call(
        follower,
        "GET",
        "/v1/operator/snapshot",
        &target_root,
        Vec::new(),
    );
    assert_eq!(status, 500, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("stale"));
    let path = "/v1/operator/snapshot?stale=true";
    let (status, index, _) = call(follower, "GET", path, &target_root, Vec::new());
    assert!(status == 200 && index > 0, "{status} {index}");

    // A corrupted archive is refused with 400 and changes nothing.
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    let index_before = call(leader, "GET", "/v1/jobs", &target_root, Vec::new()).1;
    let (status, _, body) = call(leader, "PUT", "/v1/operator/snapshot", &target_root, bytes);
    let reason = String::from_utf8_lossy(&body);
    assert_eq!(status, 400, "{reason}");
    assert!(reason.contains("SHA-256"), "{reason}");
    assert_eq!(json(leader, "/v1/jobs", &target_root), json!([]));
    assert_eq!(
        call(leader, "GET", "/v1/jobs", &target_root, Vec::new()).1,
        index_before
    );
    let (status, _, body) = call(
        leader,
        "PUT",
        "/v1/operator/snapshot",
        &target_root,
        b"not a snapshot".to_vec(),
    );
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));

    // Restore through the CLI with the target's management token.
    let out = orch_cli_token(
        leader,
        &target_root,
        &["operator", "snapshot", "restore", file_s],
    );
    assert!(
        out.status.success(),
        "restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Progress as it goes, then Nomad's last line; the target's token is gone with
    // the state it belonged to, so the servers cannot be followed with it.
    let said = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.last(), Some(&"Snapshot Restored"), "{said}");
    assert!(
        said.contains(&format!("saved at index {saved_index}"))
            && said.contains("committed the restore at index")
            && said.contains("holds other ACL tokens"),
        "{said}"
    );

    // Every server holds the restored state, with the source's tokens (the target's
    // bootstrap token is gone with the state it belonged to).
    for s in &servers {
        let got = wait_for(
            Duration::from_secs(30),
            "the restored state on every server",
            || {
                let (status, _, body) = call(s, "GET", "/v1/jobs?stale=true", &root, Vec::new());
                (status == 200
                    && serde_json::from_slice::<Value>(&body).is_ok_and(|v| v != json!([])))
                .then(|| summary(s, &root, true))
            },
        );
        assert_eq!(got, before, "server {}", s.http);
        let (status, _, _) = call(s, "GET", "/v1/jobs?stale=true", &target_root, Vec::new());
        assert_eq!(
            status, 403,
            "the target's own bootstrap token after the restore"
        );
    }
    // The cluster continues past every restored index: a new write gets a higher one.
    let (_, index_after, _) = call(leader, "GET", "/v1/jobs", &root, Vec::new());
    assert!(index_after >= saved_index, "{index_after} < {saved_index}");
    let r = put_json(leader, "/v1/jobs", &root, sleep_job("after", "default"));
    assert!(r["JobModifyIndex"].as_u64().unwrap() > index_after, "{r}");
}

fn is_leader(agent: &Agent) -> bool {
    let (_, v) = common::get(agent, "/v1/status/leader");
    v.as_str() == Some(agent.rpc.as_str())
}

/// An older state restored into the server it came from: later writes still get
/// higher indexes than anything seen before, and the restore survives a restart.
#[test]
fn an_older_state_restored_in_place_keeps_indexes_monotonic_and_survives_a_restart() {
    let dir = temp_dir("opsnap-inplace");
    let data = dir.join("data");
    let args = [
        "-server",
        "-bootstrap-expect",
        "1",
        "-data-dir",
        data.to_str().unwrap(),
    ];
    let seen = {
        let agent = start(&dir, &args);
        wait_leader(&agent);
        put_json(&agent, "/v1/jobs", "", sleep_job("one", "default"));
        let (status, _, saved) = call(&agent, "GET", "/v1/operator/snapshot", "", Vec::new());
        assert_eq!(status, 200);
        let two = put_json(&agent, "/v1/jobs", "", sleep_job("two", "default"));
        let seen = two["JobModifyIndex"].as_u64().unwrap();
        let (status, _, body) = call(&agent, "PUT", "/v1/operator/snapshot", "", saved.clone());
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let restored: Value = serde_json::from_slice(&body).unwrap();
        assert!(
            restored["Index"].as_u64().unwrap() > seen,
            "{restored} after {seen}"
        );
        let ids = |a: &Agent| -> Vec<Value> {
            json(a, "/v1/jobs", "")
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j["ID"].clone())
                .collect()
        };
        assert_eq!(ids(&agent), vec![json!("one")]);
        let (_, index, _) = call(&agent, "GET", "/v1/jobs", "", Vec::new());
        assert!(index > seen, "X-Nomad-Index {index} went back below {seen}");
        // Again through the CLI: it follows the server until it holds the restore.
        let file = dir.join("saved.snap");
        std::fs::write(&file, &saved).unwrap();
        let out = orch_cli(
            &agent,
            &["operator", "snapshot", "restore", file.to_str().unwrap()],
        );
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{said} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(said.contains("(1 of 1 servers)"), "{said}");
        assert_eq!(said.lines().last(), Some("Snapshot Restored"), "{said}");
        assert_eq!(ids(&agent), vec![json!("one")]);
        seen
    };
    let agent = start(&dir, &args);
    wait_leader(&agent);
    let jobs = wait_for(
        Duration::from_secs(30),
        "the restored state after a restart",
        || {
            let (status, _, body) = call(&agent, "GET", "/v1/jobs", "", Vec::new());
            let v: Value = serde_json::from_slice(&body).ok()?;
            (status == 200 && v != json!([])).then_some(v)
        },
    );
    let ids: Vec<&Value> = jobs.as_array().unwrap().iter().map(|j| &j["ID"]).collect();
    assert_eq!(ids, vec![&json!("one")]);
    let three = put_json(&agent, "/v1/jobs", "", sleep_job("three", "default"));
    assert!(
        three["JobModifyIndex"].as_u64().unwrap() > seen,
        "{three} after {seen}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A saved state with a pending evaluation whose indexes are below the cluster's
/// current index: after the restore the leader still schedules it (it rebuilds its
/// queues from the restored state) and the dev client, unknown to the restored state,
/// registers again and runs the allocation.
#[test]
fn a_restored_pending_evaluation_is_scheduled_and_runs_on_the_client() {
    use orch_core::model::Evaluation;
    use orch_core::state::{Command, JobRegister, StateStore, archive};

    let hcl = r#"job "restored" {
  datacenters = ["dc1"]
  type = "batch"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = ["-c", "sleep 300"]
      }
      resources {
        cpu = 50
        memory = 32
      }
    }
  }
}"#;
    let job = orch_core::jobspec::parse_jobspec("restored.hcl", hcl, &Default::default()).unwrap();
    let now = 1_700_000_000_000_000_000;
    let eval = Evaluation {
        id: "6f1c1b8e-0c7a-4c55-9d3b-1e7a2b9c4d01".into(),
        namespace: "default".into(),
        job_id: "restored".into(),
        eval_type: "batch".into(),
        priority: 50,
        triggered_by: "job-register".into(),
        status: "pending".into(),
        create_time: now,
        modify_time: now,
        ..Evaluation::default()
    };
    let mut saved = StateStore::new();
    let register = JobRegister {
        job,
        eval: Some(eval),
        enforce_index: None,
        preserve_counts: false,
        now,
    };
    saved.apply(2, Command::JobRegister(register)).unwrap();
    let archive = archive::encode(saved.latest_index(), 1, &saved.snapshot().unwrap());

    let dir = temp_dir("opsnap-evals");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    // Past the saved indexes, so only a rebuild from the whole state finds the eval.
    put_json(&agent, "/v1/jobs", "", sleep_job("bump", "default"));
    wait_for(Duration::from_secs(60), "the bump job's allocation", || {
        let (_, index, _) = call(&agent, "GET", "/v1/allocations", "", Vec::new());
        (index > 5).then_some(())
    });
    let (status, _, body) = call(&agent, "PUT", "/v1/operator/snapshot", "", archive);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    wait_for(
        Duration::from_secs(90),
        "the restored job's allocation running",
        || {
            let allocs = json(&agent, "/v1/job/restored/allocations", "");
            allocs
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["ClientStatus"] == "running")
                .then_some(())
        },
    );
    let _ = std::fs::remove_dir_all(dir);
}
