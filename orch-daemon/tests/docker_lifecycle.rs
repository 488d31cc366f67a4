//! Docker tasks in the client's lifecycle like any other driver's: a failing container
//! is restarted by the restart policy (a fresh container each time, the old removed),
//! and `nomad-apm` scales a docker group up on the containers' real CPU use. And the
//! node's fingerprint of the engine: attributes, unhealthy while away, healthy again.

mod common;
#[path = "common/docker.rs"]
mod docker_env;

use std::time::Duration;

use common::*;
use docker_env::*;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

fn dev_agent(name: &str) -> Agent {
    images();
    let dir = temp_dir(name);
    let cfg = plugin_config(&dir, "");
    let agent = start(&dir, &["-dev", "-config", cfg.to_str().unwrap()]);
    wait_leader(&agent);
    agent
}

#[test]
fn a_failing_container_is_restarted_by_the_policy() {
    let agent = dev_agent("docker-restart");
    let _clean = Cleanup::job("flaky");
    run_hcl(
        &agent,
        &format!(
            r#"
job "flaky" {{
  type = "batch"
  group "g" {{
    restart {{
      attempts = 1
      delay    = "1s"
      mode     = "fail"
    }}
    reschedule {{
      attempts  = 0
      unlimited = false
    }}
    task "t" {{
      driver = "docker"
      config {{
        image   = "{BUSYBOX}"
        command = "/bin/sh"
        args    = ["-c", "echo run >> /alloc/runs; exit 3"]
      }}
      resources {{
        memory = 32
      }}
    }}
  }}
}}
"#
        ),
    );
    let alloc = wait_for(WAIT, "the task to fail for good", || {
        let a = job_allocs(&agent, "flaky").into_iter().next()?;
        let full = get(&agent, &format!("/v1/allocation/{}", a["ID"].as_str()?)).1;
        (full["TaskStates"]["t"]["State"] == "dead").then_some(full)
    });
    let t = &alloc["TaskStates"]["t"];
    assert_eq!(t["Failed"], true);
    assert_eq!(t["Restarts"], 1, "{t}");
    let events: Vec<&Value> = t["Events"].as_array().unwrap().iter().collect();
    let started = events.iter().filter(|e| e["Type"] == "Started").count();
    assert_eq!(started, 2, "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| e["Type"] == "Terminated" && e["ExitCode"] == 3),
        "{events:?}"
    );
    let id = alloc["ID"].as_str().unwrap();
    let (_, runs) = get_text(&agent, &format!("/v1/client/fs/cat/{id}?path=alloc/runs"));
    assert_eq!(runs.lines().count(), 2, "{runs}");
    wait_for(WAIT, "the containers to be removed", || {
        containers_of(id).is_empty().then_some(())
    });
}

fn desired(agent: &impl HasHttp, job: &str) -> i64 {
    let (_, v) = get(agent, &format!("/v1/job/{job}/scale"));
    v["TaskGroups"]["g"]["Desired"].as_i64().unwrap_or(0)
}

#[test]
fn nomad_apm_scales_a_docker_group_up_under_cpu_load() {
    let agent = dev_agent("docker-scale");
    let _clean = Cleanup::job("burn");
    run_hcl(
        &agent,
        &format!(
            r#"
job "burn" {{
  group "g" {{
    count = 1
    scaling {{
      enabled = true
      min     = 1
      max     = 2
      policy {{
        evaluation_interval = "2s"
        cooldown            = "1m"
        check "cpu" {{
          source = "nomad-apm"
          query  = "avg_cpu-allocated"
          strategy "target-value" {{
            target = 50
          }}
        }}
      }}
    }}
    task "t" {{
      driver = "docker"
      config {{
        image   = "{BUSYBOX}"
        command = "/bin/sh"
        args    = ["-c", "while :; do :; done"]
      }}
      resources {{
        cpu    = 50
        memory = 32
      }}
    }}
  }}
}}
"#
        ),
    );
    wait_for(
        WAIT,
        "the group to scale up on the container's CPU use",
        || (desired(&agent, "burn") == 2).then_some(()),
    );
    let (_, ev) = get(&agent, "/v1/job/burn/scale");
    let events = ev["TaskGroups"]["g"]["Events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        events.iter().any(|e| e["Message"]
            .as_str()
            .is_some_and(|m| m.starts_with("scaling up because factor is"))),
        "{events:?}"
    );
    wait_for(WAIT, "two running containers", || {
        let allocs = job_allocs(&agent, "burn");
        let running = allocs
            .iter()
            .filter(|a| a["ClientStatus"] == "running")
            .count();
        (running == 2).then_some(())
    });
    send(&agent, "DELETE", "/v1/job/burn", Value::Null);
}

#[test]
fn the_node_fingerprints_the_engine() {
    let agent = dev_agent("docker-fp");
    let (_, nodes) = get(&agent, "/v1/nodes");
    let id = nodes[0]["ID"].as_str().unwrap().to_string();
    let (_, node) = get(&agent, &format!("/v1/node/{id}"));
    let d = &node["Drivers"]["docker"];
    assert_eq!(d["Healthy"], true, "{d}");
    assert_eq!(node["Attributes"]["driver.docker"], "1");
    let version = docker_ok(&["version", "-f", "{{.Server.Version}}"]);
    assert_eq!(
        node["Attributes"]["driver.docker.version"],
        version.as_str()
    );
    assert!(
        node["Attributes"]["driver.docker.runtimes"]
            .as_str()
            .unwrap_or("")
            .contains("runc")
    );
}

#[test]
fn an_unreachable_engine_makes_the_driver_unhealthy_until_it_returns() {
    images();
    let dir = temp_dir("docker-away");
    let cfg = dir.join("away.hcl");
    let sock = dir.join("nothing-here.sock");
    std::fs::write(
        &cfg,
        format!(
            "plugin \"docker\" {{\n  config {{\n    endpoint = \"unix://{}\"\n  }}\n}}\n",
            sock.display()
        ),
    )
    .unwrap();
    let agent = start(&dir, &["-dev", "-config", cfg.to_str().unwrap()]);
    wait_leader(&agent);
    let (_, nodes) = get(&agent, "/v1/nodes");
    let id = nodes[0]["ID"].as_str().unwrap().to_string();
    let (_, node) = get(&agent, &format!("/v1/node/{id}"));
    let d = &node["Drivers"]["docker"];
    assert_eq!(d["Healthy"], false, "{d}");
    let why = d["HealthDescription"].as_str().unwrap_or_default();
    assert!(why.contains("cannot reach the Docker Engine"), "{why}");
    // The engine "returns" at that path: the periodic fingerprint finds it healthy.
    std::os::unix::fs::symlink(endpoint().trim_start_matches("unix://"), &sock).unwrap();
    wait_for(
        orch_daemon::client::DRIVER_FINGERPRINT_PERIOD * 3,
        "the driver to turn healthy",
        || {
            let (_, node) = get(&agent, &format!("/v1/node/{id}"));
            (node["Drivers"]["docker"]["Healthy"] == true
                && node["Attributes"]["driver.docker"] == "1")
                .then_some(())
        },
    );
}
