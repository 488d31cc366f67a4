//! Parses every jobspec fixture under `tests/jobspecs/` and checks concrete
//! fields of the resulting Nomad API JSON (valid fixtures) or the location
//! and wording of the diagnostics (invalid fixtures).

mod common;
use common::fixtures;

use std::collections::BTreeMap;

use orch_core::jobspec::parse_hcl_to_json;
use serde_json::{Value, json};

const NS: i64 = 1_000_000_000;

/// JSON-pointer → expected value, per valid fixture.
fn valid_expectations() -> BTreeMap<&'static str, Vec<(&'static str, Value)>> {
    let mut m = BTreeMap::new();
    m.insert(
        "01-web-service.nomad.hcl",
        vec![
            ("/ID", json!("web")),
            ("/Name", json!("web")),
            ("/Region", json!("global")),
            ("/Datacenters", json!(["dc1", "dc2"])),
            ("/Type", json!("service")),
            ("/Priority", json!(70)),
            ("/Update/MaxParallel", json!(2)),
            ("/Update/MinHealthyTime", json!(10 * NS)),
            ("/Update/HealthyDeadline", json!(300 * NS)),
            ("/Update/ProgressDeadline", json!(600 * NS)),
            ("/Update/AutoRevert", json!(true)),
            ("/Update/Canary", json!(1)),
            ("/TaskGroups/0/Name", json!("frontend")),
            ("/TaskGroups/0/Count", json!(3)),
            (
                "/TaskGroups/0/Networks/0/DynamicPorts",
                json!([{"Label": "http", "To": 8080}]),
            ),
            ("/TaskGroups/0/Services/0/Name", json!("web-frontend")),
            ("/TaskGroups/0/Services/0/PortLabel", json!("http")),
            (
                "/TaskGroups/0/Services/0/Tags",
                json!(["urlprefix-/", "v1"]),
            ),
            ("/TaskGroups/0/Services/0/Checks/0/Type", json!("http")),
            ("/TaskGroups/0/Services/0/Checks/0/Interval", json!(10 * NS)),
            ("/TaskGroups/0/Services/0/Checks/0/Timeout", json!(2 * NS)),
            ("/TaskGroups/0/Tasks/0/Name", json!("nginx")),
            ("/TaskGroups/0/Tasks/0/Driver", json!("docker")),
            (
                "/TaskGroups/0/Tasks/0/Config",
                json!({"image": "nginx:1.25", "ports": ["http"]}),
            ),
            (
                "/TaskGroups/0/Tasks/0/Resources",
                json!({"CPU": 500, "MemoryMB": 256}),
            ),
        ],
    );
    m.insert(
        "02-batch.nomad.hcl",
        vec![
            ("/Type", json!("batch")),
            (
                "/TaskGroups/0/RestartPolicy",
                json!({"Attempts": 3, "Delay": 30 * NS, "Interval": 600 * NS, "Mode": "fail"}),
            ),
            (
                "/TaskGroups/0/ReschedulePolicy/DelayFunction",
                json!("exponential"),
            ),
            ("/TaskGroups/0/ReschedulePolicy/MaxDelay", json!(600 * NS)),
            ("/TaskGroups/0/ReschedulePolicy/Interval", json!(3600 * NS)),
            ("/TaskGroups/0/ReschedulePolicy/Unlimited", json!(false)),
            (
                "/TaskGroups/0/Tasks/0/Config/args/1",
                json!("${NOMAD_ALLOC_DIR}/out.csv"),
            ),
        ],
    );
    m.insert(
        "03-system.nomad.hcl",
        vec![
            ("/Type", json!("system")),
            ("/NodePool", json!("all")),
            (
                "/Constraints/0",
                json!({"LTarget": "${attr.kernel.name}", "RTarget": "linux", "Operand": "="}),
            ),
            (
                "/TaskGroups/0/Networks/0/ReservedPorts",
                json!([{"Label": "metrics", "Value": 9100}]),
            ),
            ("/TaskGroups/0/Tasks/0/Driver", json!("raw_exec")),
        ],
    );
    m.insert(
        "04-sysbatch.nomad.hcl",
        vec![
            ("/Type", json!("sysbatch")),
            ("/TaskGroups/0/Tasks/0/User", json!("nobody")),
            ("/TaskGroups/0/Tasks/0/KillTimeout", json!(45 * NS)),
            ("/TaskGroups/0/Tasks/0/KillSignal", json!("SIGINT")),
        ],
    );
    m.insert("05-periodic.nomad.hcl", vec![
        ("/Periodic", json!({"Spec": "0 3 * * *", "SpecType": "cron", "ProhibitOverlap": true, "TimeZone": "Europe/Paris"})),
    ]);
    m.insert("06-parameterized.nomad.hcl", vec![
        ("/ParameterizedJob", json!({"Payload": "required", "MetaRequired": ["input"], "MetaOptional": ["profile"]})),
        ("/TaskGroups/0/Tasks/0/DispatchPayload/File", json!("job.json")),
        ("/TaskGroups/0/Tasks/0/Config/args/1", json!("${NOMAD_META_input}")),
    ]);
    m.insert(
        "07-lifecycle-sidecars.nomad.hcl",
        vec![
            (
                "/TaskGroups/0/Tasks/0/Lifecycle",
                json!({"Hook": "prestart", "Sidecar": false}),
            ),
            (
                "/TaskGroups/0/Tasks/1/Lifecycle",
                json!({"Hook": "poststart", "Sidecar": true}),
            ),
            ("/TaskGroups/0/Tasks/2/Leader", json!(true)),
            ("/TaskGroups/0/Tasks/2/Name", json!("main")),
        ],
    );
    m.insert(
        "08-volumes.nomad.hcl",
        vec![
            (
                "/TaskGroups/0/Volumes/data",
                json!({"Name": "data", "Type": "host", "Source": "pg-data", "ReadOnly": false}),
            ),
            ("/TaskGroups/0/Volumes/certs/PerAlloc", json!(true)),
            (
                "/TaskGroups/0/Volumes/certs/AccessMode",
                json!("single-node-reader-only"),
            ),
            (
                "/TaskGroups/0/Volumes/certs/MountOptions",
                json!({"FSType": "ext4", "MountFlags": ["noatime"]}),
            ),
            (
                "/TaskGroups/0/Tasks/0/VolumeMounts/1",
                json!({"Volume": "certs", "Destination": "/certs", "ReadOnly": true}),
            ),
        ],
    );
    m.insert(
        "09-devices.nomad.hcl",
        vec![
            ("/TaskGroups/0/Tasks/0/Resources/MemoryMaxMB", json!(32768)),
            (
                "/TaskGroups/0/Tasks/0/Resources/Devices/0/Name",
                json!("nvidia/gpu"),
            ),
            ("/TaskGroups/0/Tasks/0/Resources/Devices/0/Count", json!(2)),
            (
                "/TaskGroups/0/Tasks/0/Resources/Devices/0/Constraints/0",
                json!({"LTarget": "${device.attr.memory}", "Operand": ">=", "RTarget": "8 GiB"}),
            ),
            (
                "/TaskGroups/0/Tasks/0/Resources/Devices/0/Affinities/0/Weight",
                json!(50),
            ),
        ],
    );
    m.insert("10-spread.nomad.hcl", vec![
        ("/Spreads/0", json!({"Attribute": "${node.datacenter}", "Weight": 100, "SpreadTarget": [{"Value": "us-east-1", "Percent": 60}, {"Value": "us-west-1", "Percent": 40}]})),
        ("/TaskGroups/0/Spreads/0", json!({"Attribute": "${meta.rack}"})),
    ]);
    m.insert(
        "11-variables-locals.nomad.hcl",
        vec![
            ("/ID", json!("app")),
            ("/Name", json!("app-prod")),
            ("/Meta", json!({"env": "prod", "team": "platform"})),
            ("/TaskGroups/0/Count", json!(6)),
            (
                "/TaskGroups/0/Tasks/0/Config/image",
                json!("registry.example.com/app:2.1"),
            ),
            (
                "/TaskGroups/0/Tasks/0/Env",
                json!({"ENVIRONMENT": "PROD", "REPLICAS": "3", "DEBUG": "false"}),
            ),
            ("/Datacenters", json!(["dc1"])),
        ],
    );
    m.insert(
        "12-heredoc-templates.nomad.hcl",
        vec![
            (
                "/TaskGroups/0/Tasks/0/Templates/0/EmbeddedTmpl",
                json!("[server]\nport = {{ env \"NOMAD_PORT_http\" }}\n"),
            ),
            (
                "/TaskGroups/0/Tasks/0/Templates/0/ChangeMode",
                json!("signal"),
            ),
            ("/TaskGroups/0/Tasks/0/Templates/0/Splay", json!(10 * NS)),
            (
                "/TaskGroups/0/Tasks/0/Templates/1/EmbeddedTmpl",
                json!("DB_HOST={{ key \"db/host\" }}\nDB_PORT=5432\n"),
            ),
            ("/TaskGroups/0/Tasks/0/Templates/1/Envvars", json!(true)),
            ("/TaskGroups/0/Tasks/0/Templates/1/Perms", json!("0600")),
            (
                "/TaskGroups/0/Tasks/0/Templates/1/ChangeMode",
                json!("restart"),
            ),
            ("/TaskGroups/0/Tasks/0/Templates/1/Splay", json!(5 * NS)),
            (
                "/TaskGroups/0/Tasks/0/Templates/1/Wait",
                json!({"Min": 2 * NS, "Max": 10 * NS}),
            ),
        ],
    );
    m.insert(
        "13-artifacts.nomad.hcl",
        vec![
            (
                "/TaskGroups/0/Tasks/0/Artifacts/0/GetterSource",
                json!("https://example.com/app.tar.gz"),
            ),
            (
                "/TaskGroups/0/Tasks/0/Artifacts/0/RelativeDest",
                json!("local/app"),
            ),
            (
                "/TaskGroups/0/Tasks/0/Artifacts/0/GetterOptions",
                json!({"checksum": "sha256:abcd"}),
            ),
            (
                "/TaskGroups/0/Tasks/0/Artifacts/0/GetterHeaders",
                json!({"User-Agent": "orch"}),
            ),
            ("/TaskGroups/0/Tasks/0/Artifacts/1/Chown", json!(true)),
        ],
    );
    m.insert(
        "14-checks.nomad.hcl",
        vec![
            ("/TaskGroups/0/Networks/0/Mode", json!("bridge")),
            (
                "/TaskGroups/0/Networks/0/DynamicPorts",
                json!([{"Label": "http"}, {"Label": "grpc"}]),
            ),
            ("/TaskGroups/0/Services/0/Provider", json!("nomad")),
            (
                "/TaskGroups/0/Services/0/Checks/0/Header",
                json!({"Authorization": ["Bearer x"], "X-Trace": ["1", "2"]}),
            ),
            (
                "/TaskGroups/0/Services/0/Checks/0/CheckRestart",
                json!({"Limit": 3, "Grace": 90 * NS, "IgnoreWarnings": false}),
            ),
            ("/TaskGroups/0/Services/0/Checks/0/Method", json!("POST")),
            ("/TaskGroups/0/Services/0/Checks/1/GRPCUseTLS", json!(true)),
            ("/TaskGroups/0/Services/0/Checks/1/PortLabel", json!("grpc")),
            ("/TaskGroups/0/Services/0/Checks/2/TaskName", json!("api")),
            ("/TaskGroups/0/Services/0/Checks/2/Interval", json!(60 * NS)),
        ],
    );
    m.insert("15-constraints.nomad.hcl", vec![
        ("/Constraints/0", json!({"LTarget": "", "RTarget": "", "Operand": "distinct_hosts"})),
        ("/Constraints/1", json!({"LTarget": "${meta.rack}", "RTarget": "2", "Operand": "distinct_property"})),
        ("/Constraints/2", json!({"LTarget": "${attr.kernel.version}", "RTarget": ">= 5.4", "Operand": "version"})),
        ("/Constraints/3/Operand", json!("regexp")),
        ("/Constraints/4", json!({"LTarget": "${meta.features}", "RTarget": "ssd,gpu", "Operand": "set_contains"})),
        ("/Constraints/5/Operand", json!("!=")),
        ("/Affinities/0", json!({"LTarget": "${node.datacenter}", "RTarget": "dc1", "Operand": "=", "Weight": -50})),
        ("/TaskGroups/0/Constraints/0/RTarget", json!("amd64")),
        ("/TaskGroups/0/Tasks/0/Constraints/0/Operand", json!("semver")),
    ]);
    m.insert("16-network-dns.nomad.hcl", vec![
        ("/TaskGroups/0/Networks/0/Hostname", json!("web-${NOMAD_ALLOC_INDEX}")),
        ("/TaskGroups/0/Networks/0/MBits", json!(10)),
        ("/TaskGroups/0/Networks/0/ReservedPorts", json!([{"Label": "http", "Value": 80, "To": 8080, "HostNetwork": "public"}])),
        ("/TaskGroups/0/Networks/0/DynamicPorts", json!([{"Label": "admin", "To": 9000}])),
        ("/TaskGroups/0/Networks/0/DNS", json!({"Servers": ["1.1.1.1", "8.8.8.8"], "Searches": ["svc.local"], "Options": ["ndots:2"]})),
    ]);
    m.insert(
        "17-scaling.nomad.hcl",
        vec![
            ("/TaskGroups/0/Scaling/Type", json!("horizontal")),
            ("/TaskGroups/0/Scaling/Min", json!(1)),
            ("/TaskGroups/0/Scaling/Max", json!(10)),
            ("/TaskGroups/0/Scaling/Enabled", json!(true)),
            ("/TaskGroups/0/Scaling/Policy/cooldown", json!("1m")),
            (
                "/TaskGroups/0/Scaling/Policy/check/0/cpu/0/source",
                json!("prometheus"),
            ),
            (
                "/TaskGroups/0/Scaling/Policy/check/0/cpu/0/strategy/0/target-value/0/target",
                json!(70),
            ),
            (
                "/TaskGroups/0/Tasks/0/ScalingPolicies/0/Type",
                json!("vertical_cpu"),
            ),
            ("/TaskGroups/0/Tasks/0/ScalingPolicies/0/Max", json!(2000)),
            (
                "/TaskGroups/0/Tasks/0/ScalingPolicies/1",
                json!({"Type": "vertical_mem", "Max": 4096}),
            ),
        ],
    );
    m.insert("18-migrate-ephemeral.nomad.hcl", vec![
        ("/Migrate", json!({"MaxParallel": 1, "HealthCheck": "checks", "MinHealthyTime": 15 * NS, "HealthyDeadline": 180 * NS})),
        ("/TaskGroups/0/EphemeralDisk", json!({"Sticky": true, "Migrate": true, "SizeMB": 1024})),
        ("/TaskGroups/0/Tasks/0/LogConfig", json!({"MaxFiles": 3, "MaxFileSizeMB": 15})),
    ]);
    m.insert(
        "19-meta-env.nomad.hcl",
        vec![
            ("/Meta", json!({"owner": "team-a", "version": "3"})),
            (
                "/TaskGroups/0/Meta",
                json!({"rack.preferred": "r1", "enabled": "true"}),
            ),
            (
                "/TaskGroups/0/Tasks/0/Env",
                json!({"JAVA_OPTS": "-Xmx1g", "PORT": "8080"}),
            ),
            ("/TaskGroups/0/Tasks/0/Meta", json!({"component": "worker"})),
        ],
    );
    m.insert(
        "20-config-freeform.nomad.hcl",
        vec![
            ("/TaskGroups/0/Tasks/0/Config/force_pull", json!(true)),
            ("/TaskGroups/0/Tasks/0/Config/shm_size", json!(134_217_728)),
            (
                "/TaskGroups/0/Tasks/0/Config/labels",
                json!([{"team": "a"}]),
            ),
            (
                "/TaskGroups/0/Tasks/0/Config/mounts",
                json!([{"type": "bind", "source": "/etc/ssl", "target": "/etc/ssl"}]),
            ),
            (
                "/TaskGroups/0/Tasks/0/Config/logging",
                json!([{"type": "syslog", "config": [{"tag": "app"}]}]),
            ),
            (
                "/TaskGroups/0/Tasks/0/Config/port_map",
                json!([{"http": 80}]),
            ),
            (
                "/TaskGroups/0/Tasks/0/Config/mount",
                json!([{"type": "volume", "target": "/data"}, {"type": "tmpfs", "target": "/tmp"}]),
            ),
        ],
    );
    m.insert(
        "21-disconnect-shutdown.nomad.hcl",
        vec![
            ("/TaskGroups/0/ShutdownDelay", json!(5 * NS)),
            (
                "/TaskGroups/0/Disconnect",
                json!({"LostAfter": 1800 * NS, "Replace": false, "Reconcile": "keep_original"}),
            ),
            ("/TaskGroups/0/Tasks/0/ShutdownDelay", json!(3 * NS)),
            ("/TaskGroups/0/Tasks/0/Kind", json!("service")),
        ],
    );
    m.insert(
        "22-functions.nomad.hcl",
        vec![
            ("/Meta/suffix", json!("build-007")),
            ("/Meta/joined", json!("api,worker")),
            ("/Meta/count", json!("2")),
            ("/Meta/keys", json!("a,b")),
            ("/Meta/biggest", json!("9")),
            ("/Meta/last", json!("c")),
            ("/Meta/trimmed", json!("x")),
            ("/Meta/replaced", json!("a_b_c")),
            ("/Meta/json", json!("{\"x\":1}")),
            ("/Meta/has_api", json!("true")),
            ("/Meta/cond", json!("many")),
            ("/Meta/looked", json!("default")),
            ("/Meta/ranged", json!("0,1,2")),
            ("/TaskGroups/0/Tasks/0/Config/image", json!("app:1")),
        ],
    );
    m.insert(
        "23-runtime-interpolation.nomad.hcl",
        vec![
            (
                "/TaskGroups/0/Tasks/0/Config/hostname",
                json!("${node.unique.name}"),
            ),
            (
                "/TaskGroups/0/Tasks/0/Config/args",
                json!([
                    "--alloc=${NOMAD_ALLOC_INDEX}",
                    "--dc=${node.datacenter}",
                    "--home=${env[\"HOME\"]}",
                    "--literal=${not_interpolated}"
                ]),
            ),
            (
                "/TaskGroups/0/Tasks/0/Env/REGION",
                json!("${attr.platform.aws.placement.availability-zone}"),
            ),
            ("/TaskGroups/0/Tasks/0/Env/RACK", json!("${meta.rack}")),
        ],
    );
    m.insert("24-vault-consul-identity.nomad.hcl", vec![
        ("/TaskGroups/0/Consul", json!({"Namespace": "prod"})),
        ("/TaskGroups/0/Tasks/0/Vault", json!({"Policies": ["db"], "ChangeMode": "signal", "ChangeSignal": "SIGUSR1", "Env": true})),
        ("/TaskGroups/0/Tasks/1/Vault", json!({"Policies": ["default"], "ChangeMode": "restart", "Env": true})),
        ("/TaskGroups/0/Tasks/0/Identity", json!({"Env": true, "File": true})),
        ("/TaskGroups/0/Tasks/0/Identities/0", json!({"Name": "aws", "Audience": ["sts.amazonaws.com"], "TTL": 3600 * NS})),
    ]);
    m.insert(
        "25-restart-task-level.nomad.hcl",
        vec![
            ("/AllAtOnce", json!(true)),
            ("/Namespace", json!("apps")),
            ("/Reschedule", json!({"Delay": 5 * NS, "Unlimited": true})),
            ("/TaskGroups/0/RestartPolicy/RenderTemplates", json!(true)),
            ("/TaskGroups/0/RestartPolicy/Interval", json!(1800 * NS)),
            (
                "/TaskGroups/0/Tasks/0/RestartPolicy",
                json!({"Attempts": 1, "Delay": 1230 * NS}),
            ),
            (
                "/TaskGroups/0/Tasks/0/Resources",
                json!({"Cores": 2, "MemoryMB": 512}),
            ),
        ],
    );
    m.insert("26-ui-crons.nomad.hcl", vec![
        ("/UI", json!({"Description": "Runs reports", "Links": [{"Label": "Docs", "URL": "https://example.com/docs"}]})),
        ("/Periodic", json!({"Specs": ["0 * * * *", "30 * * * *"], "Enabled": true})),
        ("/TaskGroups/0/Tasks/0/Templates/0/ChangeScript", json!({"Command": "/bin/reload", "Args": [], "Timeout": 5 * NS, "FailOnError": false})),
    ]);
    m.insert(
        "27-variables-block-conditional.nomad.hcl",
        vec![
            ("/Region", json!("eu")),
            (
                "/TaskGroups/0/Networks/0/DynamicPorts/0",
                json!({"Label": "http", "To": 8080}),
            ),
            (
                "/TaskGroups/0/Tasks/0/Config/args",
                json!(["--log-level", "info"]),
            ),
        ],
    );
    m
}

fn vars_for(name: &str) -> BTreeMap<String, Value> {
    let mut vars = BTreeMap::new();
    if name.starts_with("11-") {
        // Strings for typed variables are parsed per type, like `-var`.
        vars.insert("env".to_string(), json!("prod"));
        vars.insert("replicas".to_string(), json!("3"));
        vars.insert("image_tag".to_string(), json!("2.1"));
    }
    vars
}

#[test]
fn valid_fixtures_parse_to_expected_json() {
    let expectations = valid_expectations();
    let files = fixtures("valid");
    assert!(files.len() >= 25, "expected at least 25 valid fixtures");
    for (name, src) in &files {
        let job = parse_hcl_to_json(src, name, &vars_for(name))
            .unwrap_or_else(|e| panic!("{name} should parse:\n{e}"));
        let checks = expectations
            .get(name.as_str())
            .unwrap_or_else(|| panic!("no expectations for {name}"));
        assert!(!checks.is_empty());
        for (ptr, want) in checks {
            let got = job.pointer(ptr);
            assert_eq!(got, Some(want), "{name}: {ptr}\nfull job: {job}");
        }
    }
    assert_eq!(
        expectations.len(),
        files.len(),
        "expectation for a missing fixture"
    );
}
