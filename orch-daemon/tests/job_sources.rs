//! A job's submitted source and a node's last drain, on a real `orch agent -dev`
//! driven by the real CLI and HTTP client: `job run` sends the jobspec text and its
//! `-var` flags, `/v1/job/:id/submission` and `job inspect -hcl` give them back per
//! version, and `node drain -m` leaves Nomad's `LastDrain` on the node.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(90);

const JOBSPEC: &str = r#"variable "greeting" {
  type    = string
  default = "hello"
}

job "src" {
  type = "batch"
  meta {
    greeting = var.greeting
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
"#;

/// Two allocations migrated one at a time: on a single node their replacements cannot
/// be placed, so a drain of that node stays under way until cancelled.
const HELD_JOB: &str = r#"job "held" {
  group "g" {
    count = 2
    migrate {
      max_parallel = 1
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["300"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}"#;

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_source_of_each_version_is_kept_and_inspected() {
    let dir = temp_dir("job-sources");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let spec = dir.join("src.nomad.hcl");
    std::fs::write(&spec, JOBSPEC).unwrap();
    let path = spec.to_str().unwrap();
    ok(&orch_cli(&agent, &["job", "run", "-detach", path]));
    ok(&orch_cli(
        &agent,
        &["job", "run", "-detach", "-var", "greeting=hi", path],
    ));

    let (status, v0) = get(&agent, "/v1/job/src/submission?version=0");
    assert_eq!(status, 200, "{v0}");
    assert_eq!(v0["Source"], JOBSPEC);
    assert_eq!(
        (v0["Format"].as_str(), v0["Version"].as_u64()),
        (Some("hcl2"), Some(0))
    );
    assert_eq!(v0["JobID"], "src");
    let (_, v1) = get(&agent, "/v1/job/src/submission?version=1");
    assert_eq!(v1["VariableFlags"], json!({"greeting": "hi"}));
    assert!(v1["JobIndex"].as_u64().unwrap() > v0["JobIndex"].as_u64().unwrap());

    let out = ok(&orch_cli(&agent, &["job", "inspect", "-hcl", "src"]));
    assert_eq!(out.trim_end(), JOBSPEC.trim_end());
    let with_vars = orch_cli(
        &agent,
        &[
            "job",
            "inspect",
            "-hcl",
            "-with-vars",
            "-version",
            "1",
            "src",
        ],
    );
    ok(&with_vars);
    assert!(
        String::from_utf8_lossy(&with_vars.stderr).contains("-var greeting=hi"),
        "{}",
        String::from_utf8_lossy(&with_vars.stderr)
    );
    let both = orch_cli(&agent, &["job", "inspect", "-hcl", "-json", "src"]);
    assert!(!both.status.success());

    let (status, text) = get_text(&agent, "/v1/job/src/submission");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("version"), "{text}");
    let (status, text) = get_text(&agent, "/v1/job/src/submission?version=7");
    assert_eq!((status, text.trim()), (404, "job source not found"));
    let (status, _) = get_text(&agent, "/v1/job/nope/submission?version=0");
    assert_eq!(status, 404);

    // An unknown format is refused by field; a job asking to discard its source keeps none.
    let mut job = orch_parse(JOBSPEC);
    let (status, text) = send(
        &agent,
        "POST",
        "/v1/jobs",
        json!({"Job": job, "Submission": {"Source": "x", "Format": "yaml"}}),
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("Submission.Format"), "{text}");
    job["Meta"]["nomad_discard_job_source"] = json!("true");
    let (status, text) = send(
        &agent,
        "POST",
        "/v1/jobs",
        json!({"Job": job, "Submission": {"Source": "x", "Format": "hcl2", "VariableFlags": null}}),
    );
    assert_eq!(status, 200, "{text}");
    let (_, current) = get(&agent, "/v1/job/src");
    let version = current["Version"].as_u64().unwrap();
    let (status, _) = get_text(&agent, &format!("/v1/job/src/submission?version={version}"));
    assert_eq!(status, 404);
}

#[test]
fn a_drain_leaves_its_record_on_the_node() {
    let dir = temp_dir("last-drain");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let node = first_node(&agent);
    let (_, n) = get(&agent, &format!("/v1/node/{node}"));
    assert_eq!(n["LastDrain"], Value::Null);
    run_hcl(&agent, HELD_JOB);
    wait_for(WAIT, "both allocations running", || {
        let running = job_allocs(&agent, "held")
            .iter()
            .filter(|a| a["ClientStatus"] == "running")
            .count();
        (running == 2).then_some(())
    });
    ok(&orch_cli(
        &agent,
        &[
            "node",
            "drain",
            "-enable",
            "-yes",
            "-detach",
            "-m",
            "kernel upgrade",
            "-meta",
            "ticket=42",
            &node,
        ],
    ));
    let (_, n) = get(&agent, &format!("/v1/node/{node}"));
    let last = &n["LastDrain"];
    assert_eq!(last["Status"], "draining", "{n}");
    assert_eq!(
        last["Meta"],
        json!({"message": "kernel upgrade", "ticket": "42"})
    );
    assert!(
        last["StartedAt"].as_str().is_some_and(|t| t.contains('T')),
        "{last}"
    );
    ok(&orch_cli(
        &agent,
        &[
            "node",
            "drain",
            "-disable",
            "-yes",
            "-m",
            "changed my mind",
            &node,
        ],
    ));
    let (_, nodes) = get(&agent, "/v1/nodes");
    let stub = &nodes[0]["LastDrain"];
    assert_eq!(stub["Status"], "canceled", "{nodes}");
    assert_eq!(stub["Meta"]["cancel_message"], "changed my mind");
    assert_eq!(stub["Meta"]["message"], "kernel upgrade");

    let (status, text) = send(
        &agent,
        "POST",
        &format!("/v1/node/{node}/drain"),
        json!({"DrainSpec": {"Deadline": 0}, "Meta": {"k": 5}}),
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("Meta"), "{text}");
}
