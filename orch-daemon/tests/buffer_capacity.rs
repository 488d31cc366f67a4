//! Buffer capacity through the real agent: a low-priority "buffer" service job holds a
//! one-node cluster; for each job type in turn (service, batch, system, sysbatch) a
//! high-priority job of that type waits while the scheduler configuration's preemption
//! switch for its type is off, and takes the buffer's room as soon as an operator turns
//! it on (`PUT /v1/operator/scheduler/configuration`, no restart, no new registration).

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(120);
const PATH: &str = "/v1/operator/scheduler/configuration";

const CAPACITY: &str = r#"
client {
  cpu_total_compute = 1000
  memory_total_mb   = 1000
}
"#;

fn job(id: &str, kind: &str, priority: u32, count: u32, size: (u64, u64)) -> Value {
    let count = if kind == "system" || kind == "sysbatch" {
        String::new()
    } else {
        format!("count = {count}")
    };
    orch_parse(&format!(
        r#"job "{id}" {{
  datacenters = ["dc1"]
  type     = "{kind}"
  priority = {priority}
  group "g" {{
    {count}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "sleep 600"]
      }}
      resources {{
        cpu    = {cpu}
        memory = {mem}
      }}
    }}
  }}
}}"#,
        cpu = size.0,
        mem = size.1,
    ))
}

fn register(agent: &Agent, job: Value) {
    let (status, out) = send(agent, "PUT", "/v1/jobs", json!({ "Job": job }));
    assert_eq!(status, 200, "register failed: {out}");
}

/// Sets the preemption switch of `kind` (the scheduler configuration's field name).
fn set_preemption(agent: &Agent, field: &str, on: bool) {
    let (_, v) = get(agent, PATH);
    let mut c = v["SchedulerConfig"].clone();
    c["PreemptionConfig"][field] = json!(on);
    let (status, out) = send(agent, "PUT", PATH, c);
    assert_eq!(status, 200, "{out}");
    let (_, v) = get(agent, PATH);
    assert_eq!(v["SchedulerConfig"]["PreemptionConfig"][field], on, "{v}");
}

fn live(agent: &Agent, job: &str) -> Vec<Value> {
    job_allocs(agent, job)
        .into_iter()
        .filter(|a| a["DesiredStatus"] == "run" && a["ClientStatus"] != "complete")
        .filter(|a| a["ClientStatus"] != "failed")
        .collect()
}

fn buffer_holds_the_node(agent: &Agent) {
    wait_for(LIMIT, "the buffer's two allocations running", || {
        let running = live(agent, "buffer")
            .iter()
            .filter(|a| a["ClientStatus"] == "running")
            .count();
        (running == 2).then_some(())
    });
}

#[test]
fn buffer_jobs_hold_room_that_each_job_type_takes_once_preemption_is_on() {
    let dir = temp_dir("buffer-capacity");
    let config = dir.join("capacity.hcl");
    std::fs::write(&config, CAPACITY).unwrap();
    let agent = start(&dir, &["-dev", "-config", config.to_str().unwrap()]);
    wait_leader(&agent);
    let (cpu, mem) = wait_for(LIMIT, "the node's capacity", || {
        let c = node_capacity(&agent);
        (c.0 > 0 && c.1 > 0).then_some(c)
    });
    let half = (cpu / 2, mem / 2);
    for field in ["SystemSchedulerEnabled", "SysBatchSchedulerEnabled"] {
        set_preemption(&agent, field, false);
    }
    register(&agent, job("buffer", "service", 10, 2, half));

    for (kind, field) in [
        ("service", "ServiceSchedulerEnabled"),
        ("batch", "BatchSchedulerEnabled"),
        ("system", "SystemSchedulerEnabled"),
        ("sysbatch", "SysBatchSchedulerEnabled"),
    ] {
        buffer_holds_the_node(&agent);
        let id = format!("real-{kind}");
        register(&agent, job(&id, kind, 80, 1, half));
        // Preemption off for this type: the job waits, the buffer keeps its room.
        wait_for(LIMIT, &format!("{id} blocked"), || {
            let (_, evals) = get(&agent, &format!("/v1/job/{id}/evaluations"));
            evals
                .as_array()?
                .iter()
                .any(|e| e["Status"] == "blocked")
                .then_some(())
        });
        assert!(
            live(&agent, &id).is_empty(),
            "{kind}: placed without preemption"
        );
        assert_eq!(
            live(&agent, "buffer").len(),
            2,
            "{kind}: the buffer lost room"
        );

        // On at run time: the waiting job takes the buffer's room.
        set_preemption(&agent, field, true);
        let alloc = wait_for(LIMIT, &format!("{id} running"), || {
            live(&agent, &id)
                .into_iter()
                .find(|a| a["ClientStatus"] == "running")
        });
        let (_, full) = get(&agent, &format!("/v1/allocation/{}", text_of(&alloc["ID"])));
        let preempted = full["PreemptedAllocations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(preempted.len(), 1, "{kind}: {full}");
        let (_, victim) = get(
            &agent,
            &format!("/v1/allocation/{}", text_of(&preempted[0])),
        );
        assert_eq!(victim["JobID"], "buffer", "{kind}: {victim}");
        assert_eq!(victim["DesiredStatus"], "evict", "{kind}: {victim}");
        assert_eq!(
            victim["PreemptedByAllocation"], alloc["ID"],
            "{kind}: {victim}"
        );

        // Back to the buffer for the next type.
        set_preemption(&agent, field, false);
        let (status, out) = send(&agent, "DELETE", &format!("/v1/job/{id}"), Value::Null);
        assert_eq!(status, 200, "{out}");
    }
    buffer_holds_the_node(&agent);
}

fn text_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}
