use crate::model::{
    Job, Namespace, QuotaLimit, QuotaResources, QuotaSpec, Task, TaskGroup, client_status, job_type,
};
use crate::scheduler::verify::verify_plan;
use crate::scheduler::{SchedulerConfig, process_eval};
use crate::sim::Cluster;

use crate::state::testutil::schedulable_node as node;

pub(crate) fn job(id: &str, ns: &str, count: u32, cpu: u64) -> Job {
    let mut t = Task {
        name: "t".into(),
        driver: "raw_exec".into(),
        ..Task::default()
    };
    t.resources.cpu = cpu;
    t.resources.memory_mb = 64;
    Job {
        id: id.into(),
        namespace: ns.into(),
        datacenters: vec!["dc1".into()],
        job_type: job_type::SERVICE.into(),
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count,
            tasks: vec![t],
            ..TaskGroup::default()
        }],
        ..Job::default()
    }
}

fn quota(cpu: u64) -> QuotaSpec {
    QuotaSpec {
        name: "small".into(),
        limits: vec![QuotaLimit {
            region: "global".into(),
            region_limit: QuotaResources {
                cpu,
                ..QuotaResources::default()
            },
            ..QuotaLimit::default()
        }],
        ..QuotaSpec::default()
    }
}

fn cluster(cpu_limit: u64) -> Cluster {
    let mut c = Cluster::new(3);
    for i in 0..3 {
        c.add_node(node(i)).unwrap();
    }
    c.upsert_quota(quota(cpu_limit)).unwrap();
    c.upsert_namespace(Namespace {
        name: "team".into(),
        quota: "small".into(),
        ..Namespace::default()
    })
    .unwrap();
    c
}

fn live(c: &Cluster, ns: &str, id: &str) -> usize {
    c.state
        .allocs_by_job(ns, id)
        .iter()
        .filter(|a| !a.terminal())
        .count()
}

#[test]
fn placements_beyond_the_quota_block_and_place_when_use_drops() {
    let mut c = cluster(500);
    c.submit_job(job("a", "team", 2, 200)).unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(live(&c, "team", "a"), 2);
    c.submit_job(job("b", "team", 1, 200)).unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(live(&c, "team", "b"), 0);
    let failures = c.failures("team", "b");
    assert_eq!(
        failures["g"].quota_exhausted,
        vec!["cpu exhausted (600 needed > 500 limit)".to_string()]
    );
    assert_eq!(c.state.quota_used("small").cpu, 400);
    // Another namespace is not limited.
    c.submit_job(job("free", "default", 5, 200)).unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(live(&c, "default", "free"), 5);
    // Stopping "a" frees the quota: "b" is placed.
    c.stop_job("team", "a", false).unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(live(&c, "team", "b"), 1);
    assert_eq!(c.state.quota_used("small").cpu, 200);
}

#[test]
fn allocations_ending_on_the_client_release_the_quota() {
    let mut c = cluster(500);
    let mut batch = job("a", "team", 2, 200);
    batch.job_type = job_type::BATCH.into();
    c.submit_job(batch).unwrap();
    c.submit_job(job("b", "team", 1, 200)).unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(live(&c, "team", "b"), 0);
    c.start_pending_allocs().unwrap();
    c.complete_batch_allocs().unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(live(&c, "team", "b"), 1);
}

#[test]
fn raising_the_limit_releases_blocked_work() {
    let mut c = cluster(300);
    c.submit_job(job("a", "team", 3, 200)).unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(live(&c, "team", "a"), 1);
    c.upsert_quota(quota(1000)).unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(live(&c, "team", "a"), 3);
}

#[test]
fn verify_refuses_two_plans_that_together_exceed_the_quota() {
    let mut c = cluster(500);
    c.submit_job(job("a", "team", 2, 200)).unwrap();
    c.submit_job(job("b", "team", 2, 200)).unwrap();
    // Plan both on the same snapshot, as two workers would.
    let evals: Vec<_> = c
        .state
        .evals()
        .filter(|e| e.status == "pending")
        .cloned()
        .collect();
    assert_eq!(evals.len(), 2);
    let config = SchedulerConfig::default();
    let mut n = 0;
    let mut ids = || {
        n += 1;
        format!("00000000-0000-4000-8000-{n:012}")
    };
    let plans: Vec<_> = evals
        .iter()
        .map(|e| process_eval(&c.state, e, &config, 1, c.now, &mut ids).plan)
        .collect();
    assert!(plans.iter().all(|p| p.placed() == 2));
    let first = verify_plan(&c.state, &plans[0]);
    assert!(first.fully_committed());
    let index = c.state.latest_index() + 1;
    c.state.apply(index, first.to_command(c.now)).unwrap();
    let second = verify_plan(&c.state, &plans[1]);
    assert!(!second.fully_committed());
    assert!(
        second
            .rejected_nodes
            .values()
            .all(|r| r.contains("quota \"small\" exhausted: cpu exhausted")),
        "{:?}",
        second.rejected_nodes
    );
    let index = c.state.latest_index() + 1;
    c.state.apply(index, second.to_command(c.now)).unwrap();
    assert!(c.state.quota_used("small").cpu <= 500);
}

#[test]
fn scheduling_with_a_quota_is_deterministic() {
    let run = || {
        let mut c = cluster(700);
        c.submit_job(job("a", "team", 5, 200)).unwrap();
        c.submit_job(job("b", "team", 2, 100)).unwrap();
        c.run_to_quiescence().unwrap();
        c.state.snapshot().unwrap()
    };
    assert_eq!(run(), run());
}

#[test]
fn terminal_allocations_count_nothing() {
    let mut c = cluster(500);
    c.submit_job(job("a", "team", 2, 200)).unwrap();
    c.run_to_quiescence().unwrap();
    let ids: Vec<String> = c
        .state
        .allocs_by_job("team", "a")
        .iter()
        .map(|a| a.id.clone())
        .collect();
    c.client_update(&ids, client_status::FAILED).unwrap();
    assert_eq!(c.state.quota_used("small").cpu, 0);
}

#[test]
fn a_destructive_update_at_the_limit_replaces_within_the_quota() {
    let mut c = cluster(400);
    c.submit_job(job("a", "team", 2, 200)).unwrap();
    c.run_to_quiescence().unwrap();
    c.start_pending_allocs().unwrap();
    let mut v1 = job("a", "team", 2, 200);
    v1.task_groups[0].tasks[0]
        .env
        .insert("VERSION".into(), "2".into());
    c.submit_job(v1).unwrap();
    c.run_to_quiescence().unwrap();
    let version = c.state.job("team", "a").unwrap().version;
    assert_eq!(version, 1);
    let live: Vec<_> = c
        .state
        .allocs_by_job("team", "a")
        .into_iter()
        .filter(|a| !a.terminal())
        .cloned()
        .collect();
    // The rolling update replaced the first allocation (the next waits for its health),
    // without a quota failure although the quota is full.
    assert_eq!(live.len(), 2);
    assert!(live.iter().any(|a| a.job_version == 1), "{live:?}");
    assert!(c.failures("team", "a").is_empty());
    assert_eq!(c.stats.plan_nodes_rejected, 0);
    assert_eq!(c.state.quota_used("small").cpu, 400);
}

#[test]
fn verify_credits_a_stop_on_one_node_to_a_placement_on_another() {
    let mut c = cluster(400);
    c.submit_job(job("a", "team", 2, 200)).unwrap();
    c.run_to_quiescence().unwrap();
    let old = c.state.allocs_by_job("team", "a")[0].clone();
    let other = (0..3)
        .map(|i| format!("node-{i:03}"))
        .find(|n| *n != old.node_id)
        .unwrap();
    let mut moved = old.clone();
    moved.id = "00000000-0000-4000-8000-00000000beef".into();
    moved.node_id = other.as_str().into();
    let mut plan = crate::scheduler::plan::Plan {
        job: c.state.job("team", "a").cloned(),
        ..Default::default()
    };
    plan.append_stop(
        &old.node_id,
        crate::state::AllocStop {
            alloc_id: old.id.clone(),
            desired_description: "moved".into(),
            client_status: None,
        },
    );
    plan.append_alloc(moved);
    let result = verify_plan(&c.state, &plan);
    assert!(result.fully_committed(), "{:?}", result.rejected_nodes);
    // Without the stop, the same placement is over the quota.
    plan.node_update.clear();
    let result = verify_plan(&c.state, &plan);
    assert!(result.rejected_nodes.contains_key(&other));
}
