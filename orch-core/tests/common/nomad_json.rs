//! Shared by `nomad_json_jobs.rs` and `nomad_json_objects.rs`: loading the Nomad JSON
//! fixtures, decoding them as the API layer does, and the round trip that compares
//! orch's field names with Nomad's (see `nomad_json_jobs.rs` for the fixture sources).
// Each test file that declares `mod common;` compiles this module, and not every one of
// them uses every helper.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt::Debug;

use orch_core::model::Timestamp;
use orch_core::model::wire::strip_nulls;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub fn fixture_text(name: &str) -> String {
    let path = format!("{}/tests/nomad_json/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn fixture(name: &str) -> Value {
    serde_json::from_str(&fixture_text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Decodes a model type the way the API layer does: nulls stripped first.
pub fn decode<T: DeserializeOwned>(nomad: &Value) -> Result<T, String> {
    let mut v = nomad.clone();
    strip_nulls(&mut v);
    serde_path_to_error::deserialize(v).map_err(|e| format!("{}: {}", e.path(), e.inner()))
}

pub fn decode_ok<T: DeserializeOwned>(nomad: &Value, what: &str) -> T {
    decode(nomad).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Field names orch emits that the samples do not show but that Nomad's own structs have
/// (checked against `nomad/structs/structs.go` and `api/*.go`): newer fields absent from
/// older doc samples, and fields the doc samples abbreviate.
/// orch's own jobspec fields (README, "Beyond Nomad"): not Nomad's, emitted on purpose.
/// `Lifecycle.DependsOn` and `Condition` reuse names Nomad has elsewhere.
const ORCH_EXTENSION_NAMES: &[&str] = &["Resume", "DependsOn", "Condition", "Ordered", "Gate"];

const NOMAD_NAMES_NOT_IN_SAMPLES: &[&str] = &[
    // The agent's configuration in `/v1/agent/self` (Nomad's agent `Config`)
    "BindAddr",
    "BootstrapExpect",
    "BridgeNetworkHairpinMode",
    "BridgeNetworkName",
    "BridgeNetworkSubnet",
    "CAFile",
    "CertFile",
    "CNIConfigDir",
    "CNIPath",
    "CpuCompute",
    "DevMode",
    "EnableHTTP",
    "EnableRPC",
    "EncryptKey",
    "KeyFile",
    "LogLevel",
    "MaxDynamicPort",
    "MinDynamicPort",
    "NetworkInterface",
    "NumSchedulers",
    "RaftSnapshotThreshold",
    "RaftTrailingLogs",
    "RetryInterval",
    "RetryJoin",
    "RetryMaxAttempts",
    "ServerJoin",
    "TLSConfig",
    "TLSMinVersion",
    "TokenMaxExpirationTTL",
    "TokenMinExpirationTTL",
    "TokenTTL",
    "PolicyTTL",
    "RoleTTL",
    "VerifyHTTPSClient",
    "VerifyServerHostname",
    // Job / TaskGroup / Task and their blocks
    "Identity",
    "JobACL",
    "Identities",
    "Audience",
    "Filepath",
    "ServiceName",
    "Affinities",
    "AllAtOnce",
    "AddressMode",
    "AutoPromote",
    "AutoRevert",
    "CanaryMeta",
    "CanaryTags",
    "Canary",
    "CheckRestart",
    "Cores",
    "DNS",
    "Devices",
    "Dispatched",
    "EnableTagOverride",
    "Env",
    "Envvars",
    "ErrMissingKey",
    "GetterHeaders",
    "GetterMode",
    "HealthCheck",
    "HealthyDeadline",
    "HostNetwork",
    "Hostname",
    "KillSignal",
    "Kind",
    "LeftDelim",
    "Lifecycle",
    "MaxClientDisconnect",
    "MemoryMaxMB",
    "MinHealthyTime",
    "Mode",
    "Namespace",
    "NodePool",
    "OnUpdate",
    "Once",
    "ProgressDeadline",
    "Provider",
    "RenderTemplates",
    "RightDelim",
    "Scaling",
    "Services",
    "ShutdownDelay",
    "Spreads",
    "Stable",
    "Stop",
    "StopAfterClientDisconnect",
    "SubmitTime",
    "TaggedAddresses",
    "TaskName",
    "To",
    "Update",
    "Version",
    "VolumeMounts",
    "Volumes",
    "Networks",
    "Migrate",
    "ReschedulePolicy",
    "Address",
    "Body",
    "FailuresBeforeCritical",
    "FailuresBeforeWarning",
    "GRPCService",
    "GRPCUseTLS",
    "Header",
    "Method",
    "SuccessBeforePassing",
    "TLSServerName",
    "TLSSkipVerify",
    "Disabled",
    // PeriodicConfig: `TimeZone` is in json-jobs.mdx; `Specs` is HCL `crons` (Nomad >= 1.6).
    "Specs",
    "Chown",
    "Disconnect",
    "PreventRescheduleOnLost",
    "TimeZone",
    // Allocation
    "AllocModifyIndex",
    "AllocatedResources",
    "DeploymentID",
    "DeploymentStatus",
    "Job",
    "JobVersion",
    "Metrics",
    "NextAllocation",
    "NodeName",
    "PreemptedAllocations",
    "PreemptedByAllocation",
    "PreviousAllocation",
    "FollowupEvalID",
    "DesiredTransition",
    "ForceReschedule",
    "NoShutdownDelay",
    "Reschedule",
    "RescheduleTracker",
    "DisplayMessage",
    "Details",
    "Canary",
    "Timestamp",
    // AllocationMetric
    "NodesInPool",
    "QuotaExhausted",
    "ScoreMetaData",
    // Evaluation
    "CreateTime",
    "DeploymentID",
    "ModifyTime",
    "WaitUntil",
    // Node
    "DrainStrategy",
    "Events",
    "HostVolumes",
    "Links",
    "Meta",
    "NodeResources",
    "ReservedResources",
    "MaxDynamicPort",
    "MinDynamicPort",
    "TotalCpuCores",
    "ReservableCpuCores",
    "ReservedCpuCores",
    "SecretID",
    "TLSEnabled",
    "HTTPAddr",
    "ComputedClass",
    "StatusUpdatedAt",
    "Attributes",
    // Deployment
    "Namespace",
    "IsMultiregion",
    "EvalPriority",
    "CreateTime",
    "ModifyTime",
    "PlacedCanaries",
    "AutoRevert",
    "AutoPromote",
    "ProgressDeadline",
    "RequireProgressBy",
];

const FIXTURES: &[&str] = &[
    "job_run_output.json",
    "job_create_payload.json",
    "job_parse_response.json",
    "job_read_response.json",
    "job_versions_response.json",
    "alloc_list_response.json",
    "alloc_read_response.json",
    "eval_read_response.json",
    "node_list_response.json",
    "node_read_response.json",
    "node_allocations_response.json",
    "deployment_read_response.json",
];

/// Every field name Nomad uses anywhere in the samples.
fn nomad_names() -> BTreeSet<String> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    out.insert(k.clone());
                    walk(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for f in FIXTURES {
        walk(&fixture(f), &mut out);
    }
    out
}

/// What the name comparison found for one document.
#[derive(Default, Debug)]
pub struct NameReport {
    /// `path.Field` orch emits where the sample has no such field.
    extra: BTreeSet<String>,
    /// `path.Field` the sample has and orch does not keep.
    dropped: BTreeSet<String>,
    /// Same concept, different spelling (fails the test).
    renamed: BTreeSet<String>,
}

/// Keys of these objects are data (task names, meta keys, driver config), not field names.
fn is_data_map(field: &str) -> bool {
    matches!(
        field,
        "Meta"
            | "Env"
            | "Config"
            | "Attributes"
            | "Links"
            | "Drivers"
            | "HostVolumes"
            | "TaskStates"
            | "Details"
            | "NodesAvailable"
            | "ClassFiltered"
            | "ConstraintFiltered"
            | "ClassExhausted"
            | "DimensionExhausted"
            | "QueuedAllocations"
            | "ClassEligibility"
            | "FailedTGAllocs"
            | "TaskGroups@map"
            | "GetterOptions"
            | "GetterHeaders"
            | "Header"
            | "CanaryMeta"
            | "Tasks@map"
            | "TaskLifecycles"
            | "Policy"
            | "Target"
    )
}

fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Walks orch's output and Nomad's sample side by side where both are objects.
fn compare_names(ours: &Value, nomad: &Value, path: &str, field: &str, report: &mut NameReport) {
    match (ours, nomad) {
        (Value::Object(o), Value::Object(n)) => {
            let data_keys = is_data_map(field)
                || (field == "TaskGroups" && path.ends_with("Deployment"))
                || (field == "Tasks" && path.contains("AllocatedResources"));
            let mut extra = Vec::new();
            let mut dropped = Vec::new();
            for (k, v) in o {
                match n.get(k) {
                    Some(nv) => {
                        let child = if data_keys { field } else { k.as_str() };
                        let child_path = format!("{path}.{k}");
                        if data_keys {
                            // Values of a data map share the map's element type.
                            compare_names(v, nv, &child_path, &format!("{child}@elem"), report);
                        } else {
                            compare_names(v, nv, &child_path, child, report);
                        }
                    }
                    None if !data_keys => extra.push(k.clone()),
                    None => {}
                }
            }
            if !data_keys {
                for k in n.keys() {
                    if !o.contains_key(k) {
                        dropped.push(k.clone());
                    }
                }
            }
            for e in &extra {
                for d in &dropped {
                    if normalize(e) == normalize(d) {
                        report
                            .renamed
                            .insert(format!("{path}: ours {e:?}, Nomad {d:?}"));
                    }
                }
                report.extra.insert(format!("{path}.{e}"));
            }
            for d in dropped {
                report.dropped.insert(format!("{path}.{d}"));
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            for (i, (a, b)) in o.iter().zip(n).enumerate() {
                compare_names(a, b, &format!("{path}[{i}]"), field, report);
            }
        }
        _ => {}
    }
}

/// Deserialize, serialize, deserialize (JSON and postcard) and compare names with Nomad's.
pub fn round_trip<T>(nomad: &Value, root: &str) -> (T, NameReport)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let ours: T = decode_ok(nomad, root);

    let json = serde_json::to_value(&ours).unwrap();
    let again: T = serde_json::from_value(json.clone())
        .unwrap_or_else(|e| panic!("{root}: our own JSON does not decode: {e}"));
    assert_eq!(ours, again, "{root}: JSON round trip changed the value");

    let bytes = postcard::to_allocvec(&ours).unwrap();
    let back: T = postcard::from_bytes(&bytes)
        .unwrap_or_else(|e| panic!("{root}: postcard does not decode: {e}"));
    assert_eq!(ours, back, "{root}: postcard round trip changed the value");

    let mut report = NameReport::default();
    compare_names(&json, nomad, root, root, &mut report);
    assert!(
        report.renamed.is_empty(),
        "{root}: fields Nomad names differently: {:#?}",
        report.renamed
    );
    let known = nomad_names();
    let invented: Vec<&String> = report
        .extra
        .iter()
        .filter(|p| {
            let name = p.rsplit('.').next().unwrap();
            !known.contains(name)
                && !NOMAD_NAMES_NOT_IN_SAMPLES.contains(&name)
                && !ORCH_EXTENSION_NAMES.contains(&name)
        })
        .collect();
    assert!(
        invented.is_empty(),
        "{root}: orch emits names Nomad does not use: {invented:#?}"
    );
    eprintln!("== {root}: Nomad fields orch drops:");
    for d in &report.dropped {
        eprintln!("   {d}");
    }
    (ours, report)
}

pub fn ts(rfc3339: &str) -> Timestamp {
    serde_json::from_value(Value::String(rfc3339.into())).unwrap()
}
