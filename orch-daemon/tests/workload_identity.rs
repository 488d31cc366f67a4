//! Workload identities on the real binary, server side: a client's node secret fetches
//! its allocation's signed identities, a task's token reads `nomad/jobs/<job>` and is
//! refused elsewhere, the JWKS publishes the verifying key, and a token stops working
//! once its allocation is terminal.

mod common;

use std::time::Duration;

use base64::Engine;
use common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(90);

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn call(agent: &impl HasHttp, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    let (code, text) = send_token(agent, method, path, token, body);
    (code, json_of(&text))
}

/// The client's node ID and secret from its state directory.
fn node_identity(dir: &std::path::Path) -> (String, String) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "node-id") {
                let text = std::fs::read_to_string(&p).unwrap();
                let mut lines = text.lines();
                return (lines.next().unwrap().into(), lines.next().unwrap().into());
            }
        }
    }
    panic!("no node-id file under {}", dir.display());
}

#[test]
fn a_tasks_identity_reads_its_jobs_variables_only() {
    let dir = temp_dir("wi");
    let config = dir.join("acl.hcl");
    std::fs::write(&config, "acl {\n  enabled = true\n}\n").unwrap();
    let data = dir.join("s1");
    let s = start_server_with(&dir, &data, &["-config", config.to_str().unwrap()]);
    let _c = start_client(&dir, &s, "c1");
    let (_, boot) = call(&s, "POST", "/v1/acl/bootstrap", "", Value::Null);
    let mgmt = boot["SecretID"].as_str().unwrap().to_string();
    let job = sleep_job("web", "default");
    let (code, body) = call(&s, "PUT", "/v1/jobs", &mgmt, job);
    assert_eq!(code, 200, "{body}");
    let (alloc, node) = wait_for(WAIT, "a running allocation", || {
        let (_, allocs) = call(&s, "GET", "/v1/job/web/allocations", &mgmt, Value::Null);
        let a = allocs.as_array()?.first()?.clone();
        (a["ClientStatus"] == "running").then(|| {
            (
                a["ID"].as_str().unwrap().to_string(),
                a["NodeID"].as_str().unwrap().to_string(),
            )
        })
    });
    for (path, v) in [("nomad/jobs/web", "mine"), ("app/x", "not mine")] {
        let (code, _) = call(
            &s,
            "PUT",
            &format!("/v1/var/{path}"),
            &mgmt,
            json!({"Items": {"k": v}}),
        );
        assert_eq!(code, 200);
    }
    let (node_id, secret) = node_identity(&dir.join("c1"));
    assert_eq!(node_id, node);
    let url = format!("/v1/internal/node/{node}/alloc/{alloc}/identities");
    assert_eq!(
        call(&s, "GET", &url, "", Value::Null).0,
        403,
        "needs the node secret"
    );
    let (code, ids) = call(&s, "GET", &url, &secret, Value::Null);
    assert_eq!(code, 200, "{ids}");
    let (task, token) = ids.as_object().unwrap().iter().next().unwrap();
    let token = token.as_str().unwrap().to_string();
    // Nomad's claims, signed with a key the JWKS publishes.
    let parts: Vec<&str> = token.split('.').collect();
    let dec = |p: &str| {
        json_of(
            &String::from_utf8(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p)
                    .unwrap(),
            )
            .unwrap(),
        )
    };
    let (header, claims) = (dec(parts[0]), dec(parts[1]));
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(claims["nomad_job_id"], "web");
    assert_eq!(claims["nomad_allocation_id"], alloc.as_str());
    assert_eq!(claims["nomad_task"], task.as_str());
    assert_eq!(claims["nomad_namespace"], "default");
    let (code, jwks) = call(&s, "GET", "/.well-known/jwks.json", "", Value::Null);
    assert_eq!(code, 200);
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == header["kid"]),
        "{jwks}"
    );
    // The token reads its job's variables and nothing else.
    let (code, v) = call(&s, "GET", "/v1/var/nomad/jobs/web", &token, Value::Null);
    assert_eq!((code, v["Items"]["k"].as_str()), (200, Some("mine")));
    assert_eq!(call(&s, "GET", "/v1/var/app/x", &token, Value::Null).0, 403);
    assert_eq!(
        call(
            &s,
            "PUT",
            "/v1/var/nomad/jobs/web",
            &token,
            json!({"Items": {"k": "w"}})
        )
        .0,
        403
    );
    assert_eq!(call(&s, "GET", "/v1/jobs", &token, Value::Null).0, 403);
    let (code, list) = call(&s, "GET", "/v1/vars", &token, Value::Null);
    assert_eq!(code, 200);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let mut forged = token.clone();
    forged.push('A');
    assert_eq!(
        call(&s, "GET", "/v1/var/nomad/jobs/web", &forged, Value::Null).0,
        403
    );
    // Once the allocation is terminal the token is refused.
    assert_eq!(call(&s, "DELETE", "/v1/job/web", &mgmt, Value::Null).0, 200);
    wait_for(WAIT, "the token refused after the job stopped", || {
        let code = call(&s, "GET", "/v1/var/nomad/jobs/web", &token, Value::Null).0;
        (code == 403).then_some(())
    });
}

#[test]
fn templates_render_nomad_variables_and_follow_their_changes() {
    let dir = temp_dir("wi-tmpl");
    let s = start(&dir, &["-dev"]);
    wait_leader(&s);
    let (code, _) = call(
        &s,
        "PUT",
        "/v1/var/nomad/jobs/tmpl",
        "",
        json!({"Items": {"greeting": "hello"}}),
    );
    assert_eq!(code, 200);
    let (code, _) = call(
        &s,
        "PUT",
        "/v1/var/nomad/jobs/tmpl/g",
        "",
        json!({"Items": {"x": "1"}}),
    );
    assert_eq!(code, 200);
    let hcl = r#"job "tmpl" {
  datacenters = ["dc1"]
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "sleep 300"]
      }
      template {
        destination = "local/out.txt"
        change_mode = "noop"
        data        = <<EOT
{{ with nomadVar "nomad/jobs/tmpl" }}greeting={{ .greeting }}{{ end }}
exists={{ nomadVarExists "nomad/jobs/tmpl/g" }} other={{ nomadVarExists "nomad/jobs/tmpl/none" }}
{{ range nomadVarList "nomad/jobs/tmpl" }}path={{ .Path }}
{{ end }}
EOT
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}"#;
    run_hcl(&s, hcl);
    let alloc = wait_for(WAIT, "a running allocation", || {
        let a = job_allocs(&s, "tmpl").into_iter().next()?;
        (a["ClientStatus"] == "running").then(|| a["ID"].as_str().unwrap().to_string())
    });
    let read = || {
        get_text(
            &s,
            &format!("/v1/client/fs/cat/{alloc}?path=t/local/out.txt"),
        )
        .1
    };
    let first = read();
    assert!(first.contains("greeting=hello"), "{first}");
    assert!(first.contains("exists=true other=false"), "{first}");
    assert!(
        first.contains("path=nomad/jobs/tmpl\n") && first.contains("path=nomad/jobs/tmpl/g"),
        "{first}"
    );
    // A changed variable re-renders the template.
    let (code, _) = call(
        &s,
        "PUT",
        "/v1/var/nomad/jobs/tmpl",
        "",
        json!({"Items": {"greeting": "bonjour"}}),
    );
    assert_eq!(code, 200);
    wait_for(WAIT, "the template re-rendered", || {
        read().contains("greeting=bonjour").then_some(())
    });
}
