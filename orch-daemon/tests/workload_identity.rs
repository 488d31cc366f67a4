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

/// A server with ACLs on and one client: the server, the client, a management secret.
fn acl_cluster(dir: &std::path::Path) -> (Agent, Agent, String) {
    let config = dir.join("acl.hcl");
    std::fs::write(&config, "acl {\n  enabled = true\n}\n").unwrap();
    let data = dir.join("s1");
    let s = start_server_with(dir, &data, &["-config", config.to_str().unwrap()]);
    let c = start_client(dir, &s, "c1");
    let (_, boot) = call(&s, "POST", "/v1/acl/bootstrap", "", Value::Null);
    let mgmt = boot["SecretID"].as_str().unwrap().to_string();
    (s, c, mgmt)
}

/// The claims of a JWT, undecoded when it is not one.
fn claims_of(token: &str) -> Value {
    let Some(part) = token.trim().split('.').nth(1) else {
        return Value::Null;
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap_or_default();
    json_of(&String::from_utf8_lossy(&bytes))
}

#[test]
fn a_tasks_identity_reads_its_jobs_variables_only() {
    let dir = temp_dir("wi");
    let (s, _c, mgmt) = acl_cluster(&dir);
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
    let (task, by_name) = ids.as_object().unwrap().iter().next().unwrap();
    let token = by_name["default"].as_str().unwrap().to_string();
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

/// The task copies what it was given into `local/`, and again on every SIGHUP.
const IDENTITY_JOB: &str = r#"job "idt" {
  datacenters = ["dc1"]
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", <<EOT
echo "$NOMAD_TOKEN" > "$NOMAD_TASK_DIR/env_token"
echo "$NOMAD_TOKEN_oidc" > "$NOMAD_TASK_DIR/env_oidc"
cp "$NOMAD_SECRETS_DIR/nomad_token" "$NOMAD_TASK_DIR/file_token"
n=0
trap 'n=$((n+1)); cp "$NOMAD_SECRETS_DIR/nomad_oidc.jwt" "$NOMAD_TASK_DIR/oidc_hup"; echo $n > "$NOMAD_TASK_DIR/hups"' HUP
while true; do sleep 1; done
EOT
        ]
      }
      identity {
        env  = true
        file = true
      }
      identity {
        name          = "oidc"
        aud           = ["oidc.example.com"]
        env           = true
        file          = true
        ttl           = "4s"
        change_mode   = "signal"
        change_signal = "SIGHUP"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}"#;

#[test]
fn identity_blocks_expose_tokens_and_renew_the_named_ones() {
    let dir = temp_dir("wi-block");
    let (s, _c, mgmt) = acl_cluster(&dir);
    let parsed = {
        let (code, text) = send_token(
            &s,
            "POST",
            "/v1/jobs/parse",
            &mgmt,
            json!({"JobHCL": IDENTITY_JOB, "Canonicalize": true}),
        );
        assert_eq!(code, 200, "{text}");
        json_of(&text)
    };
    let task = &parsed["TaskGroups"][0]["Tasks"][0];
    assert_eq!(task["Identity"]["Name"], "default", "{task}");
    assert_eq!(task["Identity"]["Audience"], json!(["nomadproject.io"]));
    assert_eq!(task["Identities"][0]["Name"], "oidc");
    assert_eq!(task["Identities"][0]["TTL"], json!(4_000_000_000u64));
    let (code, body) = call(&s, "PUT", "/v1/jobs", &mgmt, json!({"Job": parsed}));
    assert_eq!(code, 200, "{body}");
    let alloc = wait_for(WAIT, "a running allocation", || {
        let (_, allocs) = call(&s, "GET", "/v1/job/idt/allocations", &mgmt, Value::Null);
        let a = allocs.as_array()?.first()?.clone();
        (a["ClientStatus"] == "running").then(|| a["ID"].as_str().unwrap().to_string())
    });
    let read = |file: &str| {
        let path = format!("/v1/client/fs/cat/{alloc}?path=t/local/{file}");
        let (code, text) = send_token(&s, "GET", &path, &mgmt, Value::Null);
        (code == 200).then_some(text)
    };
    let env_token = wait_for(WAIT, "the task wrote its tokens", || read("file_token"));
    assert_eq!(read("env_token").unwrap().trim(), env_token.trim());
    let claims = claims_of(&env_token);
    assert_eq!(claims["aud"], json!(["nomadproject.io"]), "{claims}");
    assert_eq!(claims["nomad_task"], "t");
    assert!(
        claims.get("exp").is_none(),
        "the default identity does not expire"
    );
    // The default token is a Nomad API credential: it reads its job's variables.
    call(
        &s,
        "PUT",
        "/v1/var/nomad/jobs/idt",
        &mgmt,
        json!({"Items": {"k": "v"}}),
    );
    let token = env_token.trim();
    let (code, _) = call(&s, "GET", "/v1/var/nomad/jobs/idt", token, Value::Null);
    assert_eq!(code, 200);
    // `alloc exec` runs in the task's environment, its NOMAD_TOKEN included.
    let exec = ["alloc", "exec", "-task", "t", &alloc, "/bin/sh", "-c"];
    let out = orch_cli_token(
        &s,
        &mgmt,
        &[&exec[..], &["printf %s \"$NOMAD_TOKEN\""]].concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), token);
    // The named one is for a third party: its audience, a 4 s lifetime, no API access.
    let oidc = read("env_oidc").unwrap();
    let c = claims_of(&oidc);
    assert_eq!(c["aud"], json!(["oidc.example.com"]), "{c}");
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 4);
    assert!(c["sub"].as_str().unwrap().ends_with(":idt:g:t:oidc"), "{c}");
    let (code, _) = call(
        &s,
        "GET",
        "/v1/var/nomad/jobs/idt",
        oidc.trim(),
        Value::Null,
    );
    assert_eq!(
        code, 403,
        "a third-party identity is not a Nomad credential"
    );
    // Renewed at half its TTL: the file changes and the task gets its SIGHUP.
    let renewed = wait_for(WAIT, "a renewed oidc token and a SIGHUP", || {
        read("hups")?;
        read("oidc_hup")
    });
    assert_ne!(renewed.trim(), oidc.trim(), "the token was renewed");
    assert_eq!(claims_of(&renewed)["aud"], json!(["oidc.example.com"]));
}

#[test]
fn identity_blocks_are_validated_with_their_field_paths() {
    let dir = temp_dir("wi-invalid");
    let s = start(&dir, &["-dev"]);
    wait_leader(&s);
    let bad = IDENTITY_JOB
        .replace(
            "env  = true\n        file = true",
            "env = true\n        ttl = \"1h\"",
        )
        .replace("change_signal = \"SIGHUP\"", "");
    let body = json!({"JobHCL": bad, "Canonicalize": true});
    let (code, text) = send(&s, "POST", "/v1/jobs/parse", body);
    assert_eq!(code, 400, "{text}");
    assert!(
        text.contains("TaskGroups[0].Tasks[0].Identity.TTL"),
        "{text}"
    );
    assert!(
        text.contains("TaskGroups[0].Tasks[0].Identities[0].ChangeSignal"),
        "{text}"
    );
}

/// The running allocation of `job` and its task's default identity.
fn running_identity(s: &Agent, dir: &std::path::Path, job: &str, mgmt: &str) -> String {
    let (alloc, node) = wait_for(WAIT, "a running allocation", || {
        let (_, allocs) = call(
            s,
            "GET",
            &format!("/v1/job/{job}/allocations"),
            mgmt,
            Value::Null,
        );
        let a = allocs.as_array()?.first()?.clone();
        if a["ClientStatus"] != "running" {
            return None;
        }
        Some((
            a["ID"].as_str()?.to_string(),
            a["NodeID"].as_str()?.to_string(),
        ))
    });
    let (_, secret) = node_identity(&dir.join("c1"));
    let url = format!("/v1/internal/node/{node}/alloc/{alloc}/identities");
    let (code, ids) = call(s, "GET", &url, &secret, Value::Null);
    assert_eq!(code, 200, "{ids}");
    ids["t"]["default"].as_str().unwrap().to_string()
}

#[test]
fn policies_attached_to_a_job_extend_its_identity_and_services_are_implicit() {
    let dir = temp_dir("wi-jobacl");
    let (s, _c, mgmt) = acl_cluster(&dir);
    let (code, body) = call(&s, "PUT", "/v1/jobs", &mgmt, sleep_job("web", "default"));
    assert_eq!(code, 200, "{body}");
    let token = running_identity(&s, &dir, "web", &mgmt);
    let put = call(
        &s,
        "PUT",
        "/v1/var/app/x",
        &mgmt,
        json!({"Items": {"k": "v"}}),
    );
    assert_eq!(put.0, 200);
    assert_eq!(call(&s, "GET", "/v1/var/app/x", &token, Value::Null).0, 403);
    // Nomad's implicit workload policy: service registrations of its namespace.
    let (code, services) = call(&s, "GET", "/v1/services", &token, Value::Null);
    assert_eq!(code, 200, "{services}");
    assert_eq!(
        call(&s, "GET", "/v1/service/none", &token, Value::Null).0,
        200
    );
    let other = call(
        &s,
        "GET",
        "/v1/services?namespace=prod",
        &token,
        Value::Null,
    );
    assert_eq!(other.0, 403, "{}", other.1);

    let rules = "namespace \"default\" {\n  variables {\n    path \"app/*\" {\n      capabilities = [\"read\"]\n    }\n  }\n}\n";
    let attach = |name: &str, acl: Value| {
        send_token(
            &s,
            "PUT",
            &format!("/v1/acl/policy/{name}"),
            &mgmt,
            json!({"Name": name, "Rules": rules, "JobACL": acl}),
        )
    };
    let other_job = json!({"Namespace": "default", "JobID": "api"});
    let (code, text) = attach("for-api", other_job);
    assert_eq!(code, 200, "{text}");
    assert_eq!(call(&s, "GET", "/v1/var/app/x", &token, Value::Null).0, 403);
    let (code, text) = attach("bad", json!({"Namespace": "default", "Group": "g"}));
    assert_eq!(code, 400);
    assert!(text.contains("job ID must be set to set group"), "{text}");

    // Attached through the CLI to the task itself: the identity now reads app/x.
    let rules_file = dir.join("rules.hcl");
    std::fs::write(&rules_file, rules).unwrap();
    let path = rules_file.to_str().unwrap();
    let cli = [
        "acl", "policy", "apply", "-job", "web", "-group", "g", "-task", "t",
    ];
    let out = orch_cli_token(&s, &mgmt, &[&cli[..], &["for-web", path]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, v) = call(&s, "GET", "/v1/var/app/x", &token, Value::Null);
    assert_eq!((code, v["Items"]["k"].as_str()), (200, Some("v")), "{v}");
    let (_, p) = call(&s, "GET", "/v1/acl/policy/for-web", &mgmt, Value::Null);
    let want = json!({"Namespace": "default", "JobID": "web", "Group": "g", "Task": "t"});
    assert_eq!(p["JobACL"], want, "{p}");
    // `acl policy self` with the identity: the policies attached to its task only.
    let (code, mine) = call(&s, "GET", "/v1/acl/policy/self", &token, Value::Null);
    assert_eq!(code, 200, "{mine}");
    let names: Vec<_> = mine
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| &p["Name"])
        .collect();
    assert_eq!(names, [&json!("for-web")], "{mine}");
    let out = orch_cli_token(&s, &token, &["acl", "policy", "self"]);
    let table = String::from_utf8_lossy(&out.stdout);
    let row: Vec<&str> = table
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(row, ["for-web", "web", "g", "t"], "{table}");
    let out = orch_cli_token(&s, &mgmt, &["acl", "policy", "info", "for-web"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Associated Workload") && text.contains("JobID"),
        "{text}"
    );
    let out = orch_cli_token(
        &s,
        &mgmt,
        &["acl", "policy", "apply", "-task", "t", "x", path],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("-task requires -group"));
    // The agent reports the configuration it runs with (ACLs on), not constants.
    let (code, me) = call(&s, "GET", "/v1/agent/self", &mgmt, Value::Null);
    assert_eq!(code, 200);
    let config = &me["config"];
    assert_eq!(config["ACL"]["Enabled"], true, "{config}");
    let port = s
        .http
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u64>().ok());
    assert_eq!(config["Ports"]["HTTP"].as_u64(), port, "{config}");
    assert_eq!(config["Server"]["Enabled"], true, "{config}");
    assert!(
        config["Addresses"]["RPC"]
            .as_str()
            .is_some_and(|a| !a.is_empty())
    );
    // Still only reads: the attached rules grant no write.
    let write = call(
        &s,
        "PUT",
        "/v1/var/app/x",
        &token,
        json!({"Items": {"k": "w"}}),
    );
    assert_eq!(write.0, 403);
}
