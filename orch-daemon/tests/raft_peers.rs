//! Removing dead servers from a real four-server cluster on loopback with the CLI:
//! `operator raft remove-peer` and `server force-leave`, sent to a follower (which
//! forwards to the leader); the survivors keep committing writes.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

fn orch(agent: &Agent, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(args)
        .env("ORCH_ADDR", &agent.http)
        .output()
        .expect("run orch")
}

fn ok(agent: &Agent, args: &[&str]) -> String {
    let out = orch(agent, args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "orch {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn job(i: usize) -> serde_json::Value {
    serde_json::json!({"Job": {
        "ID": format!("job-{i}"), "Type": "batch", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "g", "Count": 1, "Tasks": [{"Name": "t", "Driver": "raw_exec",
            "Config": {"command": "/bin/true"}, "Resources": {"CPU": 20, "MemoryMB": 16}}]}]
    }})
}

/// Peer rows of `operator raft list-peers` (without the header).
fn peer_rows(agent: &Agent) -> Vec<String> {
    ok(agent, &["operator", "raft", "list-peers"])
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn dead_servers_are_removed_and_the_rest_keep_committing() {
    let dir = temp_dir("peers");
    let data = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let a = start(
        &dir,
        &[
            "-server",
            "-bootstrap-expect",
            "1",
            "-data-dir",
            &data("a"),
            "-node",
            "a",
        ],
    );
    wait_leader(&a);
    let mut agents = vec![a];
    for name in ["b", "c", "d"] {
        let serf = agents[0].serf.clone();
        agents.push(start(
            &dir,
            &[
                "-server",
                "-retry-join",
                &serf,
                "-data-dir",
                &data(name),
                "-node",
                name,
            ],
        ));
    }
    let names = ["a", "b", "c", "d"];
    wait_for(Duration::from_secs(30), "four voters", || {
        let (_, peers) = get(&agents[0], "/v1/status/peers");
        peers.as_array().is_some_and(|p| p.len() == 4).then_some(())
    });
    assert_eq!(peer_rows(&agents[0]).len(), 4);

    // Two followers die for good, one after the other; the third follower is where
    // the commands go (it forwards them to the leader). Each removal needs a quorum of
    // the current voters, so the first is removed before the second dies.
    let leader = leader_rpc(&agents[0]).expect("a leader");
    let followers: Vec<usize> = (0..4).filter(|&i| agents[i].rpc != leader).collect();
    let (victim1, victim2, survivor) = (followers[0], followers[1], followers[2]);

    // Refusals first: unknown ID, no peer named, unknown server name.
    let unknown = orch(
        &agents[survivor],
        &["operator", "raft", "remove-peer", "-peer-id=12345"],
    );
    let err = String::from_utf8_lossy(&unknown.stderr).to_string();
    assert!(
        !unknown.status.success() && err.contains("no Raft peer with ID 12345"),
        "{err}"
    );
    let none = orch(&agents[survivor], &["operator", "raft", "remove-peer"]);
    assert!(!none.status.success());
    let nobody = orch(&agents[survivor], &["server", "force-leave", "nobody"]);
    let err = String::from_utf8_lossy(&nobody.stderr).to_string();
    assert!(
        !nobody.status.success() && err.contains("no server named"),
        "{err}"
    );

    let _ = agents[victim1].child.kill();
    let _ = agents[victim1].child.wait();
    let victim1_rpc = agents[victim1].rpc.clone();
    let out = ok(
        &agents[survivor],
        &[
            "operator",
            "raft",
            "remove-peer",
            &format!("-peer-address={victim1_rpc}"),
        ],
    );
    assert!(out.contains("Removed peer"), "{out}");
    let rows = peer_rows(&agents[survivor]);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(!rows.iter().any(|r| r.contains(&victim1_rpc)), "{rows:?}");

    let _ = agents[victim2].child.kill();
    let _ = agents[victim2].child.wait();
    let victim2_rpc = agents[victim2].rpc.clone();
    ok(
        &agents[survivor],
        &[
            "server",
            "force-leave",
            &format!("{}.global", names[victim2]),
        ],
    );
    let rows = peer_rows(&agents[survivor]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(!rows.iter().any(|r| r.contains(&victim2_rpc)), "{rows:?}");

    // Two voters of two: writes commit through either survivor.
    let leader_pos = (0..4)
        .find(|&i| agents[i].rpc == leader)
        .expect("leader is ours");
    for (i, target) in [leader_pos, survivor, leader_pos, survivor]
        .into_iter()
        .enumerate()
    {
        let (code, body) = send(&agents[target], "PUT", "/v1/jobs", job(i));
        assert_eq!(code, 200, "write {i} after the removals: {body}");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(&agents[survivor], "/v1/job/job-3").0 != 200 {
        assert!(
            Instant::now() < deadline,
            "job-3 never visible on the survivor"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(agents);
    let _ = std::fs::remove_dir_all(dir);
}
