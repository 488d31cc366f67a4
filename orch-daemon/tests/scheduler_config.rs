//! `/v1/operator/scheduler/configuration` with real agents: Nomad's defaults, check-and-set,
//! the setting replicated to followers, the CLI's get/set round trip, and the leader
//! honouring it at once (spread vs binpack placement, a paused eval broker).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);
const PATH: &str = "/v1/operator/scheduler/configuration";

fn config(agent: &impl HasHttp) -> Value {
    let (code, v) = get(agent, PATH);
    assert_eq!(code, 200, "{v}");
    v
}

fn put(agent: &Agent, query: &str, body: Value) -> (u16, Value) {
    let (code, text) = send(agent, "PUT", &format!("{PATH}{query}"), body);
    (
        code,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[test]
fn defaults_check_and_set_followers_and_the_cli() {
    let dir = temp_dir("schedcfg-servers");
    let servers = three_servers(&dir, [&[], &[], &[]]);
    let v = config(&servers[0]);
    assert_eq!(v["KnownLeader"], true);
    assert_eq!(v["LastContact"], 0);
    assert!(v["Index"].as_u64().is_some_and(|i| i >= 1), "{v}");
    let c = &v["SchedulerConfig"];
    assert_eq!(c["SchedulerAlgorithm"], "binpack");
    assert_eq!(
        c["PreemptionConfig"],
        json!({"SystemSchedulerEnabled": true, "SysBatchSchedulerEnabled": true,
               "BatchSchedulerEnabled": false, "ServiceSchedulerEnabled": false})
    );
    for f in [
        "MemoryOversubscriptionEnabled",
        "RejectJobRegistration",
        "PauseEvalBroker",
    ] {
        assert_eq!(c[f], false, "{f}");
    }

    // Check-and-set: a stale index is refused, the current one applies.
    let mut body = c.clone();
    body["SchedulerAlgorithm"] = json!("spread");
    let (code, r) = put(&servers[0], "?cas=12345", body.clone());
    assert_eq!((code, &r["Updated"]), (200, &json!(false)), "{r}");
    assert_eq!(
        config(&servers[0])["SchedulerConfig"]["SchedulerAlgorithm"],
        "binpack"
    );
    let current = c["ModifyIndex"].as_u64().unwrap_or(0);
    let (code, r) = put(&servers[0], &format!("?cas={current}"), body);
    assert_eq!((code, &r["Updated"]), (200, &json!(true)), "{r}");
    let index = r["Index"].as_u64().unwrap_or(0);
    assert!(index > 0, "{r}");

    // Every server sees it (reads are local: a follower answers from its own state).
    for s in &servers[1..] {
        wait_for(WAIT, "the configuration on a follower", || {
            let c = config(s)["SchedulerConfig"].clone();
            (c["SchedulerAlgorithm"] == "spread" && c["ModifyIndex"] == index).then_some(())
        });
    }

    // Bad bodies are a 400 naming the field.
    let (code, r) = put(&servers[1], "", json!({"SchedulerAlgorithm": "random"}));
    assert_eq!(code, 400, "{r}");
    assert!(r.to_string().contains("SchedulerAlgorithm"), "{r}");
    let (code, r) = put(&servers[1], "", json!({"Bogus": 1}));
    assert_eq!(code, 400, "{r}");
    assert!(r.to_string().contains("Bogus"), "{r}");

    cli_round_trip(&servers, index);
}

/// `set-config` with `-check-index` through a follower, `get-config` back, and a stale
/// index refused with Nomad's message.
fn cli_round_trip(servers: &[Agent], index: u64) {
    // The CLI, through a follower: set with the current index, then read back.
    let out = orch_cli(
        &servers[2],
        &[
            "operator",
            "scheduler",
            "set-config",
            "-scheduler-algorithm=binpack",
            "-preempt-service-scheduler=true",
            "-memory-oversubscription=true",
            &format!("-check-index={index}"),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Scheduler configuration updated!"),
        "{stdout}"
    );
    let out = orch_cli(&servers[2], &["operator", "scheduler", "get-config"]);
    let kv = cli_kv(&String::from_utf8_lossy(&out.stdout));
    let field = |k: &str| kv.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    assert_eq!(field("Scheduler Algorithm"), Some("binpack"), "{kv:?}");
    assert_eq!(
        field("Preemption Service Scheduler"),
        Some("true"),
        "{kv:?}"
    );
    assert_eq!(field("Preemption System Scheduler"), Some("true"), "{kv:?}");
    assert_eq!(field("Memory Oversubscription"), Some("true"), "{kv:?}");
    assert_eq!(field("Pause Eval Broker"), Some("false"), "{kv:?}");
    // A stale -check-index fails with Nomad's message and exit code 1.
    let out = orch_cli(
        &servers[0],
        &[
            "operator",
            "scheduler",
            "set-config",
            &format!("-check-index={index}"),
            "-pause-eval-broker=true",
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("could not be atomically updated"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = orch_cli(
        &servers[0],
        &["operator", "scheduler", "get-config", "-json"],
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let config = &json["SchedulerConfig"];
    assert_eq!(config["PauseEvalBroker"], false, "{json}");
    assert_eq!(
        config["PreemptionConfig"]["ServiceSchedulerEnabled"], true,
        "{json}"
    );
}

fn sleeper(name: &str) -> String {
    format!(
        r#"
job "{name}" {{
  group "g" {{
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "exec sleep 300"]
      }}
      resources {{
        cpu    = 50
        memory = 32
      }}
    }}
  }}
}}
"#
    )
}

/// The node the job's one allocation was placed on.
fn placed_on(server: &Agent, job: &str) -> String {
    wait_for(WAIT, &format!("{job} to be placed"), || {
        job_allocs(server, job)
            .first()
            .and_then(|a| a["NodeID"].as_str().map(str::to_string))
            .filter(|n| !n.is_empty())
    })
}

fn broker_ready(server: &Agent) -> f64 {
    let (_, m) = get(server, "/v1/metrics");
    m["Gauges"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["Name"] == "nomad.nomad.broker.total_ready")
        .and_then(|g| g["Value"].as_f64())
        .unwrap_or(0.0)
}

fn set(server: &Agent, change: impl FnOnce(&mut Value)) {
    let mut c = config(server)["SchedulerConfig"].clone();
    change(&mut c);
    let (code, r) = put(server, "", c);
    assert_eq!(code, 200, "{r}");
}

#[test]
fn the_leader_honours_spread_and_a_paused_broker_at_once() {
    let dir = temp_dir("schedcfg-clients");
    let server = start_server(&dir, "s");
    let _a = start_client(&dir, &server, "a");
    let _b = start_client(&dir, &server, "b");
    wait_for(WAIT, "two ready nodes", || {
        let (_, nodes) = get(&server, "/v1/nodes");
        let ready = nodes.as_array()?.iter().filter(|n| n["Status"] == "ready");
        (ready.count() == 2).then_some(())
    });
    // Binpack (the default): the second job joins the first on its node.
    run_hcl(&server, &sleeper("first"));
    let first = placed_on(&server, "first");
    run_hcl(&server, &sleeper("packed"));
    assert_eq!(
        placed_on(&server, "packed"),
        first,
        "binpack fills the fuller node"
    );
    // Spread: the next job goes to the emptier node.
    set(&server, |c| c["SchedulerAlgorithm"] = json!("spread"));
    run_hcl(&server, &sleeper("spread"));
    let spread = placed_on(&server, "spread");
    assert_ne!(spread, first, "spread prefers the emptier node");
    let nodes: BTreeSet<String> = [first, spread].into();
    assert_eq!(nodes.len(), 2);

    // A paused broker: the new job's evaluation waits, ready, until resumed.
    set(&server, |c| c["PauseEvalBroker"] = json!(true));
    run_hcl(&server, &sleeper("paused"));
    wait_for(WAIT, "the evaluation queued in the broker", || {
        (broker_ready(&server) >= 1.0).then_some(())
    });
    let (_, evals) = get(&server, "/v1/job/paused/evaluations");
    assert!(
        evals
            .as_array()
            .is_some_and(|e| e.len() == 1 && e[0]["Status"] == "pending"),
        "{evals}"
    );
    assert!(job_allocs(&server, "paused").is_empty());
    set(&server, |c| c["PauseEvalBroker"] = json!(false));
    placed_on(&server, "paused");
    wait_for(WAIT, "the evaluation to complete", || {
        let (_, evals) = get(&server, "/v1/job/paused/evaluations");
        (evals[0]["Status"] == "complete").then_some(())
    });

    // RejectJobRegistration: with ACLs off nobody may register (Nomad's rule).
    set(&server, |c| c["RejectJobRegistration"] = json!(true));
    let job = orch_parse(&sleeper("refused"));
    let (code, text) = send(&server, "PUT", "/v1/jobs", json!({ "Job": job }));
    assert_eq!(code, 403, "{text}");
    assert!(
        text.contains("disabled by the scheduler configuration"),
        "{text}"
    );
}

/// `/v1/agent/schedulers[/config]`: the workers are listed with what they run, and
/// resizing the pool or changing its schedulers takes effect at once: with only the
/// batch scheduler a service job waits in the broker, and it is placed as soon as the
/// service scheduler is enabled again.
#[test]
fn scheduler_workers_are_listed_and_reconfigured_at_run_time() {
    let dir = temp_dir("agent-schedulers");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let (code, cfg) = get(&agent, "/v1/agent/schedulers/config");
    assert_eq!(code, 200, "{cfg}");
    let num = cfg["num_schedulers"].as_u64().unwrap();
    assert!(num >= 1, "{cfg}");
    let (_, info) = get(&agent, "/v1/agent/schedulers");
    assert_eq!(
        info["schedulers"].as_array().unwrap().len() as u64,
        num,
        "{info}"
    );
    assert_eq!(info["schedulers"][0]["status"], "Started");
    assert!(info["server_id"].as_str().is_some_and(|s| !s.is_empty()));

    for (body, want) in [
        (
            json!({"num_schedulers": 1, "enabled_schedulers": ["batch"]}),
            "_core",
        ),
        (
            json!({"num_schedulers": 1, "enabled_schedulers": ["gpu", "_core"]}),
            "unknown scheduler",
        ),
        (
            json!({"num_schedulers": 100000, "enabled_schedulers": ["_core"]}),
            "num_schedulers",
        ),
        (json!({"enabled_schedulers": ["_core"]}), "num_schedulers"),
    ] {
        let (code, text) = send(&agent, "PUT", "/v1/agent/schedulers/config", body);
        assert_eq!(code, 400, "{text}");
        assert!(text.contains(want), "{want}: {text}");
    }
    let (code, text) = send(
        &agent,
        "PUT",
        "/v1/agent/schedulers/config",
        json!({"num_schedulers": 1, "enabled_schedulers": ["batch", "_core"]}),
    );
    assert_eq!(code, 200, "{text}");
    wait_for(WAIT, "the pool to shrink to one batch worker", || {
        let (_, info) = get(&agent, "/v1/agent/schedulers");
        let list = info["schedulers"].as_array()?.clone();
        (list.len() == 1 && list[0]["enabled_schedulers"] == json!(["batch", "_core"]))
            .then_some(())
    });
    run_hcl(&agent, &sleeper("waits"));
    wait_for(WAIT, "the service evaluation to wait in the broker", || {
        (broker_ready(&agent) >= 1.0).then_some(())
    });
    assert!(job_allocs(&agent, "waits").is_empty());
    let (code, text) = send(
        &agent,
        "POST",
        "/v1/agent/schedulers/config",
        json!({"num_schedulers": 2, "enabled_schedulers": ["service", "batch", "system", "sysbatch", "_core"]}),
    );
    assert_eq!(code, 200, "{text}");
    placed_on(&agent, "waits");
    let (_, info) = get(&agent, "/v1/agent/schedulers");
    assert_eq!(info["schedulers"].as_array().unwrap().len(), 2, "{info}");
}
