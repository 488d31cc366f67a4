//! `orch server members`: the servers known to the agent, and which one leads.

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};
use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch server members [options]

  Lists the servers known to the agent: name, address, status, leadership, version.

Members Options:

  -detailed
    Accepted for compatibility (the same columns)

  -verbose
    Accepted for compatibility (the same columns)

  -json
    Print the raw API JSON

  -ui
    Open the servers page of the web UI";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("detailed"),
    FlagSpec::switch("verbose"),
    FlagSpec::switch("ui"),
];

/// Runs `orch server members`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let reply = client.get("/v1/agent/members")?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &reply["Members"]);
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
    if p.has("ui") {
        crate::cli::ui::open_path(&p, "/ui/servers")?;
    }
    Ok(ExitCode::SUCCESS)
}
