//! On-disk formats across releases. `tests/fixtures/data-dir-<release>/` holds a data
//! dir written by that release's `orch agent -server -client` (node `fixture`): a batch
//! job whose two allocations completed, a variable, a Raft snapshot and log entries
//! after it, and the client's state. This build must start on a copy of every one of
//! them with everything there; a format bump that breaks this needs an upgrade of the
//! old format, not a new fixture. Markers naming formats this build does not read are
//! refused at start with what was found and what to do.
//!
//! To add the fixture of a new release: run the commands in `tests/fixtures/README.md`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;

/// Every release whose data dir this build must read.
const RELEASES: &[&str] = &["0.1.0"];

fn fixture(release: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("data-dir-{release}"))
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn agent_args(data: &Path) -> Vec<String> {
    [
        "-server",
        "-client",
        "-bootstrap-expect",
        "1",
        "-node",
        "fixture",
        "-data-dir",
        data.to_str().unwrap(),
    ]
    .map(str::to_string)
    .to_vec()
}

#[test]
fn every_earlier_releases_data_dir_starts_with_everything_in_it() {
    for release in RELEASES {
        let dir = temp_dir(&format!("format-{release}"));
        let data = dir.join("data");
        copy_tree(&fixture(release), &data);
        let node_id = std::fs::read_to_string(data.join("client/node-id")).unwrap();
        let node_id = node_id.lines().next().unwrap().to_string();
        let args = agent_args(&data);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let agent = start(&dir, &refs);
        wait_leader(&agent);
        for job in ["kept-across-releases", "after-snapshot"] {
            let (code, v) = get(&agent, &format!("/v1/job/{job}"));
            assert_eq!(code, 200, "{release}: job {job}: {v}");
        }
        let allocs = job_allocs(&agent, "kept-across-releases");
        assert_eq!(allocs.len(), 2, "{release}: {allocs:?}");
        assert!(
            allocs.iter().all(|a| a["ClientStatus"] == "complete"),
            "{release}: {allocs:?}"
        );
        let (code, var) = get(&agent, "/v1/var/nomad/jobs/kept-across-releases");
        assert_eq!(code, 200, "{release}: {var}");
        assert_eq!(var["Items"]["secret"], "s3cr3t-value", "{release}");
        // The client is the same node (its state directory was read, not replaced).
        wait_for(Duration::from_secs(60), "the fixture's node ready", || {
            let (code, n) = get(&agent, &format!("/v1/node/{node_id}"));
            (code == 200 && n["Status"] == "ready").then_some(())
        });
        drop(agent);
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Starts an agent on `data` expecting it to refuse; returns what it printed.
fn refused_start(dir: &Path, data: &Path) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orch"))
        .arg("agent")
        .args(agent_args(data))
        .args(["-bind", "127.0.0.1", "-config"])
        .arg(ports_config(dir))
        .output()
        .expect("run orch agent");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "the agent must refuse: {text}");
    text
}

fn ports_config(dir: &Path) -> PathBuf {
    let path = dir.join("ports.hcl");
    std::fs::write(&path, "ports {\n  http = 0\n  rpc = 0\n  serf = 0\n}\n").unwrap();
    path
}

#[test]
fn a_data_dir_of_a_format_this_build_cannot_read_is_refused_with_what_to_do() {
    let dir = temp_dir("format-refused");
    let data = dir.join("data");
    copy_tree(&fixture(RELEASES[0]), &data);
    let marker = data.join("raft/FORMAT");
    std::fs::write(&marker, "format = 1\nstate_format = 999\n").unwrap();
    let text = refused_start(&dir, &data);
    assert!(
        text.contains("state format 999") && text.contains("newer orch"),
        "{text}"
    );
    std::fs::write(&marker, "format = 1\nstate_format = 3\n").unwrap();
    let text = refused_start(&dir, &data);
    assert!(
        text.contains("too old") && text.contains("FORMAT"),
        "{text}"
    );
    // The client's state directory is checked the same way.
    std::fs::write(&marker, "format = 1\nstate_format = 12\n").unwrap();
    std::fs::write(data.join("client/FORMAT"), "format = 7\n").unwrap();
    let text = refused_start(&dir, &data);
    assert!(
        text.contains("client state directory") && text.contains("format 7"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
