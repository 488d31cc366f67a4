//! The agent endpoints operators use beside the API: `/v1/agent/members` (and `orch
//! server members`) lists every server of a three-server cluster from any of them,
//! with a stopped one shown `failed`; `orch monitor -log-level debug` streams the debug
//! lines of an agent that itself logs at info, also of a client-only agent through a
//! server that relays it; `orch server join` adds a waiting server.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn member_names(agent: &Agent) -> Vec<(String, String)> {
    let (_, v) = get(agent, "/v1/agent/members");
    let mut names: Vec<(String, String)> = v["Members"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["Name"].as_str().unwrap_or("").to_string(),
                m["Status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_server_is_listed_from_any_server() {
    let dir = temp_dir("agent-members");
    let mut agents = three_servers(&dir, [&[], &[], &[]]);
    let all_alive = |a: &Agent| {
        member_names(a) == ["a", "b", "c"].map(|n| (format!("{n}.global"), "alive".to_string()))
    };
    wait_for(Duration::from_secs(60), "three alive members", || {
        agents.iter().all(all_alive).then_some(())
    });
    let out = orch_cli(&agents[1], &["server", "members"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    for n in ["a.global", "b.global", "c.global"] {
        assert!(text.contains(n), "{text}");
    }
    // A stopped server stays a Raft member and is reported failed.
    let stopped = agents.remove(2);
    drop(stopped);
    wait_for(Duration::from_secs(60), "the stopped server failed", || {
        member_names(&agents[0])
            .iter()
            .any(|(_, status)| status == "failed")
            .then_some(())
    });
    drop(agents);
    let _ = std::fs::remove_dir_all(dir);
}

/// `orch monitor <args>` against `agent`, its lines on a channel.
fn start_monitor(
    agent: &impl HasHttp,
    args: &[&str],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut monitor = Command::new(env!("CARGO_BIN_EXE_orch"))
        .arg("monitor")
        .args(args)
        .env("ORCH_ADDR", agent.http())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = monitor.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (monitor, rx)
}

/// Calls `poke` until the monitor shows a debug `request complete` line for `path`.
fn wait_request_line(
    rx: &std::sync::mpsc::Receiver<String>,
    path: &str,
    poke: impl Fn(),
) -> String {
    wait_for(
        Duration::from_secs(60),
        "a request line on the monitor",
        || {
            poke();
            let deadline = std::time::Instant::now() + Duration::from_millis(200);
            while let Ok(line) =
                rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            {
                if line.contains("[DEBUG]")
                    && line.contains("request complete")
                    && line.contains(path)
                {
                    return Some(line);
                }
            }
            None
        },
    )
}

#[test]
fn monitor_streams_debug_lines_from_an_info_agent() {
    let dir = temp_dir("agent-monitor");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let (mut monitor, rx) = start_monitor(&agent, &["-log-level", "debug"]);
    let seen = wait_request_line(&rx, "/v1/jobs", || {
        let _ = get(&agent, "/v1/jobs?prefix=monitored");
    });
    assert!(
        !seen.contains("prefix=monitored"),
        "the query string is left out: {seen}"
    );
    let _ = monitor.kill();
    let _ = monitor.wait();
    let (code, body) = get_text(&agent, "/v1/agent/monitor?log_level=loud");
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("log_level"), "{body}");
    drop(agent);
    let _ = std::fs::remove_dir_all(dir);
}

/// A server started with `-bootstrap-expect 2` and nobody to join waits (it does not
/// lead a cluster of one); `orch server join` through it adds it to a running cluster.
#[test]
fn server_join_adds_a_waiting_server_to_a_running_cluster() {
    let dir = temp_dir("server-join");
    let a = start_server(&dir, "a");
    let b_data = dir.join("b");
    let b = start(
        &dir,
        &[
            "-server",
            "-bootstrap-expect",
            "2",
            "-data-dir",
            b_data.to_str().unwrap(),
            "-node",
            "b",
        ],
    );
    let (_, leader) = get(&b, "/v1/status/leader");
    assert_eq!(leader, "", "b led alone before joining: {leader}");
    let out = orch_cli(&b, &["server", "join", &a.serf]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Joined 1 servers successfully"), "{text}");
    let agents = vec![a, b];
    wait_one_leader(&agents, 2);
    // A bad address is refused with the reason, and nothing joined.
    let out = orch_cli(&agents[1], &["server", "join", "127.0.0.1:1"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("127.0.0.1:1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(agents);
    let _ = std::fs::remove_dir_all(dir);
}

/// `orch monitor -node-id` sent to a server streams the log of the client-only agent
/// that runs that node (relayed to its HTTP API).
#[test]
fn a_server_relays_the_monitor_of_a_client_node() {
    let dir = temp_dir("monitor-relay");
    let server = start_server(&dir, "s");
    let client = start_client(&dir, &server, "c");
    let node = first_node(&server);
    let (mut monitor, rx) = start_monitor(&server, &["-log-level", "debug", "-node-id", &node]);
    // Only the client agent answers this path itself, so its line proves the relay.
    wait_request_line(&rx, "/v1/client/stats", || {
        let _ = get(&client, "/v1/client/stats");
    });
    let _ = monitor.kill();
    let _ = monitor.wait();
    let (code, body) = get_text(&server, "/v1/agent/monitor?node_id=no-such-node");
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("node_id"), "{body}");
    drop(client);
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}
