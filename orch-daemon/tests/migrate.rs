//! `ephemeral_disk { migrate = true }` with real agents: one server, two clients. A
//! service allocation on client A writes into its `alloc/data` and `local/`; A is
//! drained, the replacement lands on B, and B's client fetches the data from A's
//! before the task starts.

mod common;

use std::time::Duration;

use common::*;

fn ready_nodes(server: &Agent) -> Vec<String> {
    let (_, nodes) = get(server, "/v1/nodes");
    nodes
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["Status"] == "ready")
        .map(|n| n["ID"].as_str().unwrap_or_default().to_string())
        .collect()
}

const JOB: &str = r#"job "mig" {
  group "g" {
    ephemeral_disk {
      migrate = true
      sticky  = true
      size    = 200
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = ["-c", "[ -f $NOMAD_ALLOC_DIR/data/note ] || echo $NOMAD_ALLOC_ID > $NOMAD_ALLOC_DIR/data/note; [ -f $NOMAD_TASK_DIR/seen ] || echo first > $NOMAD_TASK_DIR/seen; exec sleep 3600"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}"#;

fn cat(server: &Agent, alloc: &str, path: &str) -> Option<String> {
    let (status, text) = get_text(server, &format!("/v1/client/fs/cat/{alloc}?path={path}"));
    (status == 200).then_some(text)
}

#[test]
fn a_migrating_disk_follows_its_allocation_to_another_node() {
    let dir = temp_dir("migrate");
    let server = start_server(&dir, "s");
    let _a = start_client(&dir, &server, "a");
    let node_a = wait_for(Duration::from_secs(30), "client A ready", || {
        ready_nodes(&server).into_iter().next()
    });
    run_hcl(&server, JOB);
    let first = wait_for(
        Duration::from_secs(60),
        "the first allocation's note",
        || {
            let a = job_allocs(&server, "mig")
                .into_iter()
                .find(|a| a["ClientStatus"] == "running")?;
            let id = a["ID"].as_str()?.to_string();
            cat(&server, &id, "alloc/data/note")
                .filter(|t| t.contains(&id))
                .map(|_| id)
        },
    );

    let _b = start_client(&dir, &server, "b");
    wait_for(Duration::from_secs(30), "client B ready", || {
        (ready_nodes(&server).len() == 2).then_some(())
    });
    let out = orch_cli(
        &server,
        &["node", "drain", "-enable", "-yes", "-detach", &node_a],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let second = wait_for(Duration::from_secs(120), "the replacement on B", || {
        job_allocs(&server, "mig").into_iter().find(|a| {
            a["ClientStatus"] == "running"
                && a["NodeID"] != node_a.as_str()
                && a["ID"] != first.as_str()
        })
    });
    let id = second["ID"].as_str().unwrap();
    let note = wait_for(Duration::from_secs(30), "the note on B", || {
        cat(&server, id, "alloc/data/note")
    });
    assert_eq!(
        note.trim(),
        first,
        "the data of the first allocation came along"
    );
    let seen = cat(&server, id, "t/local/seen").unwrap_or_default();
    assert_eq!(seen.trim(), "first", "the task's local/ came along");
    let (_, alloc) = get(&server, &format!("/v1/allocation/{id}"));
    let events = alloc["TaskStates"]["t"]["Events"].to_string();
    assert!(events.contains("Migrated the ephemeral disk"), "{events}");
    let _ = std::fs::remove_dir_all(&dir);
}
