//! Rolling updates, failed deployments and auto-revert through the simulation harness.
//! The harness has no deployment watcher or clients, so the test plays them: it starts
//! allocations, reports their health, fails the deployment and reverts the job the way
//! `orch-daemon`'s watcher does, and enqueues the evaluations those commands create.

mod common;

use orch_core::model::{
    Allocation, Deployment, Evaluation, Job, Task, TaskGroup, UpdateStrategy, job_type,
};
use orch_core::sim::Cluster;
use orch_core::state::{
    Command, DeploymentAllocHealth, DeploymentStatusUpdate, EvalUpsert, JobRevert,
};

const S: i64 = 1_000_000_000;

/// The deployments test's job: 3 allocations, one at a time, auto-revert. `version`
/// goes into the environment (an in-place change); `command` into the driver config (a
/// destructive one).
fn web(version: &str, command: &str) -> Job {
    let mut t = Task {
        name: "t".into(),
        driver: "raw_exec".into(),
        ..Task::default()
    };
    t.config
        .0
        .insert("command".into(), serde_json::json!(command));
    t.env.insert("VERSION".into(), version.into());
    t.resources.cpu = 20;
    t.resources.memory_mb = 16;
    Job {
        id: "web".into(),
        job_type: job_type::SERVICE.into(),
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count: 3,
            tasks: vec![t],
            update: Some(UpdateStrategy {
                max_parallel: 1,
                min_healthy_time: S,
                healthy_deadline: 30 * S,
                progress_deadline: 120 * S,
                auto_revert: true,
                ..orch_core::canonical::defaults::update_strategy()
            }),
            ..TaskGroup::default()
        }],
        ..Job::default()
    }
}

fn eval(c: &mut Cluster, why: &str) -> Evaluation {
    Evaluation {
        id: c.new_id(),
        namespace: "default".into(),
        priority: 50,
        eval_type: job_type::SERVICE.into(),
        triggered_by: why.into(),
        job_id: "web".into(),
        status: "pending".into(),
        create_time: c.now,
        modify_time: c.now,
        ..Evaluation::default()
    }
}

/// Applies a command that carries `e` (pending: the leader's feeder queues it).
fn apply_with_eval(c: &mut Cluster, cmd: Command, e: Evaluation) {
    let index = c.state.latest_index() + 1;
    c.state.apply(index, cmd).unwrap();
    assert!(
        c.state.eval(&e.id).is_some(),
        "the command stores its evaluation"
    );
}

fn allocs(c: &Cluster) -> Vec<Allocation> {
    c.state
        .allocs_by_job("default", "web")
        .into_iter()
        .cloned()
        .collect()
}

fn live(c: &Cluster) -> Vec<Allocation> {
    allocs(c).into_iter().filter(|a| !a.terminal()).collect()
}

fn latest(c: &Cluster) -> Deployment {
    c.state
        .latest_deployment_by_job("default", "web")
        .cloned()
        .unwrap()
}

/// Plays the clients and the watcher for one health round: pending allocations start,
/// and the running allocations of the latest deployment without a health verdict
/// become healthy after `min_healthy_time`, with the watcher's evaluation.
fn healthy_round(c: &mut Cluster) {
    c.start_pending_allocs().unwrap();
    c.advance(2 * S);
    let d = latest(c);
    if !d.active() {
        return;
    }
    let healthy: Vec<String> = live(c)
        .into_iter()
        .filter(|a| a.deployment_id == d.id && a.client_status == "running")
        .filter(|a| {
            a.deployment_status
                .as_ref()
                .and_then(|s| s.healthy)
                .is_none()
        })
        .map(|a| a.id)
        .collect();
    if healthy.is_empty() {
        return;
    }
    let e = eval(c, "deployment-watcher");
    let cmd = Command::DeploymentAllocHealth(DeploymentAllocHealth {
        deployment_id: d.id,
        healthy,
        unhealthy: Vec::new(),
        eval: Some(e.clone()),
        now: c.now,
    });
    apply_with_eval(c, cmd, e);
    c.run_to_quiescence().unwrap();
}

/// Rolls the latest deployment forward until it is no longer running.
fn roll_out(c: &mut Cluster) -> Deployment {
    for _ in 0..20 {
        healthy_round(c);
        let d = latest(c);
        if !d.active() {
            return d;
        }
    }
    panic!("deployment still running: {:?}", latest(c));
}

#[test]
fn an_auto_reverted_update_replaces_its_failed_allocation_once() {
    let mut c = Cluster::new(11);
    for i in 0..3 {
        c.add_node(common::linux_node(i)).unwrap();
    }
    c.submit_job(web("one", "sleep")).unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(roll_out(&mut c).status, "successful");
    c.submit_job(web("two", "sleep")).unwrap();
    c.run_to_quiescence().unwrap();
    let d1 = roll_out(&mut c);
    assert_eq!((d1.job_version, d1.status.as_str()), (1, "successful"));
    let v1: Vec<Allocation> = live(&c);
    assert_eq!(v1.len(), 3);
    assert!(v1.iter().all(|a| a.job_version == 1));

    // Version 2 is broken: its first allocation fails at once.
    c.submit_job(web("three", "false")).unwrap();
    c.run_to_quiescence().unwrap();
    c.start_pending_allocs().unwrap();
    let broken: Vec<Allocation> = live(&c)
        .into_iter()
        .filter(|a| a.job_version == 2)
        .collect();
    assert_eq!(broken.len(), 1, "max_parallel = 1");
    let broken = broken[0].clone();
    c.advance(S / 2);
    c.client_update(std::slice::from_ref(&broken.id), "failed")
        .unwrap();
    // The client's alloc-failure evaluation runs while the deployment is still running.
    let e = eval(&mut c, "alloc-failure");
    let cmd = Command::EvalUpsert(EvalUpsert {
        evals: vec![e.clone()],
    });
    apply_with_eval(&mut c, cmd, e);
    c.run_to_quiescence().unwrap();

    // The watcher: the allocation is unhealthy, the deployment fails, the job goes back
    // to version 1's spec as version 3.
    let d2 = latest(&c);
    assert_eq!(d2.job_version, 2);
    let e = eval(&mut c, "deployment-watcher");
    let cmd = Command::DeploymentAllocHealth(DeploymentAllocHealth {
        deployment_id: d2.id.clone(),
        healthy: Vec::new(),
        unhealthy: vec![broken.id.clone()],
        eval: Some(e.clone()),
        now: c.now,
    });
    apply_with_eval(&mut c, cmd, e);
    let e = eval(&mut c, "deployment-watcher");
    let cmd = Command::DeploymentStatusUpdate(DeploymentStatusUpdate {
        deployment_id: d2.id.clone(),
        status: "failed".into(),
        status_description: "Failed due to unhealthy allocations - rolling back to job version 1"
            .into(),
        eval: Some(e.clone()),
        now: c.now,
    });
    apply_with_eval(&mut c, cmd, e);
    let e = eval(&mut c, "job-register");
    let cmd = Command::JobRevert(JobRevert {
        namespace: "default".into(),
        job_id: "web".into(),
        version: 1,
        enforce_prior_version: None,
        eval: Some(e.clone()),
        now: c.now,
    });
    apply_with_eval(&mut c, cmd, e);
    c.run_to_quiescence().unwrap();
    assert_eq!(c.state.job("default", "web").unwrap().version, 3);

    let d3 = roll_out(&mut c);
    assert_eq!(
        (d3.job_version, d3.status.as_str()),
        (3, "successful"),
        "{d3:?}"
    );
    // The failed allocation's reschedule delay (30 s) passes: nothing more to do.
    c.advance(60 * S);
    c.run_to_quiescence().unwrap();
    healthy_round(&mut c);

    let now_live = live(&c);
    assert_eq!(now_live.len(), 3, "{now_live:#?}");
    assert!(now_live.iter().all(|a| a.job_version == 3), "{now_live:#?}");
    // Two of version 1's allocations were updated in place and never stopped.
    let kept = v1
        .iter()
        .filter(|a| now_live.iter().any(|l| l.id == a.id))
        .count();
    assert_eq!(
        kept,
        2,
        "a healthy allocation was stopped: {:#?}",
        allocs(&c)
    );
    // The failed allocation was stopped and replaced exactly once, and links to it.
    let failed = c.state.alloc(&broken.id).unwrap().clone();
    assert_eq!(failed.desired_status, "stop", "{failed:#?}");
    let replacements: Vec<Allocation> = allocs(&c)
        .into_iter()
        .filter(|a| a.previous_allocation == broken.id)
        .collect();
    assert_eq!(replacements.len(), 1, "{replacements:#?}");
    assert_eq!(failed.next_allocation, replacements[0].id);
    // One deployment for the reverted version, and it completed.
    let for_v3: Vec<Deployment> = c
        .state
        .deployments_by_job("default", "web")
        .into_iter()
        .filter(|d| d.job_version == 3)
        .cloned()
        .collect();
    assert_eq!(for_v3.len(), 1, "{for_v3:#?}");
    assert_eq!(for_v3[0].status, "successful");
}
