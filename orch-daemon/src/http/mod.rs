//! Nomad's HTTP API (`/v1/...`), served by every agent, so that Nomad's own tools (the
//! CLI and Go API client, python-nomad, curl scripts) work against orch unchanged.
//!
//! Handlers only read the [`StateHandle`] (under a short read lock, never across an
//! `.await`) and write through the [`Replicator`]; every read and list endpoint supports
//! Nomad's blocking queries (`?index=&wait=`) and sets the `X-Nomad-*` headers. A few
//! also use this server's leader machinery (`ApiState::leader`): client registration and
//! heartbeats, forced GC, and the broker and autoscaler figures of metrics and policies.
//!
//! Layout:
//! - [`auth`]: the ACL guard: the caller's token, each route's rule, [`auth::Authz`].
//! - [`acl`]: `/v1/acl/...`: bootstrap, policies, tokens and roles.
//! - [`query`]: parameters, blocking queries, headers, JSON bodies and errors.
//! - [`read_barrier`]: requests wait for the read index (linearizable); `?stale` skips it.
//! - [`list`]: `?filter=` and pagination of list endpoints; [`filter`]: go-bexpr filters.
//! - [`jobs`]: `/v1/jobs` and `/v1/job/:id` reads, registration, stop and sub-lists.
//! - [`job_ops`]: scale, evaluate, revert and stable on a job.
//! - [`plan`]: `job plan`, a dry run on a cloned state; [`job_diff`]: Nomad's `JobDiff`.
//! - [`dispatch`]: `job/:id/dispatch` and `job/:id/periodic/force`.
//! - [`scaling`]: scaling policies and a job's scaling events.
//! - [`allocs`]: allocations (read, stop) and the allocation stub lists share.
//! - [`evals`]: evaluations and their allocations.
//! - [`nodes`]: `/v1/nodes` and `/v1/node/:id/...`.
//! - [`deployments`]: deployment reads and writes.
//! - [`releases`]: orch's releases (several jobs rolled out and back as one).
//! - [`workflows`]: orch's metric gates and job-dependency cycles at registration.
//! - [`services`]: the `nomad` provider's service catalog.
//! - [`namespaces`]: `/v1/namespace(s)`; [`quotas`]: `/v1/quota(s)` and quota usage.
//! - [`queue`]: `/v1/queue` (orch), the waiting work in the order it gets capacity.
//! - [`client_api`]: orch's client calls: register, heartbeat, allocation updates.
//! - [`client_acl`]: ACL checks of `/v1/client/...` (a client-only agent asks a server).
//! - [`client_fs`]: `/v1/client/...` (logs, files, stats), answered by the node's agent.
//! - [`client_files`]: the local half of `fs/{ls,stat,cat}`: no links followed, `cat` streamed.
//! - [`rpc_port`]: the client endpoints kept on a server's RPC port, and a client-only
//!   agent's pass-through to the servers' HTTP API.
//! - [`events`]: the event stream, `/v1/event/stream`.
//! - [`search`]: `/v1/search` and `/v1/search/fuzzy`.
//! - [`status`]: `/v1/status/leader` and `/v1/status/peers`.
//! - [`agent`]: `/v1/agent/self`, `/v1/agent/members` and `/v1/agent/health`.
//! - [`regions`]: the region list, `/v1/regions`.
//! - [`operator`]: the Raft configuration, autopilot health, peer removal, `force-leave`,
//!   `agent/join`; [`autopilot_config`]: the replicated autopilot configuration.
//! - [`scheduler_config`]: the replicated scheduler configuration and the
//!   `RejectJobRegistration` check.
//! - [`operator_snapshot`]: `/v1/operator/snapshot`, saving and restoring the whole state.
//! - [`metrics`]: `/v1/metrics`, JSON or Prometheus text.
//! - [`metrics_scaling`]: the blocked/unplaced and autoscaler gauges of `/v1/metrics`.
//! - [`system`]: `/v1/system/gc` and `/v1/system/reconcile/summaries`.
//! - [`ui`]: the web UI at `/ui`, files embedded in the binary.
//! - `tests`: end-to-end tests of the API.

pub mod acl;
pub mod agent;
pub mod agent_host;
pub mod agent_monitor;
pub mod agent_schedulers;
pub mod allocs;
pub mod auth;
pub mod autopilot_config;
pub mod client_acl;
pub mod client_api;
pub mod client_csi;
pub mod client_exec;
pub mod client_file_stream;
pub mod client_files;
pub mod client_fs;
pub mod client_gc;
pub mod client_meta;
pub mod client_servers;
pub mod csi_controller;
pub mod csi_node;
pub mod csi_plugins;
pub mod csi_volumes;
pub mod deployments;
pub mod dispatch;
pub mod evals;
pub mod events;
pub mod filter;
pub mod identity;
pub mod job_diff;
pub mod job_ops;
pub mod job_statuses;
pub mod job_submission;
pub mod jobs;
pub mod keyring;
pub mod list;
pub mod metrics;
pub mod metrics_scaling;
pub mod migrate;
pub mod namespaces;
pub mod node_pools;
pub mod node_purge;
pub mod nodes;
pub mod operator;
pub mod operator_snapshot;
pub mod plan;
pub mod query;
pub mod queue;
pub mod quotas;
pub mod read_barrier;
pub mod regions;
pub mod releases;
pub mod rpc_port;
pub mod scaling;
pub mod scheduler_config;
pub mod search;
pub mod services;
pub mod status;
pub mod system;
#[cfg(test)]
mod tests;
pub mod ui;
pub mod vars;
pub mod vars_write;
pub mod workflows;
pub mod workload_services;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use orch_core::model::{Evaluation, eval_status};
use orch_core::scheduler::SchedulerConfig;

pub use query::{ApiError, QueryOpts};

use crate::server::{Replicator, StateHandle};

/// Largest request body accepted (jobs with big templates fit easily; larger bodies are
/// refused with 413 before they are buffered).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Who this agent is, for `/v1/agent/self`, `/v1/agent/members` and `/v1/regions`.
#[derive(Debug, Clone)]
pub struct AgentInfo {
    /// Agent (member) name, usually the hostname.
    pub name: String,
    /// Region the agent belongs to.
    pub region: String,
    /// Datacenter of the agent.
    pub datacenter: String,
    /// Node ID when the agent also runs a client.
    pub node_id: Option<String>,
    /// orch version reported as the agent version.
    pub version: String,
    /// Address the HTTP API listens on (`127.0.0.1:4646`).
    pub http_addr: String,
    /// Whether the agent runs a server.
    pub server: bool,
    /// The agent's data dir (`/v1/agent/host` reports its disk); `None` in dev mode.
    pub data_dir: Option<std::path::PathBuf>,
    /// The configuration the agent runs with, as `/v1/agent/self` shows it (Nomad's
    /// `config`); `Null` for embedders, who get a minimal one.
    pub config: serde_json::Value,
}

impl Default for AgentInfo {
    fn default() -> Self {
        AgentInfo {
            name: "orch".into(),
            region: "global".into(),
            datacenter: "dc1".into(),
            node_id: None,
            version: env!("CARGO_PKG_VERSION").into(),
            http_addr: "127.0.0.1:4646".into(),
            data_dir: None,
            server: true,
            config: serde_json::Value::Null,
        }
    }
}

/// Generates IDs for objects the API creates (evaluations); replaceable for tests.
pub type IdGen = Arc<dyn Fn() -> String + Send + Sync>;

/// Everything the handlers share.
pub struct ApiState {
    /// The replicated state, read by every endpoint.
    pub state: StateHandle,
    /// The write path (commits commands through Raft, or locally in tests).
    pub replicator: Arc<dyn Replicator>,
    /// This agent's identity.
    pub agent: AgentInfo,
    /// Scheduler configuration used by `job plan` dry runs.
    pub scheduler_config: SchedulerConfig,
    /// New object IDs (UUID v4 by default).
    pub ids: IdGen,
    /// The clock: Unix nanoseconds (commands carry time so replicas agree).
    pub now: fn() -> i64,
    /// The leader machinery of this server (heartbeat timers), if it runs one.
    pub leader: Option<Arc<crate::server::Leader>>,
    /// Whether ACLs are enforced, and where the bootstrap reset file lives.
    pub acl: AclSettings,
    /// How this server calls other servers' RPC ports (TLS, cluster secret): a
    /// follower forwards client calls to the leader with it.
    pub peers: crate::tls::Link,
    /// How this agent calls other agents' HTTP APIs (TLS when `tls.http`): a monitor
    /// of another agent is relayed with it.
    pub agents: crate::tls::Link,
    /// This server's root keys (variables, identities); memory-only unless the agent
    /// gives it a keystore.
    pub keyring: Arc<crate::server::keyring::Keyring>,
}

/// The agent's `acl` block as the API needs it.
#[derive(Debug, Clone)]
pub struct AclSettings {
    /// `acl { enabled = true }`: every request is checked against the caller's token.
    pub enabled: bool,
    /// Nomad's `<data_dir>/server/acl-bootstrap-reset`: an operator writes the reset
    /// index there to bootstrap again after losing the management token.
    pub bootstrap_reset_file: Option<std::path::PathBuf>,
    /// Shortest lifetime a token may be given (`token_min_expiration_ttl`).
    pub token_min_ttl_nanos: i64,
    /// Longest lifetime a token may be given (`token_max_expiration_ttl`).
    pub token_max_ttl_nanos: i64,
}

impl Default for AclSettings {
    fn default() -> Self {
        AclSettings {
            enabled: false,
            bootstrap_reset_file: None,
            token_min_ttl_nanos: 60 * 1_000_000_000,
            token_max_ttl_nanos: 24 * 3600 * 1_000_000_000,
        }
    }
}

impl ApiState {
    /// An API over `state` writing through `replicator`, with random UUIDs and the
    /// system clock.
    pub fn new(state: StateHandle, replicator: Arc<dyn Replicator>, agent: AgentInfo) -> Self {
        ApiState {
            state,
            replicator,
            agent,
            scheduler_config: SchedulerConfig::default(),
            ids: Arc::new(crate::clock::new_uuid),
            now: crate::clock::now_nanos,
            leader: None,
            acl: AclSettings::default(),
            peers: crate::tls::Link::plain(),
            agents: crate::tls::Link::plain(),
            keyring: Arc::default(),
        }
    }

    /// A new ID.
    pub fn new_id(&self) -> String {
        (self.ids)()
    }

    /// A pending evaluation of a job, as Nomad's endpoints create them.
    pub fn new_eval(
        &self,
        namespace: &str,
        job_id: &str,
        job_type: &str,
        priority: i32,
        triggered_by: &str,
    ) -> Evaluation {
        let now = (self.now)();
        Evaluation {
            id: self.new_id(),
            namespace: namespace.to_string(),
            job_id: job_id.to_string(),
            eval_type: job_type.to_string(),
            priority,
            triggered_by: triggered_by.to_string(),
            status: eval_status::PENDING.to_string(),
            create_time: now,
            modify_time: now,
            ..Evaluation::default()
        }
    }
}

/// Nomad's `/v1` API as an axum router; serve it with `axum::serve`.
pub fn router(api: Arc<ApiState>) -> Router {
    router_with(api, Router::new())
}

/// The `/v1` API plus `extra` routes (the agent's `/v1/client/...`), all behind the ACL
/// guard and the body limit.
pub fn router_with(api: Arc<ApiState>, extra: Router) -> Router {
    api_routes()
        .merge(acl::routes())
        .merge(namespaces::routes())
        .merge(node_pools::routes())
        .merge(csi_volumes::routes())
        .merge(vars::routes())
        .merge(keyring::routes())
        .merge(identity::routes())
        .with_state(Arc::clone(&api))
        .merge(extra)
        .fallback(not_found)
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&api),
            read_barrier::consistent_requests,
        ))
        .route_layer(axum::middleware::from_fn_with_state(api, auth::guard))
        .route_layer(axum::middleware::from_fn(record_request))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(body_too_large))
        .layer(axum::middleware::from_fn(log_request))
}

/// Nomad's `http: request complete` debug line for every request (what `orch monitor
/// -log-level debug` shows an operator); the path without its query, which may hold
/// secrets.
pub async fn log_request(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    tracing::debug!(
        target: "http",
        %method,
        path,
        status = resp.status().as_u16(),
        duration = ?started.elapsed(),
        "request complete"
    );
    resp
}

/// Counts every routed request and times it (`nomad.http.request`), by method, the
/// route's pattern (bounded, unlike the path) and status.
pub async fn record_request(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let resp = next.run(req).await;
    let code = resp.status().as_u16().to_string();
    crate::telemetry::measure(
        "nomad.http.request",
        vec![("method", method.clone()), ("path", route)],
        started.elapsed(),
    );
    crate::telemetry::incr(
        "nomad.http.request_count",
        vec![("method", method), ("code", code)],
        1,
    );
    resp
}

fn api_routes() -> Router<Arc<ApiState>> {
    Router::new()
        .merge(client_routes())
        .merge(job_routes())
        .merge(workload_routes())
        .merge(service_routes())
        .merge(cluster_routes())
        .merge(ui::routes())
}

/// orch's own client calls (Nomad's clients use RPC for these).
fn client_routes() -> Router<Arc<ApiState>> {
    Router::new()
        // orch's own client calls (Nomad's clients use RPC for these).
        .route(
            "/v1/internal/node/register",
            put(client_api::register).post(client_api::register),
        )
        .route(
            "/v1/internal/node/{id}/heartbeat",
            put(client_api::heartbeat).post(client_api::heartbeat),
        )
        .route(
            "/v1/internal/node/{id}/allocs",
            put(client_api::update_allocs).post(client_api::update_allocs),
        )
        .route(
            "/v1/internal/node/{id}/previous/{alloc}",
            get(migrate::previous),
        )
}

/// Jobs and their operations.
fn job_routes() -> Router<Arc<ApiState>> {
    Router::new()
        // Jobs.
        .route(
            "/v1/jobs",
            get(jobs::list).put(jobs::register).post(jobs::register),
        )
        .route("/v1/jobs/parse", post(jobs::parse).put(jobs::parse))
        .route(
            "/v1/jobs/statuses",
            get(job_statuses::statuses).post(job_statuses::statuses),
        )
        .route("/v1/validate/job", post(jobs::validate).put(jobs::validate))
        .route(
            "/v1/job/{id}",
            get(jobs::get_job)
                .post(jobs::update)
                .put(jobs::update)
                .delete(jobs::deregister),
        )
        .route("/v1/job/{id}/allocations", get(jobs::allocations))
        .route("/v1/job/{id}/evaluations", get(jobs::evaluations))
        .route("/v1/job/{id}/deployments", get(jobs::deployments))
        .route("/v1/job/{id}/deployment", get(jobs::latest_deployment))
        .route("/v1/job/{id}/versions", get(jobs::versions))
        .route(
            "/v1/job/{id}/submission",
            get(job_submission::get_submission),
        )
        .route("/v1/job/{id}/summary", get(jobs::summary))
        .route(
            "/v1/job/{id}/services",
            get(workload_services::job_services),
        )
        .route(
            "/v1/job/{id}/scale",
            get(job_ops::scale_status)
                .post(job_ops::scale)
                .put(job_ops::scale),
        )
        .route("/v1/job/{id}/plan", post(plan::plan).put(plan::plan))
        .route(
            "/v1/job/{id}/evaluate",
            post(job_ops::evaluate).put(job_ops::evaluate),
        )
        .route(
            "/v1/job/{id}/revert",
            post(job_ops::revert).put(job_ops::revert),
        )
        .route(
            "/v1/job/{id}/stable",
            post(job_ops::stable).put(job_ops::stable),
        )
        .route(
            "/v1/job/{id}/dispatch",
            post(dispatch::dispatch).put(dispatch::dispatch),
        )
        .route(
            "/v1/job/{id}/periodic/force",
            post(dispatch::periodic_force).put(dispatch::periodic_force),
        )
}

/// Scaling policies, allocations, evaluations and nodes.
fn workload_routes() -> Router<Arc<ApiState>> {
    Router::new()
        // Scaling policies.
        .route("/v1/scaling/policies", get(scaling::list))
        .route("/v1/scaling/policy/{id}", get(scaling::get_policy))
        // Allocations and evaluations.
        .route("/v1/allocations", get(allocs::list))
        .route("/v1/allocation/{id}", get(allocs::get_alloc))
        .route(
            "/v1/allocation/{id}/services",
            get(workload_services::alloc_services),
        )
        .route(
            "/v1/allocation/{id}/stop",
            post(allocs::stop).put(allocs::stop),
        )
        .route("/v1/evaluations", get(evals::list).delete(evals::delete))
        .route("/v1/evaluations/count", get(evals::count))
        .route("/v1/queue", get(queue::list))
        .route("/v1/evaluation/{id}", get(evals::get))
        .route("/v1/evaluation/{id}/allocations", get(evals::allocations))
        // Nodes.
        .route("/v1/nodes", get(nodes::list))
        .route("/v1/node/{id}", get(nodes::get_node))
        .route("/v1/node/{id}/allocations", get(nodes::allocations))
        .route("/v1/node/{id}/drain", post(nodes::drain).put(nodes::drain))
        .route(
            "/v1/node/{id}/eligibility",
            post(nodes::eligibility).put(nodes::eligibility),
        )
        .route(
            "/v1/node/{id}/evaluate",
            post(nodes::evaluate).put(nodes::evaluate),
        )
        .route(
            "/v1/node/{id}/purge",
            post(node_purge::purge).put(node_purge::purge),
        )
}

/// Services (the `nomad` provider's catalog) and deployments.
fn service_routes() -> Router<Arc<ApiState>> {
    Router::new()
        // Services (the `nomad` provider's catalog).
        .route("/v1/services", get(services::list))
        .route("/v1/service/{name}", get(services::get_service))
        .route(
            "/v1/service/{name}/{id}",
            axum::routing::delete(services::delete_service),
        )
        .route(
            "/v1/internal/node/{id}/service/{name}",
            get(services::node_service),
        )
        .route(
            "/v1/internal/node/{id}/services",
            put(services::client_sync).post(services::client_sync),
        )
        // Deployments.
        .route("/v1/deployments", get(deployments::list))
        .route("/v1/deployment/{id}", get(deployments::get_deployment))
        .route(
            "/v1/deployment/allocations/{id}",
            get(deployments::allocations),
        )
        .route(
            "/v1/deployment/promote/{id}",
            post(deployments::promote).put(deployments::promote),
        )
        .route(
            "/v1/deployment/fail/{id}",
            post(deployments::fail).put(deployments::fail),
        )
        .route(
            "/v1/deployment/unblock/{id}",
            post(deployments::unblock).put(deployments::unblock),
        )
        .route(
            "/v1/deployment/pause/{id}",
            post(deployments::pause).put(deployments::pause),
        )
        .route(
            "/v1/deployment/allocation-health/{id}",
            post(deployments::allocation_health).put(deployments::allocation_health),
        )
        // orch's releases (deployment groups).
        .route(
            "/v1/releases",
            get(releases::list).put(releases::run).post(releases::run),
        )
        .route("/v1/release/{id}", get(releases::get_release))
}

/// Status, agent, operator, metrics, search, the event stream and system maintenance.
fn cluster_routes() -> Router<Arc<ApiState>> {
    Router::new()
        // Status, agent, operator, metrics.
        .route("/v1/status/leader", get(status::leader))
        .route("/v1/status/peers", get(status::peers))
        .route("/v1/agent/self", get(agent::agent_self))
        .route("/v1/agent/members", get(agent::members))
        .route("/v1/agent/monitor", get(agent_monitor::monitor))
        .route("/v1/agent/host", get(agent_host::host))
        .route("/v1/agent/schedulers", get(agent_schedulers::workers))
        .route(
            "/v1/agent/schedulers/config",
            get(agent_schedulers::get_config)
                .put(agent_schedulers::set_config)
                .post(agent_schedulers::set_config),
        )
        .route("/v1/agent/health", get(agent::health))
        .route("/v1/regions", get(regions::regions))
        .route(
            "/v1/operator/raft/configuration",
            get(operator::raft_configuration),
        )
        .route(
            "/v1/operator/autopilot/health",
            get(operator::autopilot_health),
        )
        .route(
            "/v1/operator/snapshot",
            get(operator_snapshot::save).put(operator_snapshot::restore),
        )
        .route(
            "/v1/operator/raft/peer",
            axum::routing::delete(operator::remove_peer),
        )
        .route(
            "/v1/operator/raft/transfer-leadership",
            put(operator::transfer_leadership).post(operator::transfer_leadership),
        )
        .route(
            "/v1/operator/autopilot/configuration",
            get(autopilot_config::get_config)
                .put(autopilot_config::set_config)
                .post(autopilot_config::set_config),
        )
        .route(
            "/v1/operator/scheduler/configuration",
            get(scheduler_config::get_config)
                .put(scheduler_config::set_config)
                .post(scheduler_config::set_config),
        )
        .route("/v1/agent/join", put(operator::join).post(operator::join))
        .route(
            "/v1/agent/force-leave",
            put(operator::force_leave).post(operator::force_leave),
        )
        .route("/v1/metrics", get(metrics::metrics))
        // Search, the event stream and system maintenance.
        .route("/v1/search", post(search::prefix).put(search::prefix))
        .route("/v1/search/fuzzy", post(search::fuzzy).put(search::fuzzy))
        .route("/v1/event/stream", get(events::stream))
        .route("/v1/system/gc", put(system::gc))
        .route(
            "/v1/system/reconcile/summaries",
            put(system::reconcile_summaries),
        )
}

/// Unknown paths: a 404 naming the path, as Nomad's mux does.
async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "Invalid URL path {:?}: no such endpoint in orch's Nomad-compatible API",
        uri.path()
    ))
}

/// Replaces axum's terse 413 text with one saying what the limit is and what to do.
async fn body_too_large(resp: axum::response::Response) -> axum::response::Response {
    use axum::response::IntoResponse;
    if resp.status() != axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return resp;
    }
    ApiError::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "request body is larger than {} MiB; shrink it (for example, fetch large templates with an artifact instead of inlining them)",
            MAX_BODY_BYTES / (1024 * 1024)
        ),
    )
    .into_response()
}
