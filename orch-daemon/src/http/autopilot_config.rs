//! `/v1/operator/autopilot/configuration`: Nomad's replicated autopilot configuration,
//! read (`GET`, `operator:read`) and replaced whole (`PUT`, `operator:write`, optionally
//! check-and-set with `?cas=<ModifyIndex>`; the answer is `true` or `false`, as Nomad's).
//!
//! Durations travel as Go duration strings (`"200ms"`); numbers are taken as
//! nanoseconds, as Go's decoder takes them. Absent fields are their zero value (Nomad
//! decodes into a fresh struct), so clients read, modify and write back. Nomad
//! Enterprise's options (`EnableRedundancyZones`, `DisableUpgradeMigration`,
//! `EnableCustomUpgrades`) are refused when true: orch has none of them.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use orch_core::duration::{format_go_duration, parse_go_duration};
use orch_core::model::AutopilotConfiguration;
use orch_core::state::{AUTOPILOT_CONFIG_TABLE, AutopilotConfigSet, Command};
use serde_json::{Map, Value, json};

use super::ApiError;
use super::query::{Api, Params, Query, QueryOpts, json_body};
use super::scheduler_config::{boolean, object, parse_cas, propose_checked, unknown};

const FIELDS: &[&str] = &[
    "CleanupDeadServers",
    "LastContactThreshold",
    "MaxTrailingLogs",
    "MinQuorum",
    "ServerStabilizationTime",
    "EnableRedundancyZones",
    "DisableUpgradeMigration",
    "EnableCustomUpgrades",
    "CreateIndex",
    "ModifyIndex",
];

/// Nomad Enterprise's options, refused when set.
const ENTERPRISE: &[&str] = &[
    "EnableRedundancyZones",
    "DisableUpgradeMigration",
    "EnableCustomUpgrades",
];

/// Longest threshold or stabilization time accepted (an hour).
const MAX_DURATION_NANOS: i64 = 3_600_000_000_000;

/// `GET /v1/operator/autopilot/configuration`.
pub async fn get_config(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    QueryOpts::parse(raw)?;
    let (config, index) = {
        let s = api.state.read();
        (
            s.autopilot_config().clone(),
            s.index(AUTOPILOT_CONFIG_TABLE),
        )
    };
    Ok(api.reply(index.max(1), &to_json(&config)))
}

/// `PUT /v1/operator/autopilot/configuration[?cas=<index>]`: `true` when applied.
pub async fn set_config(
    State(api): Api,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let cas = parse_cas(&raw)?;
    let config = decode_config(&json_body(&body)?).map_err(ApiError::bad_request)?;
    let cmd = Command::AutopilotConfigSet(AutopilotConfigSet { config, cas });
    let (checked, index) = propose_checked(&api, cmd, cas).await?;
    let applied = cas.is_none() || checked;
    Ok(api.reply(index.max(1), &json!(applied)))
}

/// Nomad's JSON of the configuration.
pub fn to_json(c: &AutopilotConfiguration) -> Value {
    json!({
        "CleanupDeadServers": c.cleanup_dead_servers,
        "LastContactThreshold": format_go_duration(c.last_contact_threshold_nanos),
        "MaxTrailingLogs": c.max_trailing_logs,
        "MinQuorum": c.min_quorum,
        "ServerStabilizationTime": format_go_duration(c.server_stabilization_time_nanos),
        "EnableRedundancyZones": c.enable_redundancy_zones,
        "DisableUpgradeMigration": c.disable_upgrade_migration,
        "EnableCustomUpgrades": c.enable_custom_upgrades,
        "CreateIndex": c.create_index,
        "ModifyIndex": c.modify_index,
    })
}

/// Decodes a configuration body; every error names the field.
pub fn decode_config(body: &Value) -> Result<AutopilotConfiguration, String> {
    let obj = object(body, "the body")?;
    unknown(obj, FIELDS, "")?;
    for name in ENTERPRISE {
        if boolean(obj, name, "")? {
            return Err(format!(
                "{name}: a Nomad Enterprise feature orch does not have; leave it false"
            ));
        }
    }
    for name in ["CreateIndex", "ModifyIndex"] {
        count(obj, name, u64::MAX)?;
    }
    let stabilization = duration(obj, "ServerStabilizationTime")?;
    Ok(AutopilotConfiguration {
        cleanup_dead_servers: boolean(obj, "CleanupDeadServers", "")?,
        last_contact_threshold_nanos: duration(obj, "LastContactThreshold")?,
        max_trailing_logs: count(obj, "MaxTrailingLogs", u64::MAX)?,
        min_quorum: u32::try_from(count(obj, "MinQuorum", 1024)?).unwrap_or(u32::MAX),
        server_stabilization_time_nanos: stabilization,
        enable_redundancy_zones: false,
        disable_upgrade_migration: false,
        enable_custom_upgrades: false,
        create_index: 0,
        modify_index: 0,
    })
}

fn count(obj: &Map<String, Value>, name: &str, max: u64) -> Result<u64, String> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v
            .as_u64()
            .filter(|n| *n <= max)
            .ok_or_else(|| format!("{name}: expected an integer from 0 to {max}, got {v}")),
    }
}

fn duration(obj: &Map<String, Value>, name: &str) -> Result<i64, String> {
    let nanos = match obj.get(name) {
        None | Some(Value::Null) => 0,
        Some(Value::String(s)) if s.is_empty() => 0,
        Some(Value::String(s)) => parse_go_duration(s).map_err(|e| format!("{name}: {e}"))?,
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
            format!("{name}: expected nanoseconds or a duration like \"200ms\", got {n}")
        })?,
        Some(v) => {
            return Err(format!(
                "{name}: expected a duration like \"200ms\", got {v}"
            ));
        }
    };
    if !(0..=MAX_DURATION_NANOS).contains(&nanos) {
        return Err(format!("{name}: must be between 0s and 1h"));
    }
    Ok(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_round_trips_through_nomads_json() {
        let c = AutopilotConfiguration::default();
        let v = to_json(&c);
        assert_eq!(v["LastContactThreshold"], "200ms");
        assert_eq!(v["ServerStabilizationTime"], "10s");
        assert_eq!(decode_config(&v).unwrap(), c);
        let quick = decode_config(&json!({"ServerStabilizationTime": "1s"})).unwrap();
        assert_eq!(quick.server_stabilization_time_nanos, 1_000_000_000);
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases = [
            (
                json!({"LastContactThreshold": "soon"}),
                "LastContactThreshold",
            ),
            (
                json!({"LastContactThreshold": "2h"}),
                "LastContactThreshold",
            ),
            (json!({"MaxTrailingLogs": -1}), "MaxTrailingLogs"),
            (json!({"MinQuorum": "3"}), "MinQuorum"),
            (
                json!({"EnableRedundancyZones": true}),
                "EnableRedundancyZones",
            ),
            (json!({"CleanupDeadServers": 1}), "CleanupDeadServers"),
            (
                json!({"ServerStabilizationTime": "2h"}),
                "ServerStabilizationTime: must be between",
            ),
            (json!({"Other": 1}), "Other: unknown field"),
        ];
        for (body, field) in cases {
            let err = decode_config(&body).unwrap_err();
            assert!(err.starts_with(field), "{body}: {err}");
        }
    }
}
