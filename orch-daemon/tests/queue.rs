//! Priority and fair share for queued work, through the real agent: a one-node dev agent
//! with fixed capacity (four slots) is filled by one job; two namespaces with weights
//! 3:1 queue short batch jobs behind it, plus one high-priority job of the lighter
//! namespace. `/v1/queue` and `orch queue status` show the order; when the filler stops,
//! the high-priority job is placed first, and as work completes the two namespaces get
//! the freed slots about 3:1.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(120);

/// Each namespace queues this many short jobs.
const PER_NAMESPACE: usize = 12;

const CAPACITY: &str = r#"
client {
  cpu_total_compute = 1000
  memory_total_mb   = 1000
}
"#;

/// A job of `count` allocations asking `cpu` MHz and `mem` MB each, running `secs`.
fn job(
    id: &str,
    ns: &str,
    kind: &str,
    priority: u32,
    count: u32,
    size: (u64, u64),
    secs: u32,
) -> Value {
    let mut job = orch_parse(&format!(
        r#"job "{id}" {{
  datacenters = ["dc1"]
  type     = "{kind}"
  priority = {priority}
  group "g" {{
    count = {count}
    restart {{
      attempts = 0
      mode     = "fail"
    }}
    reschedule {{
      attempts  = 0
      unlimited = false
    }}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "sleep {secs}"]
      }}
      resources {{
        cpu    = {cpu}
        memory = {mem}
      }}
    }}
  }}
}}"#,
        cpu = size.0,
        mem = size.1,
    ));
    job["Namespace"] = json!(ns);
    json!({ "Job": job })
}

fn register(agent: &Agent, body: Value) {
    let (status, out) = send(agent, "PUT", "/v1/jobs", body);
    assert_eq!(status, 200, "register failed: {out}");
}

fn namespace(agent: &Agent, name: &str, weight: u32) {
    let (status, out) = send(
        agent,
        "PUT",
        &format!("/v1/namespace/{name}"),
        json!({ "Name": name, "Weight": weight }),
    );
    assert_eq!(status, 200, "{out}");
    let (_, ns) = get(agent, &format!("/v1/namespace/{name}"));
    assert_eq!(ns["Weight"], weight, "{ns}");
}

/// Every allocation of the cluster's `a-*`, `b-*` and `urgent` jobs, in placement order
/// (each placement is its own plan, so its own Raft index).
fn placements(agent: &Agent) -> Vec<(u64, String)> {
    let (_, allocs) = get(agent, "/v1/allocations?namespace=*");
    let mut out: Vec<(u64, String)> = allocs
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["Namespace"] != "default")
        .map(|a| {
            (
                a["CreateIndex"].as_u64().unwrap_or(0),
                a["JobID"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn weights_share_a_full_cluster_and_priority_comes_first() {
    let dir = temp_dir("queue-fair-share");
    let config = dir.join("capacity.hcl");
    std::fs::write(&config, CAPACITY).unwrap();
    let agent = start(&dir, &["-dev", "-config", config.to_str().unwrap()]);
    wait_leader(&agent);
    let (cpu, mem) = wait_for(LIMIT, "the node's capacity", || {
        let c = node_capacity(&agent);
        (c.0 > 0 && c.1 > 0).then_some(c)
    });
    // Four slots: a quarter of each dimension, rounded down.
    let slot = (cpu / 4, mem / 4);
    namespace(&agent, "a", 3);
    namespace(&agent, "b", 1);

    register(
        &agent,
        job("filler", "default", "service", 50, 4, slot, 600),
    );
    wait_for(LIMIT, "the filler's four allocations running", || {
        let running = job_allocs(&agent, "filler")
            .iter()
            .filter(|a| a["ClientStatus"] == "running")
            .count();
        (running == 4).then_some(())
    });

    for i in 0..PER_NAMESPACE {
        register(
            &agent,
            job(&format!("a-{i:02}"), "a", "batch", 50, 1, slot, 2),
        );
        register(
            &agent,
            job(&format!("b-{i:02}"), "b", "batch", 50, 1, slot, 2),
        );
    }
    register(&agent, job("urgent", "b", "batch", 90, 1, slot, 2));
    let total = 2 * PER_NAMESPACE + 1;

    // Everything waits; the queue lists it with the high-priority job first.
    let queue = wait_for(LIMIT, "every job in the queue", || {
        let (status, q) = get(&agent, "/v1/queue?namespace=*");
        (status == 200 && q["Waiting"].as_array()?.len() == total).then_some(q)
    });
    let first = &queue["Waiting"][0];
    assert_eq!(
        (&first["Position"], &first["JobID"], &first["Priority"]),
        (&json!(1), &json!("urgent"), &json!(90)),
        "{queue}"
    );
    assert!(
        first["Reason"]
            .as_str()
            .is_some_and(|r| r.contains("resources exhausted")),
        "{first}"
    );
    let weights: Vec<(Value, Value)> = queue["Namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["Name"].clone(), n["Weight"].clone()))
        .collect();
    assert_eq!(weights, [(json!("a"), json!(3)), (json!("b"), json!(1))]);
    // Only `b` for a caller naming it, with its global positions.
    let (_, only_b) = get(&agent, "/v1/queue?namespace=b");
    let b_rows = only_b["Waiting"].as_array().unwrap();
    assert_eq!(b_rows.len(), PER_NAMESPACE + 1, "{only_b}");
    assert!(b_rows.iter().all(|w| w["Namespace"] == "b"));

    let out = orch_cli(&agent, &["queue", "status"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let header = text.lines().nth(1).unwrap_or_default();
    assert!(
        header.starts_with("Position") && header.contains("Reason"),
        "{text}"
    );
    let row1 = text.lines().nth(2).unwrap_or_default();
    assert!(row1.starts_with("1 ") && row1.contains("urgent"), "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.contains(" a-") || l.contains(" b-") || l.contains(" urgent "))
            .count(),
        total,
        "{text}"
    );
    let out = orch_cli(&agent, &["queue", "status", "-json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Waiting"].as_array().map(Vec::len), Some(total));

    // Capacity frees up: the queue drains in rank order as work completes.
    let (status, out) = send(&agent, "DELETE", "/v1/job/filler", Value::Null);
    assert_eq!(status, 200, "{out}");
    let order = wait_for(Duration::from_secs(240), "every queued job placed", || {
        let p = placements(&agent);
        (p.len() >= total).then_some(p)
    });
    let jobs: Vec<&str> = order.iter().map(|(_, j)| j.as_str()).collect();
    assert_eq!(jobs[0], "urgent", "priority first: {jobs:?}");
    // While both namespaces still have work waiting (the first 2 × 12 × 1/2 places),
    // `a` gets about three of every four slots.
    let window = &jobs[1..13];
    let from_a = window.iter().filter(|j| j.starts_with("a-")).count();
    eprintln!("placement order: {jobs:?}; a got {from_a} of the first 12");
    assert!(
        (7..=11).contains(&from_a),
        "weights 3:1 should give `a` about 9 of the first 12 places, got {from_a}: {jobs:?}"
    );
    // Within a namespace, the older job goes first.
    let a_order: Vec<&&str> = jobs.iter().filter(|j| j.starts_with("a-")).collect();
    let mut sorted = a_order.clone();
    sorted.sort();
    assert_eq!(a_order, sorted, "age within a namespace: {jobs:?}");
    wait_for(LIMIT, "an empty queue", || {
        let (_, q) = get(&agent, "/v1/queue?namespace=*");
        q["Waiting"].as_array()?.is_empty().then_some(())
    });
}

#[test]
fn weights_are_checked_and_shown() {
    let dir = temp_dir("queue-weights");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    for (body, want) in [
        (
            json!({ "Name": "w", "Weight": 0 }),
            "Weight: 0 is out of range",
        ),
        (json!({ "Name": "w", "Weight": 5000 }), "Weight: 5000"),
        (json!({ "Name": "w", "Weight": "x" }), "Namespace:"),
    ] {
        let (status, out) = send(&agent, "PUT", "/v1/namespace/w", body);
        assert_eq!(status, 400, "{out}");
        assert!(out.contains(want), "{out}");
    }
    // Nomad's namespaces weigh 1.
    let (_, d) = get(&agent, "/v1/namespace/default");
    assert_eq!(d["Weight"], 1, "{d}");
    let out = orch_cli(&agent, &["namespace", "apply", "-weight", "4", "w"]);
    assert!(out.status.success(), "{out:?}");
    let out = orch_cli(&agent, &["namespace", "status", "w"]);
    let kv = cli_kv(&String::from_utf8_lossy(&out.stdout));
    assert!(kv.contains(&("Weight".into(), "4".into())), "{kv:?}");
    let spec = dir.join("ns.hcl");
    std::fs::write(&spec, "name = \"w\"\ndescription = \"x\"\nweight = 2\n").unwrap();
    let out = orch_cli(&agent, &["namespace", "apply", spec.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let (_, w) = get(&agent, "/v1/namespace/w");
    assert_eq!(w["Weight"], 2, "{w}");
    let out = orch_cli(&agent, &["queue", "status"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("No work is waiting"),
        "{out:?}"
    );
}

#[test]
fn with_acls_the_queue_shows_only_readable_namespaces() {
    let dir = temp_dir("queue-acl");
    let config = dir.join("agent.hcl");
    std::fs::write(
        &config,
        format!("{CAPACITY}\nacl {{\n  enabled = true\n}}\n"),
    )
    .unwrap();
    let agent = start(&dir, &["-dev", "-config", config.to_str().unwrap()]);
    wait_leader(&agent);
    let (status, boot) = send(&agent, "POST", "/v1/acl/bootstrap", Value::Null);
    assert_eq!(status, 200, "{boot}");
    let boot: Value = serde_json::from_str(&boot).unwrap();
    let mgmt = boot["SecretID"].as_str().unwrap().to_string();
    let as_mgmt = |method: &str, path: &str, body: Value| {
        let (status, out) = send_token(&agent, method, path, &mgmt, body);
        assert_eq!(status, 200, "{method} {path}: {out}");
        out
    };
    for ns in ["a", "b"] {
        as_mgmt("PUT", &format!("/v1/namespace/{ns}"), json!({ "Name": ns }));
    }
    let (cpu, mem) = wait_for(LIMIT, "the node's capacity", || {
        let id = {
            let (_, nodes) = get_token(&agent, "/v1/nodes", &mgmt);
            nodes[0]["ID"].as_str()?.to_string()
        };
        let (_, n) = get_token(&agent, &format!("/v1/node/{id}"), &mgmt);
        let cpu = n["NodeResources"]["Cpu"]["CpuShares"].as_u64()?;
        let mem = n["NodeResources"]["Memory"]["MemoryMB"].as_u64()?;
        Some((cpu, mem))
    });
    let whole = (cpu * 9 / 10, mem * 9 / 10);
    as_mgmt(
        "PUT",
        "/v1/jobs",
        job("filler", "default", "service", 50, 1, whole, 600),
    );
    for ns in ["a", "b"] {
        as_mgmt(
            "PUT",
            "/v1/jobs",
            job(&format!("{ns}-1"), ns, "batch", 50, 1, whole, 2),
        );
    }
    wait_for(LIMIT, "both jobs queued", || {
        let (_, q) = get_token(&agent, "/v1/queue?namespace=*", &mgmt);
        (q["Waiting"].as_array()?.len() == 2).then_some(())
    });

    as_mgmt(
        "POST",
        "/v1/acl/policy/read-a",
        json!({ "Name": "read-a", "Rules": "namespace \"a\" { policy = \"read\" }" }),
    );
    let token: Value = serde_json::from_str(&as_mgmt(
        "POST",
        "/v1/acl/token",
        json!({ "Name": "reader", "Type": "client", "Policies": ["read-a"] }),
    ))
    .unwrap();
    let secret = token["SecretID"].as_str().unwrap();
    let (status, q) = get_token(&agent, "/v1/queue?namespace=*", secret);
    assert_eq!(status, 200, "{q}");
    let jobs: Vec<&Value> = q["Waiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| &w["JobID"])
        .collect();
    assert_eq!(jobs, [&json!("a-1")], "{q}");
    let (status, _) = get_token(&agent, "/v1/queue?namespace=b", secret);
    assert_eq!(status, 403);
    let (status, _) = get_token(&agent, "/v1/queue?namespace=*", "");
    assert_eq!(status, 403, "anonymous callers may read no namespace");
    let out = orch_cli_token(&agent, secret, &["queue", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("a-1") && !text.contains("b-1"), "{out:?}");
}

/// GET with an ACL token (none when empty), the body as JSON.
fn get_token(agent: &Agent, path: &str, token: &str) -> (u16, Value) {
    let (status, text) = send_token(agent, "GET", path, token, Value::Null);
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}
