//! The allocation verbs Nomad operators type, through the real `orch` CLI against a
//! real dev agent running a raw_exec task: `alloc restart` restarts the task in place
//! (same allocation, outside its restart policy), `alloc signal` reaches the task,
//! `alloc fs` lists and prints the allocation directory, `alloc checks` shows the
//! service checks, and `alloc stop` stops the allocation and the scheduler replaces it.

mod common;

use std::time::Duration;

use common::*;

const JOB: &str = r#"
job "ops" {
  datacenters = ["dc1"]
  group "g" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    service {
      name     = "ops-svc"
      provider = "nomad"
      check {
        name     = "alive"
        type     = "script"
        task     = "t"
        command  = "/bin/true"
        interval = "1s"
        timeout  = "1s"
      }
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "trap 'echo got-usr1 >> ${NOMAD_ALLOC_DIR}/signals' USR1; echo started >> ${NOMAD_ALLOC_DIR}/starts; while true; do sleep 0.2; done"]
      }
      resources {
        cpu    = 20
        memory = 32
      }
    }
  }
}
"#;

fn cli_ok(agent: &Agent, args: &[&str]) -> String {
    let out = orch_cli(agent, args);
    assert!(
        out.status.success(),
        "orch {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn running_alloc(agent: &Agent) -> String {
    wait_for(Duration::from_secs(60), "a running allocation", || {
        job_allocs(agent, "ops")
            .into_iter()
            .find(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run")
            .and_then(|a| a["ID"].as_str().map(str::to_string))
    })
}

/// `alloc fs` prints the file (empty when it is not there yet).
fn alloc_file(agent: &Agent, alloc: &str, path: &str) -> String {
    let out = orch_cli(agent, &["alloc", "fs", alloc, path]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn alloc_verbs_restart_signal_inspect_and_stop_a_running_allocation() {
    let dir = temp_dir("alloc-cli");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(&agent, JOB);
    let alloc = running_alloc(&agent);
    wait_for(Duration::from_secs(30), "the task's first start", || {
        (alloc_file(&agent, &alloc, "alloc/starts").lines().count() == 1).then_some(())
    });

    // fs: the allocation directory and a file in it.
    let listing = cli_ok(&agent, &["alloc", "fs", &alloc]);
    assert!(
        listing.contains("Mode") && listing.contains("alloc/"),
        "{listing}"
    );
    assert!(listing.contains("t/"), "{listing}");
    let stat = cli_ok(&agent, &["alloc", "fs", "-stat", &alloc, "alloc/starts"]);
    assert!(stat.contains("starts"), "{stat}");

    // signal: the task's trap writes what it got.
    cli_ok(&agent, &["alloc", "signal", "-s", "SIGUSR1", &alloc, "t"]);
    wait_for(Duration::from_secs(30), "the trapped signal", || {
        alloc_file(&agent, &alloc, "alloc/signals")
            .contains("got-usr1")
            .then_some(())
    });

    // restart: the same allocation starts its task a second time; with attempts = 0 a
    // policy restart would have failed the allocation instead.
    cli_ok(&agent, &["alloc", "restart", &alloc]);
    wait_for(Duration::from_secs(60), "the restarted task", || {
        (alloc_file(&agent, &alloc, "alloc/starts").lines().count() == 2).then_some(())
    });
    // The servers learn the restart with the client's next update.
    let a = wait_for(
        Duration::from_secs(60),
        "the allocation running again",
        || {
            let (_, a) = get(&agent, &format!("/v1/allocation/{alloc}"));
            (a["ClientStatus"] == "running" && a["TaskStates"]["t"]["Restarts"] == 1).then_some(a)
        },
    );
    let events: Vec<String> = a["TaskStates"]["t"]["Events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["Type"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(events.iter().any(|e| e == "Restart Signaled"), "{events:?}");
    assert_eq!(a["TaskStates"]["t"]["Restarts"], 1, "{a}");

    // A task that does not exist is refused by name.
    let out = orch_cli(&agent, &["alloc", "restart", &alloc, "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));

    // checks: the script check reports success.
    wait_for(Duration::from_secs(30), "a passing check", || {
        let out = cli_ok(&agent, &["alloc", "checks", &alloc]);
        (out.contains("Status of 1 Nomad Service Checks") && out.contains("success")).then_some(())
    });

    // stop: the allocation stops and the scheduler places a replacement.
    let out = cli_ok(&agent, &["alloc", "stop", &alloc]);
    assert!(out.contains("Monitoring evaluation"), "{out}");
    let replacement = wait_for(Duration::from_secs(60), "a replacement", || {
        let id = running_alloc(&agent);
        (id != alloc).then_some(id)
    });
    let (_, old) = get(&agent, &format!("/v1/allocation/{alloc}"));
    assert_eq!(old["DesiredStatus"], "stop", "{old}");
    assert_ne!(replacement, alloc);
    drop(agent);
    let _ = std::fs::remove_dir_all(dir);
}

const WEB: &str = r#"
job "web" {
  datacenters = ["dc1"]
  update {
    canary           = 1
    min_healthy_time = "1s"
    healthy_deadline = "1m"
    auto_promote     = false
  }
  group "g" {
    count = 2
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo up >> ${NOMAD_ALLOC_DIR}/starts; while true; do sleep 0.2; done"]
      }
      meta {
        v = "VERSION"
      }
      resources {
        cpu    = 20
        memory = 32
      }
    }
  }
}
"#;

fn running_of(agent: &Agent, job: &str) -> Vec<serde_json::Value> {
    job_allocs(agent, job)
        .into_iter()
        .filter(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run")
        .collect()
}

#[test]
fn job_verbs_list_evaluate_restart_reschedule_promote_stop_and_start() {
    let dir = temp_dir("job-cli");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(&agent, &WEB.replace("VERSION", "1"));
    wait_for(Duration::from_secs(60), "two running allocations", || {
        (running_of(&agent, "web").len() == 2).then_some(())
    });
    let allocs = cli_ok(&agent, &["job", "allocs", "web"]);
    assert!(
        allocs.contains("Task Group") && allocs.matches("running").count() == 2,
        "{allocs}"
    );
    let evals = cli_ok(&agent, &["job", "eval", "-detach", "web"]);
    assert!(evals.starts_with("Created eval ID:"), "{evals}");

    // In place, one at a time: same allocations, each task started twice.
    let before: Vec<String> = running_of(&agent, "web")
        .iter()
        .map(|a| a["ID"].to_string())
        .collect();
    let out = cli_ok(&agent, &["job", "restart", "-yes", "web"]);
    assert!(
        out.contains("Restarting 2 allocations")
            && out.contains("All allocations restarted successfully!"),
        "{out}"
    );
    // Every allocation running again, each restarted once (an allocation restarting
    // is briefly not running: an empty list must not pass for "all restarted").
    let after: Vec<String> = wait_for(Duration::from_secs(60), "every task restarted", || {
        let running = running_of(&agent, "web");
        (running.len() == before.len()
            && running
                .iter()
                .all(|a| a["TaskStates"]["t"]["Restarts"] == 1))
        .then(|| running.iter().map(|a| a["ID"].to_string()).collect())
    });
    assert_eq!(before, after);

    // Rescheduled: new allocations replace the old ones.
    let out = cli_ok(
        &agent,
        &[
            "job",
            "restart",
            "-reschedule",
            "-batch-size",
            "100%",
            "-yes",
            "web",
        ],
    );
    assert!(out.contains("Rescheduling allocation"), "{out}");
    let replaced: Vec<String> = running_of(&agent, "web")
        .iter()
        .map(|a| a["ID"].to_string())
        .collect();
    assert!(
        replaced.iter().all(|id| !before.contains(id)),
        "{before:?} {replaced:?}"
    );

    // A canary deployment promoted through the job.
    run_hcl(&agent, &WEB.replace("VERSION", "2"));
    wait_for(Duration::from_secs(60), "a healthy canary", || {
        let (_, d) = get(&agent, "/v1/job/web/deployment");
        (d["TaskGroups"]["g"]["HealthyAllocs"] == 1).then_some(())
    });
    let deployments = cli_ok(&agent, &["job", "deployments", "web"]);
    assert!(deployments.contains("Job Version"), "{deployments}");
    cli_ok(&agent, &["job", "promote", "-detach", "web"]);
    wait_for(
        Duration::from_secs(60),
        "the promoted deployment to finish",
        || {
            let (_, d) = get(&agent, "/v1/job/web/deployment");
            (d["Status"] == "successful").then_some(())
        },
    );

    // Stop, then start again at the last running version.
    cli_ok(&agent, &["job", "stop", "-detach", "web"]);
    wait_for(
        Duration::from_secs(60),
        "the stopped job's allocations to stop",
        || running_of(&agent, "web").is_empty().then_some(()),
    );
    let refused = orch_cli(&agent, &["job", "start", "ops-missing"]);
    assert!(!refused.status.success());
    cli_ok(&agent, &["job", "start", "-detach", "web"]);
    wait_for(
        Duration::from_secs(60),
        "the started job's allocations",
        || (running_of(&agent, "web").len() == 2).then_some(()),
    );
    let (_, job) = get(&agent, "/v1/job/web");
    assert_eq!(job["Stop"], false);
    assert_eq!(job["TaskGroups"][0]["Tasks"][0]["Meta"]["v"], "2", "{job}");

    // `status` finds any object by prefix; `system` runs the maintenance calls.
    let out = cli_ok(&agent, &["status", "web"]);
    assert!(
        out.contains("Allocations") || out.contains("Task Group"),
        "{out}"
    );
    let alloc = running_of(&agent, "web")[0]["ID"]
        .as_str()
        .unwrap()
        .to_string();
    let out = cli_ok(&agent, &["status", &alloc[..8]]);
    assert!(
        out.contains(&alloc[..8]) && out.contains("Client Status"),
        "{out}"
    );
    assert!(
        !orch_cli(&agent, &["status", "zzzz-no-such"])
            .status
            .success()
    );
    // Every kind with a status verb: a namespace, a node pool (`-verbose` is not
    // passed on to verbs without it); "default" is both, so it is ambiguous.
    // An ID given whole picks its object even when it prefixes another one's.
    for (name, what) in [("teamx", "team"), ("teamx2", "other")] {
        cli_ok(&agent, &["namespace", "apply", "-description", what, name]);
    }
    let out = cli_ok(&agent, &["status", "-verbose", "teamx"]);
    assert!(out.contains("teamx") && out.contains("team"), "{out}");
    assert!(!out.contains("other"), "{out}");
    let out = cli_ok(&agent, &["status", "al"]);
    assert!(out.contains("Node pool with all nodes"), "{out}");
    let both = orch_cli(&agent, &["status", "defau"]);
    let listed = String::from_utf8_lossy(&both.stdout);
    assert!(
        !both.status.success()
            && listed.contains("namespaces: default")
            && listed.contains("node_pools: default"),
        "{listed}"
    );
    // `node config -servers`: the servers the dev agent's client calls (its own API).
    let servers = cli_ok(&agent, &["node", "config", "-servers"]);
    let host_port = agent.http.trim_start_matches("http://");
    assert!(servers.lines().any(|l| l.trim() == host_port), "{servers}");
    cli_ok(&agent, &["system", "gc"]);
    cli_ok(&agent, &["system", "reconcile", "summaries"]);
    drop(agent);
    let _ = std::fs::remove_dir_all(dir);
}
