//! Rolling updates end to end with a real `-dev` agent (server + client + raw_exec): the
//! deployment watcher moves a `max_parallel = 1` update forward one healthy allocation at
//! a time, marks the version stable, fails a broken update and auto-reverts it (the
//! revert runs exactly `count` allocations, stops no healthy one and its own deployment
//! succeeds), and canaries wait for promotion through the API.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn jobspec(env: &str, command: &str, extra_update: &str) -> String {
    format!(
        r#"
job "web" {{
  group "g" {{
    count = 3
    update {{
      max_parallel     = 1
      min_healthy_time = "1s"
      healthy_deadline = "30s"
      progress_deadline = "2m"
      {extra_update}
    }}
    restart {{
      attempts = 0
      mode     = "fail"
    }}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "{command}"]
      }}
      env {{ VERSION = "{env}" }}
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

fn latest_deployment(agent: &Agent) -> Value {
    get(agent, "/v1/job/web/deployment").1
}

/// Waits for the deployment of job version `version` to reach `status` (found among
/// all of the job's deployments: a revert may already have started a newer one).
fn wait_deployment(agent: &Agent, version: u64, status: &str, secs: u64) -> Value {
    wait_for(
        Duration::from_secs(secs),
        &format!("deployment of version {version} {status}"),
        || {
            let (_, all) = get(agent, "/v1/job/web/deployments");
            all.as_array()
                .into_iter()
                .flatten()
                .find(|d| d["JobVersion"] == version && d["Status"] == status)
                .cloned()
        },
    )
}

fn running_ids(agent: &Agent, version: u64) -> BTreeSet<String> {
    let (_, allocs) = get(agent, "/v1/job/web/allocations");
    allocs
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["JobVersion"] == version && a["ClientStatus"] == "running")
        .filter(|a| a["DesiredStatus"] == "run")
        .map(|a| a["ID"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn rolling_update_succeeds_then_a_broken_update_auto_reverts() {
    let dir = temp_dir("deploy-rolling");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let sleeper = "exec sleep 600";

    run_hcl(&agent, &jobspec("one", sleeper, "auto_revert = true"));
    let d0 = wait_deployment(&agent, 0, "successful", 60);
    assert_eq!(d0["TaskGroups"]["g"]["HealthyAllocs"], 3);
    let v0_ids = running_ids(&agent, 0);
    assert_eq!(v0_ids.len(), 3);

    // A destructive update: one allocation at a time, never fewer than 2 running.
    run_hcl(&agent, &jobspec("two", sleeper, "auto_revert = true"));
    let mut max_new_unhealthy = 0;
    let d1 = wait_for(Duration::from_secs(90), "version 1 deployed", || {
        let d = latest_deployment(&agent);
        if d["JobVersion"] == 1 {
            let g = &d["TaskGroups"]["g"];
            let placed = g["PlacedAllocs"].as_u64().unwrap_or(0);
            let healthy = g["HealthyAllocs"].as_u64().unwrap_or(0);
            max_new_unhealthy = max_new_unhealthy.max(placed - healthy.min(placed));
        }
        (d["JobVersion"] == 1 && d["Status"] == "successful").then_some(d)
    });
    assert!(max_new_unhealthy <= 1, "max_parallel = 1 was exceeded");
    assert_eq!(d1["StatusDescription"], "Deployment completed successfully");
    assert_eq!(d1["TaskGroups"]["g"]["PlacedAllocs"], 3);
    let (_, job) = get(&agent, "/v1/job/web");
    assert_eq!(job["Version"], 1);
    assert_eq!(
        job["Stable"], true,
        "a successful deployment marks the version stable"
    );
    let v1_ids = running_ids(&agent, 1);
    assert_eq!(v1_ids.len(), 3);
    assert!(v1_ids.is_disjoint(&v0_ids));

    // A broken update: its first allocation fails, the deployment fails and the job
    // goes back to version 1's spec as version 3; version 1's tasks keep running.
    run_hcl(&agent, &jobspec("three", "exit 1", "auto_revert = true"));
    let failed = wait_deployment(&agent, 2, "failed", 60);
    assert_eq!(
        failed["StatusDescription"],
        "Failed due to unhealthy allocations - rolling back to job version 1"
    );
    let job = wait_for(Duration::from_secs(30), "the revert to version 3", || {
        let (_, job) = get(&agent, "/v1/job/web");
        (job["Version"] == 3).then_some(job)
    });
    assert_eq!(job["TaskGroups"][0]["Tasks"][0]["Env"]["VERSION"], "two");
    let (_, versions) = get(&agent, "/v1/job/web/versions");
    let v1 = versions["Versions"]
        .as_array()
        .and_then(|v| v.iter().find(|j| j["Version"] == 1))
        .cloned()
        .unwrap_or_default();
    assert_eq!(v1["TaskGroups"], job["TaskGroups"]);
    wait_for(
        Duration::from_secs(60),
        "v1's tasks running at version 3",
        || {
            let ids = running_ids(&agent, 3);
            (ids.len() == 3).then_some(ids)
        },
    );
    // The revert's own deployment completes: the failed allocation is replaced once
    // (not again when its delayed reschedule comes due) and the in-place updated ones
    // count as healthy.
    let d3 = wait_deployment(&agent, 3, "successful", 90);
    assert_eq!(
        d3["StatusDescription"],
        "Deployment completed successfully",
        "{}",
        dump(&agent)
    );
    // If the failed allocation got a delayed reschedule (30 s after it failed; only when
    // its alloc-failure evaluation ran after the deployment failed), let it come due:
    // it must find nothing to do.
    wait_for(
        Duration::from_secs(45),
        "follow-up evaluations to finish",
        || {
            let (_, evals) = get(&agent, "/v1/job/web/evaluations");
            evals
                .as_array()
                .into_iter()
                .flatten()
                .all(|e| e["Status"] == "complete" || e["Status"] == "canceled")
                .then_some(())
        },
    );
    let report = dump(&agent);
    let allocs = full_allocs(&agent);
    let live: Vec<&Value> = allocs
        .iter()
        .filter(|a| a["DesiredStatus"] == "run" && a["ClientStatus"] != "failed")
        .collect();
    assert_eq!(live.len(), 3, "exactly count allocations run\n{report}");
    assert!(
        live.iter()
            .all(|a| a["JobVersion"] == 3 && a["ClientStatus"] == "running"),
        "{report}"
    );
    // The broken version replaced only one allocation (max_parallel) before it failed;
    // the other two were updated in place to version 3 and never stopped.
    let still = running_ids(&agent, 3);
    assert_eq!(
        still.intersection(&v1_ids).count(),
        2,
        "{still:?} vs {v1_ids:?}\n{report}"
    );
    let stopped_v1: Vec<&Value> = allocs
        .iter()
        .filter(|a| v1_ids.contains(a["ID"].as_str().unwrap_or_default()))
        .filter(|a| a["DesiredStatus"] != "run")
        .collect();
    assert_eq!(
        stopped_v1.len(),
        1,
        "only the one the broken update replaced\n{report}"
    );
    assert_eq!(
        stopped_v1[0]["DesiredDescription"], "alloc is being updated due to job update",
        "{report}"
    );
    // One allocation of the broken version (failed), replaced exactly once.
    let broken: Vec<&Value> = allocs.iter().filter(|a| a["JobVersion"] == 2).collect();
    assert_eq!(broken.len(), 1, "{report}");
    let replacements = allocs
        .iter()
        .filter(|a| a["PreviousAllocation"] == broken[0]["ID"])
        .count();
    assert_eq!(replacements, 1, "{report}");
    assert_eq!(allocs.len(), 3 + 3 + 1 + 1, "{report}");
}

/// The job's allocations and evaluations, one line each, for failure messages.
fn dump(agent: &Agent) -> String {
    let allocs = full_allocs(agent);
    let (_, evals) = get(agent, "/v1/job/web/evaluations");
    let (_, deps) = get(agent, "/v1/job/web/deployments");
    let mut out = String::from("allocations:\n");
    for a in &allocs {
        out += &format!(
            "  {} eval={} t={} {} v{} {}/{} {:?} dep={} prev={} next={} followup={} health={}\n",
            short(&a["ID"]),
            short(&a["EvalID"]),
            a["CreateTime"].as_i64().unwrap_or(0) / 1_000_000 % 100_000,
            a["Name"].as_str().unwrap_or_default(),
            a["JobVersion"],
            a["DesiredStatus"].as_str().unwrap_or_default(),
            a["ClientStatus"].as_str().unwrap_or_default(),
            a["DesiredDescription"].as_str().unwrap_or_default(),
            short(&a["DeploymentID"]),
            short(&a["PreviousAllocation"]),
            short(&a["NextAllocation"]),
            short(&a["FollowupEvalID"]),
            a["DeploymentStatus"]["Healthy"],
        );
    }
    out += "evaluations:\n";
    for e in evals.as_array().into_iter().flatten() {
        out += &format!(
            "  {} created={} modified={} idx={}/{} {} {} wait_until={} dep={} prev={}\n",
            short(&e["ID"]),
            e["CreateTime"].as_i64().unwrap_or(0) / 1_000_000 % 100_000,
            e["ModifyTime"].as_i64().unwrap_or(0) / 1_000_000 % 100_000,
            e["CreateIndex"],
            e["ModifyIndex"],
            e["TriggeredBy"].as_str().unwrap_or_default(),
            e["Status"].as_str().unwrap_or_default(),
            e["WaitUntil"],
            short(&e["DeploymentID"]),
            short(&e["PreviousEval"]),
        );
    }
    out += "deployments:\n";
    for d in deps.as_array().into_iter().flatten() {
        out += &format!(
            "  {} v{} {} {:?} {}\n",
            short(&d["ID"]),
            d["JobVersion"],
            d["Status"].as_str().unwrap_or_default(),
            d["StatusDescription"].as_str().unwrap_or_default(),
            d["TaskGroups"]["g"],
        );
    }
    out
}

/// Every allocation of the job, read one by one (list stubs leave out
/// `PreviousAllocation` and `DeploymentID`), oldest first.
fn full_allocs(agent: &Agent) -> Vec<Value> {
    let (_, stubs) = get(agent, "/v1/job/web/allocations");
    let mut out: Vec<Value> = stubs
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["ID"].as_str())
        .map(|id| get(agent, &format!("/v1/allocation/{id}")).1)
        .collect();
    out.sort_by_key(|a| a["CreateIndex"].as_u64().unwrap_or(0));
    out
}

fn short(v: &Value) -> String {
    v.as_str().unwrap_or_default().chars().take(8).collect()
}

#[test]
fn canaries_wait_for_promotion() {
    let dir = temp_dir("deploy-canary");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let sleeper = "exec sleep 600";
    run_hcl(&agent, &jobspec("one", sleeper, ""));
    wait_deployment(&agent, 0, "successful", 60);

    run_hcl(&agent, &jobspec("two", sleeper, "canary = 1"));
    let d = wait_for(Duration::from_secs(60), "a healthy canary", || {
        let d = latest_deployment(&agent);
        (d["JobVersion"] == 1 && d["TaskGroups"]["g"]["HealthyAllocs"] == 1).then_some(d)
    });
    assert_eq!(d["Status"], "running");
    assert_eq!(d["TaskGroups"]["g"]["Promoted"], false);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        running_ids(&agent, 0).len(),
        3,
        "no rollout before promotion"
    );
    let id = d["ID"].as_str().unwrap().to_string();
    let (status, body) = send(
        &agent,
        "POST",
        &format!("/v1/deployment/promote/{id}"),
        json!({"All": true}),
    );
    assert_eq!(status, 200, "{body}");
    let d = wait_deployment(&agent, 1, "successful", 90);
    assert_eq!(d["TaskGroups"]["g"]["Promoted"], true);
    assert_eq!(running_ids(&agent, 1).len(), 3);
    assert!(running_ids(&agent, 0).is_empty());
}

/// Issue 24: a job updated (count 2 → 3) before its first deployment finished. The two
/// allocations updated in place move into the new deployment and report their health
/// for it, so it succeeds after `min_healthy_time` (Nomad's default 10 s: no `update`
/// block) instead of waiting out its 10-minute progress deadline, and scaling works.
#[test]
fn an_update_before_the_last_deployment_finished_completes() {
    let dir = temp_dir("deploy-overlap");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let spec = |count: u32| {
        format!(
            r#"
job "web" {{
  group "g" {{
    count = {count}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sleep"
        args    = ["600"]
      }}
      resources {{
        cpu    = 20
        memory = 16
      }}
    }}
  }}
}}
"#
        )
    };
    let run = |count: u32| {
        let path = dir.join(format!("web-{count}.nomad.hcl"));
        std::fs::write(&path, spec(count)).unwrap();
        let out = orch_cli(&agent, &["job", "run", "-detach", path.to_str().unwrap()]);
        assert!(out.status.success(), "{out:?}");
    };
    run(2);
    wait_for(Duration::from_secs(30), "two running allocations", || {
        (running_ids(&agent, 0).len() == 2).then_some(())
    });
    run(3);
    let d = wait_deployment(&agent, 1, "successful", 45);
    assert_eq!(d["TaskGroups"]["g"]["DesiredTotal"], 3);
    assert_eq!(d["TaskGroups"]["g"]["HealthyAllocs"], 3, "{d}");
    let (_, all) = get(&agent, "/v1/job/web/deployments");
    let first = all
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["JobVersion"] == 0)
        .cloned()
        .unwrap_or_default();
    assert_eq!(first["Status"], "cancelled", "{first}");
    // Every allocation reports health for the new deployment.
    for a in full_allocs(&agent) {
        assert_eq!(a["DeploymentID"], d["ID"], "{}", short(&a["ID"]));
        assert_eq!(
            a["DeploymentStatus"]["Healthy"],
            true,
            "{}",
            short(&a["ID"])
        );
    }
    let out = orch_cli(&agent, &["job", "scale", "-detach", "web", "g", "4"]);
    assert!(out.status.success(), "job scale was refused: {out:?}");
    wait_for(Duration::from_secs(30), "four running allocations", || {
        (running_ids(&agent, 1).len() + running_ids(&agent, 2).len() >= 4).then_some(())
    });
}

/// Issue 24, the client side: the job is updated in place into a new deployment while
/// the allocations' client is down; the restarted client reattaches to its tasks and
/// reports their health for the new deployment, which succeeds.
#[test]
fn a_deployment_change_while_the_client_restarts_completes() {
    let dir = temp_dir("deploy-client-restart");
    let server = start_server(&dir, "server");
    let client_args = [
        "-client",
        "-servers",
        server.rpc.as_str(),
        "-data-dir",
        dir.join("client").to_str().unwrap(),
    ]
    .map(str::to_string);
    let args: Vec<&str> = client_args.iter().map(String::as_str).collect();
    let client = start(&dir, &args);
    let sleeper = "exec sleep 600";
    run_hcl(
        &server,
        &jobspec("one", sleeper, "").replace("count = 3", "count = 2"),
    );
    wait_for(Duration::from_secs(30), "two running allocations", || {
        (running_ids(&server, 0).len() == 2).then_some(())
    });
    client.crash();
    // In place (only the count changes): version 1, a new deployment, while nobody
    // watches the two allocations' health.
    run_hcl(&server, &jobspec("one", sleeper, ""));
    let client = start(&dir, &args);
    let d = wait_deployment(&server, 1, "successful", 60);
    assert_eq!(d["TaskGroups"]["g"]["HealthyAllocs"], 3, "{d}");
    for a in full_allocs(&server) {
        if a["DesiredStatus"] == "run" {
            assert_eq!(a["DeploymentID"], d["ID"], "{}", short(&a["ID"]));
            assert_eq!(
                a["DeploymentStatus"]["Healthy"],
                true,
                "{}",
                short(&a["ID"])
            );
        }
    }
    drop(client);
}
