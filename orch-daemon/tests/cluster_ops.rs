//! Operations on a three-server cluster of real `orch` binaries: client calls sent to a
//! follower reach the leader's heartbeat timers; `operator raft transfer-leadership`
//! (sent to a server that does not lead) makes the named server the leader, and the
//! cluster keeps committing.

mod common;

use std::time::Duration;

use common::*;

fn node(id: &str) -> serde_json::Value {
    serde_json::json!({"Node": {
        "ID": id, "Name": "worker-1", "Datacenter": "dc1", "SecretID": "s",
        "Attributes": {"kernel.name": "linux"},
        "NodeResources": {"Cpu": {"CpuShares": 2000}, "Memory": {"MemoryMB": 2048},
                          "Disk": {"DiskMB": 10000}}
    }})
}

#[test]
fn client_calls_to_a_follower_reach_the_leader() {
    let dir = temp_dir("cluster-ops");
    let agents = three_servers(&dir, [&[], &[], &[]]);
    let leader = leader_rpc(&agents[0]).unwrap();
    let follower = agents.iter().find(|a| a.rpc != leader).unwrap();
    let id = "6f1d9c4e-0000-4000-8000-000000000001";
    let (code, body) = send(follower, "PUT", "/v1/internal/node/register", node(id));
    assert_eq!(code, 200, "{body}");
    let reply: serde_json::Value = serde_json::from_str(&body).unwrap();
    // min_heartbeat_ttl (orch's default 4 s) plus a stagger of up to as much again.
    let ttl = reply["HeartbeatTTL"].as_u64().unwrap();
    assert!((4_000_000_000..8_000_000_000).contains(&ttl), "{ttl}");
    // The heartbeat is answered by the leader (the follower relays it).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let resp = rt.block_on(async {
        orch_daemon::tls::http_client()
            .put(format!("{}/v1/internal/node/{id}/heartbeat", follower.http))
            .json(&serde_json::json!({"Status": "ready"}))
            .send()
            .await
            .unwrap()
    });
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-orch-forwarded"], "1");
    // Followers apply the commit a moment after the leader acknowledged it.
    for a in &agents {
        wait_for(Duration::from_secs(5), "the node on every server", || {
            let (code, n) = get(a, &format!("/v1/node/{id}"));
            (code == 200 && n["Status"] == "ready").then_some(())
        });
    }
    drop(agents);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn transfer_leadership_makes_the_named_server_the_leader() {
    let dir = temp_dir("transfer-leadership");
    let agents = three_servers(&dir, [&[], &[], &[]]);
    let leader = leader_rpc(&agents[0]).unwrap();
    let followers: Vec<&Agent> = agents.iter().filter(|a| a.rpc != leader).collect();
    let (target, asked) = (followers[0], followers[1]);
    let out = orch_cli(
        asked,
        &[
            "operator",
            "raft",
            "transfer-leadership",
            &format!("-peer-address={}", target.rpc),
        ],
    );
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for(
        Duration::from_secs(30),
        "every server to follow the target",
        || {
            agents
                .iter()
                .all(|a| leader_rpc(a).as_deref() == Some(target.rpc.as_str()))
                .then_some(())
        },
    );
    let (code, body) = send(
        &agents[0],
        "PUT",
        "/v1/jobs",
        sleep_job("after-transfer", "default"),
    );
    assert_eq!(code, 200, "{body}");
    // Servers are named as Nomad names them (`<name>.<region>`), from any server.
    let (_, conf) = get(&agents[1], "/v1/operator/raft/configuration");
    let mut nodes: Vec<&str> = conf["Servers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["Node"].as_str())
        .collect();
    nodes.sort_unstable();
    assert_eq!(nodes, ["a.global", "b.global", "c.global"], "{conf}");
    // The leader itself, or nobody, is refused by name.
    let out = orch_cli(
        asked,
        &[
            "operator",
            "raft",
            "transfer-leadership",
            &format!("-peer-address={}", target.rpc),
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already leads"));
    let out = orch_cli(asked, &["operator", "raft", "transfer-leadership"]);
    assert!(!out.status.success());
    drop(agents);
    let _ = std::fs::remove_dir_all(dir);
}
