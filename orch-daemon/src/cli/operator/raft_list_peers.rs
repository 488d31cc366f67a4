//! `orch operator raft list-peers`: the Raft peers, which one leads, and how each keeps
//! up with the leader.

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};
use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch operator raft list-peers [options]

  Displays the current Raft peer configuration: every server, which one leads,
  and how each keeps up with the leader (last contact, entries it trails by,
  healthy).

  If ACLs are enabled, this command requires a management token.

List Peers Options:

  -stale=[true|false]
    The -stale argument defaults to \"false\" which means the leader provides the
    result. If the cluster is in an outage state without a leader, you may need
    to set -stale to \"true\" to get the configuration from a non-leader server.

  -json
    Output the peers in JSON format.

  -t
    Format and display the peers using a Go template.";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("stale")];

/// Runs `orch operator raft list-peers`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let path = if p.has("stale") {
        "/v1/operator/raft/configuration?stale=true"
    } else {
        "/v1/operator/raft/configuration"
    };
    let reply = client.get(path)?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &reply);
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
