use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::model::{
    AllocatedCpuResources, AllocatedMemoryResources, AllocatedPortMapping, AllocatedResources,
    AllocatedSharedResources, AllocatedTaskResources, Allocation, Job, Node, Task, TaskGroup,
};

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn fixture() -> (Allocation, Node) {
    let mut task = Task {
        name: "server".into(),
        driver: "raw_exec".into(),
        meta: map(&[("owner", "task-team"), ("tier", "web")]),
        env: map(&[
            ("BIND", "${NOMAD_ADDR_http}"),
            (
                "DC_MSG",
                "running in ${node.datacenter} on ${attr.kernel.name}",
            ),
            ("RACK", "${meta.rack}"),
            ("KEEP", "${NOMAD_NOPE} and ${env[\"X\"]}"),
            ("NOMAD_CPU_LIMIT", "override"),
        ]),
        ..Task::default()
    };
    task.resources.cpu = 500;
    let group = TaskGroup {
        name: "web".into(),
        meta: map(&[("owner", "group-team"), ("zone", "a")]),
        tasks: vec![task],
        ..TaskGroup::default()
    };
    let job = Job {
        id: "example".into(),
        name: "example-name".into(),
        namespace: "default".into(),
        region: "global".into(),
        job_type: "service".into(),
        parent_id: "example-parent".into(),
        meta: map(&[("owner", "job-team"), ("release.version", "1.2")]),
        task_groups: vec![group],
        ..Job::default()
    };
    let mut tasks = BTreeMap::new();
    tasks.insert(
        "server".to_string(),
        AllocatedTaskResources {
            cpu: AllocatedCpuResources {
                cpu_shares: 500,
                reserved_cores: vec![0, 1, 2, 7],
            },
            memory: AllocatedMemoryResources {
                memory_mb: 256,
                memory_max_mb: 512,
            },
            ..AllocatedTaskResources::default()
        },
    );
    let alloc = Allocation {
        id: "8ba85cef-1234-5678-9abc-def012345678".into(),
        namespace: "default".into(),
        name: "example.web[3]".into(),
        job_id: "example".into(),
        job: Some(Box::new(job)),
        task_group: "web".into(),
        allocated_resources: AllocatedResources {
            tasks: tasks.into_iter().collect(),
            shared: AllocatedSharedResources {
                ports: vec![
                    AllocatedPortMapping {
                        label: "http".into(),
                        value: 23456,
                        to: 8080,
                        host_ip: "10.0.0.5".into(),
                    },
                    AllocatedPortMapping {
                        label: "admin-port".into(),
                        value: 9000,
                        to: 0,
                        host_ip: "10.0.0.5".into(),
                    },
                ],
                ..AllocatedSharedResources::default()
            },
            ..AllocatedResources::default()
        },
        ..Allocation::default()
    };
    let node = Node {
        id: "node-uuid".into(),
        name: "worker-1".into(),
        datacenter: "dc2".into(),
        node_class: "large".into(),
        node_pool: "prod".into(),
        attributes: map(&[("kernel.name", "linux"), ("cpu.arch", "amd64")]),
        meta: map(&[("rack", "r12")]),
        ..Node::default()
    };
    (alloc, node)
}

fn input<'a>(alloc: &'a Allocation, node: &'a Node) -> TaskEnvInput<'a> {
    let task = &alloc.job.as_ref().unwrap().task_groups[0].tasks[0];
    TaskEnvInput {
        alloc,
        group: "web",
        task,
        node,
        region: "global",
        alloc_dir: "/var/orch/alloc/8ba/alloc",
        task_dir: "/var/orch/alloc/8ba/server/local",
        secrets_dir: "/var/orch/alloc/8ba/server/secrets",
        tmp_dir: "/var/orch/alloc/8ba/server/tmp",
    }
}

#[test]
fn nomad_variables() {
    let (alloc, node) = fixture();
    let env = nomad_env(&input(&alloc, &node));
    let expect = [
        ("NOMAD_ALLOC_DIR", "/var/orch/alloc/8ba/alloc"),
        ("NOMAD_TASK_DIR", "/var/orch/alloc/8ba/server/local"),
        ("NOMAD_SECRETS_DIR", "/var/orch/alloc/8ba/server/secrets"),
        ("TMPDIR", "/var/orch/alloc/8ba/server/tmp"),
        ("NOMAD_ALLOC_ID", "8ba85cef-1234-5678-9abc-def012345678"),
        ("NOMAD_SHORT_ALLOC_ID", "8ba85cef"),
        ("NOMAD_ALLOC_NAME", "example.web[3]"),
        ("NOMAD_ALLOC_INDEX", "3"),
        ("NOMAD_JOB_ID", "example"),
        ("NOMAD_JOB_NAME", "example-name"),
        ("NOMAD_JOB_PARENT_ID", "example-parent"),
        ("NOMAD_GROUP_NAME", "web"),
        ("NOMAD_TASK_NAME", "server"),
        ("NOMAD_NAMESPACE", "default"),
        ("NOMAD_DC", "dc2"),
        ("NOMAD_REGION", "global"),
        ("NOMAD_CPU_LIMIT", "500"),
        ("NOMAD_CPU_CORES", "0-2,7"),
        ("NOMAD_MEMORY_LIMIT", "256"),
        ("NOMAD_MEMORY_MAX_LIMIT", "512"),
        // Meta: task wins over group over job; both cases; keys cleaned.
        ("NOMAD_META_owner", "task-team"),
        ("NOMAD_META_OWNER", "task-team"),
        ("NOMAD_META_zone", "a"),
        ("NOMAD_META_ZONE", "a"),
        ("NOMAD_META_release_version", "1.2"),
        ("NOMAD_META_RELEASE_VERSION", "1.2"),
        ("NOMAD_META_tier", "web"),
        // Ports: mapped `to`.
        ("NOMAD_PORT_http", "8080"),
        ("NOMAD_ALLOC_PORT_http", "8080"),
        ("NOMAD_HOST_PORT_http", "23456"),
        ("NOMAD_IP_http", "10.0.0.5"),
        ("NOMAD_HOST_IP_http", "10.0.0.5"),
        ("NOMAD_ADDR_http", "10.0.0.5:23456"),
        ("NOMAD_HOST_ADDR_http", "10.0.0.5:23456"),
        // Unmapped: the host port; label cleaned.
        ("NOMAD_PORT_admin_port", "9000"),
        ("NOMAD_HOST_PORT_admin_port", "9000"),
        ("NOMAD_ADDR_admin_port", "10.0.0.5:9000"),
    ];
    for (k, v) in expect {
        assert_eq!(env.get(k).map(String::as_str), Some(v), "{k}");
    }
    assert!(!env.contains_key("NOMAD_ALLOC_PORT_admin_port"));
}

#[test]
fn task_env_block_is_interpolated_and_wins() {
    let (alloc, node) = fixture();
    let env = task_env(&input(&alloc, &node));
    assert_eq!(env["BIND"], "10.0.0.5:23456");
    assert_eq!(env["DC_MSG"], "running in dc2 on linux");
    assert_eq!(env["RACK"], "r12");
    assert_eq!(env["KEEP"], "${NOMAD_NOPE} and ${env[\"X\"]}");
    assert_eq!(env["NOMAD_CPU_LIMIT"], "override");
}

#[test]
fn optional_variables_are_omitted() {
    let (mut alloc, node) = fixture();
    alloc.allocated_resources.tasks.clear();
    if let Some(job) = alloc.job.as_mut() {
        job.parent_id.clear();
    }
    let mut i = input(&alloc, &node);
    i.tmp_dir = "";
    let env = nomad_env(&i);
    assert!(!env.contains_key("NOMAD_CPU_CORES"));
    assert!(!env.contains_key("NOMAD_MEMORY_MAX_LIMIT"));
    assert!(!env.contains_key("NOMAD_JOB_PARENT_ID"));
    assert!(!env.contains_key("TMPDIR"));
    // Falls back to the task's asked resources.
    assert_eq!(env["NOMAD_CPU_LIMIT"], "500");
    assert_eq!(env["NOMAD_MEMORY_LIMIT"], "300");
}

#[test]
fn interpolation() {
    let (alloc, node) = fixture();
    let vars = interpolation_vars(&input(&alloc, &node));
    let cases = [
        ("${node.unique.id}", "node-uuid"),
        (
            "${node.unique.name}/${node.class}/${node.pool}",
            "worker-1/large/prod",
        ),
        ("${node.region}-${node.datacenter}", "global-dc2"),
        ("${attr.cpu.arch}", "amd64"),
        ("${ meta.rack }", "r12"),
        ("${NOMAD_ALLOC_INDEX}", "3"),
        ("${BIND}", "10.0.0.5:23456"),
        ("${attr.missing}", "${attr.missing}"),
        (
            "unterminated ${NOMAD_ALLOC_INDEX",
            "unterminated ${NOMAD_ALLOC_INDEX",
        ),
        ("$${NOMAD_ALLOC_INDEX}", "$3"),
        ("no refs", "no refs"),
        ("ünïcode ${NOMAD_DC} ✓", "ünïcode dc2 ✓"),
    ];
    for (input, want) in cases {
        assert_eq!(interpolate(input, &vars), want, "{input}");
    }
    assert_eq!(
        vars.template_env_lookup("attr.kernel.name").as_deref(),
        Some("linux")
    );
    assert_eq!(
        vars.template_env_lookup("NOMAD_TASK_NAME").as_deref(),
        Some("server")
    );
    assert_eq!(vars.template_env_lookup("nope"), None);
}

#[test]
fn json_config_interpolation() {
    let (alloc, node) = fixture();
    let vars = interpolation_vars(&input(&alloc, &node));
    let config = json!({
        "command": "${NOMAD_TASK_DIR}/bin/server",
        "args": ["--port", "${NOMAD_PORT_http}", 7, {"${node.class}": "${node.class}"}],
        "enabled": true,
    });
    assert_eq!(
        interpolate_json(&config, &vars),
        json!({
            "command": "/var/orch/alloc/8ba/server/local/bin/server",
            "args": ["--port", "8080", 7, {"${node.class}": "large"}],
            "enabled": true,
        })
    );
}

#[test]
fn cpuset_notation() {
    assert_eq!(cpuset(&[3, 1, 2, 9, 10, 5]), "1-3,5,9-10");
    assert_eq!(cpuset(&[4]), "4");
}
