//! What every endpoint shares: query parameters (`index`, `wait`, `prefix`, `namespace`),
//! Nomad's blocking queries, the `X-Nomad-*` response headers, JSON bodies and errors.
//!
//! Errors are plain text with an HTTP status, as Nomad sends them: the Go API client and
//! python-nomad show the body verbatim (`Unexpected response code: 404 (job not found)`).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use orch_core::state::{Command, StateError, StateStore};
use serde::Serialize;
use serde_json::{Value, json};

use super::ApiState;
use super::auth::Authz;

/// The API state as handlers extract it.
pub type Api = axum::extract::State<std::sync::Arc<ApiState>>;
/// Query parameters as handlers extract them (parsed further by [`QueryOpts::parse`]).
pub type Params = Query<RawParams>;

/// An extractor like axum's `Query`, for [`RawParams`]: the query string with the
/// caller's [`Authz`], so every [`QueryOpts`] knows what its caller may see.
pub struct Query<T>(pub T);

/// The query string's parameters and the caller's rights (set by the ACL guard).
#[derive(Debug, Clone)]
pub struct RawParams {
    /// Every parameter.
    pub map: BTreeMap<String, String>,
    /// What the caller may do.
    pub authz: Authz,
}

impl RawParams {
    /// Parameters of a caller who may do everything (ACLs disabled; tests).
    pub fn open(map: BTreeMap<String, String>) -> Self {
        RawParams {
            map,
            authz: Authz::open(),
        }
    }
}

impl std::ops::Deref for RawParams {
    type Target = BTreeMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl std::ops::DerefMut for RawParams {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.map
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Query<RawParams> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(map) =
            axum::extract::Query::<BTreeMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))?;
        let authz = Authz::from_request_parts(parts, state).await?;
        Ok(Query(RawParams { map, authz }))
    }
}

/// The shape of every simple read endpoint: parse the query options, wait as a blocking
/// query on the `watched` table index, build the body under the state's read lock, and
/// answer with the index headers.
pub async fn blocking_read<T: Serialize>(
    api: &ApiState,
    raw: RawParams,
    watched: fn(&StateStore) -> u64,
    read: impl FnOnce(&StateStore, &QueryOpts) -> Result<T, ApiError>,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, watched).await;
    let body = read(&api.state.read(), &q)?;
    Ok(api.reply(index, &body))
}
use crate::server::ReplicateError;

/// Default wait of a blocking query without `wait=` (Nomad's 5 minutes).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(300);
/// Longest wait a client may ask for (Nomad's 10 minutes).
pub const MAX_WAIT: Duration = Duration::from_secs(600);

/// An HTTP error: status and a plain-text message telling the caller what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status code.
    pub status: StatusCode,
    /// Body text.
    pub message: String,
}

impl ApiError {
    /// A 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A 404 with Nomad's wording (`job not found`), so scripts matching it still work.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// A 501: a Nomad feature orch does not implement; says so instead of faking success.
    pub fn not_implemented(feature: &str) -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            format!("{feature} is not implemented by orch yet"),
        )
    }

    /// Any status with a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            [("content-type", "text/plain; charset=utf-8")],
            self.message,
        )
            .into_response()
    }
}

impl From<ReplicateError> for ApiError {
    fn from(e: ReplicateError) -> Self {
        match e {
            ReplicateError::Rejected(s) => state_error(s),
            ReplicateError::NoLeader(m) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("No cluster leader ({m}); retry once a leader is elected"),
            ),
            ReplicateError::Failed(m) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "replication failed: {m}; the write may still commit, check before retrying"
                ),
            ),
        }
    }
}

/// Maps a refused command to Nomad's status codes: missing objects are 404, everything
/// the caller can fix in the request is 400 (Nomad also answers enforce-index conflicts
/// with a 400-class error carrying its exact wording, which `nomad job run -check-index`
/// looks for).
fn state_error(e: StateError) -> ApiError {
    let status = match &e {
        StateError::JobNotFound { .. }
        | StateError::JobVersionNotFound { .. }
        | StateError::NodeNotFound(_)
        | StateError::EvalNotFound(_)
        | StateError::AllocNotFound(_)
        | StateError::DeploymentNotFound(_) => StatusCode::NOT_FOUND,
        StateError::EnforceIndex { .. } | StateError::Conflict(_) | StateError::Invalid(_) => {
            StatusCode::BAD_REQUEST
        }
        StateError::StaleIndex { .. } | StateError::Snapshot(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    ApiError::new(status, e.to_string())
}

/// Parsed query parameters common to Nomad's endpoints.
#[derive(Debug, Clone)]
pub struct QueryOpts {
    /// `index=`: block until the watched index exceeds it (0: answer at once).
    pub index: u64,
    /// `wait=`: how long to block at most.
    pub wait: Duration,
    /// `prefix=`: ID prefix filter of list endpoints.
    pub prefix: String,
    /// `namespace=`: `default` when absent; `*` means all on list endpoints.
    pub namespace: String,
    /// Every parameter, for endpoint-specific ones (`purge`, `format`, ...).
    pub raw: BTreeMap<String, String>,
    /// What the caller may do and see.
    pub authz: Authz,
}

impl Default for QueryOpts {
    fn default() -> Self {
        QueryOpts {
            index: 0,
            wait: DEFAULT_WAIT,
            prefix: String::new(),
            namespace: "default".into(),
            raw: BTreeMap::new(),
            authz: Authz::nobody(),
        }
    }
}

impl QueryOpts {
    /// Parses the query string map; a bad `index` or `wait` is a 400 naming the value.
    pub fn parse(params: RawParams) -> Result<Self, ApiError> {
        let RawParams { map: raw, authz } = params;
        let index = match raw.get("index").map(String::as_str) {
            None | Some("") => 0,
            Some(s) => s.parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "Invalid index {s:?}: index must be a non-negative integer (the X-Nomad-Index of a previous response)"
                ))
            })?,
        };
        let wait = match raw.get("wait").map(String::as_str) {
            None | Some("") => DEFAULT_WAIT,
            Some(s) => parse_go_duration(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Invalid wait time {s:?}: use a Go duration such as 30s, 5m or 1m30s"
                ))
            })?,
        }
        .min(MAX_WAIT);
        if raw.get("filter").is_some_and(|f| !f.is_empty()) {
            return Err(ApiError::not_implemented(
                "Filter expressions (?filter=) on this endpoint (orch filters /v1/jobs, /v1/allocations, /v1/evaluations, /v1/nodes and /v1/deployments)",
            ));
        }
        let namespace = match raw.get("namespace").map(String::as_str) {
            None | Some("") => "default".to_string(),
            Some(ns) => ns.to_string(),
        };
        Ok(QueryOpts {
            index,
            wait,
            prefix: raw.get("prefix").cloned().unwrap_or_default(),
            namespace,
            raw,
            authz,
        })
    }

    /// A boolean parameter (`purge=true`); absent is false, anything unparsable a 400.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        go_bool_param(&self.raw, name)
    }

    /// Whether an object in `namespace` is visible to this query: the query names its
    /// namespace (`*` names all) and the caller may see it.
    pub fn sees(&self, namespace: &str) -> bool {
        (self.namespace == "*" || self.namespace == namespace) && self.authz.sees(namespace)
    }

    /// The namespace for single-object lookups (`*` makes no sense there: `default`).
    pub fn ns(&self) -> &str {
        if self.namespace == "*" {
            "default"
        } else {
            &self.namespace
        }
    }
}

/// A boolean query parameter read as Nomad's Go code reads it (`strconv.ParseBool`:
/// `1`, `t`, `true`, `True`, `TRUE` and the false forms); absent or empty is false,
/// anything else a 400 naming the parameter.
pub fn go_bool_param(raw: &BTreeMap<String, String>, name: &str) -> Result<bool, ApiError> {
    match raw.get(name).map(String::as_str) {
        None | Some("") => Ok(false),
        Some(v) => orch_core::strconv::parse_bool(v).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid value {v:?} for {name}: use true or false (or 1/0, t/f)"
            ))
        }),
    }
}

/// A non-negative Go duration (`300ms`, `1.5s`, `1h2m3s`) as a `Duration`; `None` for
/// anything Go refuses (a bare `10` included) or a negative one.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    let nanos = orch_core::duration::parse_go_duration(s.trim()).ok()?;
    u64::try_from(nanos).ok().map(Duration::from_nanos)
}

impl ApiState {
    /// Nomad's blocking query: when `q.index` is not behind `watched`'s current value,
    /// waits until it passes `q.index` or `q.wait` elapses. Returns the index to report
    /// (at least 1, so clients never block on index 0).
    pub async fn block(&self, q: &QueryOpts, watched: fn(&StateStore) -> u64) -> u64 {
        let current = || watched(&self.state.read());
        if q.index > 0 && current() <= q.index {
            let deadline = tokio::time::Instant::now() + q.wait;
            loop {
                let latest = self.state.latest_index();
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                if left.is_zero() || current() > q.index {
                    break;
                }
                self.state.wait_past(latest, left).await;
            }
        }
        current().max(1)
    }

    /// A JSON reply with Nomad's query metadata headers.
    pub fn reply<T: Serialize + ?Sized>(&self, index: u64, body: &T) -> Response {
        let mut resp = axum::Json(body).into_response();
        self.set_meta(&mut resp, index);
        resp
    }

    /// Sets `X-Nomad-Index`, `X-Nomad-KnownLeader` and `X-Nomad-LastContact`.
    pub fn set_meta(&self, resp: &mut Response, index: u64) {
        let headers = resp.headers_mut();
        let known = self.replicator.leader_addr().is_some() || self.replicator.is_leader();
        headers.insert(
            HeaderName::from_static("x-nomad-index"),
            HeaderValue::from(index),
        );
        headers.insert(
            HeaderName::from_static("x-nomad-knownleader"),
            HeaderValue::from_static(if known { "true" } else { "false" }),
        );
        headers.insert(
            HeaderName::from_static("x-nomad-lastcontact"),
            HeaderValue::from(self.last_contact_ms()),
        );
    }

    /// Nomad's `LastContact`: milliseconds since this server last heard from the
    /// leader (0 on the leader and on an agent without peers), as its replication
    /// health measured it (refreshed about once a second).
    pub fn last_contact_ms(&self) -> u64 {
        if self.replicator.is_leader() {
            return 0;
        }
        self.replicator.health().leader_contact_ms.unwrap_or(0)
    }

    /// Whether a leader is known, for write responses' `KnownLeader`.
    pub fn known_leader(&self) -> bool {
        self.replicator.is_leader() || self.replicator.leader_addr().is_some()
    }
}

/// Commits a job command and answers Nomad's `JobRegisterResponse` shape (job register,
/// scale, revert).
pub(crate) async fn write_reply(api: &ApiState, cmd: Command) -> Result<Response, ApiError> {
    write_reply_warned(api, cmd, Vec::new()).await
}

/// [`write_reply`] with warnings of the HTTP layer's own before the state's.
pub(crate) async fn write_reply_warned(
    api: &ApiState,
    cmd: Command,
    mut warnings: Vec<String>,
) -> Result<Response, ApiError> {
    let r = api.replicator.propose(cmd).await?;
    warnings.extend(r.warnings.iter().cloned());
    Ok(api.reply(
        r.index,
        &json!({
            "EvalID": r.eval_id,
            "EvalCreateIndex": r.eval_create_index,
            "JobModifyIndex": r.job_modify_index,
            "Warnings": warnings.join("\n"),
            "Index": r.index,
            "LastContact": api.last_contact_ms(),
            "KnownLeader": api.known_leader(),
        }),
    ))
}

/// Parses a request body as JSON; malformed JSON is a 400 giving line and column. An
/// empty body is `{}` (Nomad's clients send none on some POSTs).
pub fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "failed to parse JSON request body at line {}, column {}: {e}; send a JSON object as in Nomad's API",
            e.line(),
            e.column()
        ))
    })
}

/// Reads an optional field of a request body with the expected JSON type; a wrong type
/// is a 400 naming the field.
pub fn field<T: serde::de::DeserializeOwned>(
    body: &Value,
    name: &str,
) -> Result<Option<T>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| ApiError::bad_request(format!("{name}: {e}; fix the field's type"))),
    }
}
