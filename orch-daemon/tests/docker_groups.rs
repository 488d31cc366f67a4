//! Docker tasks in groups, against the real engine and the real CNI plugins: in bridge
//! mode an exec task and a docker task share one namespace (held by a pause container)
//! and talk over localhost, the docker task's port answers from the host, and after
//! `job stop` no container, namespace or iptables rule of the allocation remains; a
//! client host volume is bound into a container, read-only when the volume says so.

mod common;
#[path = "common/docker.rs"]
mod docker_env;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::*;
use docker_env::*;
use orch_daemon::client::driver::ExecDriver;
use serde_json::Value;

fn can_bridge() -> bool {
    if let Some(reason) = ExecDriver::unavailable_reason() {
        println!("skipped: exec cannot isolate here ({reason})");
        return false;
    }
    ["/opt/cni/bin/bridge", "/usr/lib/cni/bridge"]
        .iter()
        .any(|p| std::path::Path::new(p).is_file())
}

fn iptables_mentions(id: &str) -> bool {
    let out = std::process::Command::new("iptables-save").output();
    out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(id))
}

fn stdout_of(agent: &Agent, id: &str, task: &str) -> String {
    get_text(
        agent,
        &format!("/v1/client/fs/logs/{id}?task={task}&type=stdout&plain=true"),
    )
    .1
}

#[test]
fn an_exec_and_a_docker_task_share_a_bridge_namespace() {
    if !can_bridge() {
        println!("skipped: needs exec isolation and the CNI plugins");
        return;
    }
    images();
    let _cleanup = Cleanup::job("brdock");
    let dir = temp_dir("bridge-docker");
    let cfg = plugin_config(&dir, "");
    let agent = start(&dir, &["-dev", "-config", cfg.to_str().unwrap()]);
    wait_leader(&agent);
    run_hcl(
        &agent,
        &format!(
            r#"job "brdock" {{
  group "g" {{
    network {{
      mode = "bridge"
      port "http" {{
        to = 8080
      }}
    }}
    task "web" {{
      driver = "docker"
      config {{
        image   = "{BUSYBOX}"
        command = "/bin/sh"
        args    = ["-c", "echo hello-from-docker > /local/index.html && exec httpd -f -p 8080 -h /local"]
      }}
      resources {{
        cpu    = 100
        memory = 32
      }}
    }}
    task "probe" {{
      driver = "exec"
      config {{
        command = "/bin/sh"
        args = ["-c", "while true; do python3 -c \"import urllib.request; print('probe saw', urllib.request.urlopen('http://127.0.0.1:8080/').read().decode())\" && sleep 3600; sleep 1; done"]
      }}
      resources {{
        cpu    = 50
        memory = 64
      }}
    }}
  }}
}}"#
        ),
    );
    let alloc = wait_for(Duration::from_secs(120), "the allocation to run", || {
        job_allocs(&agent, "brdock")
            .into_iter()
            .find(|a| a["ClientStatus"] == "running")
    });
    let id = alloc["ID"].as_str().unwrap().to_string();
    let seen = wait_for(
        Duration::from_secs(60),
        "the exec task to reach the container",
        || {
            let out = stdout_of(&agent, &id, "probe");
            out.contains("probe saw hello-from-docker").then_some(out)
        },
    );
    assert!(seen.contains("hello-from-docker"));
    let (_, full) = get(&agent, &format!("/v1/allocation/{id}"));
    let port = full["AllocatedResources"]["Shared"]["Networks"][0]["DynamicPorts"][0]["Value"]
        .as_u64()
        .unwrap();
    let body = wait_for(Duration::from_secs(30), "the mapped port to answer", || {
        http_get(&format!("127.0.0.1:{port}"), "/")
    });
    assert!(body.contains("hello-from-docker"), "{body}");
    assert_eq!(
        containers_of(&id).len(),
        2,
        "the task's container and the pause container"
    );
    assert!(iptables_mentions(&id));

    let (status, text) = send(&agent, "DELETE", "/v1/job/brdock", Value::Null);
    assert_eq!(status, 200, "{text}");
    wait_for(
        Duration::from_secs(60),
        "the containers, rules and namespace to go",
        || (containers_of(&id).is_empty() && !iptables_mentions(&id)).then_some(()),
    );
}

#[test]
fn host_volumes_are_bound_into_containers() {
    images();
    let _cleanup = Cleanup::job("dockvol");
    let dir = temp_dir("docker-volumes");
    let (data, ro) = (dir.join("data"), dir.join("ro"));
    for d in [&data, &ro] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let cfg = plugin_config(&dir, "");
    let hv = dir.join("hv.hcl");
    std::fs::write(
        &hv,
        format!(
            "client {{\n  host_volume \"data\" {{\n    path = \"{}\"\n  }}\n  host_volume \"ro\" {{\n    path = \"{}\"\n    read_only = true\n  }}\n}}\n",
            data.display(),
            ro.display()
        ),
    )
    .unwrap();
    let agent = start(
        &dir,
        &[
            "-dev",
            "-config",
            cfg.to_str().unwrap(),
            "-config",
            hv.to_str().unwrap(),
        ],
    );
    wait_leader(&agent);
    run_hcl(
        &agent,
        &format!(
            r#"job "dockvol" {{
  type = "batch"
  group "g" {{
    volume "data" {{
      type   = "host"
      source = "data"
    }}
    volume "ro" {{
      type      = "host"
      source    = "ro"
      read_only = true
    }}
    task "t" {{
      driver = "docker"
      config {{
        image   = "{BUSYBOX}"
        command = "/bin/sh"
        args    = ["-c", "echo from-the-container > /data/out.txt && if echo x > /ro/new 2>/dev/null; then echo ro-write-succeeded; else echo ro-write-refused; fi"]
      }}
      volume_mount {{
        volume      = "data"
        destination = "/data"
      }}
      volume_mount {{
        volume      = "ro"
        destination = "/ro"
      }}
      resources {{
        cpu    = 50
        memory = 32
      }}
    }}
  }}
}}"#
        ),
    );
    let alloc = wait_for(Duration::from_secs(90), "the job to finish", || {
        job_allocs(&agent, "dockvol")
            .into_iter()
            .find(|a| a["ClientStatus"] == "complete" || a["ClientStatus"] == "failed")
    });
    let id = alloc["ID"].as_str().unwrap();
    let out = stdout_of(&agent, id, "t");
    assert_eq!(alloc["ClientStatus"], "complete", "{out}");
    assert_eq!(
        std::fs::read_to_string(data.join("out.txt")).unwrap(),
        "from-the-container\n"
    );
    assert!(out.contains("ro-write-refused"), "{out}");
    assert!(!ro.join("new").exists());
}
