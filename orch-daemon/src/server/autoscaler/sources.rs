//! The autoscaler's metric sources: `nomad-apm` (the group's running allocations' real
//! usage, read from each node's `/v1/client/allocation/:id/stats`) and `prometheus`
//! (the HTTP query API). Every failure is a [`SourceError`] whose message says what to
//! check; the policy status shows it and no action is taken.

use std::time::Duration;

use orch_core::autoscale::{NomadMetric, NomadQuery};
use orch_core::model::client_status;
use serde_json::Value;

use crate::server::StateHandle;

/// How long one source request may take before the check counts as failed.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a check got no metric.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The source answered but had nothing to say.
    #[error("no data: {0}")]
    NoData(String),
    /// The source could not be reached or answered with an error.
    #[error("{0}")]
    Unavailable(String),
    /// The check needs configuration the agent does not have.
    #[error("{0}")]
    NotConfigured(String),
}

/// `nomad-apm`: aggregates the usage of the group's running allocations.
pub async fn nomad(
    http: &reqwest::Client,
    state: &StateHandle,
    namespace: &str,
    job_id: &str,
    group: &str,
    query: &str,
) -> Result<f64, SourceError> {
    let q = NomadQuery::parse(query).map_err(SourceError::NotConfigured)?;
    // (alloc ID, node HTTP address, allocated MHz, allocated MB)
    let targets: Vec<(String, String, f64, f64)> = {
        let s = state.read();
        s.allocs_by_job(namespace, job_id)
            .into_iter()
            .filter(|a| {
                a.task_group == group && !a.terminal() && a.client_status == client_status::RUNNING
            })
            .filter_map(|a| {
                let node = s.node(&a.node_id)?;
                let tg = s.alloc_job(a)?.group(group)?;
                let cpu: u64 = tg.tasks.iter().map(|t| t.resources.cpu).sum();
                let mem: u64 = tg.tasks.iter().map(|t| t.resources.memory_mb).sum();
                Some((a.id.clone(), node.http_addr.clone(), cpu as f64, mem as f64))
            })
            .collect()
    };
    if targets.is_empty() {
        return Err(SourceError::NoData(format!(
            "group {group:?} of job {job_id:?} has no running allocations to measure"
        )));
    }
    let mut values = Vec::new();
    let mut failures = Vec::new();
    for (alloc, addr, cpu, mem) in targets {
        match alloc_usage(http, &addr, &alloc).await {
            Ok((ticks, bytes)) => values.push(match q.metric {
                NomadMetric::Cpu => ticks,
                NomadMetric::Memory => bytes,
                NomadMetric::CpuAllocated if cpu > 0.0 => ticks / cpu * 100.0,
                NomadMetric::MemoryAllocated if mem > 0.0 => {
                    bytes / (mem * 1024.0 * 1024.0) * 100.0
                }
                _ => 0.0,
            }),
            Err(e) => failures.push(format!("allocation {alloc}: {e}")),
        }
    }
    if values.is_empty() {
        return Err(SourceError::Unavailable(format!(
            "could not read any allocation's stats: {}",
            failures.join("; ")
        )));
    }
    if !failures.is_empty() {
        tracing::debug!(?failures, "some allocation stats were unavailable");
    }
    q.aggregate(&values)
        .ok_or_else(|| SourceError::NoData("no allocation stats".into()))
}

/// An allocation's `(TotalTicks MHz, RSS-or-Usage bytes)` from its node's agent.
async fn alloc_usage(
    http: &reqwest::Client,
    addr: &str,
    alloc: &str,
) -> Result<(f64, f64), String> {
    if addr.is_empty() {
        return Err("its node has no HTTP address".into());
    }
    let base = if addr.starts_with("http") {
        addr.to_string()
    } else {
        format!("http://{addr}")
    };
    let url = format!("{base}/v1/client/allocation/{alloc}/stats");
    let resp = http
        .get(&url)
        .timeout(QUERY_TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("GET {url}: HTTP {}", resp.status()));
    }
    let v: Value = resp.json().await.map_err(|e| format!("GET {url}: {e}"))?;
    let ru = &v["ResourceUsage"];
    let ticks = ru["CpuStats"]["TotalTicks"].as_f64().unwrap_or(0.0);
    let rss = ru["MemoryStats"]["RSS"].as_f64().unwrap_or(0.0);
    let usage = ru["MemoryStats"]["Usage"].as_f64().unwrap_or(0.0);
    Ok((ticks, if rss > 0.0 { rss } else { usage }))
}

/// `prometheus`: an instant query (or, with `query_window`, the latest point of a range
/// query) that must give a scalar or exactly one series.
pub async fn prometheus(
    http: &reqwest::Client,
    address: Option<&str>,
    query: &str,
    window_ns: Option<i64>,
    now_ns: i64,
) -> Result<f64, SourceError> {
    let Some(address) = address else {
        return Err(SourceError::NotConfigured(
            "no Prometheus address: set autoscaler { prometheus_address = \"http://host:9090\" } in the agent config".into(),
        ));
    };
    let base = address.trim_end_matches('/');
    let now = now_ns as f64 / 1e9;
    let (path, params) = match window_ns {
        None => (
            "query",
            vec![("query", query.to_string()), ("time", format!("{now:.3}"))],
        ),
        Some(w) => {
            let w = w as f64 / 1e9;
            let step = (w / 10.0).max(1.0);
            (
                "query_range",
                vec![
                    ("query", query.to_string()),
                    ("start", format!("{:.3}", now - w)),
                    ("end", format!("{now:.3}")),
                    ("step", format!("{step:.3}")),
                ],
            )
        }
    };
    let url = reqwest::Url::parse_with_params(&format!("{base}/api/v1/{path}"), &params)
        .map_err(|e| {
            SourceError::NotConfigured(format!(
                "prometheus_address {address:?} is not a URL ({e}); write it like \"http://127.0.0.1:9090\""
            ))
        })?;
    let req = http.get(url);
    let resp = req.timeout(QUERY_TIMEOUT).send().await.map_err(|e| {
        SourceError::Unavailable(format!("Prometheus at {base} is unreachable: {e}"))
    })?;
    let status = resp.status();
    let v: Value = resp.json().await.map_err(|e| {
        SourceError::Unavailable(format!(
            "Prometheus at {base} answered HTTP {status} without JSON: {e}"
        ))
    })?;
    if v["status"] != "success" {
        return Err(SourceError::Unavailable(format!(
            "Prometheus refused the query {query:?}: {}",
            v["error"].as_str().unwrap_or("unknown error")
        )));
    }
    parse_result(&v["data"], query)
}

/// The one value in a Prometheus `data` object.
fn parse_result(data: &Value, query: &str) -> Result<f64, SourceError> {
    let sample = |pair: &Value| -> Option<f64> {
        let s = pair.get(1)?.as_str()?;
        s.parse::<f64>().ok().filter(|f| f.is_finite())
    };
    let value = match data["resultType"].as_str() {
        Some("scalar") => sample(&data["result"]),
        Some("vector") | Some("matrix") => {
            let list = data["result"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            match list {
                [] => {
                    return Err(SourceError::NoData(format!(
                        "the query {query:?} returned no series"
                    )));
                }
                [one] => match one.get("value") {
                    Some(v) => sample(v),
                    None => one["values"]
                        .as_array()
                        .and_then(|vs| vs.last())
                        .and_then(sample),
                },
                many => {
                    return Err(SourceError::NotConfigured(format!(
                        "the query {query:?} returned {} series; aggregate it to one (sum(...), avg(...) or scalar(...))",
                        many.len()
                    )));
                }
            }
        }
        other => {
            return Err(SourceError::NotConfigured(format!(
                "the query {query:?} returned a {} result; it must give a number",
                other.unwrap_or("missing")
            )));
        }
    };
    value.ok_or_else(|| {
        SourceError::NoData(format!("the query {query:?} returned NaN or no sample"))
    })
}

#[cfg(test)]
mod tests;
