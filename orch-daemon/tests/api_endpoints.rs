//! Endpoints Nomad tools call, on a real `orch agent -dev` with a real HTTP client:
//! a job's and an allocation's services and checks, `/v1/jobs/statuses`,
//! `/v1/evaluations/count`, node purge, dispatch's `IdPrefixTemplate`, `evaluate` with
//! `ForceReschedule`, and Nomad's refusals (a foreign `?region=`, an empty validate
//! body, `HCLv1` parsing).

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(90);

fn parsed(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// Status, `X-Nomad-NextToken` and JSON body of a GET.
fn get_paged(agent: &Agent, path: &str) -> (u16, Option<String>, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = orch_daemon::tls::http_client()
            .get(format!("{}{path}", agent.http))
            .send()
            .await
            .unwrap();
        let next = r
            .headers()
            .get("x-nomad-nexttoken")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let status = r.status().as_u16();
        (status, next, r.json().await.unwrap_or(Value::Null))
    })
}

const SERVICE_JOB: &str = r#"job "svc" {
  group "g" {
    network {
      port "http" {}
    }
    service {
      name     = "svc-http"
      provider = "nomad"
      port     = "http"
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["300"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}"#;

/// A batch job whose only allocation fails at once and is never retried or
/// rescheduled by its policies.
const FAILING_JOB: &str = r#"job "fails" {
  type = "batch"
  group "g" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "exit 1"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}"#;

/// A task that writes ten known bytes into the shared alloc dir, then idles.
const WRITER_JOB: &str = r#"job "writer" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "printf 0123456789 > $NOMAD_ALLOC_DIR/data.txt; sleep 300"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}"#;

const DONE_JOB: &str = r#"job "done" {
  type = "batch"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}"#;

const DISPATCH_JOB: &str = r#"job "work" {
  type = "batch"
  parameterized {}
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}"#;

#[test]
fn services_statuses_counts_and_refusals_follow_nomad() {
    let dir = temp_dir("api-endpoints");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(&agent, SERVICE_JOB);
    let alloc = wait_for(WAIT, "the service registered", || {
        let (_, regs) = get(&agent, "/v1/job/svc/services");
        let r = regs.as_array()?.first()?.clone();
        Some(r["AllocID"].as_str()?.to_string())
    });
    let (status, regs) = get(&agent, &format!("/v1/allocation/{alloc}/services"));
    assert_eq!(status, 200);
    assert_eq!(regs[0]["ServiceName"], "svc-http");
    let (status, text) = get_text(&agent, "/v1/job/nope/services");
    assert_eq!((status, text.trim()), (404, "job not found"));
    let (status, text) = get_text(&agent, "/v1/allocation/nope/services");
    assert_eq!((status, text.trim()), (404, "alloc not found"));
    let batch = first_events(&agent, "topic=Service&index=1", "");
    let event = &batch["Events"][0];
    assert_eq!(
        (event["Topic"].as_str(), event["Type"].as_str()),
        (Some("Service"), Some("ServiceRegistration"))
    );
    assert_eq!(event["Payload"]["Service"]["ServiceName"], "svc-http");
    let (status, checks) = get(&agent, &format!("/v1/allocation/{alloc}/checks"));
    assert_eq!(status, 200, "{checks}");
    assert!(checks.is_object(), "{checks}");

    // /v1/jobs/statuses: the job with its allocations, newest change first, paged.
    run_hcl(&agent, DISPATCH_JOB);
    let (status, jobs) = get(&agent, "/v1/jobs/statuses");
    assert_eq!(status, 200);
    let ids: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|j| j["ID"].as_str())
        .collect();
    assert_eq!(ids, ["work", "svc"], "newest change first");
    let svc = &jobs[1];
    assert_eq!(svc["GroupCountSum"], 1);
    assert_eq!(svc["Allocs"][0]["ID"], alloc.as_str());
    assert_eq!(
        jobs[0]["ChildStatuses"],
        json!([]),
        "a parameterized job lists its children"
    );
    let (status, next, page) = get_paged(&agent, "/v1/jobs/statuses?per_page=1");
    assert_eq!((status, page.as_array().map(Vec::len)), (200, Some(1)));
    let token = next.expect("a next token");
    let (_, next, rest) = get_paged(
        &agent,
        &format!("/v1/jobs/statuses?per_page=1&next_token={token}"),
    );
    assert_eq!(rest[0]["ID"], "svc");
    assert!(next.is_none());
    let (status, body) = send(
        &agent,
        "POST",
        "/v1/jobs/statuses",
        json!({"Jobs": [{"ID": "svc", "Namespace": "default"}]}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(parsed(&body).as_array().map(Vec::len), Some(1));

    // Dispatch with an ID prefix.
    let (status, body) = send(
        &agent,
        "PUT",
        "/v1/job/work/dispatch",
        json!({"IdPrefixTemplate": "nightly"}),
    );
    assert_eq!(status, 200, "{body}");
    let child = parsed(&body)["DispatchedJobID"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(child.starts_with("work/dispatch-nightly-"), "{child}");
    let (status, body) = send(
        &agent,
        "PUT",
        "/v1/job/work/dispatch",
        json!({"IdPrefixTemplate": "has space"}),
    );
    assert_eq!(status, 400, "{body}");

    // Evaluations counted, with a filter.
    let (status, count) = get(&agent, "/v1/evaluations/count");
    assert_eq!(status, 200);
    assert!(count["Count"].as_u64().unwrap() >= 2, "{count}");
    let (_, count) = get(
        &agent,
        "/v1/evaluations/count?filter=JobID%20%3D%3D%20%22svc%22",
    );
    assert_eq!(count["Count"], 1, "{count}");

    // The agent's host, also when its own node is named.
    let (status, host) = get(&agent, "/v1/agent/host");
    assert_eq!(status, 200, "{host}");
    assert!(
        host["HostData"]["OS"]
            .as_str()
            .unwrap_or_default()
            .contains("Linux"),
        "{host}"
    );
    assert!(
        host["HostData"]["Disk"]["/"]["DiskMB"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "{host}"
    );
    let loopback = host["HostData"]["Network"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["address"] == "127.0.0.1");
    assert!(loopback, "{host}");
    let node = host["AgentID"].as_str().unwrap_or_default().to_string();
    let (status, again) = get(&agent, &format!("/v1/agent/host?node_id={node}"));
    assert_eq!((status, &again["AgentID"]), (200, &json!(node)));
    assert_eq!(get(&agent, "/v1/agent/host?node_id=nope").0, 404);

    // Refusals in Nomad's words.
    let (status, text) = get_text(&agent, "/v1/jobs?region=mars");
    assert_eq!(status, 500);
    assert!(text.starts_with("No path to region"), "{text}");
    assert_eq!(get(&agent, "/v1/jobs?region=global").0, 200);
    let (status, body) = send(&agent, "PUT", "/v1/validate/job", Value::Null);
    assert_eq!((status, body.trim()), (400, "Job must be specified"));
    let (status, body) = send(
        &agent,
        "PUT",
        "/v1/jobs/parse",
        json!({"JobHCL": SERVICE_JOB, "HCLv1": true}),
    );
    assert_eq!(status, 400);
    assert!(body.contains("HCLv1"), "{body}");
}

#[test]
fn files_are_read_by_range_and_streamed_in_frames() {
    let dir = temp_dir("api-files");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(&agent, WRITER_JOB);
    let alloc = wait_for(WAIT, "the file written", || {
        let a = job_allocs(&agent, "writer").first()?["ID"]
            .as_str()?
            .to_string();
        let (status, text) = get_text(
            &agent,
            &format!("/v1/client/fs/cat/{a}?path=/alloc/data.txt"),
        );
        (status == 200 && text == "0123456789").then_some(a)
    });
    let base = format!("/v1/client/fs/readat/{alloc}?path=/alloc/data.txt");
    assert_eq!(
        get_text(&agent, &format!("{base}&offset=2&limit=3")),
        (200, "234".to_string())
    );
    let (status, text) = get_text(&agent, &base);
    assert_eq!(
        (status, text.trim()),
        (400, "must provide a limit: the number of bytes to read")
    );
    let stream = format!("/v1/client/fs/stream/{alloc}?path=/alloc/data.txt");
    let (status, frames) = get_text(&agent, &stream);
    assert_eq!(status, 200);
    let frame: Value = serde_json::from_str(frames.lines().next().unwrap_or_default()).unwrap();
    assert_eq!(
        (frame["File"].as_str(), frame["Offset"].as_u64()),
        (Some("alloc/data.txt"), Some(10))
    );
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD
        .decode(frame["Data"].as_str().unwrap())
        .unwrap();
    assert_eq!(data, b"0123456789");
    let tail = get_text(&agent, &format!("{stream}&origin=end&offset=4&plain=True"));
    assert_eq!(tail, (200, "6789".to_string()));
    let (status, _) = get_text(
        &agent,
        &format!("/v1/client/fs/stream/{alloc}?path=/../etc/passwd"),
    );
    assert_eq!(status, 400);

    // Client GC: a running allocation is refused, a finished one's directory removed.
    let (status, body) = send(
        &agent,
        "PUT",
        &format!("/v1/client/allocation/{alloc}/gc"),
        Value::Null,
    );
    assert_eq!(status, 400, "{body}");
    run_hcl(&agent, DONE_JOB);
    let done = wait_for(WAIT, "the batch job completed", || {
        let a = job_allocs(&agent, "done").first()?.clone();
        (a["ClientStatus"] == "complete").then(|| a["ID"].as_str().unwrap_or_default().to_string())
    });
    let ls = |id: &str| get_text(&agent, &format!("/v1/client/fs/ls/{id}?path=/")).0;
    assert_eq!(ls(&done), 200);
    let (status, body) = send(
        &agent,
        "PUT",
        &format!("/v1/client/allocation/{done}/gc"),
        Value::Null,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(ls(&done), 404);
    let (status, body) = send(&agent, "PUT", "/v1/client/gc", Value::Null);
    assert_eq!(status, 200, "{body}");
    assert_eq!(ls(&alloc), 200, "running allocations stay");
}

#[test]
fn force_reschedule_replaces_failed_allocations_and_purge_removes_a_node() {
    let dir = temp_dir("api-force");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(&agent, FAILING_JOB);
    let failed = wait_for(WAIT, "the allocation failed", || {
        let allocs = job_allocs(&agent, "fails");
        let a = allocs.first()?;
        (a["ClientStatus"] == "failed").then(|| a["ID"].as_str().unwrap_or_default().to_string())
    });
    // Its policies give up: without forcing, nothing replaces it.
    let (_, job) = get(&agent, "/v1/job/fails");
    let (status, body) = send(&agent, "PUT", "/v1/job/fails/evaluate", json!({}));
    assert_eq!(status, 200, "{body}");
    // Nomad answers the job's ModifyIndex (when it was evaluated), not 0.
    let answered = parsed(&body)["JobModifyIndex"].as_u64().unwrap_or(0);
    let before = job["ModifyIndex"].as_u64().unwrap_or(u64::MAX);
    assert!(answered >= before && answered > 0, "{body} vs {before}");
    let eval = parsed(&body)["EvalID"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    wait_for(WAIT, "the plain evaluation completes", || {
        let (_, e) = get(&agent, &format!("/v1/evaluation/{eval}"));
        (e["Status"] == "complete").then_some(())
    });
    assert_eq!(job_allocs(&agent, "fails").len(), 1);
    let (status, body) = send(
        &agent,
        "PUT",
        "/v1/job/fails/evaluate",
        json!({"EvalOptions": {"ForceReschedule": true}}),
    );
    assert_eq!(status, 200, "{body}");
    wait_for(WAIT, "a replacement of the failed allocation", || {
        let allocs = job_allocs(&agent, "fails");
        allocs
            .iter()
            .any(|a| a["RescheduleTracker"]["Events"][0]["PrevAllocID"] == failed.as_str())
            .then_some(())
    });

    // Purge: a node without live allocations is removed at once.
    let node = json!({"Node": {
        "ID": "5b1b8f0e-0000-4000-8000-00000000beef", "Name": "spare", "Datacenter": "dc1",
        "SecretID": "9a1b8f0e-0000-4000-8000-00000000cafe",
        "Attributes": {"kernel.name": "linux"},
        "NodeResources": {"Cpu": {"CpuShares": 1000}, "Memory": {"MemoryMB": 1024}, "Disk": {"DiskMB": 1000}}
    }});
    let (status, body) = send(&agent, "PUT", "/v1/internal/node/register", node);
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        &agent,
        "PUT",
        "/v1/node/5b1b8f0e-0000-4000-8000-00000000beef/purge",
        Value::Null,
    );
    assert_eq!(status, 200, "{body}");
    assert!(parsed(&body)["EvalIDs"].is_array(), "{body}");
    let (status, _) = get(&agent, "/v1/node/5b1b8f0e-0000-4000-8000-00000000beef");
    assert_eq!(status, 404);
    let (status, _) = send(&agent, "PUT", "/v1/node/nope/purge", Value::Null);
    assert_eq!(status, 404);
}
