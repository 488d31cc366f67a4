//! A three-server cluster of real `orch` binaries on loopback: servers join through the
//! serf port, writes sent to any server commit on all, and when the leader is killed in
//! the middle of a stream of registrations a new leader takes over and no acknowledged
//! registration is lost; a server cut off from its quorum reports how long ago it last
//! heard from the leader (`X-Nomad-LastContact`).

mod common;

use std::time::{Duration, Instant};

use common::*;

fn job(i: usize) -> serde_json::Value {
    serde_json::json!({"Job": {
        "ID": format!("job-{i}"),
        "Type": "batch",
        "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "g", "Count": 1, "Tasks": [{"Name": "t", "Driver": "raw_exec",
            "Config": {"command": "/bin/true"}, "Resources": {"CPU": 20, "MemoryMB": 16}}]}]
    }})
}

#[test]
fn three_servers_survive_the_loss_of_their_leader() {
    let dir = temp_dir("cluster");
    let mut agents = three_servers(&dir, [&[], &[], &[]]);
    // A stream of registrations through a follower and the leader.
    let mut acked = Vec::new();
    for i in 0..40 {
        let target = &agents[i % 3];
        let (code, body) = send(target, "PUT", "/v1/jobs", job(i));
        assert_eq!(code, 200, "registration {i}: {body}");
        acked.push(format!("job-{i}"));
    }
    // Kill the leader.
    let leader_addr = leader_rpc(&agents[1]).expect("a leader is known");
    let leader_pos = agents
        .iter()
        .position(|a| a.rpc == leader_addr)
        .expect("leader is one of ours");
    let mut dead = agents.remove(leader_pos);
    let watch_http = agents[0].http.clone();
    let old = leader_addr.clone();
    let _ = dead.child.kill();
    let _ = dead.child.wait();
    let killed_at = Instant::now();
    // Measure failover on its own: poll a survivor for a new leader.
    let watcher = std::thread::spawn(move || {
        let probe = Agent::remote(&watch_http);
        while killed_at.elapsed() < Duration::from_secs(30) {
            if let Some(l) = leader_rpc(&probe).filter(|l| *l != old) {
                return Some((l, killed_at.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    });
    // Keep registering through the survivors; every acknowledged write must stay.
    let mut i = 40;
    while Instant::now() < killed_at + Duration::from_secs(30) && i < 60 {
        let target = &agents[i % 2];
        let (code, _) = send(target, "PUT", "/v1/jobs", job(i));
        if code == 200 {
            acked.push(format!("job-{i}"));
            i += 1;
        } else {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let (l, took) = watcher.join().unwrap().expect("a new leader was elected");
    eprintln!("failover: new leader {l} after {took:?}");
    assert!(i >= 60, "writes continued after the failover");
    for survivor in &agents {
        for id in &acked {
            let mut ok = false;
            for _ in 0..50 {
                if get(survivor, &format!("/v1/job/{id}")).0 == 200 {
                    ok = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            assert!(ok, "acknowledged {id} missing on {}", survivor.http);
        }
    }
    drop(agents);
    let _ = std::fs::remove_dir_all(dir);
}

/// Three servers that all list each other with `-bootstrap-expect 3`, as a Nomad operator
/// starts them: they form one cluster with three voters and one leader.
#[test]
fn servers_listing_each_other_form_one_cluster() {
    let dir = temp_dir("expect3");
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut agents = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let cfg = dir.join(format!("serf{i}.hcl"));
        std::fs::write(&cfg, format!("ports {{\n  serf = {port}\n}}\n")).unwrap();
        let data = dir.join(format!("s{i}"));
        let mut args: Vec<String> = vec!["-server".into(), "-bootstrap-expect".into(), "3".into()];
        args.extend([
            "-data-dir".into(),
            data.to_str().unwrap().into(),
            "-node".into(),
            format!("server-{i}"),
        ]);
        args.extend(["-config".into(), cfg.to_str().unwrap().into()]);
        for (j, other) in ports.iter().enumerate() {
            if j != i {
                args.extend(["-retry-join".into(), format!("127.0.0.1:{other}")]);
            }
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        // The agent prints its addresses only once it is in a cluster, so start all
        // three before reading any of them.
        agents.push(start_background(&dir, &refs));
    }
    let agents: Vec<Agent> = agents.into_iter().map(|a| a.join().unwrap()).collect();
    wait_one_leader(&agents, 3);
    let (code, body) = send(&agents[2], "PUT", "/v1/jobs", job(1));
    assert_eq!(code, 200, "{body}");
    drop(agents);
    let _ = std::fs::remove_dir_all(dir);
}

/// `X-Nomad-LastContact` is measured: 0 on the leader, and on a server left without
/// a quorum (its two peers killed) it grows with the time since it last heard from
/// the leader, while that server keeps answering reads of its state.
#[test]
fn a_server_cut_off_from_its_leader_reports_its_last_contact() {
    let dir = temp_dir("last-contact");
    let mut agents = three_servers(&dir, [&[], &[], &[]]);
    let leader_addr = leader_rpc(&agents[0]).expect("a leader is known");
    let leader = agents
        .iter()
        .find(|a| a.rpc == leader_addr)
        .expect("leader is one of ours");
    assert_eq!(last_contact(&leader.http), Some(0));
    let survivor = agents
        .iter()
        .position(|a| a.rpc != leader_addr)
        .expect("a follower");
    let survivor = agents.remove(survivor);
    for mut a in agents {
        let _ = a.child.kill();
        let _ = a.child.wait();
    }
    let contact = wait_for(
        Duration::from_secs(60),
        "the survivor's last contact to pass a second",
        || last_contact(&survivor.http).filter(|ms| *ms >= 1000),
    );
    eprintln!("last contact after losing the quorum: {contact} ms");
    drop(survivor);
    let _ = std::fs::remove_dir_all(dir);
}

/// The `X-Nomad-LastContact` of a stale read of the job list.
fn last_contact(http: &str) -> Option<u64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async {
        let r = orch_daemon::tls::http_client()
            .get(format!("{http}/v1/jobs?stale=true"))
            .send()
            .await
            .ok()?;
        r.headers()
            .get("x-nomad-lastcontact")?
            .to_str()
            .ok()?
            .parse()
            .ok()
    })
}
