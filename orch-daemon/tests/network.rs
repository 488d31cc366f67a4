//! Bridge networking on the real agent with the real CNI plugins: a two-task exec group
//! shares one network namespace (the tasks talk over localhost), its mapped port
//! answers from the host, and after `job stop` no namespace or iptables rule of the
//! allocation remains. raw_exec in bridge mode is refused with a clear error.

mod common;

use std::time::Duration;

use common::*;
use orch_daemon::client::driver::ExecDriver;
use serde_json::Value;

/// Root with namespaces and cgroups (exec) and the CNI plugins.
fn can_bridge(test: &str) -> bool {
    if let Some(reason) = ExecDriver::unavailable_reason() {
        println!("{test} skipped: exec cannot isolate here ({reason})");
        return false;
    }
    let found = ["/opt/cni/bin/bridge", "/usr/lib/cni/bridge"]
        .iter()
        .any(|p| std::path::Path::new(p).is_file());
    if !found {
        println!("{test} skipped: no CNI plugins (apt-get install containernetworking-plugins)");
    }
    found
}

const BRIDGE_JOB: &str = r#"
job "br" {
  group "g" {
    network {
      mode = "bridge"
      port "http" {
        to = 8080
      }
    }
    task "server" {
      driver = "exec"
      config {
        command = "/bin/sh"
        args = ["-c", "echo hello-from-the-bridge > /local/index.html && exec python3 -m http.server 8080 --bind 0.0.0.0 --directory /local"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
    task "probe" {
      driver = "exec"
      config {
        command = "/bin/sh"
        args = ["-c", "while true; do python3 -c \"import urllib.request; print('probe saw', urllib.request.urlopen('http://127.0.0.1:8080/').read().decode())\" && sleep 3600; sleep 1; done"]
      }
      resources {
        cpu    = 50
        memory = 64
      }
    }
  }
}
"#;

fn iptables_mentions(id: &str) -> bool {
    let out = std::process::Command::new("iptables-save").output();
    out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(id))
}

fn netns_mounted(id: &str) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .is_ok_and(|m| m.lines().any(|l| l.contains("/netns/") && l.contains(id)))
}

/// The bridge server's page through the allocation's host port, if it answers.
fn answer_from_host(port: u64) -> Option<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async {
        let r = orch_daemon::tls::http_client()
            .get(format!("http://127.0.0.1:{port}/"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        r.text().await.ok()
    })
    .filter(|t| t.contains("hello-from-the-bridge"))
}

/// Registers [`BRIDGE_JOB`] and returns its running allocation's ID and host port.
fn run_bridge_job(agent: &Agent) -> (String, u64) {
    run_hcl(agent, BRIDGE_JOB);
    let alloc = wait_for(
        Duration::from_secs(90),
        "the bridge allocation to run",
        || {
            job_allocs(agent, "br")
                .into_iter()
                .find(|a| a["ClientStatus"] == "running")
        },
    );
    let id = alloc["ID"].as_str().unwrap().to_string();
    let (_, full) = get(agent, &format!("/v1/allocation/{id}"));
    (id, host_port(&full))
}

fn host_port(alloc: &Value) -> u64 {
    alloc["AllocatedResources"]["Shared"]["Networks"][0]["DynamicPorts"][0]["Value"]
        .as_u64()
        .unwrap_or_else(|| panic!("no dynamic port in {alloc}"))
}

#[test]
fn a_bridge_group_shares_localhost_publishes_its_port_and_cleans_up() {
    if !can_bridge("a_bridge_group_shares_localhost") {
        return;
    }
    let dir = temp_dir("bridge");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let (id, port) = run_bridge_job(&agent);
    let seen = wait_for(
        Duration::from_secs(60),
        "the probe to reach the server over localhost",
        || {
            let path = format!("/v1/client/fs/logs/{id}?task=probe&type=stdout&plain=true");
            let (_, text) = get_text(&agent, &path);
            text.contains("probe saw hello-from-the-bridge")
                .then_some(text)
        },
    );
    assert!(seen.contains("hello-from-the-bridge"));
    let from_host = wait_for(
        Duration::from_secs(30),
        "the mapped port to answer from the host",
        || answer_from_host(port),
    );
    assert!(from_host.contains("hello-from-the-bridge"), "{from_host}");
    assert!(netns_mounted(&id), "no namespace mounted for {id}");
    assert!(iptables_mentions(&id), "no iptables rule for {id}");

    let (status, body) = send(&agent, "DELETE", "/v1/job/br", Value::Null);
    assert_eq!(status, 200, "{body}");
    wait_for(Duration::from_secs(60), "the allocation to stop", || {
        job_allocs(&agent, "br").into_iter().find(|a| {
            a["ID"] == id && a["ClientStatus"] != "running" && a["ClientStatus"] != "pending"
        })
    });
    wait_for(
        Duration::from_secs(30),
        "the namespace and rules to be removed",
        || (!netns_mounted(&id) && !iptables_mentions(&id)).then_some(()),
    );
}

#[test]
fn raw_exec_in_bridge_mode_is_refused_by_name() {
    if !can_bridge("raw_exec_in_bridge_mode_is_refused_by_name") {
        return;
    }
    let dir = temp_dir("bridge-raw");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(
        &agent,
        r#"job "rawbr" {
  type = "batch"
  group "g" {
    network {
      mode = "bridge"
    }
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}"#,
    );
    let alloc = wait_for(Duration::from_secs(60), "the allocation to fail", || {
        job_allocs(&agent, "rawbr")
            .into_iter()
            .find(|a| a["ClientStatus"] == "failed")
    });
    let id = alloc["ID"].as_str().unwrap();
    let (_, full) = get(&agent, &format!("/v1/allocation/{id}"));
    let events = full["TaskStates"].to_string();
    assert!(
        events.contains("raw_exec driver cannot join a bridge network"),
        "{events}"
    );
}

/// A client killed with SIGKILL leaves its allocation's namespace and rules in place
/// for the tasks it reattaches to; the restarted client reuses them (the port still
/// answers) and removes them when the job stops.
#[test]
fn a_crashed_client_keeps_the_bridge_network_and_removes_it_later() {
    if !can_bridge("a_crashed_client_keeps_the_bridge_network") {
        return;
    }
    let dir = temp_dir("bridge-crash");
    let data = dir.join("data");
    let args = [
        "-server",
        "-client",
        "-bootstrap-expect",
        "1",
        "-data-dir",
        data.to_str().unwrap(),
    ];
    let agent = start(&dir, &args);
    wait_leader(&agent);
    let (id, port) = run_bridge_job(&agent);
    let answer = answer_from_host;
    // The host side of the allocation's veth, from the network's record.
    let record = data.join(format!("client/network/{id}.json"));
    let record: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    let veth = record["result"]["interfaces"]
        .as_array()
        .and_then(|ifs| {
            ifs.iter()
                .find(|i| i["name"].as_str().is_some_and(|n| n.starts_with("veth")))
        })
        .and_then(|i| i["name"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no host veth in {record}"));
    let veth_path = std::path::PathBuf::from("/sys/class/net").join(&veth);
    assert!(veth_path.exists(), "{veth} is not on the host");
    wait_for(Duration::from_secs(60), "the port to answer", || {
        answer(port)
    });
    agent.crash();
    assert!(netns_mounted(&id), "the crash removed the namespace");
    assert!(
        answer(port).is_some(),
        "the task stopped answering while no client ran"
    );
    let agent = start(&dir, &args);
    wait_leader(&agent);
    wait_for(
        Duration::from_secs(60),
        "the restarted client to report the allocation running",
        || {
            job_allocs(&agent, "br")
                .into_iter()
                .find(|a| a["ID"] == id.as_str() && a["ClientStatus"] == "running")
        },
    );
    assert!(
        answer(port).is_some(),
        "the restarted client broke the network"
    );
    let (status, body) = send(&agent, "DELETE", "/v1/job/br", Value::Null);
    assert_eq!(status, 200, "{body}");
    wait_for(
        Duration::from_secs(60),
        "the namespace, veth and rules to be removed",
        || (!netns_mounted(&id) && !iptables_mentions(&id) && !veth_path.exists()).then_some(()),
    );
}
