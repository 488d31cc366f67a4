//! `orch operator autopilot get-config`: the cluster's autopilot configuration, in
//! Nomad's `Key = Value` layout or (`-json`) its JSON object.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::kv;

const USAGE: &str = "Usage: orch operator autopilot get-config [options]

  Displays the current autopilot configuration.

  If ACLs are enabled, this command requires a token with the 'operator:read'
  capability.

General Options:

  -address=<addr>
    The address of the orch server (ORCH_ADDR, then NOMAD_ADDR; default
    http://127.0.0.1:4646).

  -token=<secret>
    The SecretID of an ACL token (ORCH_TOKEN, then NOMAD_TOKEN).

Autopilot Get Config Options:

  -json
    Output the autopilot config in its JSON format.";

/// Runs `orch operator autopilot get-config`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let config = client.get("/v1/operator/autopilot/configuration")?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &config);
    }
    println!("{}", layout(&config));
    Ok(ExitCode::SUCCESS)
}

/// Nomad's `get-config` lines.
fn layout(c: &Value) -> String {
    let text = |name: &str| match &c[name] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    };
    let rows: Vec<(&str, String)> = [
        "CleanupDeadServers",
        "LastContactThreshold",
        "MaxTrailingLogs",
        "MinQuorum",
        "ServerStabilizationTime",
        "EnableRedundancyZones",
        "DisableUpgradeMigration",
        "EnableCustomUpgrades",
    ]
    .into_iter()
    .map(|name| (name, text(name)))
    .collect();
    kv(&rows)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_layout_is_nomads() {
        let c = serde_json::json!({"CleanupDeadServers": true, "LastContactThreshold": "200ms",
            "MaxTrailingLogs": 250, "MinQuorum": 0, "ServerStabilizationTime": "10s",
            "EnableRedundancyZones": false, "DisableUpgradeMigration": false,
            "EnableCustomUpgrades": false});
        let out = super::layout(&c);
        assert!(
            out.starts_with("CleanupDeadServers      = true\nLastContactThreshold    = 200ms\n"),
            "{out}"
        );
        assert!(out.ends_with("EnableCustomUpgrades    = false"), "{out}");
    }
}
