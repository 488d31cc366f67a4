//! Updates gated on live metrics (`update { gate }`) against a real Prometheus: a canary
//! waits while the error metric the test controls is above the threshold, and is
//! promoted once it drops. Every wait polls with a deadline.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::common::metrics::{Proc, prometheus_binary, serve_dir, start_prometheus};
use super::common::*;

fn http_get(url: &str) -> Option<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async {
        let r = orch_daemon::tls::http_client().get(url).send().await.ok()?;
        if !r.status().is_success() {
            return None;
        }
        Some(r.json::<Value>().await.unwrap_or(Value::Null))
    })
}

/// The metric file python's http.server serves, replaced atomically.
fn write_errors(www: &Path, v: f64) {
    let tmp = www.join("metrics.tmp");
    std::fs::write(&tmp, format!("# TYPE test_errors gauge\ntest_errors {v}\n")).unwrap();
    std::fs::rename(&tmp, www.join("metrics.txt")).unwrap();
}

/// Waits until Prometheus answers `scalar(test_errors)` with `v`.
fn wait_prometheus_sees(prom: &str, v: f64) {
    wait_for(
        Duration::from_secs(60),
        &format!("prometheus sees {v}"),
        || {
            let r = http_get(&format!("{prom}/api/v1/query?query=scalar(test_errors)"))?;
            let got: f64 = r["data"]["result"][1].as_str()?.parse().ok()?;
            (got == v).then_some(())
        },
    );
}

fn gated_job(version: &str) -> String {
    format!(
        r#"
job "gated" {{
  group "g" {{
    count = 2
    update {{
      max_parallel      = 1
      canary            = 1
      auto_promote      = true
      min_healthy_time  = "1s"
      healthy_deadline  = "1m"
      progress_deadline = "5m"
      gate {{
        source    = "prometheus"
        query     = "scalar(test_errors)"
        condition = "< 0.01"
        for       = "3s"
        deadline  = "4m"
      }}
    }}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "while true; do sleep 1; done"]
      }}
      env {{ VERSION = "{version}" }}
      resources {{
        cpu    = 20
        memory = 16
      }}
    }}
  }}
}}
"#
    )
}

fn deployment_of(agent: &Agent, version: u64) -> Option<Value> {
    let (_, all) = get(agent, "/v1/job/gated/deployments");
    all.as_array()?
        .iter()
        .find(|d| d["JobVersion"] == version)
        .cloned()
}

/// Python's http.server serving `www`, Prometheus scraping it every second, and an
/// agent whose autoscaler (and so the gates) queries that Prometheus.
fn setup(dir: &Path, prom_bin: &str) -> (Vec<Proc>, Agent, String, PathBuf) {
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    write_errors(&www, 0.0);
    let (web, web_port) = serve_dir(&www, "metrics.txt");
    let prom_port = free_port();
    let prom = format!("http://127.0.0.1:{prom_port}");
    let cfg = dir.join("agent.hcl");
    std::fs::write(
        &cfg,
        format!("autoscaler {{\n  prometheus_address = \"{prom}\"\n}}\n"),
    )
    .unwrap();
    let agent = start(dir, &["-dev", "-config", cfg.to_str().unwrap()]);
    wait_leader(&agent);
    let scrape = format!(
        "  - job_name: test\n    metrics_path: /metrics.txt\n    static_configs:\n      - targets: ['127.0.0.1:{web_port}']\n"
    );
    let p = start_prometheus(prom_bin, dir, prom_port, &scrape);
    (vec![p, web], agent, prom, www)
}

#[test]
fn a_gated_canary_waits_while_prometheus_reports_errors_then_promotes() {
    let Some(prom_bin) = prometheus_binary() else {
        println!("SKIPPED: no prometheus binary (apt-get install -y prometheus; .ci/run does)");
        return;
    };
    let dir = temp_dir("wf-gate");
    let (_procs, agent, prom, www) = setup(&dir, prom_bin);
    wait_prometheus_sees(&prom, 0.0);

    run_hcl(&agent, &gated_job("1"));
    wait_for(Duration::from_secs(120), "version 0 deployed", || {
        deployment_of(&agent, 0).filter(|d| d["Status"] == "successful")
    });
    // The gate is part of the job the API shows.
    let (_, job) = get(&agent, "/v1/job/gated");
    assert_eq!(
        job["TaskGroups"][0]["Update"]["Gate"]["Condition"],
        "< 0.01"
    );

    write_errors(&www, 0.5);
    wait_prometheus_sees(&prom, 0.5);
    run_hcl(&agent, &gated_job("2"));
    // The canary is healthy, the metric is above the threshold: the deployment waits
    // at the gate, and says why.
    let waiting = wait_for(
        Duration::from_secs(120),
        "the canary waiting at the gate",
        || {
            deployment_of(&agent, 1).filter(|d| {
                let why = d["StatusDescription"].as_str().unwrap_or("");
                why.contains("waiting for the metric gate") && why.contains("prometheus = 0.5")
            })
        },
    );
    assert_eq!(waiting["Status"], "running", "{waiting}");
    assert_eq!(waiting["TaskGroups"]["g"]["Promoted"], false, "{waiting}");
    let id = waiting["ID"].as_str().unwrap_or_default().to_string();
    let out = orch_cli(&agent, &["deployment", "status", &id]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("metric gate"), "deployment status: {text}");
    let v1_running = job_allocs(&agent, "gated")
        .iter()
        .filter(|a| a["JobVersion"] == 1 && a["DesiredStatus"] == "run")
        .count();
    assert_eq!(
        v1_running, 1,
        "only the canary runs the new version while the gate is shut"
    );

    // The errors drop: the gate opens after holding for its window, the canary is
    // promoted and the rollout completes.
    write_errors(&www, 0.0);
    let done = wait_for(Duration::from_secs(180), "version 1 deployed", || {
        deployment_of(&agent, 1).filter(|d| d["Status"] == "successful")
    });
    assert_eq!(done["TaskGroups"]["g"]["Promoted"], true, "{done}");
    let v1_running = job_allocs(&agent, "gated")
        .iter()
        .filter(|a| a["JobVersion"] == 1 && a["ClientStatus"] == "running")
        .count();
    assert_eq!(v1_running, 2);
}

#[test]
fn bad_gates_are_refused_with_their_field_paths() {
    let dir = temp_dir("wf-gate-bad");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let mut job = orch_parse(&gated_job("1"));
    let gate = &mut job["TaskGroups"][0]["Update"]["Gate"];
    gate["Source"] = "graphite".into();
    gate["Condition"] = "below 1".into();
    gate["For"] = Value::from(600_000_000_000i64);
    let (status, body) = send(&agent, "PUT", "/v1/jobs", serde_json::json!({ "Job": job }));
    assert_eq!(status, 400, "{body}");
    for path in [
        "TaskGroups[0].Update.Gate.Source",
        "TaskGroups[0].Update.Gate.Condition",
        "TaskGroups[0].Update.Gate.For",
    ] {
        assert!(body.contains(path), "{path} missing from: {body}");
    }
}
