//! Node drain with real agents: one server, two clients; a service job on client A is
//! drained to client B at its migrate block's pace, a system job's allocation on A
//! stops last, and `orch node drain` follows it all.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use orch_core::model::Timestamp;
use serde_json::Value;

const SEC: i64 = 1_000_000_000;

fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn ready_nodes(server: &Agent) -> Vec<String> {
    let (_, nodes) = get(server, "/v1/nodes");
    nodes
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["Status"] == "ready")
        .map(|n| n["ID"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn migrating(a: &Value) -> bool {
    a["DesiredTransition"]["Migrate"] == true || a["DesiredStatus"] != "run"
}

/// Running, wanted, and up for the migrate block's 1 s at `now`.
fn healthy(a: &Value, now: i64) -> bool {
    let started: Option<Timestamp> =
        serde_json::from_value(a["TaskStates"]["t"]["StartedAt"].clone()).ok();
    a["ClientStatus"] == "running"
        && a["DesiredStatus"] == "run"
        && a["DesiredTransition"]["Migrate"] != true
        && started.is_some_and(|s| s.0 != 0 && s.0 + SEC <= now)
}

#[test]
fn drain_moves_a_service_job_two_at_a_time_and_completes() {
    let dir = temp_dir("drain");
    let server = start_server(&dir, "s");
    let client = |name: &str| start_client(&dir, &server, name);
    // Only A is up while the job is placed, so all four land on it.
    let _a = client("a");
    let node_a = wait_for(Duration::from_secs(20), "client A ready", || {
        ready_nodes(&server).into_iter().next()
    });
    run_hcl(
        &server,
        r#"
job "drained" {
  update {
    min_healthy_time = "1s"
    healthy_deadline = "30s"
  }
  migrate {
    max_parallel     = 2
    min_healthy_time = "1s"
  }
  group "g" {
    count = 4
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "exec sleep 306"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#,
    );
    run_hcl(
        &server,
        r#"
job "logs" {
  type = "system"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "exec sleep 307"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#,
    );
    let first = wait_for(Duration::from_secs(40), "four running on A", || {
        let r: Vec<Value> = job_allocs(&server, "drained")
            .into_iter()
            .filter(|a| a["ClientStatus"] == "running" && a["NodeID"] == node_a.as_str())
            .collect();
        (r.len() == 4).then_some(r)
    });
    let _b = client("b");
    wait_for(Duration::from_secs(20), "client B ready", || {
        (ready_nodes(&server).len() == 2).then_some(())
    });

    let started = Instant::now();
    let mut cli = Command::new(env!("CARGO_BIN_EXE_orch"))
        .args([
            "node",
            "drain",
            "-enable",
            "-yes",
            "-deadline",
            "5m",
            "-address",
            &server.http,
            &node_a[..8],
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start orch node drain");

    // Sample every 200 ms: A's allocations marked or stopped, less the healthy
    // replacements running elsewhere, must never exceed max_parallel (2).
    let mut worst = 0i64;
    let mut samples = 0;
    let done = loop {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "drain did not finish in 90 s; worst {worst}"
        );
        let allocs = job_allocs(&server, "drained");
        let now = now_nanos();
        let marked_on_a = allocs
            .iter()
            .filter(|a| a["NodeID"] == node_a.as_str() && migrating(a))
            .count() as i64;
        let healthy_elsewhere = allocs
            .iter()
            .filter(|a| a["NodeID"] != node_a.as_str() && healthy(a, now))
            .count() as i64;
        worst = worst.max(marked_on_a - healthy_elsewhere);
        // The system allocation on A goes last: only once the service ones stopped.
        let system_on_a = job_allocs(&server, "logs")
            .into_iter()
            .find(|a| a["NodeID"] == node_a.as_str())
            .expect("the system job runs on A");
        if migrating(&system_on_a) {
            let service_left = allocs
                .iter()
                .filter(|a| a["NodeID"] == node_a.as_str() && a["ClientStatus"] != "complete")
                .count();
            assert_eq!(
                service_left, 0,
                "system allocation stopped before the service ones"
            );
        }
        samples += 1;
        assert!(
            marked_on_a - healthy_elsewhere <= 2,
            "{marked_on_a} of A's allocations migrating with only {healthy_elsewhere} healthy replacements"
        );
        let (_, node) = get(&server, &format!("/v1/node/{node_a}"));
        let on_b: Vec<&Value> = allocs
            .iter()
            .filter(|a| {
                a["NodeID"] != node_a.as_str()
                    && a["ClientStatus"] == "running"
                    && a["DesiredStatus"] == "run"
            })
            .collect();
        let system_done = system_on_a["ClientStatus"] == "complete";
        if node["DrainStrategy"].is_null() && on_b.len() == 4 {
            assert!(
                system_done,
                "drain complete with the system allocation running: {system_on_a}"
            );
            break node;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let took = started.elapsed();
    eprintln!(
        "drain took {took:?}; worst migrating-without-replacement {worst} over {samples} samples"
    );
    assert_eq!(done["SchedulingEligibility"], "ineligible");
    assert_eq!(done["Drain"], false);
    let events: Vec<&str> = done["Events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["Message"].as_str())
        .collect();
    assert!(events.contains(&"Node drain complete"), "{events:?}");
    // Every original allocation stopped on A; none runs there any more.
    let allocs = job_allocs(&server, "drained");
    for f in &first {
        let now = allocs
            .iter()
            .find(|a| a["ID"] == f["ID"])
            .expect("original allocation");
        assert_eq!(now["DesiredStatus"], "stop", "{now}");
    }

    // The CLI followed the drain to its end.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = cli.try_wait().expect("wait for orch node drain") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = cli.kill();
            panic!("orch node drain still monitoring 30 s after the drain completed");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    let mut err = String::new();
    cli.stdout.take().map(|mut o| o.read_to_string(&mut out));
    cli.stderr.take().map(|mut e| e.read_to_string(&mut err));
    assert!(status.success(), "{out}\n{err}");
    assert!(
        out.contains(&format!("Node {node_a:?} drain strategy set")),
        "{out}"
    );
    // Four service allocations, then the system one.
    assert_eq!(out.matches("marked for migration").count(), 5, "{out}");
    assert!(
        out.contains(&format!("Drain complete for node {node_a}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("All allocations on node {node_a:?} have stopped")),
        "{out}"
    );
    // -monitor on a node no longer draining says so and returns.
    let monitor = Command::new(env!("CARGO_BIN_EXE_orch"))
        .args([
            "node",
            "drain",
            "-monitor",
            "-address",
            &server.http,
            &node_a,
        ])
        .output()
        .expect("run orch node drain -monitor");
    let text = String::from_utf8_lossy(&monitor.stdout);
    assert!(monitor.status.success(), "{text}");
    assert!(
        text.contains(&format!("No drain strategy set for node {node_a}")),
        "{text}"
    );
}
