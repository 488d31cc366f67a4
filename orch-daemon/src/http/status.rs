//! Cluster and agent endpoints: `/v1/status/*`, `/v1/agent/*`, `/v1/regions`,
//! `/v1/operator/raft/configuration`, `/v1/metrics` (JSON and Prometheus text).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use orch_core::state::{StateStore, table};
use serde_json::{Value, json};

use super::{ApiError, ApiState, QueryOpts};

use super::query::{Api, Params};

/// `GET /v1/status/leader`: the leader's RPC address as a JSON string (`""` if none).
pub async fn leader(State(api): Api) -> Response {
    let addr = api.replicator.leader_addr().unwrap_or_default();
    api.reply(api.state.latest_index().max(1), &addr)
}

/// `GET /v1/status/peers`: the voters' RPC addresses.
pub async fn peers(State(api): Api) -> Response {
    api.reply(api.state.latest_index().max(1), &api.replicator.peers())
}

fn member(api: &ApiState) -> Value {
    let a = &api.agent;
    let (host, port) = match api
        .replicator
        .leader_addr()
        .filter(|_| api.replicator.is_leader())
    {
        Some(addr) => split_addr(&addr),
        None => split_addr(&a.http_addr),
    };
    json!({
        "Name": format!("{}.{}", a.name, a.region),
        "Addr": host,
        "Port": port,
        "Tags": {
            "role": "nomad", "region": a.region, "dc": a.datacenter,
            "build": a.version, "vsn": "1", "mvn": "1", "raft_vsn": "3",
            "port": port.to_string(), "rpc_addr": host,
        },
        "Status": "alive",
        "ProtocolMin": 1, "ProtocolMax": 5, "ProtocolCur": 2,
        "DelegateMin": 2, "DelegateMax": 5, "DelegateCur": 4,
    })
}

fn split_addr(addr: &str) -> (String, u16) {
    match addr.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().unwrap_or(0)),
        None => (addr.to_string(), 0),
    }
}

/// `GET /v1/agent/self`: `{config, member, stats}`, enough for python-nomad and the
/// Nomad CLI to learn the region, datacenter, node name and version.
pub async fn agent_self(State(api): Api) -> Response {
    let a = &api.agent;
    let latest = api.state.latest_index();
    let leader = api.replicator.is_leader();
    let body = json!({
        "config": {
            "Region": a.region,
            "Datacenter": a.datacenter,
            "NodeName": a.name,
            "Version": {"Version": a.version, "VersionPrerelease": "", "VersionMetadata": "", "Revision": ""},
            "Server": {"Enabled": a.server},
            "Client": {"Enabled": a.node_id.is_some()},
            "Addresses": {"HTTP": a.http_addr},
            "ACL": {"Enabled": false},
        },
        "member": member(&api),
        "stats": {
            "nomad": {
                "server": a.server.to_string(),
                "leader": leader.to_string(),
                "leader_addr": api.replicator.leader_addr().unwrap_or_default(),
                "known_regions": "1",
                "bootstrap": "false",
            },
            "raft": {
                "applied_index": latest.to_string(),
                "commit_index": latest.to_string(),
                "last_log_index": latest.to_string(),
                "state": if leader { "Leader" } else { "Follower" },
                "num_peers": api.replicator.peers().len().saturating_sub(1).to_string(),
            },
            "client": match &a.node_id {
                Some(id) => json!({"node_id": id}),
                None => Value::Null,
            },
        },
    });
    api.reply(latest.max(1), &body)
}

/// `GET /v1/agent/members`: the server members (only this agent is known here).
pub async fn members(State(api): Api) -> Response {
    let a = &api.agent;
    let body = json!({
        "ServerName": a.name, "ServerRegion": a.region, "ServerDC": a.datacenter,
        "Members": [member(&api)],
    });
    api.reply(api.state.latest_index().max(1), &body)
}

/// `GET /v1/agent/health`: the server part is ok when it knows a leader and keeps up
/// with its log (see [`RaftHealth`](crate::server::RaftHealth)); 500 otherwise, with
/// the reason in its message.
pub async fn health(State(api): Api) -> Response {
    let mut ok = true;
    let mut body = serde_json::Map::new();
    if api.agent.server {
        let raft = api.replicator.health();
        let message = if !api.known_leader() {
            "No cluster leader; wait for an election or check the servers' connectivity".to_string()
        } else if !raft.healthy {
            format!(
                "this server does not keep up with the cluster: {}",
                raft.reason
            )
        } else {
            "ok".to_string()
        };
        ok = message == "ok";
        body.insert("server".into(), json!({"ok": ok, "message": message}));
    }
    if api.agent.node_id.is_some() {
        body.insert("client".into(), json!({"ok": true, "message": "ok"}));
    }
    let mut resp = api.reply(api.state.latest_index().max(1), &body);
    if !ok {
        *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    }
    resp
}

/// `GET /v1/regions`.
pub async fn regions(State(api): Api) -> Response {
    api.reply(
        api.state.latest_index().max(1),
        std::slice::from_ref(&api.agent.region),
    )
}

/// A duration in milliseconds as Go prints it (`"0s"`, `"12ms"`), `""` when unknown.
fn go_millis(ms: Option<u64>) -> String {
    ms.map_or(String::new(), |ms| {
        orch_core::lifecycle::restart::go_duration(
            i64::try_from(ms)
                .unwrap_or(i64::MAX)
                .saturating_mul(1_000_000),
        )
    })
}

/// Every member with its progress as the leader sees it (autopilot's fields).
fn servers_with_progress(api: &ApiState) -> Vec<Value> {
    let leader = api.replicator.leader_addr();
    let health = api.replicator.health();
    api.replicator
        .members()
        .into_iter()
        .map(|m| {
            let p =
                m.id.parse::<u64>()
                    .ok()
                    .and_then(|id| health.servers.get(&id));
            json!({"ID": m.id, "Node": m.addr, "Address": m.addr,
                   "Leader": leader.as_deref() == Some(m.addr.as_str()),
                   "Voter": m.voter, "RaftProtocol": "3",
                   "LastContact": go_millis(p.and_then(|p| p.last_contact_ms)),
                   "LastIndex": p.map_or(0, |p| p.last_index),
                   "TrailingLogs": p.map_or(0, |p| p.lag),
                   "Healthy": p.is_some_and(|p| p.healthy)})
        })
        .collect()
}

/// `GET /v1/operator/raft/configuration`: every member; `ID` is the Raft ID that
/// `DELETE /v1/operator/raft/peer?id=` takes. Beyond Nomad's fields each server has
/// autopilot's `LastContact`, `LastIndex` and `Healthy`, and `TrailingLogs`, the entries
/// it trails the leader by.
pub async fn raft_configuration(State(api): Api) -> Response {
    let servers = servers_with_progress(&api);
    let index = api.state.latest_index();
    api.reply(index.max(1), &json!({"Servers": servers, "Index": index}))
}

/// `GET /v1/operator/autopilot/health`: Nomad's autopilot health of the servers; 429
/// when any voter is unhealthy, as Nomad answers.
pub async fn autopilot_health(State(api): Api) -> Response {
    let servers: Vec<Value> = servers_with_progress(&api)
        .into_iter()
        .map(|s| {
            let mut server = json!({"ID": s["ID"], "Name": s["Node"], "Address": s["Address"],
                   "SerfStatus": "alive", "Version": api.agent.version,
                   "Leader": s["Leader"], "Voter": s["Voter"], "Healthy": s["Healthy"],
                   "LastIndex": s["LastIndex"]});
            // Go's client parses it as a duration: left out when never heard from.
            if s["LastContact"] != "" {
                server["LastContact"] = s["LastContact"].clone();
            }
            server
        })
        .collect();
    let voters: Vec<&Value> = servers.iter().filter(|s| s["Voter"] == true).collect();
    let healthy_voters = voters.iter().filter(|s| s["Healthy"] == true).count();
    let healthy = healthy_voters == voters.len();
    // Voters that may fail with the quorum kept, counting only healthy ones.
    let quorum = voters.len() / 2 + 1;
    let tolerance = healthy_voters.saturating_sub(quorum);
    let leader = servers
        .iter()
        .find(|s| s["Leader"] == true)
        .map_or(Value::String(String::new()), |s| s["ID"].clone());
    let body = json!({"Healthy": healthy, "FailureTolerance": tolerance, "Leader": leader,
                      "Voters": voters.iter().map(|s| s["ID"].clone()).collect::<Vec<_>>(),
                      "Servers": servers});
    let mut resp = api.reply(api.state.latest_index().max(1), &body);
    if !healthy {
        *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    }
    resp
}

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
type Gauge = (&'static str, Vec<(&'static str, String)>, f64);

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
        s.allocs().map(|a| a.client_status.as_str()),
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
    if let Some(leader) = &api.leader {
        // Nomad's broker and blocked-evals gauges (meaningful on the leader).
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
            let body = json!({
                "Timestamp": go_time((api.now)()),
                "Gauges": list, "Counters": [], "Samples": [], "Points": [],
            });
            Ok(axum::Json(body).into_response())
        }
        "prometheus" => Ok((
            [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
            prometheus(&gauges),
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
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        if labels.is_empty() {
            let _ = writeln!(out, "{metric} {value}");
        } else {
            let _ = writeln!(out, "{metric}{{{}}} {value}", labels.join(","));
        }
    }
    out
}

/// Unix nanoseconds as Go's `time.Time.String()` in UTC (`2024-01-02 03:04:05 +0000 UTC`).
fn go_time(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} +0000 UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod unit {
    #[test]
    fn go_time_formats_utc() {
        assert_eq!(super::go_time(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            super::go_time(1_700_000_000_000_000_000),
            "2023-11-14 22:13:20 +0000 UTC"
        );
    }
}
