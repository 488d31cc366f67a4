//! Compatibility with real Nomad JSON, jobs: documents taken from Nomad's own API docs are
//! decoded into orch's job model, checked field by field, refused where they use features
//! orch lacks, and round-tripped through JSON and postcard. Serializing must only ever
//! produce field names Nomad itself uses. Allocations, evaluations, nodes and deployments
//! are in `nomad_json_objects.rs`; the shared helpers in `common/nomad_json.rs`.
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

mod common;

use common::nomad_json::{fixture, fixture_text, round_trip};
use orch_core::jobspec::from_json::{decode_job_value, parse_job_json};
use orch_core::model::Job;
use orch_core::model::wire::SECOND;

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
