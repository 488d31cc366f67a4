//! `orch operator autopilot health`: the servers' health as autopilot sees it.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::columns;

const USAGE: &str = "Usage: orch operator autopilot health [options]

  Displays the current Autopilot state: whether every server is healthy, how
  many may fail without an outage, the voters, and each server's health.

  If ACLs are enabled, this command requires a token with the 'operator:read'
  capability.

Autopilot Health Options:

  -json
    Output the autopilot health in JSON format.";

/// Runs `orch operator autopilot health`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    // An unhealthy cluster answers 429 with the same body.
    let health = match client.get("/v1/operator/autopilot/health") {
        Ok(v) => v,
        Err(e) if e.status == 429 => e
            .message
            .strip_prefix("Unexpected response code: 429 (")
            .and_then(|b| b.strip_suffix(')'))
            .and_then(|b| serde_json::from_str(b).ok())
            .ok_or(e.message)?,
        Err(e) => return Err(e.message),
    };
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &health);
    }
    println!("{}", layout(&health));
    Ok(ExitCode::SUCCESS)
}

/// The server table's columns, named as the API's fields (Nomad's order).
const COLUMNS: [&str; 12] = [
    "ID",
    "Name",
    "Address",
    "SerfStatus",
    "Version",
    "Leader",
    "Voter",
    "Healthy",
    "LastContact",
    "LastTerm",
    "LastIndex",
    "StableSince",
];

/// Nomad's layout: `Healthy: true`, `FailureTolerance`, `Leader`, the voters one per
/// line, then a table of the servers.
fn layout(h: &Value) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    };
    let mut out = format!(
        "Healthy: {}\nFailureTolerance: {}\nLeader: {}\nVoters:\n",
        text(&h["Healthy"]),
        text(&h["FailureTolerance"]),
        text(&h["Leader"])
    );
    for v in h["Voters"].as_array().into_iter().flatten() {
        out.push_str(&format!("\t{}\n", text(v)));
    }
    let mut rows = vec![COLUMNS.map(String::from).to_vec()];
    for s in h["Servers"].as_array().into_iter().flatten() {
        rows.push(COLUMNS.iter().map(|k| text(&s[*k])).collect());
    }
    out.push_str("Servers:\n");
    out.push_str(&columns(&rows));
    out
}
