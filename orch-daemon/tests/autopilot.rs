//! Autopilot on real servers: its configuration read and changed through the CLI and
//! the API (check-and-set, bad values refused by name), and dead-server cleanup on a
//! three-server cluster: a server that stays away is removed from the Raft
//! configuration, and comes back as a voter when it restarts.

mod common;

use std::time::Duration;

use common::*;

fn cli_ok(agent: &Agent, args: &[&str]) -> String {
    let out = orch_cli(agent, args);
    assert!(
        out.status.success(),
        "orch {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_autopilot_configuration_is_read_and_changed_with_check_and_set() {
    let dir = temp_dir("autopilot-config");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let out = cli_ok(&agent, &["operator", "autopilot", "get-config"]);
    let kv = cli_kv(&out);
    assert!(
        kv.contains(&("CleanupDeadServers".into(), "true".into())),
        "{out}"
    );
    assert!(
        kv.contains(&("LastContactThreshold".into(), "200ms".into())),
        "{out}"
    );
    assert!(
        kv.contains(&("MaxTrailingLogs".into(), "250".into())),
        "{out}"
    );

    let out = cli_ok(
        &agent,
        &[
            "operator",
            "autopilot",
            "set-config",
            "-max-trailing-logs=10",
            "-last-contact-threshold=5s",
            "-cleanup-dead-servers=false",
        ],
    );
    assert!(out.contains("Configuration updated!"), "{out}");
    let (_, c) = get(&agent, "/v1/operator/autopilot/configuration");
    assert_eq!(c["MaxTrailingLogs"], 10, "{c}");
    assert_eq!(c["LastContactThreshold"], "5s", "{c}");
    assert_eq!(c["CleanupDeadServers"], false, "{c}");
    let modify = c["ModifyIndex"].as_u64().unwrap();
    assert!(modify > 0);

    // A stale check-and-set is not applied; Nomad answers false.
    let (status, body) = send(
        &agent,
        "PUT",
        &format!("/v1/operator/autopilot/configuration?cas={}", modify - 1),
        c.clone(),
    );
    assert_eq!((status, body.trim()), (200, "false"));
    // Bad values and Enterprise options are refused by name.
    let mut bad = c.clone();
    bad["LastContactThreshold"] = "soon".into();
    let (status, body) = send(&agent, "PUT", "/v1/operator/autopilot/configuration", bad);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("LastContactThreshold"), "{body}");
    let out = orch_cli(
        &agent,
        &[
            "operator",
            "autopilot",
            "set-config",
            "-enable-redundancy-zones=true",
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("EnableRedundancyZones"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let health = cli_ok(&agent, &["operator", "autopilot", "health"]);
    let lines: Vec<&str> = health.lines().collect();
    assert_eq!(lines.first(), Some(&"Healthy: true"), "{health}");
    assert!(
        lines.contains(&"Voters:") && lines.contains(&"Servers:"),
        "{health}"
    );
    let header = lines
        .iter()
        .find(|l| l.starts_with("ID "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>());
    assert_eq!(
        header.as_deref(),
        Some(
            &[
                "ID",
                "Name",
                "Address",
                "SerfStatus",
                "Version",
                "Leader",
                "Voter",
                "Healthy",
                "LastContact",
                "LastTerm",
                "LastIndex",
                "StableSince"
            ][..]
        ),
        "{health}"
    );
    // Every field of Nomad's ServerHealth: the leader's term, and since when it has
    // been healthy (a real time, once the health monitor has run).
    let server = wait_for(Duration::from_secs(30), "the leader's StableSince", || {
        let (status, h) = get(&agent, "/v1/operator/autopilot/health");
        let s = h["Servers"][0].clone();
        (status == 200 && s["StableSince"] != "0001-01-01T00:00:00Z").then_some(s)
    });
    for field in [
        "ID",
        "Name",
        "Address",
        "SerfStatus",
        "Version",
        "Leader",
        "LastContact",
        "LastTerm",
        "LastIndex",
        "Healthy",
        "Voter",
        "StableSince",
    ] {
        assert!(server.get(field).is_some(), "{field} in {server}");
    }
    assert!(server["LastTerm"].as_u64() >= Some(1), "{server}");
    let since = server["StableSince"].as_str().unwrap_or_default();
    assert!(since.starts_with("20") && since.ends_with('Z'), "{server}");
}

fn voters(agent: &Agent) -> Option<usize> {
    let (status, v) = get(agent, "/v1/operator/raft/configuration");
    (status == 200).then(|| v["Servers"].as_array().map_or(0, Vec::len))
}

#[test]
fn a_dead_server_is_removed_and_rejoins_when_it_comes_back() {
    let dir = temp_dir("autopilot-cleanup");
    let mut agents = three_servers(&dir, [&[], &[], &[]]);
    let serf = agents[0].serf.clone();
    let stopped = agents.remove(2);
    drop(stopped);
    wait_for(Duration::from_secs(120), "the dead server removed", || {
        (agents.iter().all(|a| voters(a) == Some(2))).then_some(())
    });
    // The survivors still commit writes.
    let (status, body) = send(
        &agents[1],
        "PUT",
        "/v1/jobs",
        sleep_job("after-cleanup", "default"),
    );
    assert_eq!(status, 200, "{body}");
    // It comes back with its data and is a voter again.
    let c_data = dir.join("c");
    let c = start(
        &dir,
        &[
            "-server",
            "-retry-join",
            &serf,
            "-data-dir",
            c_data.to_str().unwrap(),
            "-node",
            "c",
        ],
    );
    agents.push(c);
    wait_for(
        Duration::from_secs(120),
        "the server back as a voter",
        || (agents.iter().all(|a| voters(a) == Some(3))).then_some(()),
    );
    wait_one_leader(&agents, 3);
    drop(agents);
    let _ = std::fs::remove_dir_all(dir);
}

/// `b`'s entry in the leader's autopilot health, once it is a member.
fn health_of(agent: &Agent, name: &str) -> Option<serde_json::Value> {
    let (_, h) = get(agent, "/v1/operator/autopilot/health");
    h["Servers"]
        .as_array()?
        .iter()
        .find(|s| s["Name"].as_str().is_some_and(|n| n.starts_with(name)))
        .cloned()
}

#[test]
fn a_joining_server_votes_only_after_the_stabilization_time() {
    let dir = temp_dir("autopilot-promote");
    let data = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let (a_data, b_data) = (data("a"), data("b"));
    let a = start(
        &dir,
        &[
            "-server",
            "-bootstrap-expect",
            "1",
            "-data-dir",
            &a_data,
            "-node",
            "a",
        ],
    );
    wait_leader(&a);
    let (_, config) = get(&a, "/v1/operator/autopilot/configuration");
    assert_eq!(config["ServerStabilizationTime"], "10s", "Nomad's default");
    let serf = a.serf.clone();
    let b = start(
        &dir,
        &[
            "-server",
            "-retry-join",
            &serf,
            "-data-dir",
            &b_data,
            "-node",
            "b",
        ],
    );
    // It joins as a non-voter and is healthy (caught up, in contact) before it votes.
    let first = wait_for(Duration::from_secs(60), "b a healthy member", || {
        health_of(&a, "b").filter(|s| s["Healthy"] == true)
    });
    assert_eq!(first["Voter"], false, "not a voter yet: {first}");
    let promoted = wait_for(Duration::from_secs(90), "b promoted to voter", || {
        health_of(&a, "b").filter(|s| s["Voter"] == true)
    });
    // Promoted no sooner than 10 s after it became healthy (StableSince is the
    // leader's wall clock, as is this test's).
    let since: orch_core::model::Timestamp =
        serde_json::from_value(promoted["StableSince"].clone()).expect("an RFC 3339 time");
    let since = since.0;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    assert!(
        now - since >= 10_000_000_000,
        "promoted {} ms after it became stable: {promoted}",
        (now - since) / 1_000_000
    );
    wait_one_leader(&[a, b], 2);
    let _ = std::fs::remove_dir_all(dir);
}
