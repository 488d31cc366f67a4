//! Devices through the real agent: a GPU declared in the client config is offered in
//! `NodeResources.Devices`, two jobs asking for half of it share the one instance and
//! see its ID, a third waits blocked (its placement failure names the device) until one
//! of them stops; GPUs are fingerprinted through `nvidia-smi` (a fake one here, the real
//! one where a machine has it); bad shares and bad device declarations are refused by
//! field.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

const DEVICES: &str = r#"
client {
  device "nvidia/gpu/Fake T4" {
    ids = ["GPU-fake-0"]
    attributes {
      memory = "16 GiB"
    }
  }
}
"#;

fn half_gpu_job(id: &str) -> String {
    r#"
job "JOBNAME" {
  datacenters = ["dc1"]
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo dev=$NVIDIA_VISIBLE_DEVICES cuda=$CUDA_VISIBLE_DEVICES share=$ORCH_DEVICE_SHARE own=$ORCH_DEVICE_NVIDIA_GPU; exec sleep 600"]
      }
      resources {
        cpu    = 20
        memory = 16
        device "nvidia/gpu" {
          count = 1
          share = 0.5
        }
      }
    }
  }
}
"#
    .replace("JOBNAME", id)
}

const LIMIT: Duration = Duration::from_secs(90);

/// The node's device groups, once it lists any.
fn node_devices(agent: &Agent) -> Vec<Value> {
    let id = first_node(agent);
    wait_for(LIMIT, "the node's devices", || {
        let (_, node) = get(agent, &format!("/v1/node/{id}"));
        let devices = node["NodeResources"]["Devices"].as_array()?.clone();
        (!devices.is_empty()).then_some(devices)
    })
}

/// The running allocation of `job` and what its task printed, once it printed.
fn running_output(agent: &Agent, job: &str) -> (Value, String) {
    wait_for(LIMIT, &format!("{job} running with its output"), || {
        let alloc = job_allocs(agent, job)
            .into_iter()
            .find(|a| a["ClientStatus"] == "running")?;
        let id = alloc["ID"].as_str()?;
        let path = format!("/v1/client/fs/logs/{id}?task=t&type=stdout&plain=true");
        let (status, text) = get_text(agent, &path);
        (status == 200 && text.contains("dev=")).then(|| (alloc.clone(), text))
    })
}

/// The devices an allocation holds, as the API shows it.
fn alloc_devices(agent: &Agent, alloc: &Value) -> Value {
    let id = alloc["ID"].as_str().unwrap_or_default();
    let (_, full) = get(agent, &format!("/v1/allocation/{id}"));
    full["AllocatedResources"]["Tasks"]["t"]["Devices"].clone()
}

#[test]
fn two_halves_share_a_declared_gpu_and_a_third_waits_for_room() {
    let dir = temp_dir("devices-share");
    let config = dir.join("devices.hcl");
    std::fs::write(&config, DEVICES).unwrap();
    let agent = start(&dir, &["-dev", "-config", config.to_str().unwrap()]);
    wait_leader(&agent);
    let devices = node_devices(&agent);
    let gpu = &devices[0];
    assert_eq!(
        (&gpu["Vendor"], &gpu["Type"], &gpu["Name"]),
        (
            &Value::from("nvidia"),
            &Value::from("gpu"),
            &Value::from("Fake T4")
        ),
        "{gpu}"
    );
    assert_eq!(gpu["Instances"][0]["ID"], "GPU-fake-0", "{gpu}");
    assert_eq!(gpu["Instances"][0]["Healthy"], true, "{gpu}");
    assert_eq!(gpu["Attributes"]["memory"]["Int"], 16, "{gpu}");
    assert_eq!(gpu["Attributes"]["memory"]["Unit"], "GiB", "{gpu}");

    run_hcl(&agent, &half_gpu_job("half-a"));
    run_hcl(&agent, &half_gpu_job("half-b"));
    for job in ["half-a", "half-b"] {
        let (alloc, out) = running_output(&agent, job);
        assert!(
            out.contains("dev=GPU-fake-0 cuda=GPU-fake-0 share=0.5 own=GPU-fake-0"),
            "{job}: {out}"
        );
        let held = alloc_devices(&agent, &alloc);
        assert_eq!(
            held[0]["DeviceIDs"],
            serde_json::json!(["GPU-fake-0"]),
            "{held}"
        );
        assert_eq!(held[0]["Share"], 0.5, "{held}");
    }

    // A third half has no room: its evaluation blocks, naming the device.
    run_hcl(&agent, &half_gpu_job("half-c"));
    let why = wait_for(LIMIT, "half-c blocked with a placement failure", || {
        let (_, evals) = get(&agent, "/v1/job/half-c/evaluations");
        let evals = evals.as_array()?.clone();
        evals.iter().find(|e| e["Status"] == "blocked")?;
        let failed = evals.iter().find_map(|e| {
            e["FailedTGAllocs"]["g"]["DimensionExhausted"]
                .as_object()
                .cloned()
        })?;
        Some(failed.keys().cloned().collect::<Vec<_>>().join(" | "))
    });
    assert!(
        why.contains("devices: nvidia/gpu has no instance with 0.5 free"),
        "{why}"
    );
    assert!(job_allocs(&agent, "half-c").is_empty());

    // When one half stops, the waiting job gets its place on the same instance.
    let (status, body) = send(&agent, "DELETE", "/v1/job/half-a", Value::Null);
    assert_eq!(status, 200, "{body}");
    let (_, out) = running_output(&agent, "half-c");
    assert!(out.contains("dev=GPU-fake-0"), "{out}");
}

#[test]
fn bad_shares_are_refused_with_their_field_path() {
    let dir = temp_dir("devices-bad-share");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    for (share, count, want) in [
        (1.5, 1, "Resources.Devices[0].Share"),
        (-0.25, 1, "Resources.Devices[0].Share"),
        (0.5, 2, "Resources.Devices[0].Count"),
    ] {
        let mut job = example_job()["Job"].clone();
        job["TaskGroups"][0]["Tasks"][0]["Resources"]["Devices"] =
            serde_json::json!([{ "Name": "nvidia/gpu", "Count": count, "Share": share }]);
        let (status, body) = send(&agent, "PUT", "/v1/jobs", serde_json::json!({ "Job": job }));
        assert_eq!(status, 400, "share {share} count {count}: {body}");
        assert!(body.contains(want), "share {share}: {body}");
    }
}

#[test]
fn a_bad_device_declaration_stops_the_agent_naming_the_field() {
    let dir = temp_dir("devices-bad-config");
    let config = dir.join("bad.hcl");
    std::fs::write(
        &config,
        "client {\n  device \"nvidia/gpu/T4\" {\n    ids = [\"a,b\"]\n  }\n}\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(["agent", "-dev", "-config", config.to_str().unwrap()])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("client.device \"nvidia/gpu/T4\".ids[0]"),
        "{err}"
    );
}

#[test]
fn gpus_are_fingerprinted_through_nvidia_smi() {
    let dir = temp_dir("devices-nvidia-smi");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("nvidia-smi");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'GPU-0a1b2c3d-fake, Tesla T4, 15360, 70.00, 535.104.05, 1590, 5001, 3, 16, Disabled, Enabled'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let agent = start_env(&dir, &["-dev"], &[("PATH", &path)]);
    wait_leader(&agent);
    let devices = node_devices(&agent);
    let t4 = devices
        .iter()
        .find(|d| d["Name"] == "Tesla T4")
        .unwrap_or_else(|| panic!("no Tesla T4 in {devices:?}"));
    assert_eq!(t4["Vendor"], "nvidia");
    assert_eq!(t4["Instances"][0]["ID"], "GPU-0a1b2c3d-fake");
    assert_eq!(t4["Attributes"]["driver_version"]["String"], "535.104.05");
    assert_eq!(t4["Attributes"]["memory"]["Int"], 15360);
    assert_eq!(t4["Attributes"]["memory"]["Unit"], "MiB");
    drop(agent);
    // The NVIDIA plugin's block: an ignored GPU is never offered.
    let plugin = dir.join("nvidia.hcl");
    std::fs::write(
        &plugin,
        "plugin \"nvidia-gpu\" {\n  config {\n    ignored_gpu_ids = [\"GPU-0a1b2c3d-fake\"]\n  }\n}\n",
    )
    .unwrap();
    let agent = start_env(
        &dir,
        &["-dev", "-config", plugin.to_str().unwrap()],
        &[("PATH", &path)],
    );
    wait_leader(&agent);
    // Devices are fingerprinted before the node registers.
    let id = first_node(&agent);
    let (_, node) = get(&agent, &format!("/v1/node/{id}"));
    let devices = node["NodeResources"]["Devices"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        devices.iter().all(|d| d["Name"] != "Tesla T4"),
        "the ignored GPU is not listed: {devices:?}"
    );
}

#[test]
fn a_real_nvidia_gpu_is_listed_where_the_machine_has_one() {
    let listed = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=uuid", "--format=csv,noheader"])
        .output();
    let uuids: Vec<String> = match listed {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        _ => Vec::new(),
    };
    if uuids.is_empty() {
        println!("skipped: nvidia-smi is absent or lists no GPU on this machine");
        return;
    }
    let dir = temp_dir("devices-real-gpu");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let devices = node_devices(&agent);
    let ids: Vec<&str> = devices
        .iter()
        .filter(|d| d["Vendor"] == "nvidia")
        .flat_map(|d| d["Instances"].as_array().into_iter().flatten())
        .filter_map(|i| i["ID"].as_str())
        .collect();
    for uuid in &uuids {
        assert!(ids.contains(&uuid.as_str()), "{uuid} not in {devices:?}");
    }
}
