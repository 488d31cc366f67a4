//! The watcher's decisions over state built with real commands (no Raft, no clock).

use std::collections::BTreeMap;

use crate::model::{
    AllocDeploymentStatus, Allocation, Deployment, DeploymentState, Job, Node, Task, TaskGroup,
    Timestamp, UpdateStrategy, node_status,
};
use crate::state::{
    AllocClientState, AllocClientUpdate, ApplyPlanResults, JobRegister, JobStability, NodeRegister,
};

use super::*;

const NOW: i64 = 1_700_000_000_000_000_000;
const SEC: i64 = 1_000_000_000;

struct World {
    s: StateStore,
    index: u64,
}

impl World {
    fn apply(&mut self, cmd: Command) {
        self.index += 1;
        self.s.apply(self.index, cmd).unwrap();
    }

    /// Carries out decisions the way the leader does.
    fn run(&mut self, actions: &[Action]) {
        for a in actions {
            let mut n = 0u64;
            let mut ids = || {
                n += 1;
                format!("eval-{n}")
            };
            let cmd = command(&self.s, a, NOW, &mut ids).unwrap();
            self.apply(cmd);
        }
    }
}

fn job(version_env: &str, update: UpdateStrategy, count: u32) -> Job {
    let mut t = Task {
        name: "t".into(),
        driver: "raw_exec".into(),
        ..Task::default()
    };
    t.env.insert("V".into(), version_env.into());
    let mut j = Job {
        id: "web".into(),
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count,
            tasks: vec![t],
            update: Some(update),
            ..TaskGroup::default()
        }],
        ..Job::default()
    };
    crate::canonical::canonicalize_job(&mut j);
    j
}

fn update(auto_revert: bool) -> UpdateStrategy {
    UpdateStrategy {
        max_parallel: 1,
        auto_revert,
        progress_deadline: 600 * SEC,
        ..UpdateStrategy::default()
    }
}

/// Job "web" v0 (stable) and v1 being deployed to `count` allocations, none healthy yet.
fn world(auto_revert: bool, count: u32, canaries: u32) -> World {
    let mut w = World {
        s: StateStore::new(),
        index: 0,
    };
    let node = Node {
        id: "n1".into(),
        name: "n1".into(),
        status: node_status::READY.into(),
        ..Node::default()
    };
    w.apply(Command::NodeRegister(NodeRegister { node, now: NOW }));
    for v in ["one", "two"] {
        let mut u = update(auto_revert);
        u.canary = canaries;
        u.auto_promote = canaries > 0;
        w.apply(Command::JobRegister(JobRegister {
            job: job(v, u, count),
            eval: None,
            enforce_index: None,
            preserve_counts: false,
            now: NOW,
        }));
        if v == "one" {
            w.apply(Command::JobStability(JobStability {
                namespace: "default".into(),
                job_id: "web".into(),
                version: 0,
                stable: true,
            }));
        }
    }
    let mut groups = BTreeMap::new();
    groups.insert(
        "g".to_string(),
        DeploymentState {
            auto_revert,
            auto_promote: canaries > 0,
            desired_total: count,
            desired_canaries: canaries,
            progress_deadline: 600 * SEC,
            ..DeploymentState::default()
        },
    );
    let j = w.s.job("default", "web").unwrap().clone();
    let d = Deployment {
        id: "d1".into(),
        namespace: "default".into(),
        job_id: "web".into(),
        job_version: j.version,
        job_create_index: j.create_index,
        task_groups: groups,
        status: deployment_status::RUNNING.into(),
        ..Deployment::default()
    };
    let allocs = (0..count.max(canaries))
        .map(|i| Allocation {
            id: format!("a{i}"),
            namespace: "default".into(),
            name: format!("web.g[{i}]"),
            node_id: "n1".into(),
            job_id: "web".into(),
            task_group: "g".into(),
            job_version: 1,
            deployment_id: "d1".into(),
            deployment_status: (canaries > 0).then(|| AllocDeploymentStatus {
                canary: true,
                ..AllocDeploymentStatus::default()
            }),
            ..Allocation::default()
        })
        .collect();
    w.apply(Command::ApplyPlanResults(ApplyPlanResults {
        allocs_to_upsert: allocs,
        allocs_stopped: vec![],
        allocs_preempted: vec![],
        deployment: Some(d),
        deployment_updates: vec![],
        evals: vec![],
        eval_id: String::new(),
        now: NOW,
    }));
    w
}

fn health(w: &mut World, alloc: &str, healthy: bool) {
    w.apply(Command::AllocClientUpdate(AllocClientUpdate {
        allocs: vec![AllocClientState {
            id: alloc.into(),
            client_status: "running".into(),
            deployment_status: Some(AllocDeploymentStatus {
                healthy: Some(healthy),
                timestamp: Timestamp(NOW + SEC),
                ..AllocDeploymentStatus::default()
            }),
            ..AllocClientState::default()
        }],
        evals: vec![],
        now: NOW + SEC,
    }));
}

fn dep(w: &World) -> Deployment {
    w.s.deployment("d1").unwrap().clone()
}

#[test]
fn placement_starts_the_progress_clock_and_canaries_are_recorded() {
    let w = world(false, 2, 1);
    let g = &dep(&w).task_groups["g"];
    assert_eq!(g.require_progress_by, Timestamp(NOW + 600 * SEC));
    assert_eq!(g.placed_allocs, 2);
    assert_eq!(g.placed_canaries, ["a0", "a1"]);
}

#[test]
fn new_healthy_allocations_get_one_evaluation_per_burst() {
    let mut w = world(false, 3, 0);
    let first = decide(&w.s, NOW, &BTreeMap::new());
    assert!(first.actions.is_empty(), "{first:?}");
    health(&mut w, "a0", true);
    health(&mut w, "a1", true);
    let d = decide(&w.s, NOW, &first.seen);
    assert_eq!(
        d.actions,
        [Action::Evaluate {
            deployment_id: "d1".into()
        }]
    );
    // Healthy pushes the deadline out from the health time.
    assert_eq!(
        dep(&w).task_groups["g"].require_progress_by,
        Timestamp(NOW + 601 * SEC)
    );
    w.run(&d.actions);
    let e = w.s.evals().next().unwrap().clone();
    assert_eq!(e.triggered_by, "deployment-watcher");
    assert_eq!(e.deployment_id, "d1");
    // Nothing new: no second evaluation.
    assert!(decide(&w.s, NOW, &d.seen).actions.is_empty());
}

#[test]
fn all_healthy_succeeds_and_marks_the_version_stable() {
    let mut w = world(false, 2, 0);
    health(&mut w, "a0", true);
    health(&mut w, "a1", true);
    let d = decide(&w.s, NOW, &BTreeMap::new());
    assert_eq!(
        d.actions,
        [Action::Succeed {
            deployment_id: "d1".into()
        }]
    );
    w.run(&d.actions);
    assert_eq!(dep(&w).status, "successful");
    assert_eq!(
        dep(&w).status_description,
        "Deployment completed successfully"
    );
    assert!(w.s.job("default", "web").unwrap().stable);
    assert!(decide(&w.s, NOW, &BTreeMap::new()).actions.is_empty());
}

#[test]
fn unhealthy_without_auto_revert_fails_with_an_evaluation() {
    let mut w = world(false, 2, 0);
    health(&mut w, "a0", false);
    let d = decide(&w.s, NOW, &BTreeMap::new());
    assert_eq!(
        d.actions,
        [Action::Fail {
            deployment_id: "d1".into(),
            description: "Failed due to unhealthy allocations".into(),
            reverting: false
        }]
    );
    w.run(&d.actions);
    assert_eq!(dep(&w).status, "failed");
    assert_eq!(
        w.s.evals().count(),
        1,
        "an eval reschedules the failed allocs"
    );
    assert!(decide(&w.s, NOW, &BTreeMap::new()).actions.is_empty());
}

#[test]
fn unhealthy_with_auto_revert_fails_then_reverts_to_the_stable_version() {
    let mut w = world(true, 2, 0);
    health(&mut w, "a0", false);
    let d = decide(&w.s, NOW, &BTreeMap::new());
    assert_eq!(
        d.actions,
        [Action::Fail {
            deployment_id: "d1".into(),
            description: "Failed due to unhealthy allocations - rolling back to job version 0"
                .into(),
            reverting: true
        }]
    );
    w.run(&d.actions);
    assert_eq!(w.s.evals().count(), 0, "the revert brings the evaluation");
    // The revert is derived from the failed deployment, so a new leader redoes it too.
    let r = decide(&w.s, NOW, &BTreeMap::new());
    assert_eq!(
        r.actions,
        [Action::Revert {
            deployment_id: "d1".into(),
            version: 0,
            prior_version: 1
        }]
    );
    w.run(&r.actions);
    let job = w.s.job("default", "web").unwrap().clone();
    assert_eq!(job.version, 2);
    let v0 = w.s.job_version("default", "web", 0).unwrap();
    assert!(!spec_changed(v0, &job), "v2 has v0's spec");
    assert_eq!(w.s.evals().count(), 1);
    assert!(decide(&w.s, NOW, &BTreeMap::new()).actions.is_empty());
}

#[test]
fn no_rollback_when_the_stable_spec_is_the_current_one() {
    let mut w = world(true, 1, 0);
    // v2 re-registers stable v0's spec; a failing v2 has nothing different to go to.
    let mut j = w.s.job_version("default", "web", 0).unwrap().clone();
    j.stable = false;
    w.apply(Command::JobRegister(JobRegister {
        job: j,
        eval: None,
        enforce_index: None,
        preserve_counts: false,
        now: NOW,
    }));
    let mut d = dep(&w);
    d.job_version = 2;
    let (target, why) = rollback(&w.s, &d, describe::FAILED_ALLOCATIONS);
    assert_eq!(target, None);
    assert_eq!(
        why,
        "Failed due to unhealthy allocations - not rolling back to stable job version 0 as current job has same specification"
    );
}

#[test]
fn missed_progress_deadline_fails() {
    let mut w = world(false, 2, 0);
    health(&mut w, "a0", true);
    let before = decide(&w.s, NOW + 500 * SEC, &BTreeMap::new());
    assert!(matches!(before.actions[..], [Action::Evaluate { .. }]));
    let after = decide(&w.s, NOW + 602 * SEC, &before.seen);
    assert_eq!(
        after.actions,
        [Action::Fail {
            deployment_id: "d1".into(),
            description: "Failed due to progress deadline".into(),
            reverting: false
        }]
    );
}

#[test]
fn healthy_auto_promote_canaries_are_promoted() {
    let mut w = world(false, 2, 1);
    health(&mut w, "a0", true);
    let d = decide(&w.s, NOW, &BTreeMap::new());
    assert_eq!(
        d.actions,
        [Action::Promote {
            deployment_id: "d1".into()
        }]
    );
    w.run(&d.actions);
    assert!(dep(&w).task_groups["g"].promoted);
}

#[test]
fn paused_deployments_and_stopped_jobs_are_left_alone() {
    let mut w = world(false, 2, 0);
    health(&mut w, "a0", true);
    w.apply(Command::DeploymentStatusUpdate(DeploymentStatusUpdate {
        deployment_id: "d1".into(),
        status: deployment_status::PAUSED.into(),
        status_description: describe::PAUSED.into(),
        eval: None,
        now: NOW,
    }));
    assert!(
        decide(&w.s, NOW + 700 * SEC, &BTreeMap::new())
            .actions
            .is_empty()
    );

    let mut w = world(false, 2, 0);
    health(&mut w, "a0", false);
    w.apply(Command::JobDeregister(crate::state::JobDeregister {
        namespace: "default".into(),
        job_id: "web".into(),
        purge: false,
        eval: None,
        now: NOW,
    }));
    assert!(decide(&w.s, NOW, &BTreeMap::new()).actions.is_empty());
}

/// One pass of `watcher` and of [`decide`] over the same state: the same actions and
/// totals; the actions are then carried out.
fn both(w: &mut World, watcher: &mut Watcher, seen: &mut BTreeMap<String, u32>, now: i64) {
    let want = decide(&w.s, now, seen);
    let got = watcher.pass(&w.s, now);
    assert_eq!(got, want.actions, "at {now}");
    assert_eq!(watcher.seen(), &want.seen, "at {now}");
    *seen = want.seen;
    w.run(&got);
}

#[test]
fn the_watcher_decides_what_decide_decides() {
    for (auto_revert, count, canaries) in [(false, 3, 0), (true, 2, 0), (true, 2, 1)] {
        let mut w = world(auto_revert, count, canaries);
        let mut watcher = Watcher::new();
        let mut seen = BTreeMap::new();
        both(&mut w, &mut watcher, &mut seen, NOW);
        health(&mut w, "a0", true);
        both(&mut w, &mut watcher, &mut seen, NOW);
        both(&mut w, &mut watcher, &mut seen, NOW + SEC);
        // Healthy totals forgotten (a refused evaluation, a new leader): both start
        // over.
        watcher.forget();
        seen.clear();
        both(&mut w, &mut watcher, &mut seen, NOW + SEC);
        // The progress deadline passes with allocations still unhealthy: the failure
        // (and a revert where asked) is found without the deployment changing.
        both(&mut w, &mut watcher, &mut seen, NOW + 600 * SEC);
        both(&mut w, &mut watcher, &mut seen, NOW + 602 * SEC);
        both(&mut w, &mut watcher, &mut seen, NOW + 603 * SEC);
        both(&mut w, &mut watcher, &mut seen, NOW + 700 * SEC);
        assert_eq!(dep(&w).status, deployment_status::FAILED);
    }
    // Every allocation healthy: success, decided once.
    let mut w = world(false, 2, 0);
    let (mut watcher, mut seen) = (Watcher::new(), BTreeMap::new());
    both(&mut w, &mut watcher, &mut seen, NOW);
    health(&mut w, "a0", true);
    health(&mut w, "a1", true);
    both(&mut w, &mut watcher, &mut seen, NOW);
    both(&mut w, &mut watcher, &mut seen, NOW);
    assert_eq!(dep(&w).status, deployment_status::SUCCESSFUL);
}
