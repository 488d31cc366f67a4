//! An allocation's services in orch's catalog (`provider = "nomad"`) and their health
//! checks, run by the client: `http` (2xx passes), `tcp` (a connection passes) and
//! `script` (exit 0 passes, run with the task's environment in its directory).
//!
//! Check results feed deployment health (`health_check = "checks"`) and `check_restart`
//! (restart a task after `limit` consecutive failures, once `grace` has passed since
//! it started). They are visible at `/v1/client/allocation/:id/checks`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use orch_core::model::{
    Allocation, CheckRestart, Node, Service, ServiceCheck, ServiceRegistration, TaskGroup,
};
use serde::Serialize;

/// One check of one service instance, ready to run.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    /// `<registration id>-<check name or index>`.
    pub id: String,
    /// The check block.
    pub check: ServiceCheck,
    /// Address of the service.
    pub address: String,
    /// Port the check probes (its own `port` label, else the service's).
    pub port: u16,
    /// Task whose environment and directory a script check uses, and which
    /// `check_restart` restarts.
    pub task: String,
    /// `check_restart` of the check, else of its service.
    pub check_restart: Option<CheckRestart>,
    /// The service name (for messages).
    pub service: String,
    /// The group of the allocation.
    pub group: String,
    /// The task whose service it is; empty for a group service.
    pub service_task: String,
}

/// The services of an allocation and their checks.
#[derive(Debug, Clone, Default)]
pub struct AllocServices {
    /// Catalog entries.
    pub registrations: Vec<ServiceRegistration>,
    /// Checks to run.
    pub checks: Vec<CheckSpec>,
}

/// The port a label names for this allocation (a number is taken as is).
fn port_of(alloc: &Allocation, label: &str) -> u16 {
    if label.is_empty() {
        return 0;
    }
    if let Ok(n) = label.parse::<u16>() {
        return n;
    }
    let shared = &alloc.allocated_resources.shared;
    shared
        .ports
        .iter()
        .find(|p| p.label == label)
        .map(|p| p.value)
        .or_else(|| {
            shared
                .networks
                .iter()
                .chain(
                    alloc
                        .allocated_resources
                        .tasks
                        .values()
                        .flat_map(|t| &t.networks),
                )
                .flat_map(|n| n.reserved_ports.iter().chain(&n.dynamic_ports))
                .find(|p| p.label == label)
                .map(|p| p.value)
        })
        .unwrap_or(0)
}

/// Builds the registrations and checks of an allocation's group and task services.
pub fn build(alloc: &Allocation, group: &TaskGroup, node: &Node) -> AllocServices {
    let node_ip = node
        .attributes
        .get("unique.network.ip-address")
        .cloned()
        .unwrap_or_else(|| "127.0.0.1".into());
    let mut out = AllocServices::default();
    let group_services = group
        .services
        .iter()
        .map(|s| (group.name.as_str(), None, s));
    let task_services = group.tasks.iter().flat_map(|t| {
        t.services
            .iter()
            .map(move |s| (t.name.as_str(), Some(t.name.as_str()), s))
    });
    let first_task = group
        .tasks
        .first()
        .map(|t| t.name.clone())
        .unwrap_or_default();
    for (owner, task, s) in group_services.chain(task_services) {
        if s.provider != "nomad" {
            continue;
        }
        let reg = registration(alloc, node, &node_ip, owner, s);
        for (i, c) in s.checks.iter().enumerate() {
            let check_task = if !c.task_name.is_empty() {
                c.task_name.clone()
            } else {
                task.map_or_else(|| first_task.clone(), str::to_string)
            };
            let port = if c.port_label.is_empty() {
                reg.port
            } else {
                port_of(alloc, &c.port_label)
            };
            let name = if c.name.is_empty() {
                format!("check{i}")
            } else {
                c.name.clone()
            };
            out.checks.push(CheckSpec {
                id: format!("{}-{name}", reg.id),
                check: c.clone(),
                address: reg.address.clone(),
                port,
                task: check_task,
                check_restart: c.check_restart.clone().or_else(|| s.check_restart.clone()),
                service: s.name.clone(),
                group: group.name.clone(),
                service_task: task.unwrap_or_default().to_string(),
            });
        }
        out.registrations.push(reg);
    }
    out
}

fn registration(
    alloc: &Allocation,
    node: &Node,
    node_ip: &str,
    owner: &str,
    s: &Service,
) -> ServiceRegistration {
    ServiceRegistration {
        id: format!(
            "_nomad-task-{}-{owner}-{}-{}",
            alloc.id, s.name, s.port_label
        ),
        service_name: s.name.clone(),
        namespace: alloc.namespace.to_string(),
        node_id: node.id.clone(),
        datacenter: node.datacenter.clone(),
        job_id: alloc.job_id.to_string(),
        alloc_id: alloc.id.clone(),
        tags: s.tags.clone(),
        address: if s.address.is_empty() {
            node_ip.to_string()
        } else {
            s.address.clone()
        },
        port: port_of(alloc, &s.port_label),
        create_index: 0,
        modify_index: 0,
    }
}

/// The result of a check, as `/v1/client/allocation/:id/checks` shows it (Nomad's
/// `CheckQueryResult`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CheckResult {
    /// Check ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Check name.
    pub check: String,
    /// Service name.
    pub service: String,
    /// `success`, `failure` or `pending`.
    pub status: String,
    /// What the check saw.
    pub output: String,
    /// HTTP status code for http checks.
    pub status_code: u16,
    /// Unix seconds of the result.
    pub timestamp: i64,
    /// `healthiness` (Nomad's mode for checks that count toward health).
    pub mode: String,
    /// The allocation's group.
    pub group: String,
    /// The task of a task-level service; empty for a group service.
    pub task: String,
    /// Consecutive failures.
    #[serde(skip)]
    pub failures: u32,
}

/// Runs one check once.
pub async fn run_check(
    spec: &CheckSpec,
    http: &reqwest::Client,
    env: &BTreeMap<String, String>,
    task_dir: &std::path::Path,
) -> (bool, String, u16) {
    let timeout = Duration::from_nanos(spec.check.timeout.max(1_000_000_000) as u64);
    match spec.check.kind.as_str() {
        "http" => {
            let proto = if spec.check.protocol.is_empty() {
                "http"
            } else {
                &spec.check.protocol
            };
            let path = if spec.check.path.starts_with('/') {
                spec.check.path.clone()
            } else {
                format!("/{}", spec.check.path)
            };
            let url = format!("{proto}://{}:{}{path}", spec.address, spec.port);
            let method = reqwest::Method::from_bytes(
                if spec.check.method.is_empty() {
                    "GET"
                } else {
                    &spec.check.method
                }
                .as_bytes(),
            )
            .unwrap_or(reqwest::Method::GET);
            let mut req = http.request(method, &url).timeout(timeout);
            for (k, vs) in &spec.check.header {
                for v in vs {
                    req = req.header(k, v);
                }
            }
            if !spec.check.body.is_empty() {
                req = req.body(spec.check.body.clone());
            }
            match req.send().await {
                Ok(r) => {
                    let code = r.status().as_u16();
                    let ok = r.status().is_success();
                    (ok, format!("HTTP GET {url}: {code}"), code)
                }
                Err(e) => (false, format!("HTTP GET {url}: {e}"), 0),
            }
        }
        "tcp" => {
            let addr = format!("{}:{}", spec.address, spec.port);
            match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&addr)).await {
                Ok(Ok(_)) => (true, format!("TCP connect {addr}: Success"), 0),
                Ok(Err(e)) => (false, format!("TCP connect {addr}: {e}"), 0),
                Err(_) => (false, format!("TCP connect {addr}: timed out"), 0),
            }
        }
        "script" => {
            let mut cmd = tokio::process::Command::new(&spec.check.command);
            cmd.args(&spec.check.args)
                .env_clear()
                .envs(env)
                .current_dir(task_dir)
                .kill_on_drop(true);
            match tokio::time::timeout(timeout, cmd.output()).await {
                Ok(Ok(out)) => {
                    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
                    text.push_str(&String::from_utf8_lossy(&out.stderr));
                    (out.status.success(), text.trim().to_string(), 0)
                }
                Ok(Err(e)) => (
                    false,
                    format!("cannot run {:?}: {e}", spec.check.command),
                    0,
                ),
                Err(_) => (false, "script check timed out".into(), 0),
            }
        }
        other => (false, format!("check type {other:?} is not supported"), 0),
    }
}

/// When a check next runs.
pub fn next_run(spec: &CheckSpec, last: Instant) -> Instant {
    last + Duration::from_nanos(spec.check.interval.max(1_000_000_000) as u64)
}

/// Where check results are kept, by check ID.
pub type CheckResults = std::sync::Arc<std::sync::Mutex<BTreeMap<String, CheckResult>>>;

/// What a check loop needs besides its spec.
#[derive(Clone)]
pub struct CheckContext {
    /// For http checks.
    pub http: reqwest::Client,
    /// Results, shared with the allocation runner and the HTTP API.
    pub results: CheckResults,
    /// Environment and directory of each task (script checks).
    pub tasks: BTreeMap<String, (BTreeMap<String, String>, std::path::PathBuf)>,
    /// Where `check_restart` asks for a task restart.
    pub restart: tokio::sync::mpsc::UnboundedSender<String>,
}

/// Runs one check every `interval` until dropped (the allocation runner aborts it).
pub async fn check_loop(spec: CheckSpec, ctx: CheckContext) {
    let mut grace_from = Instant::now();
    let mut failures = 0u32;
    loop {
        let (env, dir) = ctx
            .tasks
            .get(&spec.task)
            .cloned()
            .unwrap_or_else(|| (BTreeMap::new(), std::env::temp_dir()));
        let (ok, output, code) = run_check(&spec, &ctx.http, &env, &dir).await;
        failures = if ok { 0 } else { failures.saturating_add(1) };
        let result = CheckResult {
            id: spec.id.clone(),
            check: spec.check.name.clone(),
            service: spec.service.clone(),
            status: if ok { "success" } else { "failure" }.into(),
            output,
            status_code: code,
            timestamp: crate::clock::now_nanos() / 1_000_000_000,
            mode: "healthiness".into(),
            group: spec.group.clone(),
            task: spec.service_task.clone(),
            failures,
        };
        ctx.results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(spec.id.clone(), result);
        if let Some(cr) = &spec.check_restart
            && cr.limit > 0
            && failures >= cr.limit
            && grace_from.elapsed() >= Duration::from_nanos(cr.grace.max(0) as u64)
        {
            let _ = ctx.restart.send(spec.task.clone());
            failures = 0;
            grace_from = Instant::now();
        }
        tokio::time::sleep_until(tokio::time::Instant::from_std(next_run(
            &spec,
            Instant::now(),
        )))
        .await;
    }
}

/// Whether every check passes; `None` without checks or before every check ran once.
pub fn all_passing(results: &CheckResults, checks: &[CheckSpec]) -> Option<bool> {
    if checks.is_empty() {
        return None;
    }
    let r = results.lock().unwrap_or_else(|e| e.into_inner());
    let mut all = true;
    for c in checks {
        match r.get(&c.id) {
            Some(res) => all &= res.status == "success",
            None => return Some(false),
        }
    }
    Some(all)
}
