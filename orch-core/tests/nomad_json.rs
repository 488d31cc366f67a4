//! Compatibility with real Nomad JSON: documents taken from Nomad's own API docs are
//! decoded into orch's model, checked field by field, and round-tripped through JSON and
//! postcard. Serializing must only ever produce field names Nomad itself uses.
//!
//! Fixture sources (hashicorp/nomad repository, API documentation sample bodies, verbatim):
//! - `job_run_output.json`: website/content/api-docs/json-jobs.mdx, "Syntax"
//!   (`nomad job run -output example.nomad`).
//! - `job_create_payload.json`: website/content/api-docs/jobs.mdx, "Create Job" sample payload.
//! - `job_parse_response.json`: website/content/api-docs/jobs.mdx, "Parse Job" sample response.
//! - `job_read_response.json`: website/content/api-docs/jobs.mdx, "Read Job" sample response.
//! - `job_versions_response.json`: website/content/api-docs/jobs.mdx, "List Job Versions".
//! - `alloc_list_response.json`: website/content/api-docs/allocations.mdx, "List Allocations".
//! - `alloc_read_response.json`: website/content/api-docs/allocations.mdx, "Read Allocation".
//! - `eval_read_response.json`: website/content/api-docs/evaluations.mdx, "Read Evaluation".
//! - `node_list_response.json`: website/content/api-docs/nodes.mdx, "List Nodes".
//! - `node_read_response.json`: website/content/api-docs/nodes.mdx, "Read Node".
//! - `node_allocations_response.json`: website/content/api-docs/nodes.mdx,
//!   "List Node Allocations".
//! - `deployment_read_response.json`: website/content/api-docs/deployments.mdx,
//!   "Read Deployment".

use std::collections::BTreeSet;
use std::fmt::Debug;

use orch_core::jobspec::from_json::{decode_job_value, parse_job_json};
use orch_core::model::wire::{SECOND, strip_nulls};
use orch_core::model::{Allocation, Deployment, Evaluation, Job, Node, Timestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn fixture_text(name: &str) -> String {
    let path = format!("{}/tests/nomad_json/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture(name: &str) -> Value {
    serde_json::from_str(&fixture_text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Decodes a model type the way the API layer does: nulls stripped first.
fn decode<T: DeserializeOwned>(nomad: &Value) -> Result<T, String> {
    let mut v = nomad.clone();
    strip_nulls(&mut v);
    serde_path_to_error::deserialize(v).map_err(|e| format!("{}: {}", e.path(), e.inner()))
}

fn decode_ok<T: DeserializeOwned>(nomad: &Value, what: &str) -> T {
    decode(nomad).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Field names orch emits that the samples do not show but that Nomad's own structs have
/// (checked against `nomad/structs/structs.go` and `api/*.go`): newer fields absent from
/// older doc samples, and fields the doc samples abbreviate.
const NOMAD_NAMES_NOT_IN_SAMPLES: &[&str] = &[
    // Job / TaskGroup / Task and their blocks
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
struct NameReport {
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
fn round_trip<T>(nomad: &Value, root: &str) -> (T, NameReport)
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
            !known.contains(name) && !NOMAD_NAMES_NOT_IN_SAMPLES.contains(&name)
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

fn ts(rfc3339: &str) -> Timestamp {
    serde_json::from_value(Value::String(rfc3339.into())).unwrap()
}

// ---------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------

#[test]
fn job_run_output_parses_and_canonicalizes() {
    let job = parse_job_json(&fixture_text("job_run_output.json")).unwrap();
    assert_eq!(job.id, "example");
    assert_eq!(job.name, "example");
    assert_eq!(job.job_type, "service");
    assert_eq!(job.region, "global");
    assert_eq!(job.namespace, "default");
    assert_eq!(job.priority, 50);
    assert_eq!(job.datacenters, vec!["dc1"]);
    assert_eq!(job.task_groups.len(), 1);
    let g = &job.task_groups[0];
    assert_eq!(g.name, "cache");
    assert_eq!(g.count, 1);
    let rp = g.restart_policy.as_ref().unwrap();
    assert_eq!(
        (rp.attempts, rp.interval, rp.delay, rp.mode.as_str()),
        (2, 1800 * SECOND, 15 * SECOND, "fail")
    );
    assert_eq!(g.ephemeral_disk.size_mb, 300);
    // Job-level Update and Migrate flow into the group.
    let up = g.update.as_ref().unwrap();
    assert_eq!(up.max_parallel, 1);
    assert_eq!(up.min_healthy_time, 10 * SECOND);
    assert_eq!(up.healthy_deadline, 180 * SECOND);
    assert_eq!(up.progress_deadline, 600 * SECOND);
    let mig = g.migrate.as_ref().unwrap();
    assert_eq!((mig.max_parallel, mig.health_check.as_str()), (1, "checks"));
    assert_eq!(mig.healthy_deadline, 300 * SECOND);
    let net = &g.networks[0];
    assert_eq!(net.dynamic_ports[0].label, "db");
    assert_eq!(net.dynamic_ports[0].to, 6379);
    assert_eq!(g.services[0].name, "redis-cache");
    assert_eq!(g.services[0].port_label, "db");
    assert_eq!(g.services[0].tags, vec!["global", "cache"]);
    let t = &g.tasks[0];
    assert_eq!(t.name, "redis");
    assert_eq!(t.driver, "docker");
    assert_eq!(t.config.0["image"], "redis:7");
    assert_eq!(t.resources.cpu, 500);
    assert_eq!(t.resources.memory_mb, 256);
    assert_eq!(t.kill_timeout, 5 * SECOND);
}

#[test]
fn job_create_payload_parses() {
    let job = parse_job_json(&fixture_text("job_create_payload.json")).unwrap();
    assert_eq!(job.id, "cache");
    assert_eq!(job.name, "cache");
    assert_eq!(job.node_pool, "prod");
    assert_eq!(job.datacenters, vec!["dc1"]);
    let g = &job.task_groups[0];
    assert_eq!(g.count, 1);
    assert_eq!(g.networks[0].dynamic_ports[0].to, 6379);
    assert_eq!(g.services[0].name, "redis-cache");
    let t = &g.tasks[0];
    assert_eq!((t.name.as_str(), t.driver.as_str()), ("redis", "docker"));
    assert_eq!(t.config.0["ports"], serde_json::json!(["db"]));
    // Nomad's defaults: 100 MHz, 300 MB.
    assert_eq!((t.resources.cpu, t.resources.memory_mb), (100, 300));
}

#[test]
fn job_read_response_parses() {
    // The sample is a batch job with a job-level `Update` (legacy `Stagger`/`MaxParallel`).
    // orch, like Nomad's `TaskGroup.Validate`, refuses an update block on batch jobs once
    // it is merged into the group; without it the job parses.
    let mut doc = fixture("job_read_response.json");
    let err = orch_core::jobspec::from_json::job_from_json_value(doc.clone())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("TaskGroups[0].Update") && err.contains("does not allow update block"),
        "{err}"
    );
    doc.as_object_mut().unwrap().remove("Update");
    let job = orch_core::jobspec::from_json::job_from_json_value(doc).unwrap();
    assert_eq!(job.id, "example");
    assert_eq!(job.namespace, "apps");
    assert_eq!(job.job_type, "batch");
    assert_eq!(job.node_pool, "prod");
    assert_eq!(job.constraints[0].ltarget, "${attr.kernel.name}");
    assert_eq!(job.constraints[0].operand, "=");
    assert_eq!(job.constraints[0].rtarget, "linux");
    let p = job.periodic.as_ref().unwrap();
    assert!(p.enabled && p.prohibit_overlap);
    assert_eq!(
        (p.spec.as_str(), p.spec_type.as_str()),
        ("* * * * *", "cron")
    );
    let pj = job.parameterized_job.as_ref().unwrap();
    assert_eq!(pj.payload, "required");
    assert_eq!(pj.meta_required, vec!["foo"]);
    assert_eq!(pj.meta_optional, vec!["bar"]);
    assert_eq!(job.meta["baz"], "pipe");
    assert_eq!(job.status, "running");
    assert_eq!(
        (job.create_index, job.modify_index, job.job_modify_index),
        (7, 7, 7)
    );

    let g = &job.task_groups[0];
    assert_eq!(g.constraints[0].operand, "set_contains");
    assert_eq!(g.affinities[0].ltarget, "${meta.datacenter}");
    assert_eq!(g.affinities[0].weight, 50);
    let rp = g.restart_policy.as_ref().unwrap();
    assert_eq!(
        (rp.attempts, rp.interval, rp.delay, rp.mode.as_str()),
        (10, 300 * SECOND, 25 * SECOND, "delay")
    );

    let init = &g.tasks[0];
    assert_eq!(init.name, "init");
    let lc = init.lifecycle.as_ref().unwrap();
    assert_eq!((lc.hook.as_str(), lc.sidecar), ("prestart", false));

    let redis = &g.tasks[1];
    assert_eq!(redis.user, "foo-user");
    assert_eq!(redis.env["foo"], "bar");
    assert_eq!(redis.resources.cpu, 500);
    assert_eq!(redis.resources.memory_mb, 256);
    let tnet = &redis.resources.networks[0];
    assert_eq!(tnet.mbits, 10);
    assert_eq!(
        (
            tnet.reserved_ports[0].label.as_str(),
            tnet.reserved_ports[0].value
        ),
        ("rpc", 25566)
    );
    let check = &redis.services[0].checks[0];
    assert_eq!((check.name.as_str(), check.kind.as_str()), ("alive", "tcp"));
    assert_eq!((check.interval, check.timeout), (10 * SECOND, 2 * SECOND));
    let tpl = &redis.templates[0];
    assert_eq!(tpl.dest_path, "local/config.conf");
    assert_eq!(
        (tpl.change_mode.as_str(), tpl.change_signal.as_str()),
        ("signal", "SIGUSR1")
    );
    assert_eq!(tpl.splay, 5 * SECOND);
    assert_eq!(redis.dispatch_payload.as_ref().unwrap().file, "config.json");
    assert_eq!(redis.artifacts[0].source, "http://foo.com/artifact.tar.gz");
    assert_eq!(redis.artifacts[0].destination, "local/");
    assert_eq!(
        redis.artifacts[0].options["checksum"],
        "md5:c4aa853ad2215426eb7d70a21922e794"
    );
    assert_eq!(
        (
            redis.log_config.max_files,
            redis.log_config.max_file_size_mb
        ),
        (10, 10)
    );
}

#[test]
fn job_versions_entry_parses_as_resubmittable_job() {
    // `nomad job inspect`-style output of a server: Multiregion, ConsulToken, NomadTokenID,
    // VaultNamespace, CSIPluginConfig, IOPS... all empty, so accepted.
    let versions = fixture("job_versions_response.json");
    let job = orch_core::jobspec::from_json::job_from_json_value(versions["Versions"][0].clone())
        .unwrap();
    assert_eq!(job.id, "example");
    assert_eq!(job.submit_time, 1_608_304_897_537_638_400);
    assert!(job.stable);
    let g = &job.task_groups[0];
    assert_eq!(g.max_client_disconnect, Some(300 * SECOND));
    let rs = g.reschedule_policy.as_ref().unwrap();
    assert!(rs.unlimited);
    assert_eq!(rs.delay_function, "exponential");
    assert_eq!((rs.delay, rs.max_delay), (30 * SECOND, 3600 * SECOND));
    assert_eq!(g.networks[0].dynamic_ports[0].host_network, "default");
    let up = g.update.as_ref().unwrap();
    assert_eq!(up.stagger, 30 * SECOND);
    assert_eq!(up.health_check, "checks");
}

#[test]
fn job_parse_response_decodes_but_has_no_groups() {
    // `/v1/jobs/parse` of `group "cache" {}`-less HCL: a skeleton with `TaskGroups: null`.
    let job = decode_job_value(fixture("job_parse_response.json")).unwrap();
    assert_eq!(job.id, "my-job");
    assert_eq!(job.node_pool, "prod");
    assert!(job.task_groups.is_empty());
    let err = parse_job_json(&fixture_text("job_parse_response.json"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("TaskGroups"), "{err}");
}

#[test]
fn unsupported_nomad_features_in_a_real_job_are_refused_by_name() {
    // The docs' example job, with the features orch does not have switched on.
    let mut v = fixture("job_run_output.json");
    v["Job"]["Multiregion"] = serde_json::json!({"Regions": [{"Name": "east"}]});
    v["Job"]["TaskGroups"][0]["Tasks"][0]["Vault"] = serde_json::json!({"Policies": ["p"]});
    v["Job"]["TaskGroups"][0]["Services"][0]["Connect"] = serde_json::json!({"SidecarService": {}});
    v["Job"]["TaskGroups"][0]["Services"][0]["Connect"]["SidecarService"]["Port"] =
        serde_json::json!("db");
    let err = orch_core::jobspec::from_json::job_from_json_value(v)
        .unwrap_err()
        .to_string();
    for field in [
        "Multiregion",
        "TaskGroups[0].Tasks[0].Vault",
        "TaskGroups[0].Services[0].Connect",
    ] {
        assert!(err.contains(field), "missing {field:?} in {err}");
    }
}

#[test]
fn job_round_trips() {
    let run = fixture("job_run_output.json");
    let versions = fixture("job_versions_response.json");
    let alloc = fixture("alloc_read_response.json");
    let node_allocs = fixture("node_allocations_response.json");
    for (name, doc) in [
        ("job_run_output", run["Job"].clone()),
        (
            "job_create_payload",
            fixture("job_create_payload.json")["Job"].clone(),
        ),
        ("job_parse_response", fixture("job_parse_response.json")),
        ("job_read_response", fixture("job_read_response.json")),
        ("job_versions_response", versions["Versions"][0].clone()),
        ("alloc_read_response.Job", alloc["Job"].clone()),
        (
            "node_allocations_response.Job",
            node_allocs[0]["Job"].clone(),
        ),
    ] {
        let (job, _) = round_trip::<Job>(&doc, &format!("Job({name})"));
        // The canonical form round-trips as well.
        let mut canonical = job.clone();
        orch_core::canonical::canonicalize_job(&mut canonical);
        let json = serde_json::to_value(&canonical).unwrap();
        assert_eq!(serde_json::from_value::<Job>(json).unwrap(), canonical);
        let bytes = postcard::to_allocvec(&canonical).unwrap();
        assert_eq!(postcard::from_bytes::<Job>(&bytes).unwrap(), canonical);
    }
}

// ---------------------------------------------------------------------------------------
// Allocations
// ---------------------------------------------------------------------------------------

/// The "Read Allocation" doc sample writes `RescheduleTracker.Events[0].Delay` as the string
/// `"5000000000"`. Nomad encodes `time.Duration` as a JSON integer, so this is a typo in
/// the docs, not Nomad's wire format; orch refuses it and the tests use the integer.
fn alloc_read_fixed() -> Value {
    let mut v = fixture("alloc_read_response.json");
    let err = decode::<Allocation>(&v).unwrap_err();
    assert!(err.contains("RescheduleTracker.Events[0].Delay"), "{err}");
    v["RescheduleTracker"]["Events"][0]["Delay"] = serde_json::json!(5_000_000_000_i64);
    v
}

#[test]
fn alloc_read_response_decodes() {
    let a: Allocation = decode_ok(&alloc_read_fixed(), "alloc_read_response");
    assert_eq!(a.id, "a8198d79-cfdb-6593-a999-1e9adabcba2e");
    assert_eq!(a.eval_id, "5456bd7a-9fc0-c0dd-6131-cbee77f57577");
    assert_eq!(a.name, "example.cache[0]");
    assert_eq!(a.index(), Some(0));
    assert_eq!(a.node_id, "fb2170a8-257d-3c64-b14d-bc06cc94e34c");
    assert_eq!(a.task_group, "cache");
    // The doc sample has "PreviousAllocation" twice; the last one wins, as in Go.
    assert_eq!(a.previous_allocation, "");
    assert_eq!(a.next_allocation, "cd13d9b9-4f97-7184-c88b-7b451981616b");
    let ev = &a.reschedule_tracker.as_ref().unwrap().events[0];
    assert_eq!(ev.reschedule_time, 1_517_434_161_192_946_200);
    assert_eq!(ev.delay, 5 * SECOND);
    assert_eq!(ev.prev_node_id, "9230cd3b-3bda-9a3f-82f9-b2ea8dedb20e");
    let job = a.job.as_ref().unwrap();
    assert_eq!(job.id, "example");
    assert_eq!(job.task_groups[0].tasks[0].resources.memory_mb, 10);
    assert_eq!(job.update.as_ref().unwrap().stagger, 10 * SECOND);
    let m = a.metrics.as_ref().unwrap();
    assert_eq!((m.nodes_evaluated, m.nodes_available["dc1"]), (1, 1));
    assert_eq!(m.allocation_time, 31_729);
    assert_eq!(
        (a.desired_status.as_str(), a.client_status.as_str()),
        ("run", "running")
    );
    assert!(!a.terminal());
    let ts_redis = &a.task_states["redis"];
    assert_eq!(ts_redis.state, "running");
    assert_eq!(ts_redis.finished_at, Timestamp(0));
    assert_eq!(ts_redis.last_restart, Timestamp(0));
    assert_eq!(ts_redis.started_at, ts("2017-07-25T23:36:26.106431265Z"));
    assert_eq!(ts_redis.events.len(), 3);
    assert_eq!(ts_redis.events[1].event_type, "Driver");
    assert_eq!(ts_redis.events[1].time, 1_495_747_371_798_867_200);
    assert_eq!(
        (a.create_index, a.modify_index, a.alloc_modify_index),
        (54, 57, 54)
    );
    assert_eq!(a.create_time, 1_495_747_371_794_276_400);
}

#[test]
fn alloc_list_entry_decodes() {
    let list = fixture("alloc_list_response.json");
    let a: Allocation = decode_ok(&list[0], "alloc_list_response[0]");
    assert_eq!(a.id, "5457f16d-0f87-8e6b-5e91-0c7da3a41eb7");
    assert_eq!(a.node_name, "linux");
    assert_eq!(a.namespace, "default");
    assert_eq!(a.job_version, 0);
    assert_eq!(a.client_description, "Tasks are running");
    let ds = a.deployment_status.as_ref().unwrap();
    assert_eq!(ds.healthy, Some(true));
    assert!(!ds.canary);
    assert_eq!(ds.modify_index, 15);
    // "+01:00" offset: the same instant as 09:14:22.054814Z.
    assert_eq!(ds.timestamp, ts("2021-11-04T09:14:22.054814Z"));
    assert_eq!(a.desired_transition.migrate, None);
    let st = &a.task_states["redis"];
    assert_eq!(st.finished_at, Timestamp(0));
    assert_eq!(st.started_at, ts("2021-11-04T09:14:12.04996Z"));
    assert_eq!(st.events[1].details["message"], "Building Task Directory");
    assert_eq!(st.events[0].display_message, "Task received by client");
    assert_eq!(a.modify_time, 1_636_017_262_190_928_000);
}

#[test]
fn node_allocations_entry_decodes() {
    let list = fixture("node_allocations_response.json");
    let a: Allocation = decode_ok(&list[0], "node_allocations_response[0]");
    assert_eq!(a.name, "webapp.webapp[0]");
    assert_eq!(a.alloc_modify_index, 2555);
    let ds = a.deployment_status.as_ref().unwrap();
    assert_eq!((ds.healthy, ds.timestamp), (Some(true), Timestamp(0)));
    let job = a.job.as_ref().unwrap();
    assert_eq!(job.submit_time, 1_523_490_066_563_405_000);
    let g = &job.task_groups[0];
    assert_eq!(g.count, 9);
    assert_eq!(g.migrate.as_ref().unwrap().max_parallel, 2);
    assert!(g.reschedule_policy.as_ref().unwrap().unlimited);
    let svc = &g.tasks[0].services[0];
    assert_eq!(svc.address_mode, "auto");
    assert_eq!(svc.checks[0].path, "/");
    assert_eq!(svc.checks[0].kind, "http");
    let m = a.metrics.as_ref().unwrap();
    assert_eq!(m.nodes_available["dc1"], 2);
    assert!(m.quota_exhausted.is_empty());
}

#[test]
fn allocation_round_trips() {
    round_trip::<Allocation>(&alloc_read_fixed(), "Allocation(alloc_read_response)");
    round_trip::<Allocation>(
        &fixture("alloc_list_response.json")[0],
        "Allocation(alloc_list_response[0])",
    );
    round_trip::<Allocation>(
        &fixture("node_allocations_response.json")[0],
        "Allocation(node_allocations_response[0])",
    );
}

// ---------------------------------------------------------------------------------------
// Evaluations
// ---------------------------------------------------------------------------------------

#[test]
fn eval_read_response_decodes_and_round_trips() {
    let doc = fixture("eval_read_response.json");
    let (e, _) = round_trip::<Evaluation>(&doc, "Evaluation(eval_read_response)");
    assert_eq!(e.id, "5456bd7a-9fc0-c0dd-6131-cbee77f57577");
    assert_eq!(e.priority, 50);
    assert_eq!(e.eval_type, "service");
    assert_eq!(e.triggered_by, "job-register");
    assert_eq!(e.job_id, "example");
    assert_eq!(e.job_modify_index, 52);
    assert_eq!(e.status, "complete");
    assert!(e.terminal());
    assert_eq!(e.wait, 0);
    assert!(e.failed_tg_allocs.is_empty());
    assert_eq!(e.queued_allocations["cache"], 0);
    assert_eq!(
        (e.snapshot_index, e.create_index, e.modify_index),
        (53, 53, 55)
    );
}

// ---------------------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------------------

#[test]
fn node_read_response_decodes() {
    let n: Node = decode_ok(&fixture("node_read_response.json"), "node_read_response");
    assert_eq!(n.id, "1ac61e33-a465-2ace-f63f-cffa1285e7eb");
    assert_eq!(n.name, "mew");
    assert_eq!(n.datacenter, "dc1");
    assert_eq!(n.http_addr, "127.0.0.1:4646");
    assert_eq!(n.attributes["kernel.name"], "linux");
    assert_eq!(n.attributes["cpu.numcores"], "8");
    assert_eq!(n.computed_class, "v1:390058673753570317");
    assert_eq!(n.status, "ready");
    assert_eq!(n.scheduling_eligibility, "eligible");
    assert!(n.is_schedulable());
    assert_eq!(n.status_updated_at, 1_566_814_982);
    assert_eq!(n.links["consul"], "dc1.mew");
    assert_eq!(n.meta["connect.log_level"], "info");
    assert_eq!(n.node_resources.cpu.cpu_shares, 32_000);
    assert_eq!(n.node_resources.memory.memory_mb, 15_803);
    assert_eq!(n.node_resources.disk.disk_mb, 7_890);
    assert_eq!(n.node_resources.networks[1].ip, "::1");
    assert_eq!(n.node_resources.networks[0].mbits, 1000);
    let dev = &n.node_resources.devices[0];
    assert_eq!(
        (
            dev.vendor.as_str(),
            dev.device_type.as_str(),
            dev.name.as_str()
        ),
        ("hashicorp", "skeleton", "modelA")
    );
    assert!(dev.instances[0].healthy);
    assert_eq!(dev.attributes["attrA"], "1024 MB");
    assert_eq!(dev.attributes["attrB"], "10.5 MW");
    // Written back in Nomad's typed form.
    let back = serde_json::to_value(&n).unwrap();
    assert_eq!(
        back["NodeResources"]["Devices"][0]["Attributes"]["attrA"],
        serde_json::json!({"Int": 1024, "Unit": "MB"})
    );
    assert_eq!(
        back["NodeResources"]["Devices"][0]["Attributes"]["attrB"],
        serde_json::json!({"Float": 10.5, "Unit": "MW"})
    );
    assert_eq!(n.reserved_resources.networks.reserved_host_ports, "");
    let docker = &n.drivers["docker"];
    assert!(docker.detected && docker.healthy);
    assert_eq!(docker.update_time, ts("2019-08-26T10:22:50.762716458Z"));
    assert!(n.drivers["exec"].attributes.is_empty());
    assert_eq!(n.host_volumes["certificates"].path, "/etc/ssl/certs");
    assert!(n.host_volumes["certificates"].read_only);
    assert_eq!(n.events.len(), 3);
    assert_eq!(n.events[1].subsystem, "Drain");
    assert_eq!(n.events[1].timestamp, ts("2021-03-31T12:12:20.213412Z"));
    assert!(n.drain_strategy.is_none());
}

#[test]
fn node_list_stub_decodes() {
    let n: Node = decode_ok(
        &fixture("node_list_response.json")[0],
        "node_list_response[0]",
    );
    assert_eq!(n.id, "f7476465-4d6e-c0de-26d0-e383c49be941");
    assert_eq!(n.name, "nomad-4");
    assert_eq!(n.modify_index, 2526);
    assert_eq!(n.drivers.len(), 6);
    assert_eq!(n.drivers["rkt"].attributes["driver.rkt.version"], "1.29.0");
    assert!(!n.drivers["qemu"].detected);
}

#[test]
fn node_round_trips() {
    round_trip::<Node>(
        &fixture("node_read_response.json"),
        "Node(node_read_response)",
    );
    round_trip::<Node>(
        &fixture("node_list_response.json")[0],
        "Node(node_list_response[0])",
    );
}

#[test]
fn device_attributes_accept_every_nomad_kind() {
    let doc = serde_json::json!({"NodeResources": {"Devices": [{"Attributes": {
        "a": {"Int": 4, "Unit": ""}, "b": {"Bool": true, "Unit": ""},
        "c": {"String": "Tesla T4", "Unit": ""}, "d": {"Float": 0.5, "Unit": "GHz"},
        "e": "16 GiB"
    }}]}});
    let n: Node = decode_ok(&doc, "device attributes");
    let attrs = &n.node_resources.devices[0].attributes;
    assert_eq!(attrs["a"], "4");
    assert_eq!(attrs["b"], "true");
    assert_eq!(attrs["c"], "Tesla T4");
    assert_eq!(attrs["d"], "0.5 GHz");
    assert_eq!(attrs["e"], "16 GiB");
    let json = serde_json::to_value(&n).unwrap();
    let written = &json["NodeResources"]["Devices"][0]["Attributes"];
    assert_eq!(
        written["c"],
        serde_json::json!({"String": "Tesla T4", "Unit": ""})
    );
    assert_eq!(written["e"], serde_json::json!({"Int": 16, "Unit": "GiB"}));
    assert_eq!(serde_json::from_value::<Node>(json).unwrap(), n);
    let bytes = postcard::to_allocvec(&n).unwrap();
    assert_eq!(postcard::from_bytes::<Node>(&bytes).unwrap(), n);
}

// ---------------------------------------------------------------------------------------
// Deployments
// ---------------------------------------------------------------------------------------

#[test]
fn deployment_read_response_decodes_and_round_trips() {
    let doc = fixture("deployment_read_response.json");
    let (d, _) = round_trip::<Deployment>(&doc, "Deployment(deployment_read_response)");
    assert_eq!(d.id, "70638f62-5c19-193e-30d6-f9d6e689ab8e");
    assert_eq!(d.job_id, "example");
    assert_eq!(d.job_version, 1);
    assert_eq!(
        (
            d.job_modify_index,
            d.job_spec_modify_index,
            d.job_create_index
        ),
        (17, 17, 7)
    );
    assert_eq!(d.status, "running");
    assert!(d.active());
    let g = &d.task_groups["cache"];
    assert!(!g.promoted);
    assert_eq!(
        (g.desired_canaries, g.desired_total, g.placed_allocs),
        (1, 3, 1)
    );
    assert_eq!((g.healthy_allocs, g.unhealthy_allocs), (0, 0));
    assert_eq!((d.create_index, d.modify_index), (19, 19));
}
