//! `GET /v1/agent/monitor?log_level=&plain=&log_json=`: this agent's log lines, streamed
//! as they are written (see [`crate::log_monitor`]), at the level asked for even when
//! it is more verbose than the agent's own `log_level`. Nomad's frames
//! (`{"Data": base64}` per line) unless `plain=true`. Needs `agent:read`.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use serde_json::json;

use super::query::{Api, Params, Query};
use super::{ApiError, QueryOpts};
use crate::log_monitor::{LogLine, Monitor};

/// `GET /v1/agent/monitor`.
pub async fn monitor(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let level_name = q.raw.get("log_level").map_or("info", String::as_str);
    let level = crate::log_monitor::parse_level(level_name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "log_level: {level_name:?} is not a log level: use trace, debug, info, warn or error"
        ))
    })?;
    refuse_other_agents(&api, &q)?;
    let plain = q.flag("plain")?;
    let as_json = q.flag("log_json")?;
    let monitor = Monitor::attach(level)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let stream = futures_util::stream::unfold(monitor, move |mut m| async move {
        let line = match m.next().await? {
            Ok(line) => render(&line, as_json),
            Err(skipped) => {
                format!("[monitor] {skipped} log lines skipped: this monitor fell behind\n")
            }
        };
        let bytes = if plain {
            line.into_bytes()
        } else {
            let frame = json!({"Data": base64::engine::general_purpose::STANDARD.encode(line)});
            let mut v = serde_json::to_vec(&frame).unwrap_or_default();
            v.push(b'\n');
            v
        };
        Some((Ok::<_, std::io::Error>(Bytes::from(bytes)), m))
    });
    Ok(super::client_fs::stream_reply(
        plain,
        Body::from_stream(stream),
    ))
}

/// One line as text, or with `log_json` as Nomad's JSON log line.
fn render(line: &LogLine, as_json: bool) -> String {
    if !as_json {
        return format!("{}\n", line.text);
    }
    let v = json!({"@level": line.level.as_str().to_lowercase(), "@message": line.text});
    format!("{v}\n")
}

/// `node_id` / `server_id` naming another agent: orch does not relay a monitor yet.
fn refuse_other_agents(api: &super::ApiState, q: &QueryOpts) -> Result<(), ApiError> {
    let me = &api.agent;
    if let Some(node) = q.raw.get("node_id").filter(|n| !n.is_empty())
        && me.node_id.as_deref() != Some(node.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "node_id: {node} is not this agent's node; orch does not relay a monitor to another agent yet: run `orch monitor` against that node's address"
        )));
    }
    if let Some(server) = q.raw.get("server_id").filter(|s| !s.is_empty()) {
        let is_me = *server == me.name
            || *server == format!("{}.{}", me.name, me.region)
            || (server == "leader" && api.replicator.is_leader());
        if !is_me {
            return Err(ApiError::bad_request(format!(
                "server_id: {server} is not this server; orch does not relay a monitor to another agent yet: run `orch monitor` against that server's address"
            )));
        }
    }
    Ok(())
}
