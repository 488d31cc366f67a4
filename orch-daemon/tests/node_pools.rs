//! Node pools on the real binary: a server and two client-only agents, one in pool
//! `gpu` (created by its registration). The API's CRUD with Nomad's status codes and
//! texts, the pool's nodes and jobs, jobs placed only in their pool and refused in a
//! missing one, the CLI verbs, and `node_pool` ACL rules.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(90);

fn job_in_pool(id: &str, pool: &str, count: u32) -> Value {
    let mut job = orch_parse(&format!(
        r#"job "{id}" {{
  node_pool = "{pool}"
  group "g" {{
    count = {count}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sleep"
        args    = ["300"]
      }}
      resources {{
        cpu    = 50
        memory = 32
      }}
    }}
  }}
}}"#
    ));
    job["NodePool"] = json!(pool);
    json!({ "Job": job })
}

fn cli_ok(agent: &impl HasHttp, args: &[&str]) -> String {
    let o = orch_cli(agent, args);
    assert!(
        o.status.success(),
        "orch {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|p| p["Name"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The ID of the (only) node registered into `pool`.
fn node_of_pool(server: &Agent, pool: &str) -> String {
    wait_for(WAIT, &format!("a ready node in pool {pool}"), || {
        let (_, nodes) = get(server, &format!("/v1/node/pool/{pool}/nodes"));
        let n = nodes.as_array()?.first()?.clone();
        (n["Status"] == "ready").then(|| n["ID"].as_str().unwrap_or_default().to_string())
    })
}

#[test]
fn pools_hold_their_nodes_and_jobs_and_follow_nomads_api() {
    let dir = temp_dir("node-pools");
    let server = start_server(&dir, "s1");
    let gpu_data = dir.join("gpu");
    let _gpu = start(
        &dir,
        &[
            "-client",
            "-servers",
            &server.rpc,
            "-data-dir",
            gpu_data.to_str().unwrap(),
            "-node-pool",
            "gpu",
        ],
    );
    let _plain = start_client(&dir, &server, "plain");
    let gpu_node = node_of_pool(&server, "gpu");
    let plain_node = node_of_pool(&server, "default");

    // The built-ins and the pool the node's registration created.
    let (status, pools) = get(&server, "/v1/node/pools");
    assert_eq!(status, 200);
    assert_eq!(names(&pools), ["all", "default", "gpu"]);
    assert_eq!(
        pools[0]["Description"],
        "Node pool with all nodes in the cluster."
    );
    let (_, all) = get(&server, "/v1/node/pool/all/nodes");
    assert_eq!(all.as_array().map(Vec::len), Some(2));
    let (_, gpu_nodes) = get(&server, "/v1/node/pool/gpu/nodes?os=true");
    assert_eq!(gpu_nodes[0]["NodePool"], "gpu");
    assert!(
        gpu_nodes[0]["Attributes"]["os.name"].is_string(),
        "{gpu_nodes}"
    );
    let (_, bare) = get(&server, "/v1/node/pool/gpu/nodes");
    assert!(bare[0].get("Attributes").is_none() && bare[0].get("NodeResources").is_none());
    let (_, with_res) = get(&server, "/v1/nodes?resources=True");
    assert!(with_res[0]["NodeResources"].is_object(), "{with_res}");
    assert_eq!(get_text(&server, "/v1/nodes?os=maybe").0, 400);
    let (status, text) = get_text(&server, "/v1/node/pool/gpu/nodes?prefix=ab");
    assert_eq!((status, text.trim()), (400, "prefix argument not allowed"));
    let (status, text) = get_text(&server, "/v1/node/pool/nope");
    assert_eq!((status, text.trim()), (404, "node pool not found"));

    // Jobs: refused in a missing pool, placed only on their pool's nodes.
    let (status, body) = send(&server, "PUT", "/v1/jobs", job_in_pool("lost", "nope", 1));
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains(r#"job "lost" is in nonexistent node pool "nope""#),
        "{body}"
    );
    let (status, body) = send(&server, "PUT", "/v1/jobs", job_in_pool("trainer", "gpu", 2));
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(&server, "PUT", "/v1/jobs", job_in_pool("web", "default", 1));
    assert_eq!(status, 200, "{body}");
    let placed = |job: &str, count: usize| {
        wait_for(WAIT, &format!("{job} placed"), || {
            let allocs = job_allocs(&server, job);
            (allocs.len() == count).then_some(allocs)
        })
    };
    for a in placed("trainer", 2) {
        assert_eq!(a["NodeID"], gpu_node.as_str(), "gpu work stays in pool gpu");
    }
    assert_eq!(placed("web", 1)[0]["NodeID"], plain_node.as_str());
    let (_, jobs) = get(&server, "/v1/node/pool/gpu/jobs");
    let ids: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|j| j["ID"].as_str())
        .collect();
    assert_eq!(ids, ["trainer"]);

    // Writes: Nomad's refusals.
    let prod = json!({
        "Name": "prod", "Description": "Production", "Meta": {"env": "prod"},
        "SchedulerConfiguration": {"SchedulerAlgorithm": "spread"},
    });
    let (status, body) = send(&server, "POST", "/v1/node/pool/prod", prod.clone());
    assert_eq!(status, 200, "{body}");
    let (_, got) = get(&server, "/v1/node/pool/prod");
    assert_eq!(got["Meta"]["env"], "prod");
    assert_eq!(
        got["SchedulerConfiguration"]["SchedulerAlgorithm"],
        "spread"
    );
    assert!(got["CreateIndex"].as_u64().unwrap() > 0);
    let refusals = [
        (
            "POST",
            "/v1/node/pool/other",
            prod.clone(),
            "Node pool name does not match request path",
        ),
        (
            "POST",
            "/v1/node/pools",
            json!({"Name": "all"}),
            r#"modifying node pool "all" is not allowed"#,
        ),
        (
            "POST",
            "/v1/node/pools",
            json!({"Name": "bad name"}),
            "must match regex",
        ),
        (
            "POST",
            "/v1/node/pools",
            json!({"Name": "x", "Colour": "red"}),
            "NodePool.Colour",
        ),
        (
            "POST",
            "/v1/node/pools",
            json!({"Name": "x", "SchedulerConfiguration": {"SchedulerAlgorithm": "tight"}}),
            "SchedulerAlgorithm",
        ),
        ("DELETE", "/v1/node/pool/default", Value::Null, "built-in"),
        ("DELETE", "/v1/node/pool/gpu", Value::Null, "has nodes"),
    ];
    for (method, path, body, want) in refusals {
        let (status, text) = send(&server, method, path, body);
        assert_eq!(status, 400, "{method} {path}: {text}");
        assert!(text.contains(want), "{method} {path}: {text}");
    }

    // The CLI.
    let list = cli_ok(&server, &["node", "pool", "list"]);
    assert!(list.starts_with("Name"), "{list}");
    for line in [
        "all      Node pool with all nodes in the cluster.",
        "prod     Production",
    ] {
        assert!(list.contains(line), "{list}");
    }
    let page = cli_ok(&server, &["node", "pool", "list", "-per-page", "2"]);
    assert!(page.contains("-page-token gpu"), "{page}");
    let info = cli_ok(&server, &["node", "pool", "info", "prod"]);
    assert!(
        info.contains("Scheduler Algorithm = spread") && info.contains("env = prod"),
        "{info}"
    );
    let spec = dir.join("batch.nomad.hcl");
    std::fs::write(
        &spec,
        "node_pool \"batch\" {\n  description = \"Batch work\"\n}\n",
    )
    .unwrap();
    let applied = cli_ok(&server, &["node", "pool", "apply", spec.to_str().unwrap()]);
    assert_eq!(applied.trim(), r#"Successfully applied node pool "batch"!"#);
    let jobs = cli_ok(&server, &["node", "pool", "jobs", "gpu"]);
    assert!(jobs.contains("trainer") && !jobs.contains("web"), "{jobs}");
    let nodes = cli_ok(&server, &["node", "pool", "nodes", "-verbose", "gpu"]);
    assert!(nodes.contains(&gpu_node), "{nodes}");
    let deleted = cli_ok(&server, &["node", "pool", "delete", "batch"]);
    assert_eq!(deleted.trim(), r#"Successfully deleted node pool "batch"!"#);
    let o = orch_cli(&server, &["node", "pool", "info", "batch"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("node pool not found"));
}

#[test]
fn node_pool_rules_decide_what_a_token_sees_and_changes() {
    let dir = temp_dir("node-pool-acl");
    let config = dir.join("acl.hcl");
    std::fs::write(&config, "acl {\n  enabled = true\n}\n").unwrap();
    let agent = start(&dir, &["-dev", "-config", config.to_str().unwrap()]);
    wait_leader(&agent);
    let (status, body) = send(&agent, "POST", "/v1/acl/bootstrap", Value::Null);
    assert_eq!(status, 200, "{body}");
    let mgmt = serde_json::from_str::<Value>(&body).unwrap()["SecretID"]
        .as_str()
        .unwrap()
        .to_string();
    for name in ["prod-web", "dev"] {
        let (status, body) = send_token(
            &agent,
            "POST",
            "/v1/node/pools",
            &mgmt,
            json!({"Name": name}),
        );
        assert_eq!(status, 200, "{body}");
    }
    let rules = r#"node_pool "prod-*" { policy = "write" }
node_pool "dev" { policy = "read" }"#;
    let (status, body) = send_token(
        &agent,
        "POST",
        "/v1/acl/policy/pools",
        &mgmt,
        json!({"Name": "pools", "Rules": rules}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = send_token(
        &agent,
        "POST",
        "/v1/acl/token",
        &mgmt,
        json!({"Name": "t", "Type": "client", "Policies": ["pools"]}),
    );
    assert_eq!(status, 200, "{body}");
    let token = serde_json::from_str::<Value>(&body).unwrap()["SecretID"]
        .as_str()
        .unwrap()
        .to_string();

    let (status, body) = send_token(&agent, "GET", "/v1/node/pools", &token, Value::Null);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        names(&serde_json::from_str(&body).unwrap()),
        ["dev", "prod-web"]
    );
    let (status, _) = send_token(&agent, "GET", "/v1/node/pool/default", &token, Value::Null);
    assert_eq!(status, 403, "no rule for default");
    let (status, body) = send_token(
        &agent,
        "POST",
        "/v1/node/pool/prod-db",
        &token,
        json!({"Name": "prod-db"}),
    );
    assert_eq!(status, 200, "write on prod-*: {body}");
    let (status, _) = send_token(
        &agent,
        "POST",
        "/v1/node/pool/dev",
        &token,
        json!({"Name": "dev"}),
    );
    assert_eq!(status, 403, "read only on dev");
    let (status, _) = send_token(&agent, "DELETE", "/v1/node/pool/dev", &token, Value::Null);
    assert_eq!(status, 403);
    let (status, body) = send_token(
        &agent,
        "DELETE",
        "/v1/node/pool/prod-db",
        &token,
        Value::Null,
    );
    assert_eq!(status, 200, "{body}");
    let (status, _) = send_token(
        &agent,
        "GET",
        "/v1/node/pool/dev/nodes",
        &token,
        Value::Null,
    );
    assert_eq!(status, 403, "listing a pool's nodes also needs node read");
}
