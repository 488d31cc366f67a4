//! Safe task defaults on a real agent: raw_exec runs only where the client's config
//! enables it.

mod common;

use std::time::Duration;

use common::*;

/// raw_exec is off unless the client's config enables it, as in Nomad: a client without
/// `plugin "raw_exec" { config { enabled = true } }` offers no raw_exec, and raw_exec work
/// stays queued with "missing drivers" instead of running on it.
#[test]
fn a_client_without_raw_exec_enabled_refuses_raw_exec_work() {
    let dir = temp_dir("no-raw-exec");
    let off = dir.join("raw-exec-off.hcl");
    std::fs::write(
        &off,
        "plugin \"raw_exec\" {\n  config {\n    enabled = false\n  }\n}\n",
    )
    .unwrap();
    let data = dir.join("data");
    let agent = start(
        &dir,
        &[
            "-server",
            "-client",
            "-bootstrap-expect",
            "1",
            "-data-dir",
            data.to_str().unwrap(),
            "-config",
            off.to_str().unwrap(),
        ],
    );
    wait_leader(&agent);
    let node_id = wait_for(Duration::from_secs(30), "the client's node", || {
        let (_, nodes) = get(&agent, "/v1/nodes");
        nodes.get(0)?["ID"].as_str().map(str::to_string)
    });
    let (_, node) = get(&agent, &format!("/v1/node/{node_id}"));
    assert!(
        node["Drivers"].get("raw_exec").is_none(),
        "{}",
        node["Drivers"]
    );
    run_hcl(
        &agent,
        r#"
job "raw" {
  type = "batch"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
    }
  }
}
"#,
    );
    let eval = wait_for(Duration::from_secs(30), "a blocked evaluation", || {
        let (_, evals) = get(&agent, "/v1/job/raw/evaluations");
        evals
            .as_array()?
            .iter()
            .find(|e| e["Status"] == "blocked")
            .cloned()
    });
    let (_, evals) = get(&agent, "/v1/job/raw/evaluations");
    let failed = evals.to_string();
    assert!(failed.contains("missing drivers"), "{failed}");
    assert!(job_allocs(&agent, "raw").is_empty(), "{eval}");
}
