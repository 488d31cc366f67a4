//! The autoscaler with real parts: a dev agent (server + client, raw_exec) scaling a
//! group on the real CPU use of its tasks (`nomad-apm`), and on a real Prometheus
//! server's query API; policies, scaling events, policy status and metrics over HTTP.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::metrics::{prometheus_binary, serve_dir, start_prometheus};
use common::*;
use serde_json::{Value, json};

/// The group's scaling events, oldest first.
fn events(agent: &impl HasHttp, job: &str, group: &str) -> Vec<Value> {
    let (_, v) = get(agent, &format!("/v1/job/{job}/scale"));
    let mut list = v["TaskGroups"][group]["Events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    list.reverse();
    list
}

fn desired(agent: &impl HasHttp, job: &str, group: &str) -> i64 {
    get(agent, &format!("/v1/job/{job}/scale")).1["TaskGroups"][group]["Desired"]
        .as_i64()
        .unwrap_or(-1)
}

fn running(agent: &impl HasHttp, job: &str) -> usize {
    job_allocs(agent, job)
        .iter()
        .filter(|a| a["ClientStatus"] == "running")
        .count()
}

/// Every action event within `[min, max]` and at least `cooldown` after the previous one.
fn check_events(list: &[Value], min: i64, max: i64, cooldown: Duration) {
    let actions: Vec<&Value> = list.iter().filter(|e| e["Count"].is_i64()).collect();
    for e in &actions {
        let c = e["Count"].as_i64().unwrap();
        assert!(
            (min..=max).contains(&c),
            "count {c} outside [{min}, {max}]: {e}"
        );
    }
    for w in actions.windows(2) {
        let gap = w[1]["Time"].as_i64().unwrap() - w[0]["Time"].as_i64().unwrap();
        assert!(
            gap >= cooldown.as_nanos() as i64,
            "actions {}s apart, inside the {cooldown:?} cooldown: {} then {}",
            gap as f64 / 1e9,
            w[0],
            w[1]
        );
    }
}

#[test]
fn target_value_on_real_cpu_scales_out_and_back_in() {
    let dir = temp_dir("autoscale-cpu");
    let flag = dir.join("load");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let hcl = format!(
        r#"
job "burn" {{
  datacenters = ["dc1"]
  group "g" {{
    count = 1
    update {{
      max_parallel = 0
    }}
    scaling {{
      enabled = true
      min     = 1
      max     = 3
      policy {{
        evaluation_interval = "2s"
        cooldown            = "4s"
        check "cpu" {{
          source   = "nomad-apm"
          query    = "avg_cpu-allocated"
          strategy "target-value" {{
            target = 50
          }}
        }}
      }}
    }}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "while :; do while [ -f {flag} ]; do :; done; sleep 0.2; done"]
      }}
      resources {{
        cpu    = 50
        memory = 32
      }}
    }}
  }}
}}
"#,
        flag = flag.display()
    );
    run_hcl(&agent, &hcl);
    wait_for(Duration::from_secs(30), "one running allocation", || {
        (running(&agent, "burn") == 1).then_some(())
    });

    // The policy is listed and has a stable ID.
    let (_, list) = get(&agent, "/v1/scaling/policies?job=burn");
    let id = list[0]["ID"].as_str().expect("policy listed").to_string();
    assert_eq!(
        list[0]["Target"],
        json!({"Namespace": "default", "Job": "burn", "Group": "g"})
    );
    let (code, p) = get(&agent, &format!("/v1/scaling/policy/{id}"));
    assert_eq!(code, 200, "{p}");
    assert_eq!((p["Min"].as_i64(), p["Max"].as_i64()), (Some(1), Some(3)));

    // Idle: the autoscaler evaluates and leaves the count alone.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(desired(&agent, "burn", "g"), 1);
    let (_, p) = get(&agent, &format!("/v1/scaling/policy/{id}"));
    assert_eq!(p["Status"]["LastError"], Value::Null, "{p}");
    assert_eq!(p["Status"]["Checks"][0]["Name"], "cpu", "{p}");

    // Load: scale out within two evaluation intervals (plus one stats sample).
    std::fs::write(&flag, "").unwrap();
    let t0 = Instant::now();
    wait_for(Duration::from_secs(20), "a scale-out", || {
        (desired(&agent, "burn", "g") > 1).then_some(())
    });
    let took = t0.elapsed();
    println!("scale-out {took:?} after the load started");
    assert!(took <= Duration::from_secs(8), "scale-out took {took:?}");
    let ev = events(&agent, "burn", "g");
    let last = ev.last().unwrap();
    assert!(
        last["Message"]
            .as_str()
            .unwrap()
            .starts_with("scaling up because factor is"),
        "{last}"
    );
    assert_eq!(last["Meta"]["nomad_policy_id"], id.as_str());
    assert!(last["EvalID"].is_string());
    // The policy keeps its ID across the new job version; the job shows it too.
    let (_, list) = get(&agent, "/v1/scaling/policies?job=burn");
    assert_eq!(list[0]["ID"], id.as_str());
    let (_, job) = get(&agent, "/v1/job/burn");
    assert_eq!(job["TaskGroups"][0]["Scaling"]["ID"], id.as_str());
    assert_eq!(job["TaskGroups"][0]["Scaling"]["Target"]["Group"], "g");
    wait_for(Duration::from_secs(30), "three running allocations", || {
        (running(&agent, "burn") == 3).then_some(())
    });
    // Stays at max under load.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(desired(&agent, "burn", "g"), 3);

    // Load gone: back in to min.
    std::fs::remove_file(&flag).unwrap();
    let t1 = Instant::now();
    wait_for(Duration::from_secs(40), "a scale-in to 1", || {
        (desired(&agent, "burn", "g") == 1).then_some(())
    });
    println!("scale-in to 1 {:?} after the load stopped", t1.elapsed());
    let ev = events(&agent, "burn", "g");
    println!("events: {}", serde_json::to_string_pretty(&ev).unwrap());
    check_events(&ev, 1, 3, Duration::from_secs(4));
    assert!(ev.iter().any(|e| {
        e["Message"]
            .as_str()
            .unwrap_or("")
            .starts_with("scaling down")
    }));

    // The CLI shows the same.
    let out = cli(&agent, &["scaling", "policy", "list", "-job", "burn"]);
    assert!(out.contains("Job:burn,Group:g"), "{out}");
    let out = cli(&agent, &["scaling", "policy", "info", &id[..8]]);
    assert!(out.contains("avg_cpu-allocated"), "{out}");
    let out = cli(&agent, &["job", "scaling-events", "burn"]);
    assert!(out.contains("scaling down because factor is"), "{out}");

    // Metrics carry the autoscaler's gauges.
    let (_, text) = get_text(&agent, "/v1/metrics?format=prometheus");
    assert!(text.contains("orch_autoscaler_policy_actions{"), "{text}");
}

/// Runs the `orch` CLI against the agent; panics unless it succeeds.
fn cli(agent: &Agent, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(args)
        .env("ORCH_ADDR", &agent.http)
        .output()
        .expect("run orch");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "orch {args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn target_value_on_prometheus_and_prometheus_down() {
    let Some(prom_bin) = prometheus_binary() else {
        println!("SKIPPED: no prometheus binary (apt-get install -y prometheus; .ci/run does)");
        return;
    };
    let dir = temp_dir("autoscale-prom");
    // The metric: a static exposition file served by python's http.server.
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    let write_metric = |v: f64| {
        let tmp = www.join("metrics.tmp");
        std::fs::write(
            &tmp,
            format!("# TYPE test_queue_depth gauge\ntest_queue_depth {v}\n"),
        )
        .unwrap();
        std::fs::rename(&tmp, www.join("metrics.txt")).unwrap();
    };
    write_metric(10.0);
    let (_web, web_port) = serve_dir(&www, "metrics.txt");

    let prom_port = free_port();
    let agent_cfg = dir.join("autoscaler.hcl");
    std::fs::write(
        &agent_cfg,
        format!("autoscaler {{\n  prometheus_address = \"http://127.0.0.1:{prom_port}\"\n}}\n"),
    )
    .unwrap();
    let agent = start(&dir, &["-dev", "-config", agent_cfg.to_str().unwrap()]);
    wait_leader(&agent);
    let orch_addr = agent.http.trim_start_matches("http://").to_string();
    let scrape = format!(
        "  - job_name: test\n    metrics_path: /metrics.txt\n    static_configs:\n      - targets: ['127.0.0.1:{web_port}']\n  - job_name: orch\n    metrics_path: /v1/metrics\n    params:\n      format: [prometheus]\n    static_configs:\n      - targets: ['{orch_addr}']\n"
    );
    let mut prom = Some(start_prometheus(prom_bin, &dir, prom_port, &scrape));

    let hcl = r#"
job "queue" {
  datacenters = ["dc1"]
  group "w" {
    count = 1
    # No deployments (orch's deployment watcher lives on another branch for now):
    # Job.Scale is refused while one is active.
    update {
      max_parallel = 0
    }
    scaling {
      min = 1
      max = 4
      policy {
        evaluation_interval = "1s"
        cooldown            = "2s"
        check "depth" {
          source = "prometheus"
          query  = "scalar(test_queue_depth)"
          strategy "target-value" {
            target = 10
          }
        }
      }
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["1000"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;
    run_hcl(&agent, hcl);
    let (_, list) = get(&agent, "/v1/scaling/policies?job=queue&type=horiz");
    let id = list[0]["ID"].as_str().expect("policy listed").to_string();
    // At target: nothing happens, and the status shows the check's metric.
    wait_for(Duration::from_secs(20), "a successful evaluation", || {
        let (_, p) = get(&agent, &format!("/v1/scaling/policy/{id}"));
        (p["Status"]["Checks"][0]["Metric"] == 10.0).then_some(())
    });
    assert_eq!(desired(&agent, "queue", "w"), 1);

    // Three times the target: three times the allocations.
    write_metric(30.0);
    let t0 = Instant::now();
    while desired(&agent, "queue", "w") != 3 {
        let (_, p) = get(&agent, &format!("/v1/scaling/policy/{id}"));
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no scale-out to 3: {}",
            p["Status"]
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    println!(
        "prometheus scale-out {:?} after the metric changed",
        t0.elapsed()
    );
    let ev = events(&agent, "queue", "w");
    assert_eq!(
        ev.last().unwrap()["Message"],
        "scaling up because factor is 3.000000"
    );

    // Orch's own metrics made it into Prometheus too.
    let (_, v) = get_text(
        &Agent::remote(&format!("http://127.0.0.1:{prom_port}")),
        "/api/v1/query?query=nomad_nomad_leader_is_leader",
    );
    assert!(v.contains("\"1\""), "{v}");

    // Prometheus dies: no action, whatever the metric would have said; status says why.
    prom.take();
    write_metric(40.0);
    let err = wait_for(
        Duration::from_secs(20),
        "the policy status to report the error",
        || {
            let (_, p) = get(&agent, &format!("/v1/scaling/policy/{id}"));
            p["Status"]["LastError"].as_str().map(str::to_string)
        },
    );
    assert!(err.contains("unreachable"), "{err}");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(desired(&agent, "queue", "w"), 3);
    let (_, p) = get(&agent, &format!("/v1/scaling/policy/{id}"));
    assert_eq!(p["Status"]["State"], "error", "{p}");
    let (_, text) = get_text(&agent, "/v1/metrics?format=prometheus");
    let healthy = text
        .lines()
        .find(|l| l.starts_with("orch_autoscaler_policy_healthy{") && l.contains("queue"))
        .unwrap_or_default()
        .to_string();
    assert!(healthy.ends_with(" 0"), "{healthy}");
    check_events(&events(&agent, "queue", "w"), 1, 4, Duration::from_secs(2));
}

#[test]
fn bad_policies_are_refused_with_paths() {
    let dir = temp_dir("autoscale-bad");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let hcl = r#"
job "bad" {
  group "g" {
    scaling {
      min = 1
      max = 2
      policy {
        check "c" {
          source = "datadog"
          query  = "x"
          strategy "target-value" { target = 5 }
        }
      }
    }
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
    }
  }
}
"#;
    let out = Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(["job", "run", "-output", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(hcl.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the CLI refuses it: {stderr}");
    assert!(stderr.contains("datadog"), "{stderr}");
    let body = json!({"Job": {"ID": "bad", "Name": "bad", "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "g", "Count": 1,
            "Scaling": {"Min": 1, "Max": 2, "Policy": {"check": {"c": {"source": "datadog", "query": "x",
                "strategy": {"target-value": {"target": 5}}}}}},
            "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}}]}]}});
    let (code, text) = send(&agent, "PUT", "/v1/jobs", body);
    assert_eq!(code, 400, "{text}");
    assert!(
        text.contains("TaskGroups[0].Scaling.Policy.check[c].source"),
        "{text}"
    );
    assert!(text.contains("datadog"), "{text}");
}

#[test]
fn unplaced_work_is_exported_per_job_and_group() {
    let dir = temp_dir("autoscale-unplaced");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(
        &agent,
        r#"
job "huge" {
  datacenters = ["dc1"]
  group "g" {
    count = 2
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["1000"]
      }
      resources {
        memory = 100000000
      }
    }
  }
}
"#,
    );
    let line = wait_for(Duration::from_secs(20), "the unplaced gauge", || {
        let (_, text) = get_text(&agent, "/v1/metrics?format=prometheus");
        text.lines()
            .find(|l| l.starts_with("nomad_nomad_blocked_evals_job_unplaced{"))
            .map(str::to_string)
    });
    assert_eq!(
        line,
        r#"nomad_nomad_blocked_evals_job_unplaced{namespace="default",job="huge",task_group="g"} 2"#
    );
    let (_, v) = get(&agent, "/v1/metrics");
    let blocked = v["Gauges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["Name"] == "nomad.nomad.blocked_evals.job.blocked")
        .cloned()
        .unwrap_or_default();
    assert_eq!(blocked["Value"], 1.0, "{blocked}");
    assert_eq!(blocked["Labels"]["job"], "huge");
}
