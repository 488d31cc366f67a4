//! `orch server join`: joins the agent's server to the cluster of other servers.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, parse_verb};

const USAGE: &str = "Usage: orch server join [options] <addr> [<addr>...]

  Joins the local server to one or more Nomad servers. Joining is
  only required for server nodes, and only needs to succeed
  against one or more of the provided addresses. Once joined, the
  Raft configuration holds the server and every member learns of it.

  <addr> is another server's serf address (host:port, port 4648 by default).";

/// Runs `orch server join`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if p.positional.is_empty() {
        return Err(format!(
            "One or more server addresses are required\n\n{USAGE}"
        ));
    }
    let query: Vec<String> = p
        .positional
        .iter()
        .map(|a| format!("address={}", encode(a)))
        .collect();
    let client = ApiClient::from_flags(&p)?;
    let reply = client.put(
        &format!("/v1/agent/join?{}", query.join("&")),
        &serde_json::Value::Null,
    )?;
    let joined = reply["num_joined"].as_u64().unwrap_or(0);
    let error = reply["error"].as_str().unwrap_or_default();
    if joined == 0 {
        return Err(format!("Error joining: {error}"));
    }
    if !error.is_empty() {
        eprintln!("Some addresses could not be joined: {error}");
    }
    println!("Joined {joined} servers successfully");
    Ok(ExitCode::SUCCESS)
}
