//! `/v1/agent/self`, `/v1/agent/members` and `/v1/agent/health`: this agent, as Nomad's
//! CLI and python-nomad read it.

use crate::server::PeerAgent;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::ApiState;
use super::query::Api;

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
    let name = format!("{}.{}", a.name, a.region);
    member_json(
        &name,
        (&host, port),
        (&a.region, &a.datacenter),
        &a.version,
        "alive",
    )
}

/// Another server as `/v1/agent/members` lists it: what it said about itself, or, when
/// it did not answer, its Raft address with status `failed`.
fn peer_member(m: &crate::server::Member, agent: Option<&PeerAgent>, region: &str) -> Value {
    let (host, port) = split_addr(&m.addr);
    match agent {
        Some(p) => member_json(
            &format!("{}.{}", p.name, p.region),
            (&host, port),
            (&p.region, &p.datacenter),
            &p.version,
            "alive",
        ),
        None => member_json(&m.addr, (&host, port), (region, ""), "", "failed"),
    }
}

/// Nomad's member shape (serf's, with Nomad's tags).
fn member_json(
    name: &str,
    (host, port): (&str, u16),
    (region, dc): (&str, &str),
    build: &str,
    status: &str,
) -> Value {
    json!({
        "Name": name,
        "Addr": host,
        "Port": port,
        "Tags": {
            "role": "nomad", "region": region, "dc": dc,
            "build": build, "vsn": "1", "mvn": "1", "raft_vsn": "3",
            "port": port.to_string(), "rpc_addr": host,
        },
        "Status": status,
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

/// The agent's `config` for `/v1/agent/self`: what the agent runs with (set by the
/// agent at start), or a minimal one for embedders; `ACL.Enabled` always as enforced.
fn self_config(api: &ApiState) -> Value {
    let a = &api.agent;
    let mut config = if a.config.is_object() {
        a.config.clone()
    } else {
        json!({
            "Region": a.region,
            "Datacenter": a.datacenter,
            "NodeName": a.name,
            "Version": {"Version": a.version, "VersionPrerelease": "", "VersionMetadata": "", "Revision": ""},
            "Server": {"Enabled": a.server},
            "Client": {"Enabled": a.node_id.is_some()},
            "Addresses": {"HTTP": a.http_addr},
            "ACL": {},
        })
    };
    config["ACL"]["Enabled"] = json!(api.acl.enabled);
    config
}

/// `GET /v1/agent/self`: `{config, member, stats}`: the configuration the agent runs
/// with and its Raft and client state, as python-nomad and the Nomad CLI read them.
pub async fn agent_self(State(api): Api) -> Response {
    let a = &api.agent;
    let latest = api.state.latest_index();
    let leader = api.replicator.is_leader();
    let config = self_config(&api);
    let bootstrap = config["Server"]["BootstrapExpect"] == json!(1);
    let body = json!({
        "config": config,
        "member": member(&api),
        "stats": {
            "nomad": {
                "server": a.server.to_string(),
                "leader": leader.to_string(),
                "leader_addr": api.replicator.leader_addr().unwrap_or_default(),
                "known_regions": "1",
                "bootstrap": bootstrap.to_string(),
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

/// `GET /v1/agent/members`: every server of the Raft configuration, this one first;
/// each other server is asked who it is (a server that does not answer is `failed`).
pub async fn members(State(api): Api) -> Response {
    let a = &api.agent;
    let mut members = vec![member(&api)];
    for (m, agent) in api.replicator.peer_agents().await {
        members.push(peer_member(&m, agent.as_ref(), &a.region));
    }
    let body = json!({
        "ServerName": a.name, "ServerRegion": a.region, "ServerDC": a.datacenter,
        "Members": members,
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
        let message = if !raft.storage.is_empty() {
            format!("this server cannot write its Raft log: {}", raft.storage)
        } else if !api.known_leader() {
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
