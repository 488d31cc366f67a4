//! Server-side API features against a real `orch -dev` agent: the event stream, prefix
//! search, filter expressions and pagination.

mod common;

use std::time::Duration;

use common::*;

/// Reads newline-delimited JSON lines from a streaming response.
struct Lines {
    resp: reqwest::Response,
    buf: Vec<u8>,
}

impl Lines {
    async fn next(&mut self) -> serde_json::Value {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return serde_json::from_slice(&line).unwrap();
            }
            let chunk = tokio::time::timeout(Duration::from_secs(15), self.resp.chunk())
                .await
                .expect("a line within 15 s")
                .unwrap()
                .expect("stream still open");
            self.buf.extend_from_slice(&chunk);
        }
    }
}

async fn subscribe(agent: &Agent, query: &str) -> Lines {
    let resp = orch_daemon::tls::http_client()
        .get(format!("{}/v1/event/stream?{query}", agent.http))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    Lines {
        resp,
        buf: Vec::new(),
    }
}

#[test]
fn event_stream_reports_commits_live_and_from_an_index() {
    let dir = temp_dir("events");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut jobs = subscribe(&agent, "topic=Job:web").await;
        let resp = orch_daemon::tls::http_client()
            .put(format!("{}/v1/jobs", agent.http))
            .json(&example_job())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let line = jobs.next().await;
        let ev = &line["Events"][0];
        assert_eq!(ev["Topic"], "Job");
        assert_eq!(ev["Type"], "JobRegistered");
        assert_eq!(ev["Key"], "web");
        assert_eq!(ev["Payload"]["Job"]["ID"], "web");
        let index = line["Index"].as_u64().unwrap();
        assert_eq!(ev["Index"].as_u64(), Some(index));

        // A late subscriber replays from an index: the registration's evaluation is there.
        let mut evals = subscribe(&agent, &format!("topic=Evaluation:web&index={index}")).await;
        let line = evals.next().await;
        assert_eq!(line["Index"].as_u64(), Some(index));
        let ev = &line["Events"][0];
        assert_eq!(ev["Topic"], "Evaluation");
        assert_eq!(ev["Payload"]["Evaluation"]["JobID"], "web");
        // The scheduler then updates it (no nodes: complete with a blocked eval).
        let line = evals.next().await;
        assert!(line["Index"].as_u64().unwrap() > index, "{line}");

        let resp = orch_daemon::tls::http_client()
            .get(format!("{}/v1/event/stream?topic=Jobs", agent.http))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
    });
    drop(agent);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn search_filter_and_pages_on_a_real_agent() {
    let dir = temp_dir("search");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    for id in ["web", "api"] {
        let mut job = example_job();
        job["Job"]["ID"] = id.into();
        job["Job"]["Name"] = id.into();
        let (code, body) = send(&agent, "PUT", "/v1/jobs", job);
        assert_eq!(code, 200, "{body}");
    }
    let (code, body) = send(
        &agent,
        "PUT",
        "/v1/search",
        serde_json::json!({"Prefix": "w", "Context": "jobs"}),
    );
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["Matches"]["jobs"], serde_json::json!(["web"]));
    let (code, jobs) = get(&agent, "/v1/jobs?filter=ID%20%3D%3D%20%22api%22");
    assert_eq!(code, 200);
    assert_eq!(jobs.as_array().map(Vec::len), Some(1), "{jobs}");
    let (code, page) = get(&agent, "/v1/jobs?per_page=1");
    assert_eq!(code, 200);
    assert_eq!(page[0]["ID"], "api");
    let (code, page) = get(&agent, "/v1/jobs?per_page=1&next_token=default.web");
    assert_eq!(code, 200);
    assert_eq!(page[0]["ID"], "web");
    assert_eq!(get(&agent, "/v1/jobs?filter=ID%20%3D").0, 400);
    drop(agent);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn forced_gc_removes_a_stopped_job() {
    let dir = temp_dir("gc");
    let cfg = dir.join("gc.hcl");
    std::fs::write(&cfg, "server {\n  job_gc_threshold = \"1h\"\n}\n").unwrap();
    let agent = start(&dir, &["-dev", "-config", cfg.to_str().unwrap()]);
    wait_leader(&agent);
    let (code, body) = send(&agent, "PUT", "/v1/jobs", example_job());
    assert_eq!(code, 200, "{body}");
    let (code, body) = send(&agent, "DELETE", "/v1/job/web", serde_json::Value::Null);
    assert_eq!(code, 200, "{body}");
    // The stop's evaluation must finish before the job is dead and collectable.
    let mut gone = false;
    for _ in 0..100 {
        let (code, body) = send(&agent, "PUT", "/v1/system/gc", serde_json::Value::Null);
        assert_eq!(code, 200, "{body}");
        if get(&agent, "/v1/job/web").0 == 404 {
            gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(gone, "the stopped job was collected");
    let (_, evals) = get(&agent, "/v1/evaluations");
    assert_eq!(evals, serde_json::json!([]), "its evaluations went with it");
    let (code, _) = send(
        &agent,
        "PUT",
        "/v1/system/reconcile/summaries",
        serde_json::Value::Null,
    );
    assert_eq!(code, 200);
    drop(agent);
    let _ = std::fs::remove_dir_all(dir);
}
