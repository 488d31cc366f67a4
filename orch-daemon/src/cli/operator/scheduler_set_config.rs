//! `orch operator scheduler set-config`: reads the scheduler configuration, changes
//! what the flags say, and writes it back (check-and-set with `-check-index`), as
//! Nomad's command does.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, Parsed, parse_verb};

const USAGE: &str = "Usage: orch operator scheduler set-config [options]

  Modifies the current scheduler configuration.

  If ACLs are enabled, this command requires a token with the 'operator:write'
  capability.

General Options:

  -address=<addr>
    The address of the orch server (ORCH_ADDR, then NOMAD_ADDR; default
    http://127.0.0.1:4646).

  -token=<secret>
    The SecretID of an ACL token (ORCH_TOKEN, then NOMAD_TOKEN).

Scheduler Set Config Options:

  -check-index
    If set, the scheduler config is only updated if the passed modify index
    matches the current server side version. If a non-zero value is passed, it
    ensures that the scheduler config is being updated from a known state.

  -scheduler-algorithm=[\"binpack\"|\"spread\"]
    Specifies whether scheduler binpacks or spreads allocations on available
    nodes.

  -memory-oversubscription=[true|false]
    When true, tasks may exceed their reserved memory limit, if the client has
    excess memory capacity. Tasks must specify memory_max to take advantage of
    memory oversubscription.

  -reject-job-registration=[true|false]
    When true, the server will return permission denied errors for job registration,
    job dispatch, and job scale APIs, unless the ACL token for the request is a
    management token. If ACLs are disabled, no user will be able to register jobs.
    This allows operators to shed load from automated processes during incident
    response.

  -pause-eval-broker=[true|false]
    When set to true, the eval broker which usually runs on the leader will be
    disabled. This will prevent the scheduler workers from receiving new work.

  -preempt-batch-scheduler=[true|false]
    Specifies whether preemption for batch jobs is enabled. Note that if this
    is set to true, then batch jobs can preempt any other jobs.

  -preempt-service-scheduler=[true|false]
    Specifies whether preemption for service jobs is enabled. Note that if this
    is set to true, then service jobs can preempt any other jobs.

  -preempt-sysbatch-scheduler=[true|false]
    Specifies whether preemption for system batch jobs is enabled. Note that if
    this is set to true, then system batch jobs can preempt any other jobs.

  -preempt-system-scheduler=[true|false]
    Specifies whether preemption for system jobs is enabled. Note that if this
    is set to true, then system jobs can preempt any other jobs.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("check-index"),
    FlagSpec::value("scheduler-algorithm"),
    FlagSpec::value("memory-oversubscription"),
    FlagSpec::value("reject-job-registration"),
    FlagSpec::value("pause-eval-broker"),
    FlagSpec::value("preempt-batch-scheduler"),
    FlagSpec::value("preempt-service-scheduler"),
    FlagSpec::value("preempt-sysbatch-scheduler"),
    FlagSpec::value("preempt-system-scheduler"),
    FlagSpec::refused_value(
        "node-limit-for-feasibility-checks",
        "the scheduler configuration has no such limit",
    ),
];

/// Boolean flags and the field each sets (`None`: top level, else in `PreemptionConfig`).
const BOOLS: &[(&str, Option<&str>, &str)] = &[
    (
        "memory-oversubscription",
        None,
        "MemoryOversubscriptionEnabled",
    ),
    ("reject-job-registration", None, "RejectJobRegistration"),
    ("pause-eval-broker", None, "PauseEvalBroker"),
    (
        "preempt-batch-scheduler",
        Some("PreemptionConfig"),
        "BatchSchedulerEnabled",
    ),
    (
        "preempt-service-scheduler",
        Some("PreemptionConfig"),
        "ServiceSchedulerEnabled",
    ),
    (
        "preempt-sysbatch-scheduler",
        Some("PreemptionConfig"),
        "SysBatchSchedulerEnabled",
    ),
    (
        "preempt-system-scheduler",
        Some("PreemptionConfig"),
        "SystemSchedulerEnabled",
    ),
];

/// Runs `orch operator scheduler set-config`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if !p.positional.is_empty() {
        return Err(format!("This command takes no arguments\n\n{USAGE}"));
    }
    let check_index = match last(&p, "check-index") {
        None => None,
        Some(v) => Some(v.parse::<u64>().map_err(|_| {
            format!(
                "-check-index: {v:?} is not an index; pass the Modify Index that get-config prints"
            )
        })?),
    };
    // Bad values are refused before the server is asked anything.
    apply_flags(&p, &mut Value::Object(Default::default()))?;
    let client = ApiClient::from_flags(&p)?;
    let reply = client.get("/v1/operator/scheduler/configuration")?;
    let mut config = reply["SchedulerConfig"].clone();
    apply_flags(&p, &mut config)?;
    let path = match check_index {
        Some(i) => format!("/v1/operator/scheduler/configuration?cas={i}"),
        None => "/v1/operator/scheduler/configuration".to_string(),
    };
    let answer = client.put(&path, &config)?;
    if check_index.is_some() && answer["Updated"] != Value::Bool(true) {
        println!("Scheduler configuration could not be atomically updated, please retry");
        return Ok(ExitCode::FAILURE);
    }
    println!("Scheduler configuration updated!");
    Ok(ExitCode::SUCCESS)
}

fn last<'a>(p: &'a Parsed, name: &str) -> Option<&'a str> {
    p.all(name).last().map(String::as_str)
}

/// Sets the fields the flags name on `config` (the current configuration).
fn apply_flags(p: &Parsed, config: &mut Value) -> Result<(), String> {
    if let Some(a) = last(p, "scheduler-algorithm") {
        if a != "binpack" && a != "spread" {
            return Err(format!(
                "-scheduler-algorithm: invalid value {a:?}; must be one of [\"binpack\"|\"spread\"]"
            ));
        }
        config["SchedulerAlgorithm"] = Value::from(a);
    }
    for (flag, parent, field) in BOOLS {
        let Some(v) = last(p, flag) else { continue };
        let b = parse_bool(v)
            .ok_or_else(|| format!("-{flag}: invalid value {v:?}; must be one of [true|false]"))?;
        match parent {
            None => config[*field] = Value::Bool(b),
            Some(parent) => config[*parent][*field] = Value::Bool(b),
        }
    }
    Ok(())
}

/// Go's `strconv.ParseBool`, which Nomad's flags use.
pub(super) fn parse_bool(s: &str) -> Option<bool> {
    orch_core::strconv::parse_bool(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::flags::parse;

    fn flags(args: &[&str]) -> Parsed {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse(&args, FLAGS).unwrap()
    }

    #[test]
    fn flags_change_only_what_they_name() {
        let mut c = serde_json::json!({
            "SchedulerAlgorithm": "binpack",
            "PreemptionConfig": {"SystemSchedulerEnabled": true, "BatchSchedulerEnabled": false},
            "PauseEvalBroker": false,
            "ModifyIndex": 4
        });
        let p = flags(&[
            "-scheduler-algorithm=spread",
            "-preempt-batch-scheduler=true",
            "-pause-eval-broker",
            "1",
        ]);
        apply_flags(&p, &mut c).unwrap();
        assert_eq!(c["SchedulerAlgorithm"], "spread");
        assert_eq!(c["PreemptionConfig"]["BatchSchedulerEnabled"], true);
        assert_eq!(c["PreemptionConfig"]["SystemSchedulerEnabled"], true);
        assert_eq!(c["PauseEvalBroker"], true);
        assert_eq!(c["ModifyIndex"], 4);
    }

    #[test]
    fn bad_values_name_the_flag() {
        let mut c = serde_json::json!({});
        let err = apply_flags(&flags(&["-scheduler-algorithm=random"]), &mut c).unwrap_err();
        assert!(err.starts_with("-scheduler-algorithm"), "{err}");
        let err = apply_flags(&flags(&["-pause-eval-broker=yes"]), &mut c).unwrap_err();
        assert!(err.starts_with("-pause-eval-broker"), "{err}");
    }
}
