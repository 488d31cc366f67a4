//! Dynamic node metadata through the real CLI and API: `node meta apply` sets and
//! removes keys at run time, the servers schedule on them at once, bad keys are
//! refused by name, and a restarted client keeps them.

mod common;

use std::time::Duration;

use common::*;

const JOB: &str = r#"
job "needs-gpu" {
  datacenters = ["dc1"]
  group "g" {
    constraint {
      attribute = "${meta.gpu}"
      value     = "yes"
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["300"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

fn node_meta(agent: &Agent) -> serde_json::Value {
    let (_, nodes) = get(agent, "/v1/nodes");
    let id = nodes[0]["ID"].as_str().unwrap_or_default().to_string();
    let (_, node) = get(agent, &format!("/v1/node/{id}"));
    node["Meta"].clone()
}

#[test]
fn dynamic_metadata_is_scheduled_on_at_once_and_kept_across_a_restart() {
    let dir = temp_dir("node-meta");
    let data = dir.join("data");
    let data = data.to_str().unwrap();
    let args = [
        "-server",
        "-client",
        "-bootstrap-expect",
        "1",
        "-data-dir",
        data,
    ];
    let agent = start(&dir, &args);
    wait_leader(&agent);
    wait_for(Duration::from_secs(30), "the node", || {
        node_meta(&agent).is_object().then_some(())
    });
    run_hcl(&agent, JOB);
    let (_, summary) = get(&agent, "/v1/job/needs-gpu/allocations");
    assert_eq!(summary.as_array().map(Vec::len), Some(0), "{summary}");

    let out = orch_cli(&agent, &["node", "meta", "apply", "gpu=yes", "rack=r9"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = orch_cli(&agent, &["node", "meta", "read"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("Dynamic Meta") && text.contains("gpu") && text.contains("r9"),
        "{text}"
    );
    assert_eq!(node_meta(&agent)["gpu"], "yes");
    // The blocked job is placed once the node has the key.
    wait_for(
        Duration::from_secs(60),
        "the constrained job placed",
        || {
            job_allocs(&agent, "needs-gpu")
                .iter()
                .any(|a| a["ClientStatus"] == "running")
                .then_some(())
        },
    );

    let bad = orch_cli(&agent, &["node", "meta", "apply", "bad key=1"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("bad key"));
    let out = orch_cli(&agent, &["node", "meta", "apply", "-unset", "rack"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(node_meta(&agent).get("rack").is_none());

    // A restarted client (same data dir) registers the dynamic keys again.
    drop(agent);
    let agent = start(&dir, &args);
    wait_leader(&agent);
    wait_for(Duration::from_secs(60), "the kept dynamic key", || {
        (node_meta(&agent)["gpu"] == "yes" && node_meta(&agent).get("rack").is_none()).then_some(())
    });
    drop(agent);
    let _ = std::fs::remove_dir_all(dir);
}
