//! `job plan`'s dry run reports what Nomad's does beyond the per-group counts, on a
//! real `orch agent -dev`: the allocations a placement would preempt
//! (`Annotations.PreemptedAllocs`), the blocked evaluation a placement that cannot fit
//! would create (`CreatedEvals`), and the registration's warnings; the scheduler
//! configuration change it needs is an `Operator` event.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(90);

/// A service job of one allocation asking for `cpu` MHz at `priority`.
fn job(name: &str, priority: u32, cpu: u64, memory_max: Option<u64>) -> Value {
    let max = memory_max.map_or(String::new(), |m| format!("memory_max = {m}"));
    orch_parse(&format!(
        r#"job "{name}" {{
  priority = {priority}
  group "g" {{
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sleep"
        args    = ["300"]
      }}
      resources {{
        cpu    = {cpu}
        memory = 32
        {max}
      }}
    }}
  }}
}}"#
    ))
}

fn plan(agent: &Agent, job: &Value) -> Value {
    let id = job["ID"].as_str().unwrap().to_string();
    let (status, text) = send(
        agent,
        "POST",
        &format!("/v1/job/{id}/plan"),
        json!({"Job": job}),
    );
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_plan_shows_its_preemptions_created_evaluations_and_warnings() {
    let dir = temp_dir("plan-dry-run");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let node = first_node(&agent);
    let (_, n) = get(&agent, &format!("/v1/node/{node}"));
    let shares = n["NodeResources"]["Cpu"]["CpuShares"].as_u64().unwrap();
    let reserved = n["ReservedResources"]["Cpu"]["CpuShares"]
        .as_u64()
        .unwrap_or(0);
    let free = shares - reserved;

    // Nothing fits a job bigger than the node: the plan would leave a blocked evaluation.
    let too_big = plan(&agent, &job("big", 50, free * 2, None));
    let created = too_big["CreatedEvals"].as_array().expect("created evals");
    assert_eq!(created.len(), 1, "{too_big}");
    assert_eq!(created[0]["Status"], "blocked");
    assert!(too_big["FailedTGAllocs"]["g"].is_object(), "{too_big}");
    assert_eq!(too_big["Annotations"]["PreemptedAllocs"], Value::Null);

    // A low-priority job holds most of the node; with service preemption on, a
    // high-priority job's plan names the allocation it would evict.
    let (status, text) = send(
        &agent,
        "PUT",
        "/v1/operator/scheduler/configuration",
        json!({"PreemptionConfig": {"SystemSchedulerEnabled": true, "ServiceSchedulerEnabled": true}}),
    );
    assert_eq!(status, 200, "{text}");
    // The change is an event of the Operator topic.
    let line = first_events(&agent, "topic=Operator&index=0", "");
    let event = &line["Events"][0];
    assert_eq!(
        (event["Topic"].as_str(), event["Type"].as_str()),
        (Some("Operator"), Some("SchedulerConfigurationUpdated")),
        "{line}"
    );
    assert_eq!(
        event["Payload"]["SchedulerConfig"]["PreemptionConfig"]["ServiceSchedulerEnabled"], true,
        "{line}"
    );
    let low = job("low", 10, free * 3 / 4, None);
    let (status, text) = send(&agent, "PUT", "/v1/jobs", json!({"Job": low}));
    assert_eq!(status, 200, "{text}");
    let low_alloc = wait_for(WAIT, "the low-priority job placed", || {
        let a = job_allocs(&agent, "low").first()?.clone();
        Some(a["ID"].as_str()?.to_string())
    });
    let high = plan(&agent, &job("high", 90, free / 2, Some(64)));
    let preempted = high["Annotations"]["PreemptedAllocs"]
        .as_array()
        .unwrap_or_else(|| panic!("no preemptions in {high}"));
    assert_eq!(preempted.len(), 1, "{high}");
    assert_eq!(preempted[0]["ID"], low_alloc.as_str());
    assert_eq!(preempted[0]["JobID"], "low");
    assert_eq!(high["CreatedEvals"], Value::Null, "{high}");
    assert!(
        high["Warnings"]
            .as_str()
            .is_some_and(|w| w.contains("Memory oversubscription is not enabled")),
        "{high}"
    );
    // The dry run changed nothing.
    let (_, a) = get(&agent, &format!("/v1/allocation/{low_alloc}"));
    assert_eq!(a["DesiredStatus"], "run");
    the_leader_preempts_only_while_service_preemption_is_on(&agent, free, &low_alloc);
}

/// The replicated setting is honoured by the leader at once: with service preemption
/// off a high-priority job that does not fit waits (blocked) beside the low one; once
/// it is on, the next such job evicts the low-priority allocation.
fn the_leader_preempts_only_while_service_preemption_is_on(agent: &Agent, free: u64, low: &str) {
    let preemption = |on: bool| {
        let body = json!({"PreemptionConfig": {"SystemSchedulerEnabled": true, "ServiceSchedulerEnabled": on}});
        let (status, text) = send(agent, "PUT", "/v1/operator/scheduler/configuration", body);
        assert_eq!(status, 200, "{text}");
    };
    preemption(false);
    let (status, text) = send(
        agent,
        "PUT",
        "/v1/jobs",
        json!({"Job": job("waits", 90, free / 2, None)}),
    );
    assert_eq!(status, 200, "{text}");
    wait_for(WAIT, "the high-priority job blocked", || {
        let (_, evals) = get(agent, "/v1/job/waits/evaluations");
        evals
            .as_array()?
            .iter()
            .any(|e| {
                e["Status"] == "complete"
                    && e["BlockedEval"].as_str().is_some_and(|b| !b.is_empty())
            })
            .then_some(())
    });
    assert!(job_allocs(agent, "waits").is_empty());
    let (_, a) = get(agent, &format!("/v1/allocation/{low}"));
    assert_eq!(a["DesiredStatus"], "run", "no preemption while it is off");

    preemption(true);
    let (status, text) = send(
        agent,
        "PUT",
        "/v1/jobs",
        json!({"Job": job("evicts", 90, free / 2, None)}),
    );
    assert_eq!(status, 200, "{text}");
    wait_for(WAIT, "the low-priority allocation evicted", || {
        let (_, a) = get(agent, &format!("/v1/allocation/{low}"));
        (a["DesiredStatus"] == "evict").then_some(())
    });
    wait_for(WAIT, "the preempting job placed", || {
        (!job_allocs(agent, "evicts").is_empty()).then_some(())
    });
}
