//! Native service discovery with real processes: services registered in orch's catalog,
//! checks run by the client, a template that finds another service through
//! `nomadService` and follows it, and `check_restart`.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

fn running_alloc(agent: &impl HasHttp, job: &str) -> Value {
    wait_for(Duration::from_secs(30), "a running allocation", || {
        job_allocs(agent, job)
            .into_iter()
            .find(|a| a["ClientStatus"] == "running")
    })
}

#[test]
fn services_find_each_other_through_the_catalog() {
    let dir = temp_dir("services");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(
        &agent,
        r#"
job "backend" {
  group "api" {
    network {
      port "http" {}
    }
    service {
      name = "backend"
      port = "http"
      tags = ["v1"]
      check {
        type     = "http"
        path     = "/"
        interval = "1s"
        timeout  = "1s"
      }
    }
    task "server" {
      driver = "raw_exec"
      config {
        command = "python3"
        args    = ["-m", "http.server", "${NOMAD_PORT_http}", "--bind", "127.0.0.1"]
      }
    }
  }
}
"#,
    );
    let backend = running_alloc(&agent, "backend");
    let backend_id = backend["ID"].as_str().unwrap().to_string();
    let reg = wait_for(
        Duration::from_secs(20),
        "the backend in the catalog",
        || {
            let (_, v) = get(&agent, "/v1/service/backend");
            v.as_array()?.first().cloned()
        },
    );
    assert_eq!(reg["AllocID"], backend_id.as_str());
    assert_eq!(reg["Address"], "127.0.0.1");
    assert_eq!(reg["Tags"][0], "v1");
    let port = reg["Port"].as_u64().unwrap();
    assert!(port >= 20000, "dynamic port {port}");
    let (_, list) = get(&agent, "/v1/services");
    assert_eq!(list[0]["Services"][0]["ServiceName"], "backend");
    let cli = |sub: &str, args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_orch"))
            .args(["service", sub, "-address", &agent.http])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = cli("list", &[]);
    assert!(
        listed.contains("backend") && listed.contains("[v1]"),
        "{listed}"
    );
    let info = cli("info", &["backend"]);
    assert!(info.contains(&format!("127.0.0.1:{port}")), "{info}");
    // The client runs the check against the real server.
    wait_for(Duration::from_secs(20), "a passing http check", || {
        let (_, checks) = get(
            &agent,
            &format!("/v1/client/allocation/{backend_id}/checks"),
        );
        checks
            .as_object()?
            .values()
            .find(|c| c["Status"] == "success")
            .cloned()
    });

    run_hcl(
        &agent,
        r#"
job "frontend" {
  group "web" {
    task "app" {
      driver = "raw_exec"
      template {
        data        = "{{ range nomadService \"backend\" }}{{ .Address }}:{{ .Port }}{{ end }}"
        destination = "local/backend.txt"
        change_mode = "noop"
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "exec sleep 306"]
      }
    }
  }
}
"#,
    );
    let frontend = running_alloc(&agent, "frontend");
    let fid = frontend["ID"].as_str().unwrap().to_string();
    let path = format!("/v1/client/fs/cat/{fid}?path=app/local/backend.txt");
    let (_, text) = get_text(&agent, &path);
    assert_eq!(text, format!("127.0.0.1:{port}"));
    // What the template found answers.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        orch_daemon::tls::http_client()
            .get(format!("http://{text}/"))
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    assert_eq!(status.ok(), Some(200));

    // The backend stops: it leaves the catalog and the template follows.
    send(&agent, "DELETE", "/v1/job/backend", Value::Null);
    wait_for(
        Duration::from_secs(30),
        "the backend to leave the catalog",
        || {
            let (_, v) = get(&agent, "/v1/service/backend");
            v.as_array()?.is_empty().then_some(())
        },
    );
    wait_for(
        Duration::from_secs(20),
        "the template to be rendered again",
        || {
            let (_, text) = get_text(&agent, &path);
            text.is_empty().then_some(())
        },
    );
}

#[test]
fn a_failing_check_restarts_its_task() {
    let dir = temp_dir("check-restart");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(
        &agent,
        r#"
job "flaky" {
  group "g" {
    network {
      port "db" {}
    }
    restart {
      attempts = 5
      interval = "5m"
      delay    = "100ms"
      mode     = "fail"
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "exec sleep 307"]
      }
      service {
        name = "flaky"
        port = "db"
        check {
          type     = "tcp"
          interval = "1s"
          timeout  = "1s"
          check_restart {
            limit = 2
            grace = "1s"
          }
        }
      }
    }
  }
}
"#,
    );
    let alloc = running_alloc(&agent, "flaky");
    let id = alloc["ID"].as_str().unwrap().to_string();
    let restarted = wait_for(Duration::from_secs(30), "a check_restart", || {
        let (_, a) = get(&agent, &format!("/v1/allocation/{id}"));
        let t = &a["TaskStates"]["t"];
        (t["Restarts"].as_u64() >= Some(1)).then(|| t.clone())
    });
    let events: Vec<&str> = restarted["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Type"].as_str().unwrap_or_default())
        .collect();
    assert!(events.contains(&"Restart Signaled"), "{events:?}");
    send(&agent, "DELETE", "/v1/job/flaky", Value::Null);
}
