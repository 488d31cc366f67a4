//! Builders and assertions shared by the state unit tests.

use super::*;
use crate::model::{
    Allocation, Deployment, DeploymentState, Evaluation, Job, Node, ScalingPolicy, Task, TaskGroup,
    eval_status, node_status,
};

pub const NOW: i64 = 1_700_000_000_000_000_000;

pub fn job(id: &str) -> Job {
    Job {
        id: id.into(),
        name: id.into(),
        datacenters: vec!["dc1".into()],
        task_groups: vec![TaskGroup {
            name: "web".into(),
            count: 2,
            tasks: vec![Task {
                name: "server".into(),
                driver: "raw_exec".into(),
                ..Task::default()
            }],
            ..TaskGroup::default()
        }],
        ..Job::default()
    }
}

pub fn scaled_job(id: &str, min: i64, max: i64) -> Job {
    let mut j = job(id);
    j.task_groups[0].scaling = Some(ScalingPolicy {
        min: Some(min),
        max: Some(max),
        enabled: true,
        ..ScalingPolicy::default()
    });
    j
}

pub fn node(id: &str) -> Node {
    Node {
        id: id.into(),
        name: format!("host-{id}"),
        status: node_status::READY.into(),
        ..Node::default()
    }
}

/// A ready node with 4000 MHz, 8 GiB, 50 GB and a healthy `raw_exec`, named by `i`:
/// what a simulated cluster places test jobs on.
pub fn schedulable_node(i: usize) -> Node {
    let mut n = Node {
        id: format!("node-{i:03}"),
        name: format!("host{i}"),
        datacenter: "dc1".into(),
        ..Node::default()
    };
    n.node_resources.cpu.cpu_shares = 4000;
    n.node_resources.memory.memory_mb = 8192;
    n.node_resources.disk.disk_mb = 50_000;
    n.drivers.insert(
        "raw_exec".into(),
        crate::model::DriverInfo {
            detected: true,
            healthy: true,
            ..crate::model::DriverInfo::default()
        },
    );
    n.computed_class = crate::state::compute_class(&n);
    n
}

pub fn eval(id: &str, job_id: &str) -> Evaluation {
    Evaluation {
        id: id.into(),
        namespace: "default".into(),
        job_id: job_id.into(),
        status: eval_status::PENDING.into(),
        eval_type: "service".into(),
        triggered_by: "job-register".into(),
        priority: 50,
        ..Evaluation::default()
    }
}

pub fn alloc(id: &str, job_id: &str, node_id: &str, index: u32) -> Allocation {
    Allocation {
        id: id.into(),
        namespace: "default".into(),
        eval_id: "e1".into(),
        name: format!("{job_id}.web[{index}]"),
        node_id: node_id.into(),
        job_id: job_id.into(),
        task_group: "web".into(),
        ..Allocation::default()
    }
}

pub fn deployment(id: &str, job: &Job) -> Deployment {
    let mut groups = std::collections::BTreeMap::new();
    groups.insert(
        "web".to_string(),
        DeploymentState {
            desired_total: 2,
            desired_canaries: 1,
            progress_deadline: 600_000_000_000,
            ..DeploymentState::default()
        },
    );
    Deployment {
        id: id.into(),
        namespace: job.namespace.clone(),
        job_id: job.id.clone(),
        job_version: job.version,
        job_create_index: job.create_index,
        job_modify_index: job.job_modify_index,
        task_groups: groups,
        status: "running".into(),
        status_description: "Deployment is running but requires manual promotion".into(),
        ..Deployment::default()
    }
}

pub fn register(job: Job) -> Command {
    Command::JobRegister(JobRegister {
        job,
        eval: None,
        enforce_index: None,
        preserve_counts: false,
        now: NOW,
    })
}

pub fn register_node(node: Node) -> Command {
    Command::NodeRegister(NodeRegister { node, now: NOW })
}

pub fn plan(allocs: Vec<Allocation>) -> ApplyPlanResults {
    ApplyPlanResults {
        allocs_to_upsert: allocs,
        allocs_stopped: vec![],
        allocs_preempted: vec![],
        deployment: None,
        deployment_updates: vec![],
        evals: vec![],
        eval_id: String::new(),
        now: NOW,
    }
}

pub fn client_update(id: &str, status: &str) -> AllocClientState {
    AllocClientState {
        id: id.into(),
        client_status: status.into(),
        ..AllocClientState::default()
    }
}

/// A store with job "web" (v0), nodes n1/n2, eval e1 and allocs a1 (n1), a2 (n2).
pub fn populated() -> StateStore {
    let mut s = StateStore::new();
    s.apply(1, register_node(node("n1"))).unwrap();
    s.apply(2, register_node(node("n2"))).unwrap();
    let mut c = JobRegister {
        job: job("web"),
        eval: Some(eval("e1", "web")),
        enforce_index: None,
        preserve_counts: false,
        now: NOW,
    };
    c.job.meta.insert("k".into(), "v".into());
    s.apply(3, Command::JobRegister(c)).unwrap();
    let p = plan(vec![
        alloc("a1", "web", "n1", 0),
        alloc("a2", "web", "n2", 1),
    ]);
    s.apply(4, Command::ApplyPlanResults(p)).unwrap();
    s
}

/// Applies a command that must fail and proves it changed nothing (same snapshot bytes,
/// same store). Returns the error for message checks.
pub fn rejected(s: &mut StateStore, index: u64, cmd: Command) -> StateError {
    let before = s.snapshot().unwrap();
    let clone = s.clone();
    let err = s
        .apply(index, cmd)
        .expect_err("command should have been rejected");
    assert_eq!(
        s.snapshot().unwrap(),
        before,
        "rejected command changed the snapshot"
    );
    assert_eq!(*s, clone, "rejected command changed the store");
    err
}
