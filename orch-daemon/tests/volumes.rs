//! Host volumes on the real agent: an exec task writes through a `volume_mount` into
//! the client's `host_volume` path; a read-only volume refuses the write inside the
//! task; `volume_mount` on raw_exec is refused at registration.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::*;
use orch_daemon::client::driver::ExecDriver;

#[test]
fn exec_tasks_write_to_host_volumes_and_read_only_ones_refuse() {
    if let Some(reason) = ExecDriver::unavailable_reason() {
        println!("skipped: exec cannot isolate here ({reason})");
        return;
    }
    let dir = temp_dir("host-volumes");
    let (data, ro) = (dir.join("data"), dir.join("ro"));
    for d in [&data, &ro] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    std::fs::write(ro.join("seed"), "from the host").unwrap();
    let config = dir.join("volumes.hcl");
    std::fs::write(
        &config,
        format!(
            "client {{\n  host_volume \"data\" {{\n    path = \"{}\"\n  }}\n  host_volume \"ro\" {{\n    path = \"{}\"\n    read_only = true\n  }}\n}}\n",
            data.display(),
            ro.display()
        ),
    )
    .unwrap();
    let agent = start(&dir, &["-dev", "-config", config.to_str().unwrap()]);
    wait_leader(&agent);
    run_hcl(
        &agent,
        r#"job "vol" {
  type = "batch"
  group "g" {
    volume "data" {
      type   = "host"
      source = "data"
    }
    volume "ro" {
      type      = "host"
      source    = "ro"
      read_only = true
    }
    task "t" {
      driver = "exec"
      config {
        command = "/bin/sh"
        args = ["-c", "echo written-inside > /srv/data/out.txt && cat /srv/ro/seed && if echo x > /srv/ro/new 2>/dev/null; then echo ro-write-succeeded; else echo ro-write-refused; fi"]
      }
      volume_mount {
        volume      = "data"
        destination = "/srv/data"
      }
      volume_mount {
        volume      = "ro"
        destination = "/srv/ro"
      }
      resources {
        cpu    = 50
        memory = 64
      }
    }
  }
}"#,
    );
    let alloc = wait_for(Duration::from_secs(60), "the job to finish", || {
        job_allocs(&agent, "vol")
            .into_iter()
            .find(|a| a["ClientStatus"] == "complete" || a["ClientStatus"] == "failed")
    });
    let id = alloc["ID"].as_str().unwrap();
    let (_, out) = get_text(
        &agent,
        &format!("/v1/client/fs/logs/{id}?task=t&type=stdout&plain=true"),
    );
    let (_, full) = get(&agent, &format!("/v1/allocation/{id}"));
    assert_eq!(
        alloc["ClientStatus"], "complete",
        "{out} {}",
        full["TaskStates"]
    );
    assert_eq!(
        std::fs::read_to_string(data.join("out.txt")).unwrap(),
        "written-inside\n"
    );
    assert!(out.contains("from the host"), "{out}");
    assert!(out.contains("ro-write-refused"), "{out}");
    assert!(!ro.join("new").exists());

    // raw_exec cannot mount: refused at registration, naming the field (the CLI refuses
    // it before sending, so the spec is parsed as exec and sent as raw_exec).
    let mut job = orch_parse(
        r#"job "rawvol" {
  group "g" {
    volume "data" {
      type   = "host"
      source = "data"
    }
    task "t" {
      driver = "exec"
      config {
        command = "/bin/true"
      }
      volume_mount {
        volume      = "data"
        destination = "/srv/data"
      }
    }
  }
}"#,
    );
    job["TaskGroups"][0]["Tasks"][0]["Driver"] = "raw_exec".into();
    let (status, body) = send(&agent, "PUT", "/v1/jobs", serde_json::json!({ "Job": job }));
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("VolumeMounts") && body.contains("raw_exec driver cannot mount volumes"),
        "{body}"
    );
}

fn sticky_job(version: &str) -> String {
    format!(
        r#"job "sticky" {{
  meta {{
    v = "{version}"
  }}
  group "g" {{
    ephemeral_disk {{
      sticky = true
    }}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args = ["-c", "echo v=$NOMAD_META_v >> $NOMAD_ALLOC_DIR/data/history; echo v=$NOMAD_META_v >> $NOMAD_TASK_DIR/local-history; cat $NOMAD_ALLOC_DIR/data/history $NOMAD_TASK_DIR/local-history; sleep 3600"]
      }}
      resources {{
        cpu    = 50
        memory = 32
      }}
    }}
  }}
}}"#
    )
}

/// A sticky ephemeral disk keeps `alloc/data` and `local/` across a destructive update
/// on one node: the replacement sees what the first allocation wrote.
#[test]
fn a_sticky_disk_follows_a_destructive_update_on_one_node() {
    let dir = temp_dir("sticky");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(&agent, &sticky_job("1"));
    let first = wait_for(
        Duration::from_secs(60),
        "the first allocation to run",
        || {
            job_allocs(&agent, "sticky")
                .into_iter()
                .find(|a| a["ClientStatus"] == "running")
        },
    );
    let first_id = first["ID"].as_str().unwrap().to_string();
    let logs = |id: &str| {
        get_text(
            &agent,
            &format!("/v1/client/fs/logs/{id}?task=t&type=stdout&plain=true"),
        )
        .1
    };
    wait_for(
        Duration::from_secs(30),
        "the first allocation's output",
        || logs(&first_id).contains("v=1").then_some(()),
    );
    run_hcl(&agent, &sticky_job("2"));
    let second = wait_for(Duration::from_secs(90), "the replacement to run", || {
        job_allocs(&agent, "sticky")
            .into_iter()
            .find(|a| a["ID"] != first_id.as_str() && a["ClientStatus"] == "running")
    });
    let second_id = second["ID"].as_str().unwrap().to_string();
    let out = wait_for(Duration::from_secs(30), "the replacement's output", || {
        let out = logs(&second_id);
        out.contains("v=2").then_some(out)
    });
    assert_eq!(
        out.matches("v=1\nv=2\n").count(),
        2,
        "alloc/data and local/ kept: {out}"
    );
    let (_, full) = get(&agent, &format!("/v1/allocation/{second_id}"));
    assert_eq!(full["PreviousAllocation"], first_id.as_str());
    assert!(
        full["TaskStates"]
            .to_string()
            .contains("Took over the ephemeral disk"),
        "{}",
        full["TaskStates"]
    );
}
