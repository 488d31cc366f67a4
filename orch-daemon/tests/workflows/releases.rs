//! Releases (deployment groups) on the real binary: two jobs released together; a new
//! release whose second job fails rolls both back to their versions of the last
//! successful release. Every wait polls with a deadline.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::common::*;

fn jobspec(id: &str, version: &str, script: &str) -> String {
    format!(
        r#"
job "{id}" {{
  group "g" {{
    count = 1
    update {{
      max_parallel      = 1
      min_healthy_time  = "1s"
      healthy_deadline  = "1m"
      progress_deadline = "2m"
    }}
    restart {{
      attempts = 0
      mode     = "fail"
    }}
    reschedule {{
      attempts  = 0
      unlimited = false
    }}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "{script}"]
      }}
      env {{ VERSION = "{version}" }}
      resources {{
        cpu    = 20
        memory = 16
      }}
    }}
  }}
}}
"#
    )
}

const GOOD: &str = "while true; do sleep 1; done";

/// Writes `a.nomad.hcl`, `b.nomad.hcl` and `release.hcl` into `dir`.
fn write_release(dir: &Path, version: &str, b_script: &str) -> String {
    std::fs::write(dir.join("a.nomad.hcl"), jobspec("rel-a", version, GOOD)).unwrap();
    std::fs::write(dir.join("b.nomad.hcl"), jobspec("rel-b", version, b_script)).unwrap();
    let spec = dir.join("release.hcl");
    std::fs::write(
        &spec,
        "release \"shop\" {\n  jobs = [\"a.nomad.hcl\", \"b.nomad.hcl\"]\n}\n",
    )
    .unwrap();
    spec.display().to_string()
}

fn release_run(agent: &Agent, spec: &str) -> String {
    let out = orch_cli(agent, &["release", "run", spec]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "release run: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.split("ID ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_default()
        .to_string()
}

fn wait_release(agent: &Agent, id: &str, status: &str) -> Value {
    wait_for(
        Duration::from_secs(180),
        &format!("release {id} {status}"),
        || {
            let (_, r) = get(agent, &format!("/v1/release/{id}"));
            (r["Status"] == status).then_some(r)
        },
    )
}

/// The env `VERSION` of the job's current spec, and its version number.
fn current(agent: &Agent, job: &str) -> (String, u64) {
    let (_, j) = get(agent, &format!("/v1/job/{job}"));
    (
        j["TaskGroups"][0]["Tasks"][0]["Env"]["VERSION"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        j["Version"].as_u64().unwrap_or(0),
    )
}

#[test]
fn a_release_whose_second_job_fails_rolls_both_back() {
    let dir = temp_dir("wf-release");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let work = dir.join("specs");
    std::fs::create_dir_all(&work).unwrap();

    let first = release_run(&agent, &write_release(&work, "1", GOOD));
    let r1 = wait_release(&agent, &first, "successful");
    assert_eq!(r1["Version"], 1, "{r1}");
    assert_eq!(current(&agent, "rel-a"), ("1".into(), 0));
    // Each job's source is kept with its version, as `job run` keeps it.
    let (code, sub) = get(&agent, "/v1/job/rel-b/submission?version=0");
    assert_eq!(code, 200, "{sub}");
    let source = sub["Source"].as_str().unwrap_or_default();
    assert!(source.contains("job \"rel-b\""), "{sub}");
    assert_eq!(sub["Format"], "hcl2");
    // The Release topic of the event stream: registered, then successful.
    let created = first_events(&agent, "topic=Release:shop&index=1", "");
    assert_eq!(
        created["Events"][0]["Type"], "ReleaseRegistered",
        "{created}"
    );
    assert_eq!(created["Events"][0]["Key"], first.as_str());
    let since = format!("topic=Release&index={}", r1["ModifyIndex"]);
    let done = first_events(&agent, &since, "");
    assert_eq!(done["Events"][0]["Type"], "ReleaseStatusUpdate", "{done}");
    assert_eq!(
        done["Events"][0]["Payload"]["Release"]["Status"],
        "successful"
    );

    // Release 2: a is fine, b exits at once and its deployment fails.
    let second = release_run(&agent, &write_release(&work, "2", "exit 1"));
    let r2 = wait_release(&agent, &second, "failed");
    let why = r2["StatusDescription"].as_str().unwrap_or_default();
    assert!(
        why.contains("rel-b") && why.contains("rolling back to release version 1"),
        "{r2}"
    );
    // Both jobs are back at release 1's spec, as a new version each, and run it.
    for job in ["rel-a", "rel-b"] {
        wait_for(
            Duration::from_secs(120),
            &format!("{job} rolled back"),
            || {
                let (env, version) = current(&agent, job);
                (env == "1" && version == 2).then_some(())
            },
        );
        wait_for(
            Duration::from_secs(120),
            &format!("{job} running v2"),
            || {
                job_allocs(&agent, job)
                    .into_iter()
                    .find(|a| a["JobVersion"] == 2 && a["ClientStatus"] == "running")
            },
        );
    }

    let out = orch_cli(&agent, &["release", "list"]);
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("successful") && list.contains("failed"),
        "{list}"
    );
    let out = orch_cli(&agent, &["release", "status", &second]);
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.contains("failed") && status.contains("rel-b"),
        "{status}"
    );

    // A release without jobs is refused, naming the field.
    let (code, body) = send(
        &agent,
        "PUT",
        "/v1/releases",
        serde_json::json!({"Release": {"Name": "x", "Jobs": []}}),
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("Release.Jobs"), "{body}");
    // So is one past the limit of jobs, and a bad job names its place in the list.
    let many: Vec<Value> = (0..33).map(|_| serde_json::json!({})).collect();
    let (code, body) = send(
        &agent,
        "PUT",
        "/v1/releases",
        serde_json::json!({"Release": {"Name": "x", "Jobs": many}}),
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("1 to 32 jobs"), "{body}");
    let (code, body) = send(
        &agent,
        "PUT",
        "/v1/releases",
        serde_json::json!({"Release": {"Name": "x", "Jobs": [{"ID": "j", "Priority": "high"}]}}),
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("Release.Jobs[0]"), "{body}");
}

#[test]
fn releases_need_submit_job_and_read_job_in_their_jobs_namespaces() {
    let dir = temp_dir("wf-release-acl");
    let cfg = dir.join("acl.hcl");
    std::fs::write(&cfg, "acl {\n  enabled = true\n}\n").unwrap();
    let agent = start(&dir, &["-dev", "-config", cfg.to_str().unwrap()]);
    wait_leader(&agent);
    let (code, body) = send(&agent, "POST", "/v1/acl/bootstrap", Value::Null);
    assert_eq!(code, 200, "{body}");
    let mgmt = serde_json::from_str::<Value>(&body).unwrap()["SecretID"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let policy = serde_json::json!({
        "Name": "reader",
        "Rules": "namespace \"default\" { policy = \"read\" }",
    });
    let (code, body) = send_token(&agent, "POST", "/v1/acl/policy/reader", &mgmt, policy);
    assert_eq!(code, 200, "{body}");
    let token = serde_json::json!({"Name": "r", "Type": "client", "Policies": ["reader"]});
    let (code, body) = send_token(&agent, "POST", "/v1/acl/token", &mgmt, token);
    assert_eq!(code, 200, "{body}");
    let reader = serde_json::from_str::<Value>(&body).unwrap()["SecretID"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let job = orch_parse(&jobspec("rel-acl", "1", GOOD));
    let release = serde_json::json!({"Release": {"Name": "acl", "Jobs": [job]}});
    let (code, body) = send_token(&agent, "PUT", "/v1/releases", &reader, release.clone());
    assert_eq!(code, 403, "a reader may not submit: {body}");
    let (code, body) = send_token(&agent, "PUT", "/v1/releases", &mgmt, release);
    assert_eq!(code, 200, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["ID"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let (code, body) = send_token(&agent, "GET", "/v1/releases", &reader, Value::Null);
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains(&id),
        "a reader of the namespace sees it: {body}"
    );
    let (code, body) = send_token(&agent, "GET", "/v1/releases", "", Value::Null);
    assert!(
        code == 403 || !body.contains(&id),
        "anonymous: {code} {body}"
    );
    let (code, body) = send_token(&agent, "GET", &format!("/v1/release/{id}"), "", Value::Null);
    assert_eq!(code, 403, "anonymous read: {body}");
}
