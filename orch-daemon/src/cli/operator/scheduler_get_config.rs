//! `orch operator scheduler get-config`: the cluster's scheduler configuration, in
//! Nomad's `Key = Value` layout or (`-json`) its `SchedulerConfig` object.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::kv;

const USAGE: &str = "Usage: orch operator scheduler get-config [options]

  Displays the current scheduler configuration.

  If ACLs are enabled, this command requires a token with the 'operator:read'
  capability.

General Options:

  -address=<addr>
    The address of the orch server (ORCH_ADDR, then NOMAD_ADDR; default
    http://127.0.0.1:4646).

  -token=<secret>
    The SecretID of an ACL token (ORCH_TOKEN, then NOMAD_TOKEN).

Scheduler Get Config Options:

  -json
    Output the scheduler config in its JSON format.";

/// Runs `orch operator scheduler get-config`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let reply = client.get("/v1/operator/scheduler/configuration")?;
    let config = &reply["SchedulerConfig"];
    if crate::cli::output::asked(&p) {
        // Nomad prints the whole response (`SchedulerConfig` and the query meta).
        return crate::cli::output::print(&p, &reply);
    }
    println!("{}", layout(config));
    Ok(ExitCode::SUCCESS)
}

/// Nomad's `get-config` lines.
pub(super) fn layout(c: &Value) -> String {
    let flag = |v: &Value| v.as_bool().unwrap_or(false).to_string();
    let p = &c["PreemptionConfig"];
    let algorithm = match c["SchedulerAlgorithm"].as_str() {
        Some("") | None => "binpack",
        Some(a) => a,
    };
    kv(&[
        ("Scheduler Algorithm", algorithm.to_string()),
        (
            "Memory Oversubscription",
            flag(&c["MemoryOversubscriptionEnabled"]),
        ),
        ("Reject Job Registration", flag(&c["RejectJobRegistration"])),
        ("Pause Eval Broker", flag(&c["PauseEvalBroker"])),
        (
            "Preemption System Scheduler",
            flag(&p["SystemSchedulerEnabled"]),
        ),
        (
            "Preemption Service Scheduler",
            flag(&p["ServiceSchedulerEnabled"]),
        ),
        (
            "Preemption Batch Scheduler",
            flag(&p["BatchSchedulerEnabled"]),
        ),
        (
            "Preemption SysBatch Scheduler",
            flag(&p["SysBatchSchedulerEnabled"]),
        ),
        (
            "Modify Index",
            c["ModifyIndex"].as_u64().unwrap_or(0).to_string(),
        ),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_layout_is_nomads() {
        let c = serde_json::json!({
            "SchedulerAlgorithm": "binpack",
            "PreemptionConfig": {"SystemSchedulerEnabled": true, "SysBatchSchedulerEnabled": false,
                                 "BatchSchedulerEnabled": false, "ServiceSchedulerEnabled": false},
            "MemoryOversubscriptionEnabled": false, "RejectJobRegistration": false,
            "PauseEvalBroker": false, "CreateIndex": 5, "ModifyIndex": 5
        });
        let want = "Scheduler Algorithm           = binpack
Memory Oversubscription       = false
Reject Job Registration       = false
Pause Eval Broker             = false
Preemption System Scheduler   = true
Preemption Service Scheduler  = false
Preemption Batch Scheduler    = false
Preemption SysBatch Scheduler = false
Modify Index                  = 5";
        assert_eq!(super::layout(&c), want);
    }
}
