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

/// A service job of 2 allocations, rolled one at a time (`canary`: with one canary,
/// auto-promoted), its update gated as `source`, `query` and `condition` say.
fn gated_spec(id: &str, canary: bool, gate: (&str, &str, &str), version: &str) -> String {
    let (source, query, condition) = gate;
    let canary = if canary {
        "canary            = 1\n      auto_promote      = true"
    } else {
        ""
    };
    format!(
        r#"
job "{id}" {{
  group "g" {{
    count = 2
    update {{
      max_parallel      = 1
      {canary}
      min_healthy_time  = "1s"
      healthy_deadline  = "1m"
      progress_deadline = "5m"
      gate {{
        source    = "{source}"
        query     = "{query}"
        condition = "{condition}"
        for       = "{window}"
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
"#,
        window = if source == "prometheus" { "3s" } else { "1s" },
    )
}

/// The canary job gated on the error metric Prometheus scrapes.
fn gated_job(version: &str) -> String {
    gated_spec(
        "gated",
        true,
        ("prometheus", "scalar(test_errors)", "< 0.01"),
        version,
    )
}

/// The deployment of `job`'s `version`, if there is one.
fn deployment(agent: &Agent, job: &str, version: u64) -> Option<Value> {
    let (_, all) = get(agent, &format!("/v1/job/{job}/deployments"));
    all.as_array()?
        .iter()
        .find(|d| d["JobVersion"] == version)
        .cloned()
}

fn deployment_of(agent: &Agent, version: u64) -> Option<Value> {
    deployment(agent, "gated", version)
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

/// A rolling update gated on the `nomad-apm` source: the memory the allocations use,
/// as orch's clients measure it.
fn apm_job(id: &str, condition: &str, version: &str) -> String {
    gated_spec(id, false, ("nomad-apm", "max_memory", condition), version)
}

#[test]
fn a_nomad_apm_gate_reads_the_memory_orch_measures() {
    let dir = temp_dir("wf-gate-apm");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    // No allocation uses less than a byte: that gate never opens. Every one uses at
    // least one: that gate opens once its window passed.
    let jobs = [("apm-shut", "< 1"), ("apm-open", ">= 1")];
    for (id, cond) in jobs {
        run_hcl(&agent, &apm_job(id, cond, "1"));
    }
    for (id, _) in jobs {
        wait_for(
            Duration::from_secs(120),
            &format!("{id} v0 deployed"),
            || deployment(&agent, id, 0).filter(|d| d["Status"] == "successful"),
        );
        run_hcl(
            &agent,
            &apm_job(id, jobs.iter().find(|j| j.0 == id).unwrap().1, "2"),
        );
    }
    let opened = wait_for(Duration::from_secs(120), "the open gate's rollout", || {
        deployment(&agent, "apm-open", 1).filter(|d| d["Status"] == "successful")
    });
    assert_eq!(opened["TaskGroups"]["g"]["PlacedAllocs"], 2, "{opened}");
    // The shut gate waits after the first batch and says what it measured: the
    // memory of the running allocations, a real number of bytes.
    let waiting = wait_for(Duration::from_secs(60), "the shut gate to report", || {
        deployment(&agent, "apm-shut", 1).filter(|d| {
            d["StatusDescription"]
                .as_str()
                .is_some_and(|s| s.contains("nomad-apm = "))
        })
    });
    let why = waiting["StatusDescription"].as_str().unwrap_or_default();
    let bytes: f64 = why
        .split("nomad-apm = ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    assert!(bytes >= 1.0, "measured memory: {why}");
    assert_eq!(waiting["Status"], "running", "{waiting}");
    assert_eq!(waiting["TaskGroups"]["g"]["PlacedAllocs"], 1, "{waiting}");
    plans_show_what_gates_hold(&agent, &dir);
}

/// `job plan` says what a gate holds (in `Warnings`: Nomad's response shape is kept),
/// and a change of the gate alone is a new version, as any `update` change.
fn plans_show_what_gates_hold(agent: &Agent, dir: &Path) {
    let plan = |id: &str, hcl: &str| {
        let body = serde_json::json!({"Job": orch_parse(hcl), "Diff": true});
        let (code, text) = send(agent, "PUT", &format!("/v1/job/{id}/plan"), body);
        assert_eq!(code, 200, "{text}");
        serde_json::from_str::<Value>(&text).unwrap_or_default()
    };
    // The rollout waiting at its shut gate: the same spec again is held there.
    let held = plan("apm-shut", &apm_job("apm-shut", "< 1", "2"));
    let warnings = held["Warnings"].as_str().unwrap_or_default();
    assert!(
        warnings.contains("the metric gate holds the next batch")
            && warnings.contains("nomad-apm = "),
        "{held}"
    );
    assert_eq!(
        held["Annotations"]["DesiredTGUpdates"]["g"]["DestructiveUpdate"],
        0
    );
    // A new version: the plan's first batch goes, what follows waits for the gate.
    let next = plan("apm-open", &apm_job("apm-open", ">= 1", "3"));
    let warnings = next["Warnings"].as_str().unwrap_or_default();
    assert!(
        warnings.contains("this plan starts a batch of 1")
            && warnings.contains("nomad-apm query \"max_memory\" meets \">= 1\" for 1s"),
        "{next}"
    );
    let spec = dir.join("next.nomad.hcl");
    std::fs::write(&spec, apm_job("apm-open", ">= 1", "3")).unwrap();
    let out = orch_cli(agent, &["job", "plan", spec.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Job Warnings:") && text.contains("waits until"),
        "{text}"
    );

    // Only the gate's condition differs: the diff shows it, it is a new version, and
    // the allocations are updated in place (same IDs, now at that version).
    let ids = |version: u64| -> Vec<String> {
        let mut ids: Vec<String> = job_allocs(agent, "apm-open")
            .iter()
            .filter(|a| a["JobVersion"] == version && a["ClientStatus"] == "running")
            .filter_map(|a| a["ID"].as_str().map(str::to_string))
            .collect();
        ids.sort();
        ids
    };
    let before = ids(1);
    assert_eq!(before.len(), 2, "apm-open runs version 1 twice");
    let gate_only = apm_job("apm-open", ">= 2", "2");
    let diff = plan("apm-open", &gate_only);
    assert_eq!(diff["Diff"]["Type"], "Edited", "{diff}");
    assert!(diff["Diff"].to_string().contains("Gate"), "{diff}");
    let updates = &diff["Annotations"]["DesiredTGUpdates"]["g"];
    assert_eq!(updates["InPlaceUpdate"], 2, "{diff}");
    run_hcl(agent, &gate_only);
    let (_, job) = get(agent, "/v1/job/apm-open");
    assert_eq!(job["Version"], 2, "{job}");
    assert_eq!(job["TaskGroups"][0]["Update"]["Gate"]["Condition"], ">= 2");
    let (_, versions) = get(agent, "/v1/job/apm-open/versions");
    let kept = versions["Versions"].as_array().map_or(0, Vec::len);
    assert_eq!(kept, 3, "{versions}");
    wait_for(
        Duration::from_secs(60),
        "the allocations updated in place",
        || (ids(2) == before).then_some(()),
    );
}
