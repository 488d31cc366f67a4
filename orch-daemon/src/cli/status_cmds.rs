//! `orch server members` and `orch operator raft list-peers`.

use std::process::ExitCode;

use super::client::{Client, parse_args};
use super::table::{columns, text};

const SERVER_USAGE: &str = "Usage: orch server <subcommand> [options]

Subcommands:
    members  Display the cluster's server members";

const MEMBERS_HELP: &str = "Usage: orch server members [options]

  Lists the servers known to the agent: name, address, status, leadership, version.

Options:
  -json  Print the raw API JSON";

const OPERATOR_USAGE: &str = "Usage: orch operator raft list-peers [options]

  Lists the Raft peers (servers) and which one leads.

Options:
  -json  Print the raw API JSON";

/// Dispatches `orch server <verb>`.
pub fn run_server(args: &[String]) -> Result<ExitCode, String> {
    match args.first().map(String::as_str) {
        Some("members") => members(args.get(1..).unwrap_or_default()),
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
        [] | ["-h" | "-help" | "--help" | "help", ..] | ["raft"] => {
            println!("{OPERATOR_USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(format!(
            "unknown command `orch operator {}`: only `operator raft list-peers` is supported\n\n{OPERATOR_USAGE}",
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
    let client = Client::from_flags(&p)?;
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
    let client = Client::from_flags(&p)?;
    let reply = client.get("/v1/operator/raft/configuration")?;
    if p.has("json") {
        return super::print_json(&reply);
    }
    let mut rows = vec![
        ["Node", "ID", "Address", "State", "Voter", "RaftProtocol"]
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
        ]);
    }
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}
