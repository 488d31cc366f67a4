//! Scenario tests of the reconciler: scaling, stopping, updates, deployments, lost and
//! migrating allocations, determinism.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::model::{
    AllocDeploymentStatus, DeploymentState, Job, Node, ReschedulePolicy, Task, TaskGroup,
    UpdateStrategy, client_status, deployment_status, desired_status, node_status,
};

pub(super) const S: i64 = 1_000_000_000;
pub(super) const NOW: i64 = 1_700_000_000 * S;

/// A job and its world, as the reconciler sees them.
pub(super) struct World {
    pub job: Job,
    pub versions: BTreeMap<u64, Job>,
    pub allocs: Vec<Allocation>,
    pub tainted: BTreeMap<String, Node>,
    pub missing: BTreeSet<String>,
    pub deployment: Option<Deployment>,
    pub eval_id: String,
    pub now: i64,
    pub batch: bool,
}

pub(super) fn job(count: u32) -> Job {
    Job {
        id: "web".into(),
        namespace: "default".into(),
        job_type: "service".into(),
        create_index: 1,
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count,
            tasks: vec![Task {
                name: "t".into(),
                driver: "docker".into(),
                ..Task::default()
            }],
            reschedule_policy: Some(ReschedulePolicy {
                delay: 30 * S,
                delay_function: "exponential".into(),
                max_delay: 3600 * S,
                unlimited: true,
                ..ReschedulePolicy::default()
            }),
            ..TaskGroup::default()
        }],
        ..Job::default()
    }
}

pub(super) fn alloc(job: &Job, i: u32) -> Allocation {
    Allocation {
        id: format!("a{i:04}"),
        namespace: "default".into(),
        name: job.alloc_name("g", i),
        node_id: "n1".into(),
        job_id: job.id.as_str().into(),
        task_group: "g".into(),
        desired_status: desired_status::RUN.into(),
        client_status: client_status::RUNNING.into(),
        job_version: job.version,
        create_index: u64::from(i) + 10,
        modify_time: NOW - 3600 * S,
        ..Allocation::default()
    }
}

impl World {
    pub(super) fn new(job: Job, allocs: Vec<Allocation>) -> Self {
        let mut versions = BTreeMap::new();
        versions.insert(job.version, job.clone());
        World {
            job,
            versions,
            allocs,
            tainted: BTreeMap::new(),
            missing: BTreeSet::new(),
            deployment: None,
            eval_id: "eval-1".into(),
            now: NOW,
            batch: false,
        }
    }

    /// Registers a new version of the job (the old one stays in history).
    pub(super) fn update(&mut self, f: impl FnOnce(&mut Job)) {
        let mut j = self.job.clone();
        j.version += 1;
        f(&mut j);
        self.versions.insert(j.version, j.clone());
        self.job = j;
    }

    pub(super) fn run(&self) -> ReconcileResults {
        self.run_with(reconcile)
    }

    /// The one-pass answer for lost allocations (if it gives one) and the full
    /// reconciler's, on the same input.
    pub(super) fn run_both(&self) -> (Option<ReconcileResults>, ReconcileResults) {
        let mut fast = None;
        self.run_with(|input| {
            fast = lost::lost_only(&input);
            ReconcileResults::default()
        });
        (fast, self.run_with(full))
    }

    fn run_with(&self, f: impl FnOnce(ReconcileInput<'_>) -> ReconcileResults) -> ReconcileResults {
        let mut n = 0;
        let mut ids = || {
            n += 1;
            format!("id-{n}")
        };
        let lookup = |a: &Allocation| self.versions.get(&a.job_version);
        let existing: Vec<&Allocation> = self.allocs.iter().collect();
        // What the store's index would say, with every node outside the tainted and
        // missing sets taken as healthy (the most the scheduler ever claims).
        let hints: Vec<AllocHint<'_>> = self
            .allocs
            .iter()
            .map(|a| AllocHint {
                at_rest: crate::state::alloc_at_rest(a),
                healthy: !self.tainted.contains_key(a.node_id.as_str())
                    && !self.missing.contains(a.node_id.as_str()),
                version: a.job_version,
                group: &a.task_group,
            })
            .collect();
        f(ReconcileInput {
            job: Some(&self.job),
            existing: &existing,
            hints: Some(&hints),
            alloc_job: &lookup,
            tainted_nodes: &self.tainted,
            missing_nodes: &self.missing,
            deployment: self.deployment.as_ref(),
            eval_id: &self.eval_id,
            eval_priority: 50,
            now: self.now,
            batch: self.batch,
            next_id: &mut ids,
        })
    }
}

pub(super) fn placed(r: &ReconcileResults) -> Vec<u32> {
    r.place.iter().map(|p| p.index).collect()
}

pub(super) fn stopped(r: &ReconcileResults) -> Vec<&str> {
    r.stop.iter().map(|s| s.alloc_id.as_str()).collect()
}

fn node(id: &str, status: &str) -> Node {
    Node {
        id: id.into(),
        status: status.into(),
        ..Node::default()
    }
}

#[test]
fn scale_up_places_lowest_free_indexes() {
    let j = job(5);
    let w = World::new(j.clone(), vec![alloc(&j, 0), alloc(&j, 2)]);
    let r = w.run();
    assert_eq!(placed(&r), vec![1, 3, 4]);
    assert!(r.place.iter().all(|p| p.previous_alloc.is_none()));
    assert_eq!(r.place[0].name, "web.g[1]");
    let du = r.desired_tg_updates["g"];
    assert_eq!((du.place, du.ignore, du.stop), (3, 2, 0));
}

#[test]
fn scale_down_stops_highest_indexes() {
    let j = job(2);
    let w = World::new(j.clone(), (0..5).map(|i| alloc(&j, i)).collect());
    let r = w.run();
    assert_eq!(stopped(&r), vec!["a0002", "a0003", "a0004"]);
    assert!(r.stop.iter().all(|s| s.description == describe::NOT_NEEDED));
    assert!(r.place.is_empty());
}

#[test]
fn duplicate_names_are_stopped_first() {
    let j = job(2);
    let mut dup = alloc(&j, 0);
    dup.id = "z-dup".into();
    dup.create_index = 99;
    let w = World::new(j.clone(), vec![alloc(&j, 0), alloc(&j, 1), dup]);
    let r = w.run();
    assert_eq!(stopped(&r), vec!["z-dup"]);
}

#[test]
fn stopped_job_stops_everything_live() {
    let mut j = job(3);
    j.stop = true;
    let mut done = alloc(&j, 2);
    done.client_status = client_status::COMPLETE.into();
    let w = World::new(j.clone(), vec![alloc(&j, 0), alloc(&j, 1), done]);
    let r = w.run();
    assert_eq!(stopped(&r), vec!["a0000", "a0001"]);
    assert!(r.place.is_empty());
    assert_eq!(r.desired_tg_updates["g"].stop, 2);
}

#[test]
fn purged_job_cancels_active_deployment() {
    let j = job(1);
    let allocs = [alloc(&j, 0)];
    let allocs: Vec<&Allocation> = allocs.iter().collect();
    let dep = Deployment {
        id: "d1".into(),
        status: deployment_status::RUNNING.into(),
        ..Deployment::default()
    };
    let (tainted, missing) = (BTreeMap::new(), BTreeSet::new());
    let lookup = |_: &Allocation| None;
    let mut ids = || "x".to_string();
    let r = reconcile(ReconcileInput {
        job: None,
        existing: &allocs,
        hints: None,
        alloc_job: &lookup,
        tainted_nodes: &tainted,
        missing_nodes: &missing,
        deployment: Some(&dep),
        eval_id: "e",
        eval_priority: 50,
        now: NOW,
        batch: false,
        next_id: &mut ids,
    });
    assert_eq!(stopped(&r), vec!["a0000"]);
    assert_eq!(r.deployment_updates[0].status, deployment_status::CANCELLED);
    assert_eq!(
        r.deployment_updates[0].status_description,
        deployment_describe::STOPPED_JOB
    );
}

#[test]
fn removed_group_is_stopped() {
    let j = job(1);
    let mut old = alloc(&j, 0);
    old.id = "old".into();
    old.task_group = "gone".into();
    old.name = "web.gone[0]".into();
    let w = World::new(j.clone(), vec![alloc(&j, 0), old]);
    let r = w.run();
    assert_eq!(stopped(&r), vec!["old"]);
    assert_eq!(r.desired_tg_updates["gone"].stop, 1);
}

#[test]
fn count_only_change_is_in_place() {
    let j = job(3);
    let mut w = World::new(j.clone(), (0..3).map(|i| alloc(&j, i)).collect());
    w.update(|j| j.task_groups[0].count = 4);
    let r = w.run();
    assert_eq!(r.inplace_update.len(), 3);
    assert!(
        r.inplace_update
            .iter()
            .all(|a| a.job_version == 1 && a.job.is_none())
    );
    assert_eq!(placed(&r), vec![3]);
    assert!(r.destructive_update.is_empty());
    assert_eq!(r.desired_tg_updates["g"].in_place_update, 3);
}

#[test]
fn env_change_is_destructive() {
    let j = job(3);
    let mut w = World::new(j.clone(), (0..3).map(|i| alloc(&j, i)).collect());
    w.update(|j| {
        j.task_groups[0].tasks[0].env.insert("A".into(), "1".into());
    });
    let r = w.run();
    assert_eq!(r.destructive_update.len(), 3);
    assert!(r.inplace_update.is_empty());
    assert_eq!(r.destructive_update[0].stop_alloc_id, "a0000");
    assert_eq!(
        r.destructive_update[0].place.previous_alloc.as_deref(),
        Some("a0000")
    );
    assert!(r.deployment.is_none(), "no update strategy, no deployment");
}

fn rolling(max_parallel: u32, canary: u32) -> impl FnOnce(&mut Job) {
    move |j: &mut Job| {
        j.task_groups[0].tasks[0].env.insert("V".into(), "2".into());
        j.task_groups[0].update = Some(UpdateStrategy {
            max_parallel,
            canary,
            ..UpdateStrategy::default()
        });
    }
}

#[test]
fn max_parallel_limits_destructive_updates_and_creates_deployment() {
    let j = job(5);
    let mut w = World::new(j.clone(), (0..5).map(|i| alloc(&j, i)).collect());
    w.update(rolling(2, 0));
    let r = w.run();
    assert_eq!(r.destructive_update.len(), 2);
    let du = r.desired_tg_updates["g"];
    assert_eq!((du.destructive_update, du.ignore), (2, 3));
    let d = r.deployment.as_ref().unwrap();
    assert_eq!(d.job_version, 1);
    assert_eq!(d.id, "id-1");
    assert_eq!(d.task_groups["g"].desired_total, 5);
    assert_eq!(r.deployment_id.as_deref(), Some("id-1"));
}

#[test]
fn max_parallel_waits_for_health_within_deployment() {
    let j = job(5);
    let mut w = World::new(j.clone(), (0..5).map(|i| alloc(&j, i)).collect());
    w.update(rolling(2, 0));
    // Two already replaced in deployment d1, not yet healthy.
    for i in 0..2 {
        w.allocs[i].job_version = 1;
        w.allocs[i].deployment_id = "d1".into();
    }
    let mut states = BTreeMap::new();
    states.insert(
        "g".to_string(),
        DeploymentState {
            desired_total: 5,
            ..DeploymentState::default()
        },
    );
    w.deployment = Some(Deployment {
        id: "d1".into(),
        job_version: 1,
        job_create_index: 1,
        status: deployment_status::RUNNING.into(),
        task_groups: states,
        ..Deployment::default()
    });
    let r = w.run();
    assert!(r.destructive_update.is_empty());
    assert!(r.deployment.is_none());
    assert_eq!(r.desired_tg_updates["g"].ignore, 5);

    for i in 0..2 {
        w.allocs[i].deployment_status = Some(AllocDeploymentStatus {
            healthy: Some(true),
            ..AllocDeploymentStatus::default()
        });
    }
    let r = w.run();
    assert_eq!(r.destructive_update.len(), 2);
    assert_eq!(r.destructive_update[0].stop_alloc_id, "a0002");

    w.allocs[0].deployment_status = Some(AllocDeploymentStatus {
        healthy: Some(false),
        ..AllocDeploymentStatus::default()
    });
    assert!(w.run().destructive_update.is_empty(), "unhealthy halts");
}

#[test]
fn canaries_are_placed_before_any_update() {
    let j = job(3);
    let mut w = World::new(j.clone(), (0..3).map(|i| alloc(&j, i)).collect());
    w.update(rolling(1, 1));
    let r = w.run();
    assert!(r.destructive_update.is_empty());
    assert_eq!(r.place.len(), 1);
    assert!(r.place[0].canary);
    assert_eq!(r.place[0].name, "web.g[0]");
    let du = r.desired_tg_updates["g"];
    assert_eq!((du.canary, du.ignore), (1, 3));
    assert_eq!(
        r.deployment.as_ref().unwrap().task_groups["g"].desired_canaries,
        1
    );
}

#[test]
fn placed_unpromoted_canary_blocks_updates() {
    let j = job(3);
    let mut w = World::new(j.clone(), (0..3).map(|i| alloc(&j, i)).collect());
    w.update(rolling(1, 1));
    let mut c = alloc(&w.job, 0);
    c.id = "canary".into();
    c.deployment_id = "d1".into();
    c.deployment_status = Some(AllocDeploymentStatus {
        canary: true,
        ..AllocDeploymentStatus::default()
    });
    w.allocs.push(c);
    let mut states = BTreeMap::new();
    states.insert(
        "g".to_string(),
        DeploymentState {
            desired_total: 3,
            desired_canaries: 1,
            placed_canaries: vec!["canary".into()],
            ..DeploymentState::default()
        },
    );
    w.deployment = Some(Deployment {
        id: "d1".into(),
        job_version: 1,
        job_create_index: 1,
        status: deployment_status::RUNNING.into(),
        task_groups: states.clone(),
        ..Deployment::default()
    });
    let r = w.run();
    assert!(r.place.is_empty() && r.destructive_update.is_empty() && r.stop.is_empty());

    // Promoted: the old alloc sharing the canary's name stops, one more rolls.
    states.get_mut("g").unwrap().promoted = true;
    w.deployment.as_mut().unwrap().task_groups = states;
    w.allocs[3].deployment_status.as_mut().unwrap().healthy = Some(true);
    let r = w.run();
    assert_eq!(stopped(&r), vec!["a0000"]);
    assert_eq!(r.destructive_update.len(), 1);
    assert_eq!(r.destructive_update[0].stop_alloc_id, "a0001");
}

#[test]
fn superseded_deployment_is_cancelled() {
    let j = job(1);
    let mut w = World::new(j.clone(), vec![alloc(&j, 0)]);
    w.deployment = Some(Deployment {
        id: "old".into(),
        job_version: 0,
        job_create_index: 1,
        status: deployment_status::RUNNING.into(),
        ..Deployment::default()
    });
    w.update(rolling(1, 0));
    let r = w.run();
    assert_eq!(r.deployment_updates[0].deployment_id, "old");
    assert_eq!(
        r.deployment_updates[0].status_description,
        deployment_describe::NEWER_JOB
    );
    assert!(r.deployment.is_some());
}

#[test]
fn allocs_on_down_or_missing_nodes_are_lost_and_replaced() {
    let j = job(3);
    let mut allocs: Vec<_> = (0..3).map(|i| alloc(&j, i)).collect();
    allocs[1].node_id = "down".into();
    allocs[2].node_id = "gone".into();
    let mut w = World::new(j, allocs);
    w.tainted
        .insert("down".into(), node("down", node_status::DOWN));
    w.missing.insert("gone".into());
    let r = w.run();
    assert_eq!(stopped(&r), vec!["a0001", "a0002"]);
    assert!(
        r.stop
            .iter()
            .all(|s| s.client_status.as_deref() == Some(client_status::LOST))
    );
    assert_eq!(placed(&r), vec![1, 2]);
    assert!(r.place.iter().all(|p| p.lost));
    assert_eq!(r.place[0].previous_alloc.as_deref(), Some("a0001"));
}

#[test]
fn prevent_reschedule_on_lost_keeps_alloc() {
    let mut j = job(1);
    j.task_groups[0].prevent_reschedule_on_lost = true;
    let mut a = alloc(&j, 0);
    a.node_id = "down".into();
    let mut w = World::new(j, vec![a]);
    w.tainted
        .insert("down".into(), node("down", node_status::DOWN));
    let r = w.run();
    assert!(r.place.is_empty() && r.stop.is_empty());
    assert!(r.disconnect_updates.contains_key("a0000"));
}

#[test]
fn disconnected_node_marks_unknown_and_replaces() {
    let mut j = job(1);
    j.task_groups[0].max_client_disconnect = Some(600 * S);
    let mut a = alloc(&j, 0);
    a.node_id = "dc".into();
    let mut w = World::new(j, vec![a]);
    w.tainted
        .insert("dc".into(), node("dc", node_status::DISCONNECTED));
    let r = w.run();
    let u = &r.disconnect_updates["a0000"];
    assert_eq!(u.client_status, client_status::UNKNOWN);
    let ev = &r.desired_followup_evals["g"][0];
    assert_eq!(ev.wait_until.0, NOW + 600 * S);
    assert_eq!(u.followup_eval_id, ev.id);
    assert!(r.stop.is_empty());
    assert_eq!(r.place.len(), 1);
    assert_eq!(r.place[0].previous_alloc.as_deref(), Some("a0000"));
}

#[test]
fn reconnecting_original_wins_and_replacement_stops() {
    let mut j = job(1);
    j.task_groups[0].max_client_disconnect = Some(600 * S);
    let mut orig = alloc(&j, 0);
    orig.client_status = client_status::UNKNOWN.into();
    orig.modify_time = NOW - 10 * S;
    let mut rep = alloc(&j, 0);
    rep.id = "rep".into();
    rep.create_index = 100;
    let w = World::new(j, vec![orig, rep]);
    let r = w.run();
    assert_eq!(stopped(&r), vec!["rep"]);
    assert_eq!(r.stop[0].description, describe::RECONNECTED);
    assert!(r.reconnect_updates.contains_key("a0000"));
    assert!(r.place.is_empty());
}

#[test]
fn drain_migrates_marked_allocs() {
    let j = job(2);
    let mut allocs: Vec<_> = (0..2).map(|i| alloc(&j, i)).collect();
    allocs[0].node_id = "draining".into();
    allocs[0].desired_transition.migrate = Some(true);
    let mut w = World::new(j, allocs);
    let mut n = node("draining", node_status::READY);
    n.drain = true;
    w.tainted.insert("draining".into(), n);
    let r = w.run();
    assert_eq!(stopped(&r), vec!["a0000"]);
    assert_eq!(r.stop[0].description, describe::MIGRATING);
    assert_eq!(r.place.len(), 1);
    assert!(r.place[0].migrate);
    assert_eq!(r.place[0].name, "web.g[0]");
    assert_eq!(r.desired_tg_updates["g"].migrate, 1);
}

#[test]
fn batch_complete_is_not_replaced_service_complete_is() {
    let mut j = job(2);
    j.job_type = "batch".into();
    let mut done = alloc(&j, 1);
    done.client_status = client_status::COMPLETE.into();
    let mut w = World::new(j, vec![alloc(&w_job(), 0), done]);
    w.batch = true;
    let r = w.run();
    assert!(r.place.is_empty(), "batch ran to completion");

    w.batch = false;
    w.job.job_type = "service".into();
    let r = w.run();
    assert_eq!(placed(&r), vec![1], "service refills completed slot");
}

fn w_job() -> Job {
    let mut j = job(2);
    j.job_type = "batch".into();
    j
}

#[test]
fn same_input_same_output_regardless_of_order() {
    let j = job(4);
    let mut allocs: Vec<_> = (0..7).map(|i| alloc(&j, i)).collect();
    allocs[1].node_id = "down".into();
    allocs[3].client_status = client_status::FAILED.into();
    allocs[5].desired_transition.migrate = Some(true);
    let mut w = World::new(j, allocs);
    w.tainted
        .insert("down".into(), node("down", node_status::DOWN));
    w.update(rolling(2, 0));
    let a = w.run();
    let b = w.run();
    assert_eq!(a, b);
    w.allocs.reverse();
    assert_eq!(a, w.run());
}
