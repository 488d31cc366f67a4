//! Hostile input against a real dev agent: each request that used to crash an agent or
//! abort a server gets a 4xx naming the problem, and the agent still answers afterwards.

mod common;

use common::*;

fn job_with_count(count: u64) -> serde_json::Value {
    serde_json::json!({"Job": {
        "ID": "huge", "Type": "batch", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "g", "Count": count, "Tasks": [{"Name": "t",
            "Driver": "raw_exec", "Config": {"command": "/bin/true"}}]}]
    }})
}

fn assert_refused(code: u16, body: &str, what: &str, needle: &str) {
    assert!(
        (400..500).contains(&code),
        "{what}: expected a 4xx, got {code}: {body}"
    );
    assert!(body.contains(needle), "{what}: {body}");
}

#[test]
fn hostile_requests_get_a_clear_4xx_and_the_agent_lives_on() {
    let dir = temp_dir("hostile");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);

    // ?filter= nested deeper than a worker's stack could take.
    let deep = format!("{}Status == \"x\"{}", "(".repeat(5000), ")".repeat(5000));
    let (code, body) = get_text(&agent, &format!("/v1/jobs?filter={deep}"));
    assert_refused(code, &body, "deep filter", "nest more than 32 deep");
    let long = vec!["Status == \"x\""; 2000].join(" or ");
    let (code, body) = get_text(&agent, &format!("/v1/jobs?filter={long}"));
    assert!((400..500).contains(&code), "long filter: {code} {body}");

    // A count no scheduler can plan: refused at registration and at plan.
    let (code, body) = send(&agent, "PUT", "/v1/jobs", job_with_count(4_294_967_295));
    assert_refused(code, &body, "register", "at most 1000000 allocations");
    let (code, body) = send(
        &agent,
        "PUT",
        "/v1/job/huge/plan",
        job_with_count(4_294_967_295),
    );
    assert_refused(code, &body, "plan", "at most 1000000 allocations");

    // A task named `..` would put its directory outside the allocation's.
    let mut dotdot = job_with_count(1);
    dotdot["Job"]["TaskGroups"][0]["Tasks"][0]["Name"] = "..".into();
    let (code, body) = send(&agent, "PUT", "/v1/jobs", dotdot);
    assert_refused(code, &body, "task ..", "Task name cannot be");

    // HCL whose expressions would build a billion values.
    let hcl = r#"
locals {
  huge = [for a in range(1024) : [for b in range(1024) : range(1024)]]
}
job "j" {
  meta { n = length(local.huge) }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
    }
  }
}
"#;
    let (code, body) = send(
        &agent,
        "PUT",
        "/v1/jobs/parse",
        serde_json::json!({"JobHCL": hcl, "Canonicalize": true}),
    );
    assert_refused(code, &body, "parse", "steps of work");

    // Still serving, and nothing was half-applied.
    assert_eq!(get(&agent, "/v1/agent/health").0, 200);
    assert_eq!(get(&agent, "/v1/job/huge").0, 404);
    assert_eq!(get(&agent, "/v1/jobs").1, serde_json::json!([]));
    drop(agent);
    let _ = std::fs::remove_dir_all(dir);
}
