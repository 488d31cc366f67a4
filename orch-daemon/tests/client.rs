//! The client with real processes: raw_exec and exec jobs through a real agent, logs,
//! lifecycle order, restarts then reschedule, OOM kills, reattach after a client
//! restart, and work moving off a dead client.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn alloc_with_status(agent: &impl HasHttp, job: &str, status: &str) -> Option<Value> {
    job_allocs(agent, job)
        .into_iter()
        .find(|a| a["ClientStatus"] == status)
}

fn task_events(alloc: &Value, task: &str) -> Vec<String> {
    alloc["TaskStates"][task]["Events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["Type"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// When the client reported `task`'s first event of type `kind` (Unix nanoseconds).
fn task_event_time(alloc: &Value, task: &str, kind: &str) -> Option<i64> {
    alloc["TaskStates"][task]["Events"]
        .as_array()?
        .iter()
        .find(|e| e["Type"] == kind)?["Time"]
        .as_i64()
}

fn full_alloc(agent: &impl HasHttp, id: &str) -> Value {
    get(agent, &format!("/v1/allocation/{id}")).1
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn raw_exec_job_runs_logs_and_stops() {
    let dir = temp_dir("client-raw");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(
        &agent,
        r#"
job "hello" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo hello-$NOMAD_ALLOC_INDEX-$GREETING; echo oops >&2; exec sleep 302"]
      }
      env { GREETING = "from-${node.datacenter}" }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
"#,
    );
    let alloc = wait_for(Duration::from_secs(30), "a running allocation", || {
        alloc_with_status(&agent, "hello", "running")
    });
    let id = alloc["ID"].as_str().unwrap().to_string();
    let path = format!("/v1/client/fs/logs/{id}?task=t&type=stdout&plain=true");
    let out = wait_for(Duration::from_secs(10), "stdout", || {
        let (s, body) = get_text(&agent, &path);
        (s == 200 && body.contains("hello")).then_some(body)
    });
    assert_eq!(out.trim(), "hello-0-from-dc1");
    let (_, err) = get_text(
        &agent,
        &format!("/v1/client/fs/logs/{id}?task=t&type=stderr&plain=true"),
    );
    assert_eq!(err.trim(), "oops");
    // Framed (Nomad's default): base64 data in JSON frames.
    let (_, framed) = get_text(
        &agent,
        &format!("/v1/client/fs/logs/{id}?task=t&type=stdout"),
    );
    let frame: Value = serde_json::from_str(framed.lines().next().unwrap()).unwrap();
    assert_eq!(frame["File"], "alloc/logs/t.stdout.0");
    assert!(frame["Data"].as_str().is_some());
    // fs/ls and the CLI.
    let (_, ls) = get(&agent, &format!("/v1/client/fs/ls/{id}?path=/alloc/logs"));
    let names: Vec<&str> = ls
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"t.stdout.0") && names.contains(&"t.stderr.0"),
        "{names:?}"
    );
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(["alloc", "logs", "-address", &agent.http, &id[..8]])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&cli.stdout).trim(),
        "hello-0-from-dc1"
    );
    // Stats come from the running process.
    let stats = wait_for(Duration::from_secs(10), "task stats", || {
        let (s, v) = get(&agent, &format!("/v1/client/allocation/{id}/stats"));
        (s == 200 && v["Tasks"]["t"]["ResourceUsage"]["MemoryStats"]["RSS"].as_u64() > Some(0))
            .then_some(v)
    });
    assert!(stats["ResourceUsage"]["CpuStats"]["Percent"].is_number());
    // The node fingerprint names the drivers.
    let (_, nodes) = get(&agent, "/v1/nodes");
    let node = &nodes[0];
    assert_eq!(node["Status"], "ready");
    let (_, node) = get(
        &agent,
        &format!("/v1/node/{}", node["ID"].as_str().unwrap()),
    );
    assert_eq!(node["Attributes"]["driver.raw_exec"], "1");
    assert_eq!(node["Attributes"]["kernel.name"], "linux");

    // Stopping the job kills the process and completes the allocation.
    let (s, _) = send(&agent, "DELETE", "/v1/job/hello", Value::Null);
    assert_eq!(s, 200);
    let done = wait_for(
        Duration::from_secs(30),
        "the allocation to complete",
        || {
            let a = full_alloc(&agent, &id);
            (a["ClientStatus"] == "complete").then_some(a)
        },
    );
    let events = task_events(&done, "t");
    assert!(
        events.contains(&"Killing".to_string()) && events.contains(&"Killed".to_string()),
        "{events:?}"
    );
    assert_eq!(done["TaskStates"]["t"]["State"], "dead");
}

#[test]
fn lifecycle_hooks_run_in_order() {
    let dir = temp_dir("client-lifecycle");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    // Each task records when it started (and main when it ended) in the shared alloc dir.
    let stamp = |name: &str, extra: &str| {
        format!(
            r#"config {{
        command = "/bin/sh"
        args    = ["-c", "date +%s%N > $NOMAD_ALLOC_DIR/data/{name}; {extra}"]
      }}"#
        )
    };
    let hcl = format!(
        r#"
job "order" {{
  type = "batch"
  group "g" {{
    restart {{
      attempts = 0
      mode     = "fail"
    }}
    task "init" {{
      driver = "raw_exec"
      lifecycle {{
        hook = "prestart"
      }}
      {init}
    }}
    task "side" {{
      driver = "raw_exec"
      lifecycle {{
        hook    = "prestart"
        sidecar = true
      }}
      {side}
    }}
    task "main" {{
      driver = "raw_exec"
      {main}
    }}
    task "after" {{
      driver = "raw_exec"
      lifecycle {{
        hook = "poststart"
      }}
      {after}
    }}
    task "cleanup" {{
      driver = "raw_exec"
      lifecycle {{
        hook = "poststop"
      }}
      {cleanup}
    }}
  }}
}}
"#,
        init = stamp("init", "sleep 1"),
        side = stamp("side", "exec sleep 303"),
        main = stamp(
            "main",
            "sleep 2; date +%s%N > $NOMAD_ALLOC_DIR/data/main-end"
        ),
        after = stamp("after", "true"),
        cleanup = stamp("cleanup", "true"),
    );
    run_hcl(&agent, &hcl);
    let alloc = wait_for(
        Duration::from_secs(60),
        "the batch allocation to complete",
        || alloc_with_status(&agent, "order", "complete"),
    );
    let id = alloc["ID"].as_str().unwrap();
    let read = |name: &str| -> u128 {
        let (s, body) = get_text(
            &agent,
            &format!("/v1/client/fs/cat/{id}?path=alloc/data/{name}"),
        );
        assert_eq!(s, 200, "{name}: {body}");
        body.trim().parse().unwrap()
    };
    let (init, side, main, after, main_end, cleanup) = (
        read("init"),
        read("side"),
        read("main"),
        read("after"),
        read("main-end"),
        read("cleanup"),
    );
    assert!(
        init + 900_000_000 <= main,
        "main must wait for init to finish"
    );
    assert!(side < main, "the sidecar starts with the prestart tasks");
    // Poststart waits for main to be started, not for main's first command to run: the
    // two shells' own timestamps may come in either order, so compare the client's
    // `Started` events (and that `after` ran at all).
    let full = full_alloc(&agent, id);
    let started = |task: &str| {
        task_event_time(&full, task, "Started")
            .unwrap_or_else(|| panic!("{task} has no Started event"))
    };
    assert!(after > 0);
    assert!(
        started("main") <= started("after"),
        "poststart starts once main runs"
    );
    assert!(main_end <= cleanup, "poststop runs after main ended");
    // The sidecar was stopped when main finished; nothing failed.
    assert_eq!(full["TaskStates"]["side"]["State"], "dead");
    assert_eq!(full["TaskStates"]["side"]["Failed"], false);
    assert!(task_events(&full, "side").contains(&"Killed".to_string()));
}

#[test]
fn crashing_task_restarts_then_fails_then_is_rescheduled() {
    let dir = temp_dir("client-restart");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(
        &agent,
        r#"
job "crash" {
  type = "batch"
  group "g" {
    restart {
      attempts = 2
      interval = "1m"
      delay    = "200ms"
      mode     = "fail"
    }
    reschedule {
      attempts       = 1
      interval       = "1h"
      delay          = "5s"
      delay_function = "constant"
      unlimited      = false
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo crashing; exit 7"]
      }
    }
  }
}
"#,
    );
    let failed = wait_for(Duration::from_secs(60), "a failed allocation", || {
        alloc_with_status(&agent, "crash", "failed")
    });
    let full = full_alloc(&agent, failed["ID"].as_str().unwrap());
    let t = &full["TaskStates"]["t"];
    assert_eq!(t["Restarts"], 2, "{t}");
    assert_eq!(t["Failed"], true);
    let events = task_events(&full, "t");
    assert_eq!(
        events.iter().filter(|e| *e == "Restarting").count(),
        2,
        "{events:?}"
    );
    assert!(events.contains(&"Not Restarting".to_string()), "{events:?}");
    let last_exit = full["TaskStates"]["t"]["Events"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["Type"] == "Terminated")
        .unwrap()
        .clone();
    assert_eq!(last_exit["ExitCode"], 7);
    // The servers reschedule it: a replacement that links back to the failed one.
    let replacement = wait_for(Duration::from_secs(30), "a rescheduled allocation", || {
        job_allocs(&agent, "crash")
            .into_iter()
            .find(|a| a["ID"] != failed["ID"])
    });
    let r = full_alloc(&agent, replacement["ID"].as_str().unwrap());
    assert_eq!(r["PreviousAllocation"], failed["ID"]);
    assert_eq!(
        r["RescheduleTracker"]["Events"].as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn exec_task_over_its_memory_is_oom_killed() {
    if !is_root() {
        eprintln!("skipped: the exec driver needs root");
        return;
    }
    let dir = temp_dir("client-oom");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(
        &agent,
        r#"
job "hog" {
  type = "batch"
  group "g" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "t" {
      driver = "exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo pid=$$; tail /dev/zero"]
      }
      resources {
        cpu    = 100
        memory = 32
      }
    }
  }
}
"#,
    );
    let failed = wait_for(Duration::from_secs(60), "the allocation to fail", || {
        alloc_with_status(&agent, "hog", "failed")
    });
    let full = full_alloc(&agent, failed["ID"].as_str().unwrap());
    let term = full["TaskStates"]["t"]["Events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["Type"] == "Terminated")
        .cloned()
        .expect("a Terminated event");
    assert_eq!(term["DisplayMessage"], "OOM Killed", "{term}");
    assert_eq!(term["Details"]["oom_killed"], "true");
    // Inside its pid namespace the shell was pid 1.
    let id = failed["ID"].as_str().unwrap();
    let (_, out) = get_text(
        &agent,
        &format!("/v1/client/fs/logs/{id}?task=t&type=stdout&plain=true"),
    );
    assert_eq!(out.trim(), "pid=1");
}

#[test]
fn restarted_client_reattaches_to_running_tasks() {
    let dir = temp_dir("client-reattach");
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
    let (_alloc, id, pid) = run_pid_task(&agent, &data, "keep", 304);
    let started = |a: &Value| {
        task_events(a, "t")
            .iter()
            .filter(|e| *e == "Started")
            .count()
    };
    assert_eq!(started(&full_alloc(&agent, &id)), 1);
    // Kill the agent hard: the task lives on.
    agent.crash();
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "task died with the client"
    );
    let agent = start(&dir, &args);
    wait_leader(&agent);
    std::thread::sleep(Duration::from_secs(2));
    let a = wait_for(
        Duration::from_secs(20),
        "the allocation to be running again",
        || {
            let a = full_alloc(&agent, &id);
            (a["ClientStatus"] == "running").then_some(a)
        },
    );
    assert_eq!(
        started(&a),
        1,
        "the task was started again instead of reattached: {:?}",
        task_events(&a, "t")
    );
    assert_eq!(a["TaskStates"]["t"]["Restarts"], 0);
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    // And the reattached client can still stop it.
    send(&agent, "DELETE", "/v1/job/keep", Value::Null);
    wait_for(Duration::from_secs(20), "the task to be killed", || {
        (!std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z ")))
        .then_some(())
    });
}

#[test]
fn work_moves_off_a_dead_client_within_20_seconds() {
    let dir = temp_dir("client-failover");
    let server = start_server(&dir, "s");
    let client = |name: &str| start_client(&dir, &server, name);
    let a = client("a");
    let b = client("b");
    wait_for(Duration::from_secs(20), "two ready nodes", || {
        let (_, nodes) = get(&server, "/v1/nodes");
        (nodes
            .as_array()?
            .iter()
            .filter(|n| n["Status"] == "ready")
            .count()
            == 2)
            .then_some(())
    });
    run_hcl(
        &server,
        r#"
job "moving" {
  group "g" {
    count = 2
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "exec sleep 305"]
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
    let running = wait_for(Duration::from_secs(30), "two running allocations", || {
        let r: Vec<Value> = job_allocs(&server, "moving")
            .into_iter()
            .filter(|a| a["ClientStatus"] == "running")
            .collect();
        (r.len() == 2).then_some(r)
    });
    // A client-only agent answers the whole API (it proxies to a server), and a server
    // forwards /v1/client/* calls to the agent that runs the allocation.
    let (code, job) = get(&b, "/v1/job/moving");
    assert_eq!(code, 200);
    assert_eq!(job["ID"], "moving");
    let some = running[0]["ID"].as_str().unwrap();
    let (code, ls) = get(
        &server,
        &format!("/v1/client/fs/ls/{some}?path=/alloc/logs"),
    );
    assert_eq!(code, 200, "{ls}");
    assert!(ls.as_array().is_some_and(|l| !l.is_empty()), "{ls}");
    let nodes_of: std::collections::BTreeSet<String> = running
        .iter()
        .map(|a| a["NodeID"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(nodes_of.len(), 2, "spread over both clients");
    // Which node is A? The one whose HTTP address is A's.
    let (_, nodes) = get(&server, "/v1/nodes");
    let a_addr = a.http.trim_start_matches("http://").to_string();
    let node_a = nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["ID"].as_str().unwrap().to_string())
        .find(|id| get(&server, &format!("/v1/node/{id}")).1["HTTPAddr"] == a_addr.as_str())
        .expect("client A's node");
    let killed_at = Instant::now();
    a.crash();
    let moved = wait_for(
        Duration::from_secs(40),
        "a replacement running on client B",
        || {
            job_allocs(&server, "moving").into_iter().find(|x| {
                x["ClientStatus"] == "running"
                    && x["NodeID"] != node_a.as_str()
                    && !running.iter().any(|r| r["ID"] == x["ID"])
            })
        },
    );
    let took = killed_at.elapsed();
    eprintln!("replacement running {took:?} after the client was killed");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert_ne!(moved["NodeID"], node_a.as_str());
    drop(b);
    let _ = std::process::Command::new("pkill")
        .args(["-f", "sleep 305"])
        .status();
}

#[test]
fn java_job_runs_a_jar_fetched_as_an_artifact() {
    let dir = temp_dir("client-java");
    // Build the jar the job will fetch.
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("Hello.java"),
        "public class Hello { public static void main(String[] a) { \
         System.out.println(\"hello from java \" + String.join(\",\", a)); } }",
    )
    .unwrap();
    let built = std::process::Command::new("javac")
        .arg("-d")
        .arg(&src)
        .arg(src.join("Hello.java"))
        .status()
        .is_ok_and(|s| s.success())
        && std::process::Command::new("jar")
            .current_dir(&src)
            .args(["cfe", "hello.jar", "Hello", "Hello.class"])
            .status()
            .is_ok_and(|s| s.success());
    if !built {
        eprintln!("skipped: javac/jar not installed (apt-get install default-jdk-headless)");
        return;
    }
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let node_id = wait_for(Duration::from_secs(20), "the dev client's node", || {
        let (_, nodes) = get(&agent, "/v1/nodes");
        nodes.get(0)?["ID"].as_str().map(str::to_string)
    });
    let node = get(&agent, &format!("/v1/node/{node_id}")).1;
    assert_eq!(
        node["Drivers"]["java"]["Detected"], true,
        "{}",
        node["Drivers"]
    );
    assert!(
        !node["Attributes"]["driver.java.version"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );
    let jar = src.join("hello.jar");
    run_hcl(
        &agent,
        &format!(
            r#"
job "java" {{
  type = "batch"
  group "g" {{
    task "hello" {{
      driver = "java"
      artifact {{
        source      = "file://{}"
        destination = "local/"
      }}
      config {{
        jar_path = "local/hello.jar"
        args     = ["a", "b"]
      }}
      resources {{
        cpu    = 200
        memory = 256
      }}
    }}
  }}
}}
"#,
            jar.display()
        ),
    );
    let done = wait_for(
        Duration::from_secs(60),
        "the java allocation to complete",
        || {
            job_allocs(&agent, "java")
                .into_iter()
                .find(|a| a["ClientStatus"] == "complete" || a["ClientStatus"] == "failed")
        },
    );
    let id = done["ID"].as_str().unwrap();
    let (_, out) = get_text(
        &agent,
        &format!("/v1/client/fs/logs/{id}?task=hello&type=stdout&plain=true"),
    );
    let (_, err) = get_text(
        &agent,
        &format!("/v1/client/fs/logs/{id}?task=hello&type=stderr&plain=true"),
    );
    assert_eq!(done["ClientStatus"], "complete", "stderr: {err}");
    assert_eq!(out.trim(), "hello from java a,b");
}

#[test]
fn tasks_keep_running_while_the_servers_are_away() {
    let dir = temp_dir("client-away");
    // Fixed ports, so the restarted server is where the client expects it.
    let free = free_port;
    let ports = dir.join("fixed-ports.hcl");
    std::fs::write(
        &ports,
        format!(
            "ports {{\n  http = {}\n  rpc = {}\n  serf = {}\n}}\n",
            free(),
            free(),
            free()
        ),
    )
    .unwrap();
    let sdata = dir.join("server");
    let server_args = [
        "-server",
        "-bootstrap-expect",
        "1",
        "-data-dir",
        sdata.to_str().unwrap(),
        "-config",
        ports.to_str().unwrap(),
    ];
    let server = start(&dir, &server_args);
    wait_leader(&server);
    let cdata = dir.join("client");
    let _client = start(
        &dir,
        &[
            "-client",
            "-servers",
            &server.rpc,
            "-data-dir",
            cdata.to_str().unwrap(),
        ],
    );
    let (_alloc, id, pid) = run_pid_task(&server, &cdata, "steady", 308);
    let alive = || std::path::Path::new(&format!("/proc/{pid}")).exists();

    // The only server goes away for longer than a heartbeat TTL: the task runs on.
    server.crash();
    std::thread::sleep(Duration::from_secs(6));
    assert!(alive(), "the task died while the servers were away");

    // The server comes back: the client reconnects, nothing restarted or rescheduled.
    let server = start(&dir, &server_args);
    wait_leader(&server);
    let a = wait_for(
        Duration::from_secs(30),
        "the node and allocation as before",
        || {
            let (_, nodes) = get(&server, "/v1/nodes");
            let ready = nodes.as_array()?.iter().any(|n| n["Status"] == "ready");
            let a = full_alloc(&server, &id);
            (ready && a["ClientStatus"] == "running").then_some(a)
        },
    );
    assert!(alive());
    assert_eq!(a["TaskStates"]["t"]["Restarts"], 0);
    assert_eq!(
        job_allocs(&server, "steady").len(),
        1,
        "nothing was rescheduled"
    );
    // Reports flow again: stopping the job stops the task.
    send(&server, "DELETE", "/v1/job/steady", Value::Null);
    wait_for(Duration::from_secs(20), "the task to be stopped", || {
        let st = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        (!alive() || st.contains(") Z ")).then_some(())
    });
}

/// Runs a one-task raw_exec job `job` (a shell that writes its pid, then sleeps `secs`)
/// on the client whose data dir is `data`; returns the running allocation, its ID and
/// the task's pid.
fn run_pid_task(
    agent: &Agent,
    data: &std::path::Path,
    job: &str,
    secs: u32,
) -> (Value, String, i32) {
    run_hcl(
        agent,
        &format!(
            r#"
job "{job}" {{
  group "g" {{
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "echo $$ > $NOMAD_ALLOC_DIR/data/pid; exec sleep {secs}"]
      }}
    }}
  }}
}}
"#
        ),
    );
    let alloc = wait_for(Duration::from_secs(30), "a running allocation", || {
        alloc_with_status(agent, job, "running")
    });
    let id = alloc["ID"].as_str().unwrap().to_string();
    let pid_file = data.join("alloc").join(&id).join("alloc/data/pid");
    let pid: i32 = wait_for(Duration::from_secs(10), "the task's pid", || {
        std::fs::read_to_string(&pid_file).ok()?.trim().parse().ok()
    });
    (alloc, id, pid)
}
