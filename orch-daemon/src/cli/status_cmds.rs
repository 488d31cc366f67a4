//! `orch server members|force-leave` and `orch operator raft list-peers|remove-peer`.

use std::process::ExitCode;

use super::api::{ApiClient, encode, parse_args};
use super::table::{columns, text};

const SERVER_USAGE: &str = "Usage: orch server <subcommand> [options]

Subcommands:
    members      Display the cluster's server members
    force-leave  Remove a server (by name) from the Raft configuration";

const FORCE_LEAVE_HELP: &str = "Usage: orch server force-leave [options] <node>

  Removes the server <node> (its name, or name.region as `server members` prints it)
  from the Raft configuration, e.g. one that died and will not return. orch has no
  gossip layer, so this is the same change as `operator raft remove-peer`.";

const MEMBERS_HELP: &str = "Usage: orch server members [options]

  Lists the servers known to the agent: name, address, status, leadership, version.

Options:
  -json  Print the raw API JSON";

const OPERATOR_USAGE: &str = "Usage: orch operator raft <list-peers|remove-peer> [options]

  list-peers   Lists the Raft peers (servers), which one leads, and how each keeps up:
               last contact with the leader, entries it trails by, healthy.
  remove-peer  Removes a server from the Raft configuration.

Options:
  -json  Print the raw API JSON (list-peers)";

const REMOVE_PEER_HELP: &str = "Usage: orch operator raft remove-peer [options]

  Removes a server from the Raft configuration, e.g. one that failed for good. The
  leader makes the change; the last voter cannot be removed.

Options:
  -peer-id=<id>          The Raft ID (the ID column of `operator raft list-peers`)
  -peer-address=<addr>   The Raft RPC address (host:port)";

/// Dispatches `orch server <verb>`.
pub fn run_server(args: &[String]) -> Result<ExitCode, String> {
    match args.first().map(String::as_str) {
        Some("members") => members(args.get(1..).unwrap_or_default()),
        Some("force-leave") => force_leave(args.get(1..).unwrap_or_default()),
        Some("-h" | "-help" | "--help" | "help") | None => {
            println!("{SERVER_USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(format!(
            "unknown command `orch server {other}`\n\n{SERVER_USAGE}"
        )),
    }
}

/// Dispatches `orch operator raft <verb>`.
pub fn run_operator(args: &[String]) -> Result<ExitCode, String> {
    let words: Vec<&str> = args.iter().take(2).map(String::as_str).collect();
    match words.as_slice() {
        ["raft", "list-peers"] => list_peers(args.get(2..).unwrap_or_default()),
        ["raft", "remove-peer"] => remove_peer(args.get(2..).unwrap_or_default()),
        [] | ["-h" | "-help" | "--help" | "help", ..] | ["raft"] => {
            println!("{OPERATOR_USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(format!(
            "unknown command `orch operator {}`: only `operator raft list-peers` and `operator raft remove-peer` are supported\n\n{OPERATOR_USAGE}",
            args.join(" ")
        )),
    }
}

fn members(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_args(
        args,
        &[("detailed", false), ("verbose", false)],
        MEMBERS_HELP,
    )?
    else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let reply = client.get("/v1/agent/members")?;
    if p.has("json") {
        return super::print_json(&reply);
    }
    // The leader's RPC address, compared with each member's address and port.
    let leader = client
        .get("/v1/status/leader")
        .map(|v| text(&v))
        .unwrap_or_default();
    let mut rows = vec![
        [
            "Name",
            "Address",
            "Port",
            "Status",
            "Leader",
            "Raft Version",
            "Build",
            "Datacenter",
            "Region",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for m in reply["Members"].as_array().into_iter().flatten() {
        let addr = text(&m["Addr"]);
        let port = text(&m["Port"]);
        let tags = &m["Tags"];
        let is_leader = !leader.is_empty() && leader == format!("{addr}:{port}");
        rows.push(vec![
            text(&m["Name"]),
            addr,
            port,
            text(&m["Status"]),
            is_leader.to_string(),
            text(&tags["raft_vsn"]),
            text(&tags["build"]),
            text(&tags["dc"]),
            text(&tags["region"]),
        ]);
    }
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}

fn list_peers(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_args(args, &[("stale", false)], OPERATOR_USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let reply = client.get("/v1/operator/raft/configuration")?;
    if p.has("json") {
        return super::print_json(&reply);
    }
    let mut rows = vec![
        [
            "Node",
            "ID",
            "Address",
            "State",
            "Voter",
            "RaftProtocol",
            "LastContact",
            "TrailingLogs",
            "Healthy",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for s in reply["Servers"].as_array().into_iter().flatten() {
        let state = if s["Leader"].as_bool().unwrap_or(false) {
            "leader"
        } else {
            "follower"
        };
        rows.push(vec![
            text(&s["Node"]),
            text(&s["ID"]),
            text(&s["Address"]),
            state.to_string(),
            s["Voter"].as_bool().unwrap_or(false).to_string(),
            text(&s["RaftProtocol"]),
            match text(&s["LastContact"]) {
                c if c.is_empty() => "-".to_string(),
                c => c,
            },
            s["TrailingLogs"].as_u64().unwrap_or(0).to_string(),
            s["Healthy"].as_bool().unwrap_or(false).to_string(),
        ]);
    }
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}

fn remove_peer(args: &[String]) -> Result<ExitCode, String> {
    let flags = [("peer-id", true), ("peer-address", true)];
    let Some(p) = parse_args(args, &flags, REMOVE_PEER_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let one = |name: &str| p.all(name).last().cloned();
    let (query, said) = match (one("peer-id"), one("peer-address")) {
        (Some(id), None) => (format!("id={}", encode(&id)), format!("id {id}")),
        (None, Some(addr)) => (
            format!("address={}", encode(&addr)),
            format!("address {addr}"),
        ),
        _ => {
            return Err(format!(
                "give exactly one of -peer-id or -peer-address\n\n{REMOVE_PEER_HELP}"
            ));
        }
    };
    let client = ApiClient::from_flags(&p)?;
    client.delete(&format!("/v1/operator/raft/peer?{query}"))?;
    println!("Removed peer with {said}");
    Ok(ExitCode::SUCCESS)
}

fn force_leave(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_args(args, &[("prune", false)], FORCE_LEAVE_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let [node] = p.positional.as_slice() else {
        return Err(format!(
            "this command takes one argument: <node>\n\n{FORCE_LEAVE_HELP}"
        ));
    };
    let client = ApiClient::from_flags(&p)?;
    let prune = if p.has("prune") { "&prune=true" } else { "" };
    client.put(
        &format!("/v1/agent/force-leave?node={}{prune}", encode(node)),
        &serde_json::Value::Null,
    )?;
    Ok(ExitCode::SUCCESS)
}
