//! `/v1/operator/scheduler/configuration`: Nomad's replicated scheduler configuration,
//! read (`GET`, `operator:read`) and replaced whole (`PUT`/`POST`, `operator:write`,
//! optionally check-and-set with `?cas=<ModifyIndex>`), plus the `RejectJobRegistration`
//! check that job registration, dispatch and scaling make.
//!
//! A write's body is the `SchedulerConfig` object itself, as Nomad's API takes it; absent
//! fields take their zero value (Nomad decodes into a fresh struct), so clients read,
//! modify and write back, as `orch operator scheduler set-config` does. Unknown fields
//! and wrong types are a 400 naming the field (invariant 3).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use orch_core::model::{PreemptionSettings, SchedulerAlgorithm, SchedulerConfiguration};
use orch_core::state::{Command, SCHEDULER_CONFIG_TABLE, SchedulerConfigSet, StateError};
use serde_json::{Map, Value, json};

use super::auth::Authz;
use super::query::{Api, Params, Query, QueryOpts, json_body};
use super::{ApiError, ApiState};
use crate::server::ReplicateError;

/// Nomad's `ErrJobRegistrationDisabled`, answered with a 403.
pub const REGISTRATION_DISABLED: &str =
    "job registration, dispatch, and scale are disabled by the scheduler configuration";

/// `GET /v1/operator/scheduler/configuration`.
pub async fn get_config(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    QueryOpts::parse(raw)?;
    let (config, index) = {
        let s = api.state.read();
        (
            s.scheduler_config().clone(),
            s.index(SCHEDULER_CONFIG_TABLE),
        )
    };
    let index = index.max(1);
    let body = json!({
        "SchedulerConfig": config,
        "Index": index,
        "KnownLeader": api.known_leader(),
        "LastContact": api.last_contact_ms(),
    });
    Ok(api.reply(index, &body))
}

/// `PUT/POST /v1/operator/scheduler/configuration[?cas=<index>]`: `{"Updated", "Index"}`.
/// `Updated` is true only for a check-and-set that applied (Nomad's reply: a plain write
/// applies but reports false).
pub async fn set_config(
    State(api): Api,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let cas = parse_cas(&raw)?;
    let config = decode_config(&json_body(&body)?).map_err(ApiError::bad_request)?;
    let cmd = Command::SchedulerConfigSet(SchedulerConfigSet { config, cas });
    let (updated, index) = propose_checked(&api, cmd, cas).await?;
    let index = index.max(1);
    Ok(api.reply(index, &json!({ "Updated": updated, "Index": index })))
}

/// The `?cas=<ModifyIndex>` of a settings write.
pub(super) fn parse_cas(
    raw: &std::collections::BTreeMap<String, String>,
) -> Result<Option<u64>, ApiError> {
    match raw.get("cas") {
        None => Ok(None),
        Some(c) => c.parse::<u64>().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "cas: {c:?} is not an index; pass the configuration's ModifyIndex (a non-negative integer)"
            ))
        }),
    }
}

/// Proposes a settings write; (whether a check-and-set applied, the index). A refused
/// check-and-set is an answer, not an error (Nomad replies `false`).
pub(super) async fn propose_checked(
    api: &ApiState,
    cmd: Command,
    cas: Option<u64>,
) -> Result<(bool, u64), ApiError> {
    match api.replicator.propose(cmd).await {
        Ok(r) => Ok((cas.is_some(), r.index)),
        Err(ReplicateError::Rejected(StateError::Conflict(_))) if cas.is_some() => {
            Ok((false, api.state.latest_index()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Refuses a job registration, dispatch or scale while `RejectJobRegistration` is set,
/// unless the caller presents a management token (with ACLs off nobody may: Nomad's rule).
pub fn check_registration_allowed(api: &ApiState, authz: &Authz) -> Result<(), ApiError> {
    let rejecting = api.state.read().scheduler_config().reject_job_registration;
    if rejecting && !authz.holds_management_token() {
        return Err(ApiError::new(StatusCode::FORBIDDEN, REGISTRATION_DISABLED));
    }
    Ok(())
}

const FIELDS: &[&str] = &[
    "SchedulerAlgorithm",
    "PreemptionConfig",
    "MemoryOversubscriptionEnabled",
    "RejectJobRegistration",
    "PauseEvalBroker",
    "CreateIndex",
    "ModifyIndex",
];

const PREEMPTION_FIELDS: &[&str] = &[
    "SystemSchedulerEnabled",
    "SysBatchSchedulerEnabled",
    "BatchSchedulerEnabled",
    "ServiceSchedulerEnabled",
];

/// Decodes a `SchedulerConfig` body; every error names the field. Absent fields are
/// zero (false, binpack), as when Nomad decodes the body; `CreateIndex`/`ModifyIndex`
/// are accepted and ignored (the store stamps them).
pub fn decode_config(body: &Value) -> Result<SchedulerConfiguration, String> {
    let obj = object(body, "the body")?;
    unknown(obj, FIELDS, "")?;
    let algorithm = match obj.get("SchedulerAlgorithm") {
        None | Some(Value::Null) => SchedulerAlgorithm::Binpack,
        Some(Value::String(s)) => SchedulerAlgorithm::parse(s).ok_or_else(|| {
            format!(
                "SchedulerAlgorithm: invalid scheduler algorithm {s:?}; use \"binpack\" or \"spread\""
            )
        })?,
        Some(v) => {
            return Err(format!(
                "SchedulerAlgorithm: expected a string (\"binpack\" or \"spread\"), got {v}"
            ));
        }
    };
    for index in ["CreateIndex", "ModifyIndex"] {
        if let Some(v) = obj.get(index).filter(|v| !v.is_null())
            && !v.is_u64()
        {
            return Err(format!("{index}: expected a non-negative integer, got {v}"));
        }
    }
    let preemption = match obj.get("PreemptionConfig") {
        None | Some(Value::Null) => PreemptionSettings {
            system_scheduler_enabled: false,
            sysbatch_scheduler_enabled: false,
            batch_scheduler_enabled: false,
            service_scheduler_enabled: false,
        },
        Some(p) => {
            let p = object(p, "PreemptionConfig")?;
            unknown(p, PREEMPTION_FIELDS, "PreemptionConfig.")?;
            let flag = |name: &str| boolean(p, name, "PreemptionConfig.");
            PreemptionSettings {
                system_scheduler_enabled: flag("SystemSchedulerEnabled")?,
                sysbatch_scheduler_enabled: flag("SysBatchSchedulerEnabled")?,
                batch_scheduler_enabled: flag("BatchSchedulerEnabled")?,
                service_scheduler_enabled: flag("ServiceSchedulerEnabled")?,
            }
        }
    };
    Ok(SchedulerConfiguration {
        scheduler_algorithm: algorithm,
        preemption_config: preemption,
        memory_oversubscription_enabled: boolean(obj, "MemoryOversubscriptionEnabled", "")?,
        reject_job_registration: boolean(obj, "RejectJobRegistration", "")?,
        pause_eval_broker: boolean(obj, "PauseEvalBroker", "")?,
        create_index: 0,
        modify_index: 0,
    })
}

/// `v` as an object, or an error naming `what`.
pub(super) fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("{what}: expected a JSON object, got {v}"))
}

/// Refuses the first key of `obj` not in `known`.
pub(super) fn unknown(
    obj: &Map<String, Value>,
    known: &[&str],
    prefix: &str,
) -> Result<(), String> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "{prefix}{k}: unknown field; the known ones are {}",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

/// Field `name` as a boolean (absent or null: false).
pub(super) fn boolean(obj: &Map<String, Value>, name: &str, prefix: &str) -> Result<bool, String> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(format!("{prefix}{name}: expected true or false, got {v}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nomads_sample_payload_decodes() {
        let body = json!({
            "SchedulerAlgorithm": "spread",
            "MemoryOversubscriptionEnabled": false,
            "PreemptionConfig": {
                "SystemSchedulerEnabled": true,
                "SysBatchSchedulerEnabled": false,
                "BatchSchedulerEnabled": false,
                "ServiceSchedulerEnabled": true
            },
            "CreateIndex": 5,
            "ModifyIndex": 5
        });
        let c = decode_config(&body).unwrap();
        assert_eq!(c.scheduler_algorithm, SchedulerAlgorithm::Spread);
        assert!(c.preemption_config.system_scheduler_enabled);
        assert!(c.preemption_config.service_scheduler_enabled);
        assert!(!c.preemption_config.sysbatch_scheduler_enabled);
        assert_eq!(
            (c.create_index, c.modify_index),
            (0, 0),
            "the store stamps them"
        );
    }

    #[test]
    fn absent_fields_are_zero_and_the_empty_algorithm_is_binpack() {
        let c = decode_config(&json!({"SchedulerAlgorithm": ""})).unwrap();
        assert_eq!(c.scheduler_algorithm, SchedulerAlgorithm::Binpack);
        assert!(!c.preemption_config.system_scheduler_enabled);
        assert!(!c.pause_eval_broker);
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases = [
            (
                json!({"SchedulerAlgorithm": "random"}),
                "SchedulerAlgorithm",
            ),
            (json!({"SchedulerAlgorithm": 1}), "SchedulerAlgorithm"),
            (json!({"PauseEvalBroker": "yes"}), "PauseEvalBroker"),
            (json!({"Bogus": true}), "Bogus: unknown field"),
            (
                json!({"PreemptionConfig": {"SystemSchedulerEnabled": 1}}),
                "PreemptionConfig.SystemSchedulerEnabled",
            ),
            (
                json!({"PreemptionConfig": {"Other": true}}),
                "PreemptionConfig.Other: unknown field",
            ),
            (json!({"PreemptionConfig": []}), "PreemptionConfig"),
            (json!({"ModifyIndex": -1}), "ModifyIndex"),
            (json!([1]), "the body"),
        ];
        for (body, field) in cases {
            let err = decode_config(&body).unwrap_err();
            assert!(err.starts_with(field), "{body}: {err}");
        }
    }

    #[test]
    fn the_stored_configuration_has_nomads_json_shape() {
        let v = serde_json::to_value(SchedulerConfiguration::default()).unwrap();
        assert_eq!(
            v,
            json!({
                "SchedulerAlgorithm": "binpack",
                "PreemptionConfig": {
                    "SystemSchedulerEnabled": true,
                    "SysBatchSchedulerEnabled": true,
                    "BatchSchedulerEnabled": false,
                    "ServiceSchedulerEnabled": false
                },
                "MemoryOversubscriptionEnabled": false,
                "RejectJobRegistration": false,
                "PauseEvalBroker": false,
                "CreateIndex": 0,
                "ModifyIndex": 0
            })
        );
        assert_eq!(
            decode_config(&v).unwrap(),
            SchedulerConfiguration::default()
        );
    }
}
