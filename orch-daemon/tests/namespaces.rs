//! Namespaces and quotas on a real `orch agent -dev`: CRUD over HTTP and the CLI, jobs
//! refused in a missing namespace, delete guards, and a quota that queues work beyond
//! it until another job of the namespace stops.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

fn job_hcl(id: &str, count: u32) -> String {
    format!(
        r#"
job "{id}" {{
  group "g" {{
    count = {count}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sleep"
        args    = ["300"]
      }}
      resources {{
        cpu    = 200
        memory = 32
      }}
    }}
  }}
}}
"#
    )
}

/// Registers a job into `namespace` through the API; returns status and body.
fn register_in(agent: &Agent, namespace: &str, id: &str, count: u32) -> (u16, String) {
    let mut job = orch_parse(&job_hcl(id, count));
    job["Namespace"] = json!(namespace);
    send(
        agent,
        "PUT",
        &format!("/v1/jobs?namespace={namespace}"),
        json!({ "Job": job }),
    )
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn cli_ok(agent: &Agent, args: &[&str]) -> String {
    let o = orch_cli(agent, args);
    assert!(o.status.success(), "orch {args:?}: {}", stderr(&o));
    stdout(&o)
}

fn cli_fails(agent: &Agent, args: &[&str]) -> String {
    let o = orch_cli(agent, args);
    assert!(
        !o.status.success(),
        "orch {args:?} should fail: {}",
        stdout(&o)
    );
    stderr(&o)
}

#[test]
fn namespaces_crud_missing_namespace_and_delete_guards() {
    let dir = temp_dir("namespaces");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);

    // CLI create with flags, then list and status.
    let out = cli_ok(
        &agent,
        &["namespace", "apply", "-description", "Team A", "team-a"],
    );
    assert!(
        out.contains("Successfully applied namespace \"team-a\"!"),
        "{out}"
    );
    let list = cli_ok(&agent, &["namespace", "list"]);
    assert!(list.starts_with("Name"), "{list}");
    assert!(
        list.contains("default") && list.contains("Team A"),
        "{list}"
    );
    let status = cli_kv(&cli_ok(&agent, &["namespace", "status", "team-a"]));
    assert!(
        status.contains(&("Description".into(), "Team A".into())),
        "{status:?}"
    );
    // A spec file with meta and capabilities.
    let spec = dir.join("ns.hcl");
    std::fs::write(
        &spec,
        "name = \"team-b\"\ndescription = \"B\"\ncapabilities {\n  enabled_task_drivers = [\"raw_exec\"]\n}\nmeta {\n  owner = \"bob\"\n}\n",
    )
    .unwrap();
    cli_ok(&agent, &["namespace", "apply", spec.to_str().unwrap()]);
    let (code, b) = get(&agent, "/v1/namespace/team-b");
    assert_eq!(code, 200);
    assert_eq!(b["Meta"]["owner"], "bob");
    assert_eq!(b["Capabilities"]["EnabledTaskDrivers"], json!(["raw_exec"]));
    let status = cli_ok(&agent, &["namespace", "status", "team-b"]);
    assert!(
        status.contains("EnabledDrivers  = raw_exec") || status.contains("raw_exec"),
        "{status}"
    );
    let listed: Value =
        serde_json::from_str(&cli_ok(&agent, &["namespace", "list", "-json"])).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");

    // Bounded input, refused naming the field.
    let meta: serde_json::Map<String, Value> =
        (0..65).map(|i| (format!("k{i}"), json!("v"))).collect();
    let (code, body) = send(&agent, "PUT", "/v1/namespace/big", json!({"Meta": meta}));
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("Meta: 65 entries"), "{body}");
    let (code, body) = send(
        &agent,
        "PUT",
        "/v1/namespace/big",
        json!({"Description": "x".repeat(300)}),
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("Description"), "{body}");

    // HTTP create and prefix list.
    let (code, body) = send(
        &agent,
        "PUT",
        "/v1/namespace/team-c",
        json!({"Description": "C"}),
    );
    assert_eq!(code, 200, "{body}");
    let (_, list) = get(&agent, "/v1/namespaces?prefix=team-c");
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");

    // Jobs into a namespace that does not exist are refused, naming it.
    let (code, body) = register_in(&agent, "nope", "web", 1);
    assert_eq!(code, 400, "{body}");
    assert!(
        body.contains("job \"web\" is in nonexistent namespace \"nope\""),
        "{body}"
    );
    let jobfile = dir.join("web.hcl");
    let in_nope =
        job_hcl("web", 1).replacen("job \"web\" {", "job \"web\" {\n  namespace = \"nope\"", 1);
    std::fs::write(&jobfile, in_nope).unwrap();
    let err = cli_fails(
        &agent,
        &["job", "run", "-detach", jobfile.to_str().unwrap()],
    );
    assert!(err.contains("nonexistent namespace \"nope\""), "{err}");
    // -namespace places a job whose spec names none.
    let plain = dir.join("plain.hcl");
    std::fs::write(&plain, job_hcl("web", 1)).unwrap();
    let err = cli_fails(
        &agent,
        &[
            "job",
            "run",
            "-namespace",
            "nope",
            "-detach",
            plain.to_str().unwrap(),
        ],
    );
    assert!(err.contains("nonexistent namespace \"nope\""), "{err}");
    cli_ok(
        &agent,
        &[
            "job",
            "run",
            "-namespace",
            "team-c",
            "-detach",
            plain.to_str().unwrap(),
        ],
    );
    assert_eq!(get(&agent, "/v1/job/web?namespace=team-c").0, 200);
    assert_eq!(get(&agent, "/v1/job/web").0, 404);

    // A namespace holding a job cannot be deleted until the job is purged.
    let (code, body) = register_in(&agent, "team-a", "web", 1);
    assert_eq!(code, 200, "{body}");
    let err = cli_fails(&agent, &["namespace", "delete", "team-a"]);
    assert!(err.contains("has 1 jobs"), "{err}");
    let (code, body) = send(
        &agent,
        "DELETE",
        "/v1/job/web?namespace=team-a&purge=true",
        json!({}),
    );
    assert_eq!(code, 200, "{body}");
    let out = cli_ok(&agent, &["namespace", "delete", "team-a"]);
    assert!(
        out.contains("Successfully deleted namespace \"team-a\"!"),
        "{out}"
    );
    assert_eq!(get(&agent, "/v1/namespace/team-a").0, 404);
    // default stays.
    let (code, body) = send(&agent, "DELETE", "/v1/namespace/default", json!({}));
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("cannot be deleted"), "{body}");
}

/// The evaluation of `job` whose failed placement metrics show the quota hit.
fn quota_failure(agent: &Agent, job: &str) -> Option<Vec<Value>> {
    let (_, evals) = get(agent, &format!("/v1/job/{job}/evaluations?namespace=team"));
    evals.as_array()?.iter().find_map(|e| {
        let q = e["FailedTGAllocs"]["g"]["QuotaExhausted"].as_array()?;
        (!q.is_empty()).then(|| q.clone())
    })
}

fn running(agent: &Agent, job: &str) -> usize {
    let (_, allocs) = get(agent, &format!("/v1/job/{job}/allocations?namespace=team"));
    allocs
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run")
        .count()
}

#[test]
fn a_quota_queues_work_beyond_it_until_another_job_stops() {
    let dir = temp_dir("quota");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let spec = dir.join("quota.hcl");
    std::fs::write(
        &spec,
        "name = \"small\"\ndescription = \"500 MHz\"\nlimit {\n  region = \"global\"\n  region_limit {\n    cpu = 500\n  }\n}\n",
    )
    .unwrap();
    let out = cli_ok(&agent, &["quota", "apply", spec.to_str().unwrap()]);
    assert!(
        out.contains("Successfully applied quota specification \"small\"!"),
        "{out}"
    );
    cli_ok(&agent, &["namespace", "apply", "-quota", "small", "team"]);
    let err = cli_fails(&agent, &["quota", "delete", "small"]);
    assert!(err.contains("attached to namespaces team"), "{err}");

    // 2 × 200 MHz fit the 500 MHz quota.
    let (code, body) = register_in(&agent, "team", "a", 2);
    assert_eq!(code, 200, "{body}");
    wait_for(WAIT, "job a's two allocations running", || {
        (running(&agent, "a") == 2).then_some(())
    });
    // One more 200 MHz does not: it queues with the quota named in its metrics.
    let (code, body) = register_in(&agent, "team", "b", 1);
    assert_eq!(code, 200, "{body}");
    let hit = wait_for(WAIT, "job b's quota failure", || quota_failure(&agent, "b"));
    assert_eq!(hit, vec![json!("cpu exhausted (600 needed > 500 limit)")]);
    let (_, evals) = get(&agent, "/v1/job/b/evaluations?namespace=team");
    assert!(
        evals
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["Status"] == "blocked"),
        "{evals}"
    );
    assert_eq!(running(&agent, "b"), 0);
    let status = cli_ok(&agent, &["job", "status", "-namespace", "team", "b"]);
    assert!(status.contains("Quota limit hit"), "{status}");
    // The quota's usage says why.
    let usage = cli_ok(&agent, &["quota", "status", "small"]);
    assert!(usage.contains("400 / 500"), "{usage}");
    let (_, u) = get(&agent, "/v1/quota/usage/small");
    let used: Vec<u64> = u["Used"]
        .as_object()
        .unwrap()
        .values()
        .map(|l| l["RegionLimit"]["CPU"].as_u64().unwrap())
        .collect();
    assert_eq!(used, vec![400]);

    // Stopping job a frees the quota: b is placed and runs.
    let (code, body) = send(&agent, "DELETE", "/v1/job/a?namespace=team", json!({}));
    assert_eq!(code, 200, "{body}");
    wait_for(WAIT, "job b running once a stopped", || {
        (running(&agent, "b") == 1).then_some(())
    });
    let (_, u) = get(&agent, "/v1/quota/usage/small");
    let cpu = u["Used"].as_object().unwrap().values().next().unwrap()["RegionLimit"]["CPU"].clone();
    assert_eq!(cpu, 200, "{u}");
    let list = cli_ok(&agent, &["quota", "list"]);
    assert!(list.contains("small") && list.contains("500 MHz"), "{list}");
}

#[test]
fn a_quotas_variables_limit_refuses_writes_past_it() {
    let dir = temp_dir("quota-vars");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let spec = dir.join("quota.hcl");
    std::fs::write(
        &spec,
        "name = \"vars\"\nlimit {\n  region = \"global\"\n  variables_limit = 1\n}\n",
    )
    .unwrap();
    cli_ok(&agent, &["quota", "apply", spec.to_str().unwrap()]);
    cli_ok(&agent, &["namespace", "apply", "-quota", "vars", "store"]);
    // ~60 KB items: about 17 fit in 1 MiB; the write past it is a 400 naming the limit.
    let value = "v".repeat(60_000);
    let mut refused = None;
    for i in 0..30 {
        let path = format!("/v1/var/big/{i}?namespace=store");
        let (code, body) = send(&agent, "PUT", &path, json!({"Items": {"k": value}}));
        if code != 200 {
            refused = Some((i, code, body));
            break;
        }
    }
    let (i, code, body) = refused.expect("a write past the VariablesLimit is refused");
    assert_eq!(code, 400, "{body}");
    assert!((16..=18).contains(&i), "refused at write {i}");
    assert!(body.contains("VariablesLimit is 1 MiB"), "{body}");
    // Freeing room lets the write through; the default namespace has no limit.
    let (code, _) = send(
        &agent,
        "DELETE",
        "/v1/var/big/0?namespace=store",
        Value::Null,
    );
    assert_eq!(code, 200);
    let path = format!("/v1/var/big/{i}?namespace=store");
    let (code, body) = send(&agent, "PUT", &path, json!({"Items": {"k": value}}));
    assert_eq!(code, 200, "{body}");
    let (code, _) = send(
        &agent,
        "PUT",
        "/v1/var/big/x",
        json!({"Items": {"k": value}}),
    );
    assert_eq!(code, 200);
}
