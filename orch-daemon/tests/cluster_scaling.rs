//! The cluster-scaling hook through the real agent: a policy on the default pool of a
//! one-node dev agent (fixed capacity) runs its `scale_out` command with the number of
//! nodes the unplaced work needs, and once the work ends drains the spare node and runs
//! `scale_in` with its ID.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn the_hook_scales_out_for_unplaced_work_and_in_when_it_ends() {
    let dir = temp_dir("cluster-scaling");
    let calls = dir.join("calls.log");
    let hook = dir.join("hook.sh");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho \"$ORCH_CLUSTER_POLICY $* unplaced=$ORCH_UNPLACED\" >> {}\n",
            calls.display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x", hook.to_str().unwrap()])
        .status()
        .unwrap();
    let config = dir.join("agent.hcl");
    std::fs::write(
        &config,
        format!(
            r#"
client {{
  cpu_total_compute = 1000
  memory_total_mb   = 1000
}}
autoscaler {{
  cluster "farm" {{
    min       = 0
    max       = 3
    cooldown  = "15s"
    interval  = "1s"
    scale_out = "{hook} out"
    scale_in  = "{hook} in"
  }}
}}
"#,
            hook = hook.display()
        ),
    )
    .unwrap();
    let agent = start(&dir, &["-dev", "-config", config.to_str().unwrap()]);
    wait_leader(&agent);
    let node = first_node(&agent);
    // Six allocations of 400 MHz: the node holds two, four wait (1600 MHz: two nodes).
    let mut job = orch_parse(
        r#"job "big" {
  datacenters = ["dc1"]
  group "g" {
    count = 6
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "sleep 600"]
      }
      resources {
        cpu    = 400
        memory = 100
      }
    }
  }
}"#,
    );
    job["ID"] = json!("big");
    let (status, out) = send(&agent, "PUT", "/v1/jobs", json!({ "Job": job }));
    assert_eq!(status, 200, "{out}");
    let read = || std::fs::read_to_string(&calls).unwrap_or_default();
    let first = wait_for(LIMIT, "the scale_out command", || {
        read().lines().next().map(str::to_string)
    });
    assert_eq!(first, "farm out 2 unplaced=4", "{}", read());
    assert_eq!(
        get(&agent, &format!("/v1/node/{node}")).1["DrainStrategy"],
        Value::Null,
        "nothing drained while work waits"
    );

    // The work ends: the node is spare (min 0), drained and handed to scale_in.
    let (status, out) = send(&agent, "DELETE", "/v1/job/big?purge=true", Value::Null);
    assert_eq!(status, 200, "{out}");
    let second = wait_for(LIMIT, "the scale_in command", || {
        read()
            .lines()
            .find(|l| l.starts_with("farm in"))
            .map(str::to_string)
    });
    assert_eq!(second, format!("farm in {node} unplaced=0"), "{}", read());
    // Drained (an empty node's drain completes at once) and out of scheduling.
    let (_, n) = get(&agent, &format!("/v1/node/{node}"));
    assert!(
        n["DrainStrategy"].is_object() || n["LastDrain"]["Status"] == "complete",
        "{n}"
    );
    assert_eq!(n["SchedulingEligibility"], "ineligible", "{n}");
}
