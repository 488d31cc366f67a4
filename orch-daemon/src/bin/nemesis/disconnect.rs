//! `--scenario disconnect`: a client cut off from the servers, with Nomad's
//! `disconnect` rules.
//!
//! Two clients; a service job with `disconnect { lost_after = "60s", replace = true,
//! reconcile = "keep_original" }` and, on the same client, one with
//! `disconnect { stop_on_client_after = "5s" }`. That client is then cut off from every
//! server (iptables in its namespace). Expected, as Nomad documents it: the first task
//! keeps running on the cut-off client while the servers mark its allocation `unknown`
//! and run a replacement on the other client; the second task is stopped by its own
//! client after 5 s without contact; when the client comes back, `keep_original` keeps
//! the original allocation running and stops the replacement.

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::topology::{Cluster, Host};
use super::workload::Http;

/// The tasks' `sleep` arguments: unique, so their processes can be found.
const KEPT_ARG: &str = "7771.5";
const STOPPED_ARG: &str = "7772.5";

fn job(id: &str, arg: &str, disconnect: Value, node: Option<&str>) -> String {
    let constraints = node.map_or(
        json!([]),
        |n| json!([{"LTarget": "${node.unique.name}", "RTarget": n, "Operand": "="}]),
    );
    json!({"Job": {
        "ID": id, "Type": "service", "Datacenters": ["dc1"], "Constraints": constraints,
        "TaskGroups": [{"Name": "g", "Count": 1, "Disconnect": disconnect,
            "Tasks": [{"Name": "t", "Driver": "raw_exec",
                "Config": {"command": "/bin/sleep", "args": [arg]},
                "Resources": {"CPU": 20, "MemoryMB": 16}}]}]
    }})
    .to_string()
}

fn get(http: &Http, url: &str, path: &str) -> Result<Value, String> {
    let r = http.send(url, "GET", path, "")?;
    if r.status != 200 {
        return Err(format!("GET {path}: {}", r.status));
    }
    serde_json::from_slice(&r.body).map_err(|e| e.to_string())
}

/// Polls `f` every 200 ms until it gives a value or `limit` passes.
fn wait<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> Result<T, String> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(format!("timed out after {limit:?} waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The PIDs of processes whose command line holds `arg`, inside `host`'s namespace.
fn pids_in(host: &Host, arg: &str) -> Vec<u32> {
    let Ok(ns) = std::fs::metadata(format!("/run/netns/{}", host.netns)) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let has_arg = cmd.split(|b| *b == 0).any(|a| a == arg.as_bytes());
            let net = std::fs::metadata(format!("/proc/{pid}/ns/net"));
            has_arg && net.is_ok_and(|m| m.ino() == ns.ino() && m.dev() == ns.dev())
        })
        .collect()
}

fn allocs(http: &Http, url: &str, job: &str) -> Vec<Value> {
    get(http, url, &format!("/v1/job/{job}/allocations"))
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

/// Two clients, the kept job running and the stopped job beside it: the original
/// allocation, its node's name and the index of that client.
fn place_jobs(
    cluster: &mut Cluster,
    http: &Http,
    url: &str,
) -> Result<(Value, String, usize), String> {
    cluster.add_clients(2)?;
    wait(Duration::from_secs(60), "two ready clients", || {
        let nodes = get(http, url, "/v1/nodes").ok()?;
        let ready = nodes
            .as_array()?
            .iter()
            .filter(|n| n["Status"] == "ready")
            .count();
        (ready == 2).then_some(())
    })?;
    let keep =
        json!({"LostAfter": 60_000_000_000_u64, "Replace": true, "Reconcile": "keep_original"});
    register(http, url, &job("kept", KEPT_ARG, keep, None))?;
    let original = wait(Duration::from_secs(60), "the kept job running", || {
        allocs(http, url, "kept")
            .into_iter()
            .find(|a| a["ClientStatus"] == "running")
    })?;
    let node_name = original["NodeName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let cut = node_name
        .strip_prefix('c')
        .and_then(|j| j.parse::<usize>().ok())
        .filter(|j| *j < cluster.clients.len())
        .ok_or(format!(
            "the allocation runs on {node_name:?}, not one of ours"
        ))?;
    let stop = json!({"StopOnClientAfter": 5_000_000_000_u64});
    register(
        http,
        url,
        &job("stopped", STOPPED_ARG, stop, Some(&node_name)),
    )?;
    wait(Duration::from_secs(60), "the stopped job running", || {
        let running = allocs(http, url, "stopped")
            .iter()
            .any(|a| a["ClientStatus"] == "running");
        (running && !pids_in(&cluster.clients[cut], STOPPED_ARG).is_empty()).then_some(())
    })?;
    Ok((original, node_name, cut))
}

/// Runs the scenario; the report says what held.
pub fn run(cluster: &mut Cluster, http: &Http) -> Result<Value, String> {
    let url = cluster.servers[0].url();
    let (original, node_name, cut) = place_jobs(cluster, http, &url)?;
    let kept_pids = pids_in(&cluster.clients[cut], KEPT_ARG);

    // Cut the client off from every server.
    let started = Instant::now();
    for s in &cluster.servers {
        let c = &cluster.clients[cut];
        c.exec(&["iptables", "-A", "INPUT", "-s", &s.ip, "-j", "DROP"])?;
        c.exec(&["iptables", "-A", "OUTPUT", "-d", &s.ip, "-j", "DROP"])?;
    }
    let original_id = original["ID"].as_str().unwrap_or_default().to_string();
    let replacement = wait(
        Duration::from_secs(60),
        "a replacement on the other client",
        || {
            let all = allocs(http, &url, "kept");
            let unknown = all
                .iter()
                .any(|a| a["ID"] == original_id.as_str() && a["ClientStatus"] == "unknown");
            let repl = all.into_iter().find(|a| {
                a["ID"] != original_id.as_str()
                    && a["ClientStatus"] == "running"
                    && a["NodeName"] != node_name.as_str()
            })?;
            unknown.then_some(repl)
        },
    )?;
    let replaced_after = started.elapsed();
    let stopped_locally = wait(
        Duration::from_secs(30),
        "the client to stop its task",
        || {
            pids_in(&cluster.clients[cut], STOPPED_ARG)
                .is_empty()
                .then_some(started.elapsed())
        },
    );
    let kept_running =
        !kept_pids.is_empty() && pids_in(&cluster.clients[cut], KEPT_ARG) == kept_pids;

    // Back again: keep_original keeps the original and stops the replacement.
    cluster.clients[cut].exec(&["iptables", "-F"])?;
    let replacement_id = replacement["ID"].as_str().unwrap_or_default().to_string();
    let reconciled = wait(Duration::from_secs(60), "reconnect rules applied", || {
        let all = allocs(http, &url, "kept");
        let orig = all.iter().find(|a| a["ID"] == original_id.as_str())?;
        let repl = all.iter().find(|a| a["ID"] == replacement_id.as_str())?;
        (orig["ClientStatus"] == "running" && repl["DesiredStatus"] == "stop").then_some(())
    });
    let still_same_process = pids_in(&cluster.clients[cut], KEPT_ARG) == kept_pids;
    let report = json!({
        "scenario": "disconnect",
        "original_kept_running_while_cut_off": kept_running,
        "replacement_running_after_ms": replaced_after.as_millis(),
        "stop_on_client_after_stopped_task_after_ms": stopped_locally.as_ref().ok().map(|d| d.as_millis()),
        "reconnect_kept_original_and_stopped_replacement": reconciled.is_ok(),
        "original_process_unchanged": still_same_process,
        "errors": [stopped_locally.err(), reconciled.err()],
    });
    Ok(report)
}

/// Whether every expectation of the report held.
pub fn held(report: &Value) -> bool {
    let yes = |k: &str| report[k] == true;
    yes("original_kept_running_while_cut_off")
        && yes("reconnect_kept_original_and_stopped_replacement")
        && yes("original_process_unchanged")
        && !report["stop_on_client_after_stopped_task_after_ms"].is_null()
}

fn register(http: &Http, url: &str, body: &str) -> Result<(), String> {
    let r = http.send(url, "PUT", "/v1/jobs", body)?;
    if r.status == 200 {
        Ok(())
    } else {
        Err(format!(
            "registering: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        ))
    }
}
