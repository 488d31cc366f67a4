//! `file()` in jobspecs on the real `orch` CLI: read relative to the jobspec (not the
//! working directory), as the issue asks of Nomad's CLI; the HTTP parse endpoint keeps
//! refusing it, since a server must not read its own files for a caller.

mod common;

use common::*;
use serde_json::{Value, json};

const SPEC: &str = r#"job "scripted" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", file("scripts/run.sh")]
      }
    }
  }
}"#;

#[test]
fn the_cli_reads_file_beside_the_jobspec_and_the_api_refuses_it() {
    let dir = temp_dir("jobspec-files");
    let specs = dir.join("specs");
    std::fs::create_dir_all(specs.join("scripts")).unwrap();
    std::fs::write(specs.join("scripts/run.sh"), "echo from-file\n").unwrap();
    std::fs::write(specs.join("job.nomad.hcl"), SPEC).unwrap();
    // Run from `dir`, one level above the jobspec: the path resolves beside the spec.
    let out = orch_in(&dir, &["job", "run", "-output", "specs/job.nomad.hcl"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["Job"]["TaskGroups"][0]["Tasks"][0]["Config"]["args"][1],
        "echo from-file\n"
    );

    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(["job", "run", "-output", "job.nomad.hcl"])
        .current_dir(dir.join("specs/scripts"))
        .output()
        .unwrap();
    assert!(!missing.status.success());

    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let (status, body) = send(&agent, "PUT", "/v1/jobs/parse", json!({"JobHCL": SPEC}));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"file\" is not supported"), "{body}");
}
