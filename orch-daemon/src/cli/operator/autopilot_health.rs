//! `orch operator autopilot health`: the servers' health as autopilot sees it.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::{columns, kv};

const USAGE: &str = "Usage: orch operator autopilot health [options]

  Displays the health of the autopilot status.

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

/// The server table's columns, named as the API's fields.
const COLUMNS: [&str; 8] = [
    "ID",
    "Name",
    "Address",
    "Voter",
    "Leader",
    "Healthy",
    "LastContact",
    "LastIndex",
];

fn layout(h: &Value) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    };
    let mut out = kv(&[
        ("Healthy", text(&h["Healthy"])),
        ("FailureTolerance", text(&h["FailureTolerance"])),
        ("Leader", text(&h["Leader"])),
    ]);
    let mut rows = vec![COLUMNS.map(String::from).to_vec()];
    for s in h["Servers"].as_array().into_iter().flatten() {
        rows.push(COLUMNS.iter().map(|k| text(&s[*k])).collect());
    }
    out.push_str("\n\nServers\n");
    out.push_str(&columns(&rows));
    out
}
