//! `orch monitor`: streams an agent's log lines (`/v1/agent/monitor`) until interrupted
//! or the agent stops. (`cli::monitor` follows evaluations; this is the verb.)

use std::process::ExitCode;

use super::api::{ApiClient, encode};
use super::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch monitor [options]

  Stream log messages of a nomad agent. The monitor command lets you listen for log
  levels that may be filtered out of the Nomad agent. For example your agent may
  only be logging at INFO level, but with the monitor command you can set
  -log-level DEBUG.

Monitor Specific Options:

  -log-level <level>
    Sets the log level to monitor (default: INFO)

  -node-id <node-id>
    Sets the specific node to monitor

  -server-id <server-id>
    Sets the specific server to monitor

  -json
    Sets log output to JSON format";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("log-level"),
    FlagSpec::value("node-id"),
    FlagSpec::value("server-id"),
    FlagSpec::switch("json"),
    FlagSpec::refused_switch(
        "log-include-location",
        "the agent's log lines carry no source locations",
    ),
];

/// Runs `orch monitor`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if !p.positional.is_empty() {
        return Err(format!("This command takes no arguments\n\n{USAGE}"));
    }
    let level = p.all("log-level").last().map_or("info", String::as_str);
    let mut path = format!("/v1/agent/monitor?plain=true&log_level={}", encode(level));
    if p.has("json") {
        path.push_str("&log_json=true");
    }
    for (flag, param) in [("node-id", "node_id"), ("server-id", "server_id")] {
        if let Some(v) = p.all(flag).last() {
            path.push_str(&format!("&{param}={}", encode(v)));
        }
    }
    let client = ApiClient::from_flags(&p)?;
    client.stream(&path, &mut std::io::stdout())?;
    Ok(ExitCode::SUCCESS)
}
