//! `/v1/metrics`: Nomad's JSON summary or Prometheus text, from the state (objects by
//! status, table indexes), the leader's broker, replication health and scaling.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use orch_core::state::{StateStore, table};
use serde_json::{Value, json};

use super::query::{Api, Params, Query};
use super::{ApiError, ApiState, QueryOpts};

/// Replication gauges: this server's health, lag and leader contact, and on the leader
/// each peer's (labelled by its Raft ID).
fn raft_gauges(api: &ApiState, g: &mut Vec<Gauge>) {
    let h = api.replicator.health();
    g.push(("nomad.raft.healthy", vec![], f64::from(u8::from(h.healthy))));
    g.push(("nomad.raft.lag_entries", vec![], h.lag as f64));
    if let Some(ms) = h.leader_contact_ms {
        g.push(("nomad.raft.leader.last_contact_ms", vec![], ms as f64));
    }
    if !api.replicator.is_leader() {
        return;
    }
    for (id, p) in &h.servers {
        let label = || vec![("peer_id", id.to_string())];
        g.push(("nomad.raft.peer.lag_entries", label(), p.lag as f64));
        g.push((
            "nomad.raft.peer.healthy",
            label(),
            f64::from(u8::from(p.healthy)),
        ));
        if let Some(ms) = p.last_contact_ms {
            g.push(("nomad.raft.peer.last_contact_ms", label(), ms as f64));
        }
    }
}

/// One gauge: name, labels, value.
pub type Gauge = (&'static str, Vec<(&'static str, String)>, f64);

fn count_by<'a>(
    out: &mut Vec<Gauge>,
    name: &'static str,
    label: &'static str,
    values: impl Iterator<Item = &'a str>,
) {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    for (v, n) in counts {
        out.push((name, vec![(label, v.to_string())], n as f64));
    }
}

/// The metrics orch reports, from the state: objects by status and the Raft index.
fn gauges(api: &ApiState, s: &StateStore) -> Vec<Gauge> {
    let mut g: Vec<Gauge> = Vec::new();
    count_by(
        &mut g,
        "nomad.nomad.jobs",
        "status",
        s.jobs().map(|j| j.status.as_str()),
    );
    count_by(
        &mut g,
        "nomad.nomad.nodes",
        "status",
        s.nodes().map(|n| n.status.as_str()),
    );
    count_by(
        &mut g,
        "nomad.nomad.allocs",
        "client_status",
        s.allocs_any_order().map(|a| a.client_status.as_str()),
    );
    count_by(
        &mut g,
        "nomad.nomad.evals",
        "status",
        s.evals().map(|e| e.status.as_str()),
    );
    count_by(
        &mut g,
        "nomad.nomad.deployments",
        "status",
        s.deployments().map(|d| d.status.as_str()),
    );
    g.push(("nomad.raft.applied_index", vec![], s.latest_index() as f64));
    for t in [
        table::JOBS,
        table::NODES,
        table::ALLOCS,
        table::EVALS,
        table::DEPLOYMENTS,
    ] {
        g.push((
            "nomad.state.table_index",
            vec![("table", t.to_string())],
            s.index(t) as f64,
        ));
    }
    let leader = if api.replicator.is_leader() { 1.0 } else { 0.0 };
    g.push(("nomad.nomad.leader.is_leader", vec![], leader));
    raft_gauges(api, &mut g);
    g
}

/// `GET /v1/metrics`: Nomad's JSON summary, or `?format=prometheus` text exposition.
pub async fn metrics(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let mut gauges = {
        let s = api.state.read();
        let mut g = gauges(&api, &s);
        super::metrics_scaling::gauges(&api, &s, &mut g);
        g
    };
    if let Some(leader) = api.leader.as_ref().filter(|_| api.replicator.is_leader()) {
        // Nomad's broker and blocked-evals gauges: only the leader's broker holds work;
        // a follower's idle one would report zeros as if nothing were queued.
        let b = leader.broker.lock().await.stats();
        let blocked = leader.blocked.lock().await.stats();
        for (name, v) in [
            ("nomad.nomad.broker.total_ready", b.total_ready),
            ("nomad.nomad.broker.total_unacked", b.total_unacked),
            ("nomad.nomad.broker.total_pending", b.total_blocked_by_job),
            ("nomad.nomad.broker.total_waiting", b.total_delayed),
            ("nomad.nomad.broker.total_failed", b.total_failed),
            (
                "nomad.nomad.blocked_evals.total_blocked",
                blocked.total_blocked,
            ),
            (
                "nomad.nomad.blocked_evals.total_escaped",
                blocked.total_escaped,
            ),
        ] {
            gauges.push((name, vec![], v as f64));
        }
    }
    let format = q.raw.get("format").map(String::as_str).unwrap_or("");
    match format {
        "" | "json" => {
            let list: Vec<Value> = gauges
                .iter()
                .map(|(name, labels, v)| {
                    let labels: BTreeMap<&str, &str> =
                        labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    json!({"Name": name, "Value": v, "Labels": labels})
                })
                .collect();
            let (counters, samples, secs) = crate::telemetry::snapshot();
            let body = json!({
                "Timestamp": go_time((api.now)()),
                "Gauges": list,
                "Counters": aggregates_json(&counters, secs),
                "Samples": aggregates_json(&samples, secs),
                "Points": [],
            });
            Ok(axum::Json(body).into_response())
        }
        "prometheus" => Ok((
            [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
            prometheus(&gauges) + &prometheus_aggregates(),
        )
            .into_response()),
        other => Err(ApiError::bad_request(format!(
            "unknown metrics format {other:?}: use format=prometheus or omit it for JSON"
        ))),
    }
}

/// Prometheus text exposition (version 0.0.4) of the gauges.
pub fn prometheus(gauges: &[Gauge]) -> String {
    let mut out = String::new();
    let mut last = "";
    for (name, labels, value) in gauges {
        let metric = name.replace(['.', '-'], "_");
        if *name != last {
            let _ = writeln!(out, "# HELP {metric} {metric}");
            let _ = writeln!(out, "# TYPE {metric} gauge");
            last = name;
        }
        let _ = writeln!(out, "{metric}{} {value}", prom_labels(labels));
    }
    out
}

/// `{k="v",...}` with Prometheus' escapes, or nothing without labels.
fn prom_labels(labels: &[(&'static str, String)]) -> String {
    let l: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    if l.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", l.join(","))
    }
}

/// Counters or samples as go-metrics' `SampledValue`s.
fn aggregates_json(series: &[crate::telemetry::Series], secs: f64) -> Vec<Value> {
    series
        .iter()
        .map(|s| {
            let labels: BTreeMap<&str, &str> =
                s.labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let a = &s.value;
            json!({
                "Name": s.name, "Count": a.count, "Rate": a.sum / secs, "Sum": a.sum,
                "Min": a.min, "Max": a.max, "Mean": a.mean(), "Stddev": a.stddev(),
                "Labels": labels,
            })
        })
        .collect()
}

/// Counters as Prometheus counters, samples as summaries (`_sum`, `_count`).
fn prometheus_aggregates() -> String {
    let (counters, samples, _) = crate::telemetry::snapshot();
    let mut out = String::new();
    let mut last = "";
    for s in &counters {
        let metric = s.name.replace(['.', '-'], "_");
        if s.name != last {
            let _ = writeln!(out, "# TYPE {metric} counter");
            last = s.name;
        }
        let _ = writeln!(out, "{metric}{} {}", prom_labels(&s.labels), s.value.sum);
    }
    for s in &samples {
        let metric = s.name.replace(['.', '-'], "_");
        if s.name != last {
            let _ = writeln!(out, "# TYPE {metric} summary");
            last = s.name;
        }
        let l = prom_labels(&s.labels);
        let _ = writeln!(out, "{metric}_sum{l} {}", s.value.sum);
        let _ = writeln!(out, "{metric}_count{l} {}", s.value.count);
    }
    out
}

/// Unix nanoseconds as Go's `time.Time.String()` in UTC (`2024-01-02 03:04:05 +0000 UTC`).
fn go_time(nanos: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(nanos))
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S +0000 UTC").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
