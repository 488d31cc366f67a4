//! CSI on the real agent with the real host-path plugin (`orch-csi-hostpath`) run as
//! an orch job: the plugin turns healthy in `orch plugin status`, `orch volume create`
//! makes a volume, an exec task writes into it and the data outlives the job, a second
//! single-node writer waits until the first stops, a dead plugin makes new claims
//! wait, and `per_alloc` volumes follow their allocation index.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use orch_daemon::client::driver::ExecDriver;
use serde_json::Value;

const PLUGIN: &str = env!("CARGO_BIN_EXE_orch-csi-hostpath");

/// The plugin's job: raw_exec, monolith, its volumes under `state`.
fn plugin_job(state: &Path) -> String {
    format!(
        r#"job "csi-hostpath" {{
  group "plugin" {{
    task "plugin" {{
      driver = "raw_exec"
      config {{
        command = "{PLUGIN}"
        args    = ["--node-id", "orch-test-node", "--state-dir", "{}"]
      }}
      csi_plugin {{
        id   = "hostpath"
        type = "monolith"
      }}
      resources {{
        cpu    = 50
        memory = 64
      }}
    }}
  }}
}}"#,
        state.display()
    )
}

/// A service job whose exec task writes `word` into volume `source` and stays up.
fn writer_job(name: &str, source: &str, count: u32, per_alloc: bool, word: &str) -> String {
    format!(
        r#"job "{name}" {{
  group "db" {{
    count = {count}
    volume "data" {{
      type            = "csi"
      source          = "{source}"
      access_mode     = "single-node-writer"
      attachment_mode = "file-system"
      per_alloc       = {per_alloc}
    }}
    task "t" {{
      driver = "exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "echo {word}-$NOMAD_ALLOC_INDEX >> /data/log && sleep 3600"]
      }}
      volume_mount {{
        volume      = "data"
        destination = "/data"
      }}
      resources {{
        cpu    = 50
        memory = 64
      }}
    }}
  }}
}}"#
    )
}

fn wait_plugin_healthy(agent: &Agent, nodes_healthy: u64) {
    wait_for(Duration::from_secs(90), "the plugin's health", || {
        let (status, v) = get(agent, "/v1/plugin/csi/hostpath");
        (status == 200
            && v["NodesHealthy"] == nodes_healthy
            && v["ControllersHealthy"] == nodes_healthy)
            .then_some(())
    });
}

/// Creates volume `id` through the plugin; its provider name is `id` with brackets
/// made dashes (the plugin names directories after it).
fn create_volume(agent: &Agent, dir: &Path, id: &str) {
    let spec = dir.join(format!("{id}.hcl"));
    let name = id.replace('[', "-").replace(']', "");
    std::fs::write(
        &spec,
        format!(
            "id = \"{id}\"\nname = \"{name}\"\ntype = \"csi\"\nplugin_id = \"hostpath\"\ncapacity_min = \"1MiB\"\n\ncapability {{\n  access_mode     = \"single-node-writer\"\n  attachment_mode = \"file-system\"\n}}\n"
        ),
    )
    .unwrap();
    let out = orch_cli(agent, &["volume", "create", spec.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "volume create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The host directory of a volume created by the plugin (its external ID).
fn volume_dir(agent: &Agent, state: &Path, id: &str) -> PathBuf {
    let (_, v) = get(
        agent,
        &format!(
            "/v1/volume/csi/{}",
            id.replace('[', "%5B").replace(']', "%5D")
        ),
    );
    let ext = v["ExternalID"].as_str().expect("volume has an external ID");
    state.join("volumes").join(ext)
}

fn running(agent: &Agent, job: &str) -> Vec<Value> {
    job_allocs(agent, job)
        .into_iter()
        .filter(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run")
        .collect()
}

fn stop_job(agent: &Agent, job: &str) {
    let out = orch_cli(agent, &["job", "stop", "-detach", job]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn host_path_plugin_volumes_hold_data_and_single_writers_wait() {
    if let Some(reason) = ExecDriver::unavailable_reason() {
        println!("skipped: exec cannot isolate here ({reason})");
        return;
    }
    let dir = temp_dir("csi");
    let state = dir.join("plugin-state");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(&agent, &plugin_job(&state));
    wait_plugin_healthy(&agent, 1);
    let out = orch_cli(&agent, &["plugin", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("hostpath") && text.contains("1/1"), "{text}");

    create_volume(&agent, &dir, "vol");
    let host = volume_dir(&agent, &state, "vol");
    run_hcl(&agent, &writer_job("w1", "vol", 1, false, "first"));
    wait_for(
        Duration::from_secs(90),
        "the writer's line in the volume",
        || read(&host.join("log")).contains("first-0").then_some(()),
    );

    // A second writer of the single-node-writer volume is not placed...
    run_hcl(&agent, &writer_job("w2", "vol", 1, false, "second"));
    wait_for(Duration::from_secs(30), "w2 to be blocked", || {
        let (_, s) = get(&agent, "/v1/job/w2/summary");
        (s["Summary"]["db"]["Queued"] == 1).then_some(())
    });
    assert!(running(&agent, "w2").is_empty());
    let (_, v) = get(&agent, "/v1/volume/csi/vol");
    assert_eq!(
        v["WriteAllocs"].as_object().map(|m| m.len()),
        Some(1),
        "{v}"
    );

    // ...until the first stops; then it writes next to what the first left.
    stop_job(&agent, "w1");
    wait_for(Duration::from_secs(120), "w2's line in the volume", || {
        read(&host.join("log")).contains("second-0").then_some(())
    });
    assert!(
        read(&host.join("log")).contains("first-0"),
        "the data outlived w1"
    );

    // The plugin dies: the node's instance turns unhealthy and new claims wait.
    stop_job(&agent, "w2");
    wait_for(Duration::from_secs(60), "w2 to stop", || {
        running(&agent, "w2").is_empty().then_some(())
    });
    stop_job(&agent, "csi-hostpath");
    wait_for(
        Duration::from_secs(60),
        "the plugin to be unhealthy",
        || {
            let (_, v) = get(&agent, "/v1/plugins?type=csi");
            let healthy = v
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["NodesHealthy"] != 0);
            (!healthy).then_some(())
        },
    );
    run_hcl(&agent, &writer_job("w3", "vol", 1, false, "third"));
    wait_for(Duration::from_secs(30), "w3 to be blocked", || {
        let (_, s) = get(&agent, "/v1/job/w3/summary");
        (s["Summary"]["db"]["Queued"] == 1).then_some(())
    });
    // The plugin comes back: the claim is placed and the old data is there.
    run_hcl(&agent, &plugin_job(&state));
    wait_for(Duration::from_secs(120), "w3's line in the volume", || {
        read(&host.join("log")).contains("third-0").then_some(())
    });
    stop_job(&agent, "w3");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn per_alloc_volumes_follow_their_allocation_index() {
    if let Some(reason) = ExecDriver::unavailable_reason() {
        println!("skipped: exec cannot isolate here ({reason})");
        return;
    }
    let dir = temp_dir("csi-per-alloc");
    let state = dir.join("plugin-state");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(&agent, &plugin_job(&state));
    wait_plugin_healthy(&agent, 1);
    create_volume(&agent, &dir, "data[0]");
    create_volume(&agent, &dir, "data[1]");
    let hosts = [
        volume_dir(&agent, &state, "data[0]"),
        volume_dir(&agent, &state, "data[1]"),
    ];
    run_hcl(&agent, &writer_job("kafka", "data", 2, true, "member"));
    for (i, host) in hosts.iter().enumerate() {
        wait_for(
            Duration::from_secs(90),
            "each member's line in its own volume",
            || {
                read(&host.join("log"))
                    .contains(&format!("member-{i}"))
                    .then_some(())
            },
        );
        assert!(!read(&host.join("log")).contains(&format!("member-{}", 1 - i)));
    }

    // Allocation [0] is stopped; its replacement mounts data[0] again.
    let zero = wait_for(Duration::from_secs(60), "allocation [0] to run", || {
        running(&agent, "kafka")
            .into_iter()
            .find(|a| a["Name"].as_str().is_some_and(|n| n.ends_with("[0]")))
    });
    let id = zero["ID"].as_str().unwrap().to_string();
    let (status, body) = send(
        &agent,
        "PUT",
        &format!("/v1/allocation/{id}/stop"),
        serde_json::json!({}),
    );
    assert_eq!(status, 200, "{body}");
    wait_for(
        Duration::from_secs(120),
        "the replacement's line in data[0]",
        || (read(&hosts[0].join("log")).matches("member-0").count() >= 2).then_some(()),
    );
    assert!(!read(&hosts[1].join("log")).contains("member-0"));
    stop_job(&agent, "kafka");
    let _ = std::fs::remove_dir_all(&dir);
}

fn cli_ok(agent: &Agent, args: &[&str]) -> String {
    let out = orch_cli(agent, args);
    assert!(
        out.status.success(),
        "orch {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn snapshots_restore_and_volumes_are_deleted_and_deregistered() {
    let dir = temp_dir("csi-snapshots");
    let state = dir.join("plugin-state");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(&agent, &plugin_job(&state));
    wait_plugin_healthy(&agent, 1);
    create_volume(&agent, &dir, "src");
    let src = volume_dir(&agent, &state, "src");
    std::fs::write(src.join("data.txt"), "kept in the snapshot").unwrap();

    let status = cli_ok(&agent, &["volume", "status"]);
    assert!(
        status.contains("src") && status.contains("hostpath"),
        "{status}"
    );
    let one = cli_ok(&agent, &["volume", "status", "src"]);
    assert!(
        one.contains("Plugin ID") && one.contains("Schedulable"),
        "{one}"
    );

    let made = cli_ok(&agent, &["volume", "snapshot", "create", "src", "snap-one"]);
    let snap_id = made
        .split_whitespace()
        .nth(1)
        .expect("the snapshot ID is printed")
        .to_string();
    let listed = cli_ok(
        &agent,
        &["volume", "snapshot", "list", "-plugin", "hostpath"],
    );
    assert!(
        listed.contains(&snap_id) && listed.contains("src"),
        "{listed}"
    );

    // A volume created from the snapshot has its content.
    let spec = dir.join("restored.hcl");
    std::fs::write(
        &spec,
        format!(
            "id = \"restored\"\ntype = \"csi\"\nplugin_id = \"hostpath\"\nsnapshot_id = \"{snap_id}\"\ncapability {{\n  access_mode = \"single-node-writer\"\n  attachment_mode = \"file-system\"\n}}\n"
        ),
    )
    .unwrap();
    cli_ok(&agent, &["volume", "create", spec.to_str().unwrap()]);
    let restored = volume_dir(&agent, &state, "restored");
    assert_eq!(read(&restored.join("data.txt")), "kept in the snapshot");

    cli_ok(
        &agent,
        &["volume", "snapshot", "delete", "hostpath", &snap_id],
    );
    let listed = cli_ok(
        &agent,
        &["volume", "snapshot", "list", "-plugin", "hostpath"],
    );
    assert!(!listed.contains(&snap_id), "{listed}");

    // Delete goes through the plugin (the directory goes); deregister only forgets.
    cli_ok(&agent, &["volume", "delete", "restored"]);
    assert!(
        !restored.exists(),
        "the plugin deleted the volume's directory"
    );
    cli_ok(&agent, &["volume", "deregister", "src"]);
    assert_eq!(get(&agent, "/v1/volume/csi/src").0, 404);
    assert!(
        src.join("data.txt").exists(),
        "deregister leaves the storage alone"
    );

    // Mistakes are named.
    let bad = dir.join("bad.hcl");
    std::fs::write(&bad, "id = \"x\"\ntype = \"csi\"\nplugin = \"hostpath\"\n").unwrap();
    let out = orch_cli(&agent, &["volume", "register", bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("plugin"), "{err}");
    let (code, body) = send(
        &agent,
        "PUT",
        "/v1/volume/csi/x",
        serde_json::json!({ "Volumes": [{ "ID": "x", "PluginID": "hostpath", "ExternalID": "e", "Bogus": 1 }] }),
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("Bogus"), "{body}");
    let (code, body) = send(
        &agent,
        "PUT",
        "/v1/volume/host/h/create",
        serde_json::json!({}),
    );
    assert_eq!(code, 501, "{body}");
    assert!(body.contains("dynamic host volumes"), "{body}");
    let _ = std::fs::remove_dir_all(&dir);
}
