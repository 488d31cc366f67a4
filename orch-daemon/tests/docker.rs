//! The docker driver against the real Docker Engine: a busybox image the tests build
//! serves HTTP on a mapped port, logs, stops with its kill signal, runs out of memory,
//! survives a client crash, loads from a tarball artifact, and is refused privileges
//! and host binds the plugin does not allow. Needs a running engine (fails otherwise).

mod common;
#[path = "common/docker.rs"]
mod docker_env;

use std::time::Duration;

use common::*;
use docker_env::*;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

/// A dev agent with the docker plugin configured (`extra` inside its `config`).
fn dev_agent(name: &str, extra: &str) -> (Agent, std::path::PathBuf) {
    images();
    let dir = temp_dir(name);
    let cfg = plugin_config(&dir, extra);
    let agent = start(&dir, &["-dev", "-config", cfg.to_str().unwrap()]);
    wait_leader(&agent);
    (agent, dir)
}

fn full_alloc(agent: &impl HasHttp, id: &str) -> Value {
    get(agent, &format!("/v1/allocation/{id}")).1
}

/// The job's one allocation once its task `t` is in `state` (the task's events in the
/// failure message otherwise).
fn alloc_in(agent: &Agent, job: &str, state: &str) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    let mut last = Value::Null;
    while std::time::Instant::now() < deadline {
        if let Some(a) = job_allocs(agent, job).into_iter().next()
            && let Some(id) = a["ID"].as_str()
        {
            last = full_alloc(agent, id);
            if last["TaskStates"]["t"]["State"] == state {
                return last;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "job {job}'s task is not {state} after {WAIT:?}: {:?}",
        events(&last)
    );
}

fn events(alloc: &Value) -> Vec<Value> {
    alloc["TaskStates"]["t"]["Events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn docker_job(job: &str, group_extra: &str, task_extra: &str, config: &str) -> String {
    format!(
        r#"
job "{job}" {{
  datacenters = ["*"]
  type = "batch"
  group "g" {{
    {group_extra}
    restart {{
      attempts = 0
      mode = "fail"
    }}
    reschedule {{
      attempts = 0
      unlimited = false
    }}
    task "t" {{
      driver = "docker"
      {task_extra}
      config {{
        image = "{BUSYBOX}"
        {config}
      }}
      resources {{
        cpu = 100
        memory = 32
      }}
    }}
  }}
}}
"#
    )
}

/// Nomad's layout: one container named `<task>-<alloc>`, labelled with the allocation,
/// `cpu` as shares and `memory` as the limit.
fn assert_nomads_layout(id: &str) {
    let ids = containers_of(id);
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(
        inspect(&ids[0], "{{.Name}}").as_deref(),
        Some(format!("/t-{id}").as_str())
    );
    assert_eq!(
        inspect(&ids[0], "{{.HostConfig.CpuShares}}").as_deref(),
        Some("100")
    );
    let limit = (32u64 << 20).to_string();
    assert_eq!(
        inspect(&ids[0], "{{.HostConfig.Memory}}"),
        Some(limit.clone())
    );
    assert_eq!(inspect(&ids[0], "{{.HostConfig.MemorySwap}}"), Some(limit));
    let binds = inspect(&ids[0], "{{json .HostConfig.Binds}}").unwrap_or_default();
    for target in [":/alloc", ":/local", ":/secrets"] {
        assert!(binds.contains(target), "{binds}");
    }
}

#[test]
fn httpd_on_a_mapped_port_logs_reports_stats_and_stops_with_its_signal() {
    let (agent, _dir) = dev_agent("docker-httpd", "");
    let _clean = Cleanup::job("web");
    run_hcl(
        &agent,
        &docker_job(
            "web",
            r#"network {
      port "http" { to = 8080 }
    }"#,
            r#"kill_signal = "SIGTERM"
      kill_timeout = "20s"
      template {
        data = "hello from a container"
        destination = "local/index.html"
      }"#,
            r#"command = "/bin/sh"
        args = ["-c", "trap 'echo got-term > /alloc/signal; exit 0' TERM; echo serving on 8080; httpd -f -p 8080 -h /local & wait"]
        ports = ["http"]"#,
        ),
    );
    let alloc = alloc_in(&agent, "web", "running");
    let id = alloc["ID"].as_str().unwrap().to_string();
    let port = &alloc["AllocatedResources"]["Shared"]["Ports"][0];
    let host = match port["HostIP"].as_str() {
        Some(ip) if !ip.is_empty() && ip != "0.0.0.0" => ip.to_string(),
        _ => "127.0.0.1".to_string(),
    };
    let addr = format!("{host}:{}", port["Value"]);
    let body = wait_for(WAIT, "httpd to answer on the mapped port", || {
        http_get(&addr, "/index.html")
    });
    assert_eq!(body.trim(), "hello from a container");
    assert_nomads_layout(&id);
    // The output lands in Nomad's log files.
    let logs = wait_for(WAIT, "the container's output in alloc logs", || {
        let out = orch_cli(&agent, &["alloc", "logs", &id, "t"]);
        let s = String::from_utf8_lossy(&out.stdout).to_string();
        s.contains("serving on 8080").then_some(s)
    });
    assert!(logs.contains("serving on 8080"), "{logs}");
    // Stats come from the engine.
    let mem = wait_for(WAIT, "memory in the allocation's stats", || {
        let (code, s) = get(&agent, &format!("/v1/client/allocation/{id}/stats"));
        let m = &s["Tasks"]["t"]["ResourceUsage"]["MemoryStats"];
        let used = m["Usage"]
            .as_u64()
            .unwrap_or(0)
            .max(m["RSS"].as_u64().unwrap_or(0));
        (code == 200 && used > 0).then_some(used)
    });
    assert!(mem > 0);
    // job stop: the kill signal reaches the task, then the container is removed.
    let out = orch_cli(&agent, &["job", "stop", "-detach", "web"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done = alloc_in(&agent, "web", "dead");
    let (code, signal) = get_text(&agent, &format!("/v1/client/fs/cat/{id}?path=alloc/signal"));
    assert_eq!(
        (code, signal.trim()),
        (200, "got-term"),
        "{:?}",
        events(&done)
    );
    wait_for(WAIT, "the container to be removed", || {
        containers_of(&id).is_empty().then_some(())
    });
}

#[test]
fn over_the_memory_limit_is_oom_killed_and_memory_max_lets_it_grow() {
    let (agent, _dir) = dev_agent("docker-oom", "");
    let _clean = (Cleanup::job("oom"), Cleanup::job("roomy"));
    // tail keeps a newline-free input whole: 40 MB against a 32 MB limit.
    let hog = r#"command = "/bin/sh"
        args = ["-c", "head -c 40000000 /dev/zero | tail > /dev/null && echo survived"]"#;
    run_hcl(&agent, &docker_job("oom", "", "", hog));
    let dead = alloc_in(&agent, "oom", "dead");
    let ev = events(&dead);
    let term = ev
        .iter()
        .find(|e| e["Type"] == "Terminated")
        .unwrap_or_else(|| panic!("no Terminated event: {ev:?}"));
    assert_eq!(term["DisplayMessage"], "OOM Killed", "{term}");
    assert_eq!(term["Details"]["oom_killed"], "true");
    assert_eq!(dead["TaskStates"]["t"]["Failed"], true);
    // The same with memory_max = 64: reserved 32 MB, allowed 64 MB, it completes once
    // memory oversubscription is on (off, as in Nomad, the scheduler drops memory_max).
    let mut sched =
        get(&agent, "/v1/operator/scheduler/configuration").1["SchedulerConfig"].clone();
    sched["MemoryOversubscriptionEnabled"] = Value::Bool(true);
    let (code, body) = send(&agent, "PUT", "/v1/operator/scheduler/configuration", sched);
    assert_eq!(code, 200, "{body}");
    let roomy = docker_job("roomy", "", "", hog)
        .replace("memory = 32", "memory = 32\n        memory_max = 64");
    run_hcl(&agent, &roomy);
    let done = alloc_in(&agent, "roomy", "dead");
    assert_eq!(
        done["TaskStates"]["t"]["Failed"],
        false,
        "{:?}",
        events(&done)
    );
    let id = done["ID"].as_str().unwrap();
    let out = orch_cli(&agent, &["alloc", "logs", id, "t"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("survived"));
}

#[test]
fn a_crashed_client_reattaches_to_the_same_container() {
    images();
    let dir = temp_dir("docker-reattach");
    let data = dir.join("data");
    let cfg = plugin_config(&dir, "");
    let args = [
        "-server",
        "-client",
        "-bootstrap-expect",
        "1",
        "-data-dir",
        data.to_str().unwrap(),
        "-config",
        cfg.to_str().unwrap(),
    ];
    let _clean = Cleanup::job("keep");
    let agent = start(&dir, &args);
    wait_leader(&agent);
    let job = docker_job(
        "keep",
        "",
        "",
        r#"command = "/bin/sh"
        args = ["-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done"]"#,
    )
    .replace("type = \"batch\"", "type = \"service\"");
    run_hcl(&agent, &job);
    let alloc = alloc_in(&agent, "keep", "running");
    let id = alloc["ID"].as_str().unwrap().to_string();
    let before = containers_of(&id);
    assert_eq!(before.len(), 1);
    agent.crash();
    assert_eq!(
        inspect(&before[0], "{{.State.Running}}").as_deref(),
        Some("true")
    );
    let agent = start(&dir, &args);
    wait_leader(&agent);
    // Logs written while no client ran are copied too: wait for a tick after restart.
    let a = wait_for(WAIT, "the reattached task's later output", || {
        let out = orch_cli(&agent, &["alloc", "logs", &id, "t"]);
        let s = String::from_utf8_lossy(&out.stdout).to_string();
        let last: u64 = s.lines().last()?.strip_prefix("tick ")?.parse().ok()?;
        let a = full_alloc(&agent, &id);
        (last >= 5 && a["ClientStatus"] == "running").then_some(a)
    });
    let started = events(&a).iter().filter(|e| e["Type"] == "Started").count();
    assert_eq!(
        started,
        1,
        "started again instead of reattached: {:?}",
        events(&a)
    );
    assert_eq!(containers_of(&id), before, "the same container runs on");
    assert_eq!(
        inspect(&before[0], "{{.State.Running}}").as_deref(),
        Some("true")
    );
    let out = orch_cli(&agent, &["alloc", "logs", &id, "t"]);
    let ticks: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let mut dedup = ticks.clone();
    dedup.dedup();
    assert!(
        dedup.len() + 1 >= ticks.len(),
        "lines repeated after the restart: {ticks:?}"
    );
    send(&agent, "DELETE", "/v1/job/keep", Value::Null);
    wait_for(WAIT, "the reattached container to stop", || {
        (inspect(&before[0], "{{.State.Running}}").as_deref() != Some("true")).then_some(())
    });
}

#[test]
fn load_runs_an_image_from_a_tarball_artifact() {
    images();
    let tag = "orch-test/loaded:1";
    let dir = temp_dir("docker-load");
    let mut clean = Cleanup::job("loaded");
    clean.image(tag);
    docker_ok(&["tag", BUSYBOX, tag]);
    let tar = dir.join("loaded.tar");
    docker_ok(&["save", "-o", tar.to_str().unwrap(), tag]);
    docker_ok(&["rmi", tag]);
    let url = serve_file(tar);
    let (agent, _d) = dev_agent("docker-load-agent", "");
    let job = docker_job(
        "loaded",
        "",
        &format!(
            r#"artifact {{
        source = "{url}"
        options {{
          archive = false
        }}
      }}"#
        ),
        r#"load = "loaded.tar"
        command = "/bin/sh"
        args = ["-c", "echo loaded-and-running"]"#,
    )
    .replace(
        &format!("image = \"{BUSYBOX}\""),
        &format!("image = \"{tag}\""),
    );
    run_hcl(&agent, &job);
    let done = alloc_in(&agent, "loaded", "dead");
    assert_eq!(
        done["TaskStates"]["t"]["Failed"],
        false,
        "{:?}",
        events(&done)
    );
    let id = done["ID"].as_str().unwrap();
    let out = orch_cli(&agent, &["alloc", "logs", id, "t"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("loaded-and-running"));
    assert!(inspect(tag, "{{.Id}}").is_some(), "the image was loaded");
}

#[test]
fn nomads_container_options_take_effect_and_signals_reach_the_task() {
    let (agent, _dir) = dev_agent("docker-options", "");
    let _clean = Cleanup::job("opts");
    let script = "tr '\\\\0' ' ' < /proc/1/cmdline; echo; pwd; grep db /etc/hosts; hostname; \
        cat /proc/sys/net/core/somaxconn; ulimit -n; touch /x || echo read-only; \
        touch /scratch/y && echo scratch-ok; echo $NOMAD_TASK_DIR; \
        trap 'echo got-hup >> /alloc/hup' HUP; echo ready > /alloc/ready; \
        while [ ! -s /alloc/hup ]; do sleep 0.2; done";
    let config = format!(
        r#"command = "/bin/sh"
        args = ["-c", "{script}"]
        init = true
        readonly_rootfs = true
        work_dir = "/scratch"
        hostname = "box"
        extra_hosts = ["db:127.0.0.2"]
        sysctl = {{ "net.core.somaxconn" = "512" }}
        ulimit {{
          nofile = "1024:2048"
          nproc  = "1024:1024"
        }}
        labels {{
          team = "web"
        }}
        mount {{
          type   = "tmpfs"
          target = "/scratch"
        }}"#
    );
    run_hcl(&agent, &docker_job("opts", "", "", &config));
    let alloc = alloc_in(&agent, "opts", "running");
    let id = alloc["ID"].as_str().unwrap().to_string();
    wait_for(WAIT, "the task to be ready for its signal", || {
        let (code, _) = get_text(&agent, &format!("/v1/client/fs/stat/{id}?path=alloc/ready"));
        (code == 200).then_some(())
    });
    let ids = containers_of(&id);
    assert_eq!(
        inspect(&ids[0], "{{index .Config.Labels \"team\"}}").as_deref(),
        Some("web")
    );
    let (code, body) = send(
        &agent,
        "PUT",
        &format!("/v1/client/allocation/{id}/signal"),
        serde_json::json!({"Signal": "SIGHUP", "Task": "t"}),
    );
    assert_eq!(code, 200, "{body}");
    let done = alloc_in(&agent, "opts", "dead");
    assert_eq!(
        done["TaskStates"]["t"]["Failed"],
        false,
        "{:?}",
        events(&done)
    );
    let out = orch_cli(&agent, &["alloc", "logs", &id, "t"]);
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    assert!(
        lines[0].contains("init"),
        "pid 1 is the engine's init: {lines:?}"
    );
    let expect = [
        "/scratch",
        "127.0.0.2\tdb",
        "box",
        "512",
        "1024",
        "read-only",
        "scratch-ok",
        "/local",
    ];
    assert_eq!(lines[1..], expect, "{lines:?}");
    let (_, hup) = get_text(&agent, &format!("/v1/client/fs/cat/{id}?path=alloc/hup"));
    assert_eq!(hup.trim(), "got-hup");
}

#[test]
fn an_image_no_task_uses_is_collected_after_its_delay() {
    images();
    let tag = "orch-test/gc:1";
    let mut clean = Cleanup::job("collected");
    clean.image(tag);
    let dir = temp_dir("docker-gc");
    // A distinct image (its own ID), so collecting it leaves the shared one alone.
    std::fs::write(
        dir.join("Dockerfile"),
        format!(
            "FROM {BUSYBOX}\nLABEL orch.test.gc=\"{}\"\n",
            std::process::id()
        ),
    )
    .unwrap();
    let out = std::process::Command::new("docker")
        .args(["build", "-q", "-t", tag, "."])
        .current_dir(&dir)
        .env("DOCKER_HOST", endpoint())
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg = plugin_config_gc(&dir, "image = true\n      image_delay = \"1s\"", "");
    let agent = start(&dir, &["-dev", "-config", cfg.to_str().unwrap()]);
    wait_leader(&agent);
    let job = docker_job("collected", "", "", "command = \"true\"").replace(
        &format!("image = \"{BUSYBOX}\""),
        &format!("image = \"{tag}\""),
    );
    run_hcl(&agent, &job);
    let done = alloc_in(&agent, "collected", "dead");
    assert_eq!(
        done["TaskStates"]["t"]["Failed"],
        false,
        "{:?}",
        events(&done)
    );
    wait_for(WAIT, "the unused image to be removed", || {
        inspect(tag, "{{.Id}}").is_none().then_some(())
    });
    assert!(
        inspect(BUSYBOX, "{{.Id}}").is_some(),
        "the shared image stays"
    );
}

/// The driver failure a task ended with.
fn driver_failure(agent: &Agent, job: &str) -> String {
    let dead = alloc_in(agent, job, "dead");
    events(&dead)
        .iter()
        .find(|e| e["Type"] == "Driver Failure")
        .and_then(|e| e["DisplayMessage"].as_str().or(e["Message"].as_str()))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no driver failure: {:?}", events(&dead)))
}

#[test]
fn privileged_and_host_binds_are_refused_unless_the_plugin_allows_them() {
    let (agent, _dir) = dev_agent("docker-refuse", "");
    let _clean = (
        Cleanup::job("priv"),
        Cleanup::job("bind"),
        Cleanup::job("pull"),
    );
    run_hcl(&agent, &docker_job("priv", "", "", "privileged = true"));
    let msg = driver_failure(&agent, "priv");
    assert!(msg.contains("allow_privileged"), "{msg}");
    run_hcl(
        &agent,
        &docker_job("bind", "", "", r#"volumes = ["/etc:/host-etc"]"#),
    );
    let msg = driver_failure(&agent, "bind");
    assert!(msg.contains("volumes { enabled = true }"), "{msg}");
    // With no registry, a pull fails with the engine's message.
    let pull = docker_job("pull", "", "", "force_pull = true").replace(
        &format!("image = \"{BUSYBOX}\""),
        "image = \"orch-test/not-anywhere:1\"",
    );
    run_hcl(&agent, &pull);
    let msg = driver_failure(&agent, "pull");
    assert!(
        msg.contains("pulling image \"orch-test/not-anywhere:1\" failed"),
        "{msg}"
    );
    // Allowed by the plugin, host binds work and privileged containers reach the engine
    // (which may still refuse them where the engine itself lacks the capabilities, as
    // inside an unprivileged sandbox).
    drop(agent);
    let (agent, _dir) = dev_agent(
        "docker-allow",
        "    allow_privileged = true\n    volumes {\n      enabled = true\n    }",
    );
    let bind = docker_job(
        "bind",
        "",
        "",
        r#"volumes = ["/etc:/host-etc:ro"]
        command = "/bin/sh"
        args = ["-c", "test -f /host-etc/hostname && echo bound-ok"]"#,
    );
    run_hcl(&agent, &bind);
    let done = alloc_in(&agent, "bind", "dead");
    assert_eq!(
        done["TaskStates"]["t"]["Failed"],
        false,
        "{:?}",
        events(&done)
    );
    run_hcl(
        &agent,
        &docker_job(
            "priv",
            "",
            "",
            "privileged = true\n        command = \"true\"",
        ),
    );
    let done = alloc_in(&agent, "priv", "dead");
    let refused = events(&done).iter().any(|e| {
        e["DisplayMessage"]
            .as_str()
            .is_some_and(|m| m.contains("allow_privileged"))
    });
    assert!(!refused, "{:?}", events(&done));
}
