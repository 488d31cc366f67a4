//! End-to-end tests of the HTTP API: a real server on `127.0.0.1:0` over a
//! `LocalReplicator`, driven with `reqwest` as Nomad's tools would.

use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_core::model::{Allocation, Node};
use orch_core::state::{ApplyPlanResults, Command, NodeRegister};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{AgentInfo, ApiState, router};
use crate::server::{LocalReplicator, Replicator, StateHandle};

const WEB_HCL: &str = include_str!("../../../examples/web.nomad.hcl");
const NOW: i64 = 1_700_000_000_000_000_000;

struct Env {
    base: String,
    http: reqwest::Client,
    repl: Arc<LocalReplicator>,
}

async fn start() -> Env {
    let state = StateHandle::default();
    let repl = Arc::new(LocalReplicator::new(state.clone(), "127.0.0.1:4647"));
    let api = Arc::new(ApiState::new(state, repl.clone(), AgentInfo::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router(api)).await.unwrap();
    });
    Env {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        repl,
    }
}

impl Env {
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, u64, String) {
        let url = format!("{}{path}", self.base);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let index = resp
            .headers()
            .get("x-nomad-index")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        (status, index, resp.text().await.unwrap())
    }

    /// A request that must succeed; returns its JSON and `X-Nomad-Index`.
    async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> (Value, u64) {
        let (status, index, text) = self.send(method, path, body).await;
        assert_eq!(status, StatusCode::OK, "{method} {path}: {text}");
        (serde_json::from_str(&text).unwrap(), index)
    }

    async fn get(&self, path: &str) -> Value {
        self.ok("GET", path, None).await.0
    }

    /// A request that must fail with `want`; returns the error text.
    async fn fails(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        want: StatusCode,
    ) -> String {
        let (status, _, text) = self.send(method, path, body).await;
        assert_eq!(status, want, "{method} {path}: {text}");
        text
    }

    async fn apply(&self, cmd: Command) {
        self.repl.propose(cmd).await.unwrap();
    }

    async fn add_node(&self, id: &str) {
        let node: Node = serde_json::from_value(json!({
            "ID": id, "Name": format!("host-{id}"), "Datacenter": "dc1", "Status": "ready",
            "SecretID": "s3cret",
            "Attributes": {"kernel.name": "linux", "driver.raw_exec": "1",
                           "unique.network.ip-address": "10.0.0.1", "nomad.version": "1.9.0"},
            "Drivers": {"raw_exec": {"Detected": true, "Healthy": true}},
            "NodeResources": {
                "Cpu": {"CpuShares": 4000, "TotalCpuCores": 4},
                "Memory": {"MemoryMB": 8192}, "Disk": {"DiskMB": 100000},
                "Networks": [{"Mode": "host", "Device": "eth0", "IP": "10.0.0.1",
                              "CIDR": "10.0.0.1/32", "MBits": 1000}],
                "MinDynamicPort": 20000, "MaxDynamicPort": 32000
            }
        }))
        .unwrap();
        self.apply(Command::NodeRegister(NodeRegister { node, now: NOW }))
            .await;
    }

    /// Parses the web example through `/v1/jobs/parse`, as `nomad job run` does.
    async fn web_job(&self) -> Value {
        self.ok(
            "POST",
            "/v1/jobs/parse",
            Some(json!({"JobHCL": WEB_HCL, "Canonicalize": true})),
        )
        .await
        .0
    }

    /// Places allocations for `job` directly through a plan commit.
    async fn place(&self, job: &str, eval: &str, nodes: &[&str]) -> Vec<String> {
        let mut ids = Vec::new();
        let allocs = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let id = format!("{i:08}-aaaa-4bbb-8ccc-{job:0>12}");
                ids.push(id.clone());
                Allocation {
                    id,
                    namespace: "default".into(),
                    eval_id: eval.into(),
                    name: format!("{job}.frontend[{i}]"),
                    node_id: (*n).into(),
                    job_id: job.into(),
                    task_group: "frontend".into(),
                    desired_status: "run".into(),
                    client_status: "running".into(),
                    ..Allocation::default()
                }
            })
            .collect();
        self.apply(Command::ApplyPlanResults(ApplyPlanResults {
            allocs_to_upsert: allocs,
            allocs_stopped: vec![],
            allocs_preempted: vec![],
            deployment: None,
            deployment_updates: vec![],
            evals: vec![],
            eval_id: String::new(),
            now: NOW,
        }))
        .await;
        ids
    }
}

fn bad_job() -> Value {
    json!({"Job": {"ID": "bad", "Name": "bad", "Datacenters": ["dc1"], "TaskGroups": [{
        "Name": "g", "Count": 1, "Tasks": [{"Name": "t", "Driver": "raw_exec",
        "Config": {"command": "true"}, "Resources": {"CPU": 100, "MemoryMB": 64}}]}]}})
}

#[tokio::test]
async fn job_lifecycle_register_read_list_update_scale_deregister() {
    let env = start().await;
    let job = env.web_job().await;
    assert_eq!(job["ID"], "web");
    assert_eq!(job["TaskGroups"][0]["Count"], 2);

    let (reg, index) = env
        .ok("PUT", "/v1/jobs", Some(json!({"Job": job.clone()})))
        .await;
    assert!(!reg["EvalID"].as_str().unwrap().is_empty());
    assert!(reg["JobModifyIndex"].as_u64().unwrap() > 0);
    assert_eq!(reg["KnownLeader"], true);
    assert_eq!(index, reg["Index"].as_u64().unwrap());

    let (got, index) = env.ok("GET", "/v1/job/web", None).await;
    assert_eq!(got["ID"], "web");
    assert_eq!(got["Version"], 0);
    assert_eq!(got["Status"], "pending");
    assert!(index > 0);

    let mut other = job.clone();
    other["ID"] = json!("api");
    other["Name"] = json!("api");
    env.ok("POST", "/v1/jobs", Some(json!({"Job": other})))
        .await;
    let all = env.get("/v1/jobs").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let web = env.get("/v1/jobs?prefix=we").await;
    assert_eq!(web.as_array().unwrap().len(), 1);
    assert_eq!(web[0]["ID"], "web");
    assert_eq!(web[0]["Type"], "service");
    assert_eq!(web[0]["JobSummary"]["Summary"]["frontend"]["Queued"], 2);
    assert_eq!(env.get("/v1/jobs?prefix=zz").await, json!([]));
    assert_eq!(
        env.get("/v1/jobs?namespace=*")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(env.get("/v1/jobs?namespace=other").await, json!([]));

    // An update through /v1/job/:id makes version 1.
    let mut updated = job.clone();
    updated["TaskGroups"][0]["Tasks"][0]["Env"]["GREETING"] = json!("changed");
    env.ok("POST", "/v1/job/web", Some(json!({"Job": updated})))
        .await;
    let versions = env.get("/v1/job/web/versions").await;
    let list = versions["Versions"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["Version"], 1);
    assert_eq!(list[1]["Version"], 0);

    // Check-and-set with a stale index is refused.
    let text = env
        .fails(
            "PUT",
            "/v1/jobs",
            Some(json!({"Job": job.clone(), "EnforceIndex": true, "JobModifyIndex": 1})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(text.contains("Enforcing job modify index 1"), "{text}");

    // Scale.
    let scaled = env
        .ok(
            "POST",
            "/v1/job/web/scale",
            Some(json!({"Count": 5, "Target": {"Group": "frontend"}, "Message": "more"})),
        )
        .await
        .0;
    assert!(!scaled["EvalID"].as_str().unwrap().is_empty());
    assert_eq!(env.get("/v1/job/web").await["TaskGroups"][0]["Count"], 5);
    let status = env.get("/v1/job/web/scale").await;
    assert_eq!(status["TaskGroups"]["frontend"]["Desired"], 5);
    env.fails(
        "POST",
        "/v1/job/web/scale",
        Some(json!({"Count": 1, "Target": {"Group": "nope"}})),
        StatusCode::BAD_REQUEST,
    )
    .await;

    let summary = env.get("/v1/job/web/summary").await;
    assert_eq!(summary["JobID"], "web");
    assert!(summary["Summary"]["frontend"].is_object());
    let evals = env.get("/v1/job/web/evaluations").await;
    assert_eq!(evals.as_array().unwrap().len(), 3);
    let evaluated = env
        .ok("POST", "/v1/job/web/evaluate", Some(json!({})))
        .await
        .0;
    assert!(!evaluated["EvalID"].as_str().unwrap().is_empty());
    assert_eq!(env.get("/v1/job/web/deployment").await, Value::Null);
    assert_eq!(env.get("/v1/job/web/deployments").await, json!([]));

    // Stable and revert.
    env.ok(
        "POST",
        "/v1/job/web/stable",
        Some(json!({"JobVersion": 0, "Stable": true})),
    )
    .await;
    let reverted = env
        .ok("POST", "/v1/job/web/revert", Some(json!({"JobVersion": 0})))
        .await
        .0;
    assert!(!reverted["EvalID"].as_str().unwrap().is_empty());

    // Stop, then purge.
    let stopped = env.ok("DELETE", "/v1/job/web", None).await.0;
    assert!(!stopped["EvalID"].as_str().unwrap().is_empty());
    assert_eq!(env.get("/v1/job/web").await["Stop"], true);
    env.ok("DELETE", "/v1/job/web?purge=true", None).await;
    let text = env
        .fails("GET", "/v1/job/web", None, StatusCode::NOT_FOUND)
        .await;
    assert_eq!(text, "job not found");
    env.fails("DELETE", "/v1/job/web", None, StatusCode::NOT_FOUND)
        .await;
    // Not implemented features say so.
    let text = env
        .fails(
            "POST",
            "/v1/job/api/dispatch",
            Some(json!({})),
            StatusCode::NOT_IMPLEMENTED,
        )
        .await;
    assert!(text.contains("Dispatch"), "{text}");
}

#[tokio::test]
async fn plan_annotates_without_committing() {
    let env = start().await;
    env.add_node("n1").await;
    env.add_node("n2").await;
    let mut job = env.web_job().await;
    job["ID"] = json!("planned");
    job["Name"] = json!("planned");
    let (plan, _) = env
        .ok(
            "POST",
            "/v1/job/planned/plan",
            Some(json!({"Job": job.clone(), "Diff": true})),
        )
        .await;
    let du = &plan["Annotations"]["DesiredTGUpdates"]["frontend"];
    assert_eq!(du["Place"], 2, "{plan}");
    assert_eq!(du["Stop"], 0);
    assert_eq!(plan["FailedTGAllocs"], Value::Null, "{plan}");
    assert_eq!(plan["Diff"]["Type"], "Added");
    assert_eq!(plan["JobModifyIndex"], 0);
    // Nothing was committed.
    env.fails("GET", "/v1/job/planned", None, StatusCode::NOT_FOUND)
        .await;
    assert_eq!(env.get("/v1/evaluations").await, json!([]));

    // Register, place two allocations, then plan a third.
    let reg = env
        .ok("PUT", "/v1/jobs", Some(json!({"Job": job.clone()})))
        .await
        .0;
    let eval = reg["EvalID"].as_str().unwrap().to_string();
    env.place("planned", &eval, &["n1", "n2"]).await;
    let mut bigger = job.clone();
    bigger["TaskGroups"][0]["Count"] = json!(3);
    let plan = env
        .ok(
            "PUT",
            "/v1/job/planned/plan",
            Some(json!({"Job": bigger, "Diff": true})),
        )
        .await
        .0;
    let du = &plan["Annotations"]["DesiredTGUpdates"]["frontend"];
    assert_eq!(du["Place"], 1, "{plan}");
    let kept = du["Ignore"].as_u64().unwrap()
        + du["InPlaceUpdate"].as_u64().unwrap()
        + du["DestructiveUpdate"].as_u64().unwrap();
    assert_eq!(kept, 2, "{plan}");
    assert_eq!(plan["Diff"]["Type"], "Edited");
    assert_eq!(plan["JobModifyIndex"], reg["JobModifyIndex"]);
    assert_eq!(
        env.get("/v1/job/planned").await["TaskGroups"][0]["Count"],
        2
    );

    // A plan for more than fits reports the failed group.
    let mut huge = job.clone();
    huge["TaskGroups"][0]["Tasks"][0]["Resources"]["MemoryMB"] = json!(1_000_000);
    let plan = env
        .ok("POST", "/v1/job/planned/plan", Some(json!({"Job": huge})))
        .await
        .0;
    assert!(plan["FailedTGAllocs"]["frontend"].is_object(), "{plan}");
    assert_eq!(plan["Diff"], Value::Null);
}

#[tokio::test]
async fn nodes_list_read_drain_eligibility() {
    let env = start().await;
    env.add_node("11111111-0000-4000-8000-000000000001").await;
    env.add_node("22222222-0000-4000-8000-000000000002").await;
    let nodes = env.get("/v1/nodes").await;
    assert_eq!(nodes.as_array().unwrap().len(), 2);
    assert_eq!(nodes[0]["Address"], "10.0.0.1");
    assert_eq!(nodes[0]["Status"], "ready");
    assert_eq!(nodes[0]["SchedulingEligibility"], "eligible");
    assert_eq!(nodes[0]["Version"], "1.9.0");
    assert_eq!(
        env.get("/v1/nodes?prefix=2222")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let id = "11111111-0000-4000-8000-000000000001";
    let node = env.get(&format!("/v1/node/{id}")).await;
    assert_eq!(node["ID"], id);
    assert_eq!(node["SecretID"], "", "secrets are never served");

    env.ok(
        "POST",
        &format!("/v1/node/{id}/drain"),
        Some(json!({"DrainSpec": {"Deadline": 3_600_000_000_000i64, "IgnoreSystemJobs": false}})),
    )
    .await;
    let node = env.get(&format!("/v1/node/{id}")).await;
    assert_eq!(node["Drain"], true);
    assert_eq!(node["SchedulingEligibility"], "ineligible");
    assert_eq!(node["DrainStrategy"]["Deadline"], 3_600_000_000_000i64);
    env.fails(
        "POST",
        &format!("/v1/node/{id}/eligibility"),
        Some(json!({"Eligibility": "eligible"})),
        StatusCode::BAD_REQUEST,
    )
    .await;
    env.ok(
        "POST",
        &format!("/v1/node/{id}/drain"),
        Some(json!({"DrainSpec": null, "MarkEligible": true})),
    )
    .await;
    let node = env.get(&format!("/v1/node/{id}")).await;
    assert_eq!(node["Drain"], false);
    assert_eq!(node["SchedulingEligibility"], "eligible");

    env.ok(
        "PUT",
        &format!("/v1/node/{id}/eligibility"),
        Some(json!({"Eligibility": "ineligible"})),
    )
    .await;
    assert_eq!(
        env.get(&format!("/v1/node/{id}")).await["SchedulingEligibility"],
        "ineligible"
    );
    let text = env
        .fails(
            "PUT",
            &format!("/v1/node/{id}/eligibility"),
            Some(json!({"Eligibility": "maybe"})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(text.contains("eligible"), "{text}");
    let evals = env
        .ok("POST", &format!("/v1/node/{id}/evaluate"), None)
        .await
        .0;
    assert_eq!(evals["EvalIDs"], json!([]));
    assert_eq!(
        env.fails("GET", "/v1/node/nope", None, StatusCode::NOT_FOUND)
            .await,
        "node not found"
    );
    env.fails(
        "POST",
        "/v1/node/nope/drain",
        Some(json!({"DrainSpec": null})),
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn allocations_and_evaluations() {
    let env = start().await;
    env.add_node("n1").await;
    env.add_node("n2").await;
    let job = env.web_job().await;
    let reg = env.ok("PUT", "/v1/jobs", Some(json!({"Job": job}))).await.0;
    let eval = reg["EvalID"].as_str().unwrap().to_string();
    let ids = env.place("web", &eval, &["n1", "n2"]).await;

    let allocs = env.get("/v1/allocations").await;
    assert_eq!(allocs.as_array().unwrap().len(), 2);
    assert_eq!(allocs[0]["JobType"], "service");
    assert_eq!(allocs[0]["ClientStatus"], "running");
    assert!(allocs[0].get("Job").is_none(), "stubs carry no job");
    let prefix = &ids[1][..8];
    assert_eq!(
        env.get(&format!("/v1/allocations?prefix={prefix}"))
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let full = env.get(&format!("/v1/allocation/{}", ids[0])).await;
    assert_eq!(full["Job"]["ID"], "web");
    assert_eq!(full["NodeID"], "n1");
    assert_eq!(
        env.get("/v1/job/web/allocations")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let on_node = env.get("/v1/node/n2/allocations").await;
    assert_eq!(on_node.as_array().unwrap().len(), 1);
    assert_eq!(on_node[0]["Job"]["ID"], "web");

    let evals = env.get("/v1/evaluations").await;
    assert_eq!(evals.as_array().unwrap().len(), 1);
    assert_eq!(evals[0]["ID"], eval.as_str());
    assert_eq!(evals[0]["TriggeredBy"], "job-register");
    assert_eq!(evals[0]["Status"], "pending");
    let one = env.get(&format!("/v1/evaluation/{eval}")).await;
    assert_eq!(one["JobID"], "web");
    assert_eq!(
        env.get(&format!("/v1/evaluation/{eval}/allocations"))
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(env.get("/v1/evaluations?status=complete").await, json!([]));

    let stop = env
        .ok("POST", &format!("/v1/allocation/{}/stop", ids[0]), None)
        .await
        .0;
    let stop_eval = stop["EvalID"].as_str().unwrap();
    assert!(stop["Index"].as_u64().unwrap() > 0);
    let full = env.get(&format!("/v1/allocation/{}", ids[0])).await;
    assert_eq!(full["DesiredTransition"]["Migrate"], true);
    assert_eq!(
        env.get(&format!("/v1/evaluation/{stop_eval}")).await["TriggeredBy"],
        "alloc-stop"
    );

    let evals = env.ok("POST", "/v1/node/n1/evaluate", None).await.0;
    assert_eq!(evals["EvalIDs"].as_array().unwrap().len(), 1);

    assert_eq!(
        env.fails("GET", "/v1/allocation/nope", None, StatusCode::NOT_FOUND)
            .await,
        "alloc not found"
    );
    assert_eq!(
        env.fails("GET", "/v1/evaluation/nope", None, StatusCode::NOT_FOUND)
            .await,
        "eval not found"
    );
    env.fails(
        "POST",
        "/v1/allocation/nope/stop",
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    env.fails("GET", "/v1/deployment/nope", None, StatusCode::NOT_FOUND)
        .await;
    assert_eq!(env.get("/v1/deployments").await, json!([]));
}

#[tokio::test]
async fn blocking_queries_wait_for_a_write() {
    let env = start().await;
    env.add_node("n1").await;
    let job = env.web_job().await;
    env.ok("PUT", "/v1/jobs", Some(json!({"Job": job.clone()})))
        .await;
    let (_, index) = env.ok("GET", "/v1/jobs", None).await;
    assert!(index >= 2);

    // Behind: answers at once.
    let t = Instant::now();
    env.ok(
        "GET",
        &format!("/v1/jobs?index={}&wait=5s", index - 1),
        None,
    )
    .await;
    assert!(t.elapsed() < Duration::from_secs(2));

    // Current: waits for the next change of the jobs table.
    let mut other = job.clone();
    other["ID"] = json!("later");
    other["Name"] = json!("later");
    let writer = env.http.clone();
    let url = format!("{}/v1/jobs", env.base);
    let task = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        writer
            .put(url)
            .json(&json!({"Job": other}))
            .send()
            .await
            .unwrap()
            .status()
    });
    let t = Instant::now();
    let (list, new_index) = env
        .ok("GET", &format!("/v1/jobs?index={index}&wait=10s"), None)
        .await;
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(new_index > index, "{new_index} > {index}");
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(task.await.unwrap(), StatusCode::OK);

    // A write to another table does not wake a job query; the wait times out.
    let t = Instant::now();
    let (_, same) = env
        .ok(
            "GET",
            &format!("/v1/job/web?index={new_index}&wait=300ms"),
            None,
        )
        .await;
    assert!(t.elapsed() >= Duration::from_millis(250));
    assert_eq!(same, new_index);

    env.fails("GET", "/v1/jobs?index=abc", None, StatusCode::BAD_REQUEST)
        .await;
    env.fails(
        "GET",
        "/v1/jobs?wait=forever",
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn bad_input_is_a_400_with_field_paths() {
    let env = start().await;
    let mut wrong_type = bad_job();
    wrong_type["Job"]["TaskGroups"][0]["Count"] = json!("two");
    let text = env
        .fails("PUT", "/v1/jobs", Some(wrong_type), StatusCode::BAD_REQUEST)
        .await;
    assert!(text.contains("TaskGroups[0].Count"), "{text}");

    let mut unknown = bad_job();
    unknown["Job"]["TaskGroups"][0]["Tasks"][0]["Colour"] = json!("red");
    let text = env
        .fails("PUT", "/v1/jobs", Some(unknown), StatusCode::BAD_REQUEST)
        .await;
    assert!(text.contains("TaskGroups[0].Tasks[0].Colour"), "{text}");

    let mut small = bad_job();
    small["Job"]["TaskGroups"][0]["Tasks"][0]["Resources"]["MemoryMB"] = json!(4);
    small["Job"]["Priority"] = json!(500);
    let text = env
        .fails(
            "POST",
            "/v1/jobs",
            Some(small.clone()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(
        text.contains("TaskGroups[0].Tasks[0].Resources.MemoryMB"),
        "{text}"
    );
    assert!(text.contains("Priority"), "every error is listed: {text}");
    let v = env.ok("PUT", "/v1/validate/job", Some(small)).await.0;
    assert!(v["ValidationErrors"].as_array().unwrap().len() >= 2, "{v}");
    let v = env.ok("PUT", "/v1/validate/job", Some(bad_job())).await.0;
    assert_eq!(v["ValidationErrors"], json!([]));

    let resp = env
        .http
        .put(format!("{}/v1/jobs", env.base))
        .body("{\"Job\": {\"ID\": }")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let text = resp.text().await.unwrap();
    assert!(text.contains("line 1, column 16"), "{text}");

    let text = env
        .fails("PUT", "/v1/jobs", Some(json!({})), StatusCode::BAD_REQUEST)
        .await;
    assert!(text.contains("Job must be specified"), "{text}");
    let text = env
        .fails(
            "POST",
            "/v1/job/other",
            Some(bad_job()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(text.contains("does not match"), "{text}");
    let text = env
        .fails(
            "POST",
            "/v1/jobs/parse",
            Some(json!({"JobHCL": "job \"x\" {\n  group \"g\" {\n    count = \n"})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(text.contains(':'), "{text}");

    env.fails("GET", "/v1/nope", None, StatusCode::NOT_FOUND)
        .await;
    env.fails(
        "GET",
        "/v1/job/missing/summary",
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    env.fails(
        "GET",
        "/v1/job/missing/versions",
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    env.fails(
        "POST",
        "/v1/job/missing/scale",
        Some(json!({"Count": 1, "Target": {"Group": "g"}})),
        StatusCode::NOT_FOUND,
    )
    .await;
    let big = "x".repeat(super::MAX_BODY_BYTES + 1);
    let resp = env
        .http
        .put(format!("{}/v1/jobs", env.base))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn status_agent_and_metrics() {
    let env = start().await;
    env.add_node("n1").await;
    let job = env.web_job().await;
    env.ok("PUT", "/v1/jobs", Some(json!({"Job": job}))).await;

    assert_eq!(env.get("/v1/status/leader").await, "127.0.0.1:4647");
    assert_eq!(env.get("/v1/status/peers").await, json!(["127.0.0.1:4647"]));
    assert_eq!(env.get("/v1/regions").await, json!(["global"]));
    let me = env.get("/v1/agent/self").await;
    assert_eq!(me["member"]["Tags"]["region"], "global");
    assert_eq!(me["member"]["Tags"]["dc"], "dc1");
    assert_eq!(me["config"]["Region"], "global");
    assert_eq!(me["stats"]["nomad"]["leader"], "true");
    let members = env.get("/v1/agent/members").await;
    assert_eq!(members["Members"].as_array().unwrap().len(), 1);
    assert_eq!(env.get("/v1/agent/health").await["server"]["ok"], true);
    let raft = env.get("/v1/operator/raft/configuration").await;
    assert_eq!(raft["Servers"][0]["Leader"], true);

    let (status, _, text) = env.send("GET", "/v1/metrics?format=prometheus", None).await;
    assert_eq!(status, StatusCode::OK);
    for line in [
        "# TYPE nomad_nomad_jobs gauge",
        "nomad_nomad_jobs{status=\"pending\"} 1",
        "nomad_nomad_nodes{status=\"ready\"} 1",
        "nomad_nomad_evals{status=\"pending\"} 1",
        "nomad_raft_applied_index 2",
        "nomad_nomad_leader_is_leader 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    let json = env.get("/v1/metrics").await;
    let gauges = json["Gauges"].as_array().unwrap();
    assert!(gauges.iter().any(|g| g["Name"] == "nomad.nomad.jobs"
        && g["Labels"]["status"] == "pending"
        && g["Value"] == 1.0));
    assert!(json["Timestamp"].as_str().unwrap().ends_with("+0000 UTC"));
    env.fails(
        "GET",
        "/v1/metrics?format=xml",
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
    env.fails(
        "POST",
        "/v1/search",
        Some(json!({})),
        StatusCode::NOT_IMPLEMENTED,
    )
    .await;
}
