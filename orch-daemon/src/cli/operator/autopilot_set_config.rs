//! `orch operator autopilot set-config`: reads the autopilot configuration, changes
//! what the flags say, and writes it back as a check-and-set on the index it read, as
//! Nomad's command does.

use std::process::ExitCode;

use serde_json::Value;

use super::scheduler_set_config::parse_bool;
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, Parsed, parse_verb};

const USAGE: &str = "Usage: orch operator autopilot set-config [options]

  Modifies the current Autopilot configuration.

  If ACLs are enabled, this command requires a token with the 'operator:write'
  capability.

Set Config Options:

  -cleanup-dead-servers=[true|false]
    Controls whether orch will automatically remove dead servers when
    new ones are successfully added. Must be one of `[true|false]`.

  -last-contact-threshold=200ms
    Controls the maximum amount of time a server can go without contact
    from the leader before being considered unhealthy. Must be a
    duration value such as `200ms`.

  -max-trailing-logs=<value>
    Controls the maximum number of log entries that a server can trail
    the leader by before being considered unhealthy.

  -min-quorum=<value>
    Controls the minimum number of servers required in a cluster
    before autopilot can prune dead servers.

  -server-stabilization-time=<10s>
    In Nomad, the minimum amount of time a server must be stable in the
    'healthy' state before being added to the cluster. orch makes a joining
    server a voter as soon as it has caught up with the leader's log, so
    only the default `10s` is accepted.

  -disable-upgrade-migration=[true|false]
  -enable-redundancy-zones=[true|false]
  -enable-custom-upgrades=[true|false]
    Nomad Enterprise features; orch refuses true.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("cleanup-dead-servers"),
    FlagSpec::value("last-contact-threshold"),
    FlagSpec::value("max-trailing-logs"),
    FlagSpec::value("min-quorum"),
    FlagSpec::value("server-stabilization-time"),
    FlagSpec::value("disable-upgrade-migration"),
    FlagSpec::value("enable-redundancy-zones"),
    FlagSpec::value("enable-custom-upgrades"),
];

/// Flags and the field each sets, by kind.
const BOOLS: &[(&str, &str)] = &[
    ("cleanup-dead-servers", "CleanupDeadServers"),
    ("disable-upgrade-migration", "DisableUpgradeMigration"),
    ("enable-redundancy-zones", "EnableRedundancyZones"),
    ("enable-custom-upgrades", "EnableCustomUpgrades"),
];
const COUNTS: &[(&str, &str)] = &[
    ("max-trailing-logs", "MaxTrailingLogs"),
    ("min-quorum", "MinQuorum"),
];
const DURATIONS: &[(&str, &str)] = &[
    ("last-contact-threshold", "LastContactThreshold"),
    ("server-stabilization-time", "ServerStabilizationTime"),
];

/// Runs `orch operator autopilot set-config`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if !p.positional.is_empty() {
        return Err(format!("This command takes no arguments\n\n{USAGE}"));
    }
    apply_flags(&p, &mut Value::Object(Default::default()))?;
    let client = ApiClient::from_flags(&p)?;
    let mut config = client.get("/v1/operator/autopilot/configuration")?;
    let index = config["ModifyIndex"].as_u64().unwrap_or(0);
    apply_flags(&p, &mut config)?;
    let path = format!("/v1/operator/autopilot/configuration?cas={index}");
    if client.put(&path, &config)? != Value::Bool(true) {
        println!("Configuration could not be atomically updated, please try again");
        return Ok(ExitCode::FAILURE);
    }
    println!("Configuration updated!");
    Ok(ExitCode::SUCCESS)
}

fn apply_flags(p: &Parsed, config: &mut Value) -> Result<(), String> {
    let last = |name: &str| p.all(name).last().map(String::as_str);
    for (flag, field) in BOOLS {
        if let Some(v) = last(flag) {
            let b = parse_bool(v).ok_or_else(|| {
                format!("-{flag}: invalid value {v:?}; must be one of [true|false]")
            })?;
            config[*field] = Value::Bool(b);
        }
    }
    for (flag, field) in COUNTS {
        if let Some(v) = last(flag) {
            let n: u64 = v.parse().map_err(|_| {
                format!("-{flag}: invalid value {v:?}; must be a non-negative integer")
            })?;
            config[*field] = Value::from(n);
        }
    }
    for (flag, field) in DURATIONS {
        if let Some(v) = last(flag) {
            orch_core::duration::parse_go_duration(v)
                .map_err(|e| format!("-{flag}: invalid value {v:?}: {e}"))?;
            config[*field] = Value::from(v);
        }
    }
    Ok(())
}
