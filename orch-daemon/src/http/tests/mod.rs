//! End-to-end tests of the HTTP API: a real server on `127.0.0.1:0` over a
//! `LocalReplicator`, driven with `reqwest` as Nomad's tools would.
//!
//! By area: `jobs` (job endpoints and bad input), `cluster` (nodes, allocations,
//! evaluations, blocking queries, status, agent, metrics), `deployments` (deployment
//! writes), `dispatch` (dispatch and periodic force), `lists` (search, filters, pages), `namespaces` (namespaces and quotas).

use std::sync::Arc;

use orch_core::model::{Allocation, Node};
use orch_core::state::{ApplyPlanResults, Command, NodeRegister};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{AgentInfo, ApiState, router};

mod cluster;
mod deployments;
mod dispatch;
mod jobs;
mod lists;
mod namespaces;
use crate::server::{LocalReplicator, Replicator, StateHandle};

const WEB_HCL: &str = include_str!("../../../../examples/web.nomad.hcl");
const NOW: i64 = 1_700_000_000_000_000_000;

pub(super) struct Env {
    pub(super) base: String,
    pub(super) http: reqwest::Client,
    repl: Arc<LocalReplicator>,
}

pub(super) async fn start() -> Env {
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
        http: crate::tls::http_client(),
        repl,
    }
}

impl Env {
    pub(super) async fn send(
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
    pub(super) async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> (Value, u64) {
        let (status, index, text) = self.send(method, path, body).await;
        assert_eq!(status, StatusCode::OK, "{method} {path}: {text}");
        (serde_json::from_str(&text).unwrap(), index)
    }

    pub(super) async fn get(&self, path: &str) -> Value {
        self.ok("GET", path, None).await.0
    }

    /// A request that must fail with `want`; returns the error text.
    pub(super) async fn fails(
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

    pub(super) async fn apply(&self, cmd: Command) {
        self.repl.propose(cmd).await.unwrap();
    }

    pub(super) async fn add_node(&self, id: &str) {
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
    pub(super) async fn web_job(&self) -> Value {
        self.ok(
            "POST",
            "/v1/jobs/parse",
            Some(json!({"JobHCL": WEB_HCL, "Canonicalize": true})),
        )
        .await
        .0
    }

    /// Places allocations for `job` directly through a plan commit.
    pub(super) async fn place(&self, job: &str, eval: &str, nodes: &[&str]) -> Vec<String> {
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

pub(super) fn bad_job() -> Value {
    json!({"Job": {"ID": "bad", "Name": "bad", "Datacenters": ["dc1"], "TaskGroups": [{
        "Name": "g", "Count": 1, "Tasks": [{"Name": "t", "Driver": "raw_exec",
        "Config": {"command": "true"}, "Resources": {"CPU": 100, "MemoryMB": 64}}]}]}})
}
