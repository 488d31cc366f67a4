//! The drainer's decisions over state built with real commands, carried out the way the
//! leader does, with the scheduler's part (stop the marked allocation, place its
//! replacement) played by hand.

use std::collections::BTreeMap;

use super::*;
use crate::model::{
    AllocDeploymentStatus, DrainStrategy, Node, Task, TaskGroup, TaskState, Timestamp, eligibility,
    node_status,
};
use crate::state::{
    AllocClientState, AllocClientUpdate, AllocStop, ApplyPlanResults, JobRegister, NodeRegister,
};

const NOW: i64 = 1_700_000_000_000_000_000;
const SEC: i64 = 1_000_000_000;

struct World {
    s: StateStore,
    index: u64,
    evals: u64,
}

impl World {
    fn new(nodes: &[&str]) -> World {
        let mut w = World {
            s: StateStore::new(),
            index: 0,
            evals: 0,
        };
        for id in nodes {
            let node = Node {
                id: (*id).into(),
                name: (*id).into(),
                status: node_status::READY.into(),
                ..Node::default()
            };
            w.apply(Command::NodeRegister(NodeRegister { node, now: NOW }));
        }
        w
    }

    fn apply(&mut self, cmd: Command) {
        self.index += 1;
        self.s.apply(self.index, cmd).unwrap();
    }

    fn job(&mut self, id: &str, kind: &str, count: u32, max_parallel: u32) {
        let job = Job {
            id: id.into(),
            name: id.into(),
            job_type: kind.into(),
            task_groups: vec![TaskGroup {
                name: "g".into(),
                count,
                tasks: vec![Task {
                    name: "t".into(),
                    driver: "raw_exec".into(),
                    ..Task::default()
                }],
                migrate: (kind == job_type::SERVICE).then(|| MigrateStrategy {
                    max_parallel,
                    min_healthy_time: 10 * SEC,
                    ..MigrateStrategy::default()
                }),
                ..TaskGroup::default()
            }],
            ..Job::default()
        };
        self.apply(Command::JobRegister(JobRegister {
            job,
            eval: None,
            enforce_index: None,
            preserve_counts: false,
            now: NOW,
        }));
    }

    /// Places `id` of `job` on `node`, running since `NOW`.
    fn place(&mut self, id: &str, job: &str, node: &str, index: usize) {
        let a = Allocation {
            id: id.into(),
            namespace: "default".into(),
            name: format!("{job}.g[{index}]"),
            node_id: node.into(),
            job_id: job.into(),
            task_group: "g".into(),
            ..Allocation::default()
        };
        self.apply(Command::ApplyPlanResults(ApplyPlanResults {
            allocs_to_upsert: vec![a],
            allocs_stopped: vec![],
            allocs_preempted: vec![],
            deployment: None,
            deployment_updates: vec![],
            evals: vec![],
            eval_id: String::new(),
            now: NOW,
        }));
        self.client(id, client_status::RUNNING, NOW);
    }

    fn client(&mut self, id: &str, status: &str, started: i64) {
        let state = if status == client_status::RUNNING {
            "running"
        } else {
            "dead"
        };
        let task = TaskState {
            state: state.into(),
            started_at: Timestamp(started),
            ..TaskState::default()
        };
        self.apply(Command::AllocClientUpdate(AllocClientUpdate {
            allocs: vec![AllocClientState {
                id: id.into(),
                client_status: status.into(),
                client_description: String::new(),
                task_states: [("t".to_string(), task)].into(),
                deployment_status: None,
            }],
            evals: vec![],
            now: started,
        }));
    }

    fn drain(&mut self, node: &str, deadline: i64, ignore_system: bool) {
        self.apply(Command::NodeDrain(NodeDrain {
            node_id: node.into(),
            drain_strategy: Some(DrainStrategy {
                deadline,
                ignore_system_jobs: ignore_system,
                ..DrainStrategy::default()
            }),
            mark_eligible: false,
            drain_complete: false,
            now: NOW,
        }));
    }

    /// Decides at `now` and commits the commands, as the leader does.
    fn step(&mut self, now: i64) -> DrainActions {
        let actions = decide(&self.s, now);
        let mut n = self.evals;
        let mut ids = || {
            n += 1;
            format!("eval-{n}")
        };
        let cmds = commands(&self.s, &actions, now, &mut ids);
        self.evals = n;
        for c in cmds {
            self.apply(c);
        }
        actions
    }

    /// The scheduler's and client's part: a marked allocation stops.
    fn stop(&mut self, id: &str) {
        self.apply(Command::ApplyPlanResults(ApplyPlanResults {
            allocs_to_upsert: vec![],
            allocs_stopped: vec![AllocStop {
                alloc_id: id.into(),
                desired_description: "alloc is being migrated".into(),
                client_status: None,
            }],
            allocs_preempted: vec![],
            deployment: None,
            deployment_updates: vec![],
            evals: vec![],
            eval_id: String::new(),
            now: NOW,
        }));
        self.client(id, client_status::COMPLETE, NOW);
    }

    fn marked(&self) -> Vec<String> {
        self.s
            .allocs()
            .filter(|a| marked(a))
            .map(|a| a.id.clone())
            .collect()
    }
}

fn ids(actions: &DrainActions) -> Vec<String> {
    actions.migrate.values().flatten().cloned().collect()
}

/// Four service allocations of "web" on node "a" (max_parallel 2), "b" idle.
fn four_on_a(max_parallel: u32) -> World {
    let mut w = World::new(&["a", "b"]);
    w.job("web", job_type::SERVICE, 4, max_parallel);
    for i in 0..4 {
        w.place(&format!("w{i}"), "web", "a", i);
    }
    w
}

#[test]
fn max_parallel_counts_marked_allocations_until_replacements_are_healthy() {
    let mut w = four_on_a(2);
    w.drain("a", 3600 * SEC, false);
    // Running for 20 s: all four are healthy; two may go.
    let t = NOW + 20 * SEC;
    let first = w.step(t);
    assert_eq!(ids(&first), ["w0", "w1"]);
    let ev: Vec<_> = w.s.evals().collect();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].triggered_by, trigger::NODE_DRAIN);
    // Marked but not yet stopped: still nothing more.
    assert!(w.step(t).is_empty());
    w.stop("w0");
    w.stop("w1");
    assert!(w.step(t).is_empty());
    // Replacements on "b": running, but not yet for min_healthy_time.
    w.place("r0", "web", "b", 0);
    w.place("r1", "web", "b", 1);
    w.client("r0", client_status::RUNNING, t);
    w.client("r1", client_status::RUNNING, t);
    assert!(w.step(t + 5 * SEC).is_empty());
    // One replacement healthy through its deployment: one more slot.
    w.apply(Command::AllocClientUpdate(AllocClientUpdate {
        allocs: vec![AllocClientState {
            id: "r0".into(),
            client_status: client_status::RUNNING.into(),
            client_description: String::new(),
            task_states: w.s.alloc("r0").unwrap().task_states.clone(),
            deployment_status: Some(AllocDeploymentStatus {
                healthy: Some(true),
                ..AllocDeploymentStatus::default()
            }),
        }],
        evals: vec![],
        now: t,
    }));
    assert_eq!(ids(&w.step(t + 5 * SEC)), ["w2"]);
    // Both replacements healthy by time: the last one goes.
    assert_eq!(ids(&w.step(t + 10 * SEC)), ["w3"]);
    assert_eq!(w.marked(), ["w0", "w1", "w2", "w3"]);
    assert!(w.step(t + 10 * SEC).is_empty());
}

#[test]
fn a_failing_replacement_does_not_count_as_healthy() {
    let mut w = four_on_a(1);
    w.drain("a", 0, false);
    let t = NOW + 20 * SEC;
    assert_eq!(ids(&w.step(t)), ["w0"]);
    w.stop("w0");
    w.place("r0", "web", "b", 0);
    w.client("r0", client_status::FAILED, t);
    assert!(w.step(t + 60 * SEC).is_empty());
}

#[test]
fn deadline_marks_everything_at_once() {
    let mut w = four_on_a(1);
    w.job("batch", job_type::BATCH, 1, 0);
    w.place("b0", "batch", "a", 0);
    w.drain("a", 30 * SEC, false);
    assert_eq!(ids(&w.step(NOW + 20 * SEC)), ["w0"]);
    let at_deadline = w.step(NOW + 30 * SEC);
    assert_eq!(
        at_deadline
            .migrate
            .keys()
            .map(|k| k.1.as_str())
            .collect::<Vec<_>>(),
        ["batch", "web"]
    );
    assert_eq!(ids(&at_deadline), ["b0", "w1", "w2", "w3"]);
    // -force (deadline -1): at once.
    let mut w = four_on_a(1);
    w.drain("a", -1, false);
    assert_eq!(ids(&w.step(NOW)), ["w0", "w1", "w2", "w3"]);
}

#[test]
fn batch_allocations_finish_on_their_own_before_the_deadline() {
    let mut w = World::new(&["a"]);
    w.job("batch", job_type::BATCH, 1, 0);
    w.place("b0", "batch", "a", 0);
    w.drain("a", 3600 * SEC, false);
    assert!(w.step(NOW + 60 * SEC).is_empty());
    w.client("b0", client_status::COMPLETE, NOW + 61 * SEC);
    assert_eq!(w.step(NOW + 62 * SEC).complete, ["a"]);
}

#[test]
fn system_allocations_go_last_or_stay_with_ignore_system() {
    let mut w = World::new(&["a", "b"]);
    w.job("web", job_type::SERVICE, 1, 1);
    w.job("logs", job_type::SYSTEM, 1, 0);
    w.place("w0", "web", "a", 0);
    w.place("s0", "logs", "a", 0);
    w.drain("a", 0, false);
    let t = NOW + 20 * SEC;
    assert_eq!(ids(&w.step(t)), ["w0"]);
    // The service allocation is marked but still running: the system one stays.
    assert!(w.step(t).is_empty());
    w.stop("w0");
    let last = w.step(t);
    assert_eq!(ids(&last), ["s0"]);
    assert!(last.complete.is_empty());
    w.stop("s0");
    assert_eq!(w.step(t).complete, ["a"]);

    let mut w = World::new(&["a"]);
    w.job("logs", job_type::SYSTEM, 1, 0);
    w.place("s0", "logs", "a", 0);
    w.drain("a", -1, true);
    let done = w.step(NOW);
    assert!(done.migrate.is_empty(), "{done:?}");
    assert_eq!(done.complete, ["a"]);
}

#[test]
fn completion_clears_the_drain_and_keeps_the_node_ineligible() {
    let mut w = four_on_a(4);
    w.drain("a", 0, false);
    let t = NOW + 20 * SEC;
    assert_eq!(ids(&w.step(t)).len(), 4);
    for i in 0..4 {
        w.stop(&format!("w{i}"));
    }
    assert_eq!(w.step(t).complete, ["a"]);
    let n = w.s.node("a").unwrap();
    assert!(n.drain_strategy.is_none());
    assert!(!n.drain);
    assert_eq!(n.scheduling_eligibility, eligibility::INELIGIBLE);
    assert_eq!(
        n.events.last().map(|e| e.message.as_str()),
        Some("Node drain complete")
    );
    assert!(w.step(t).is_empty());
    // A completion decided before an operator cancelled the drain changes nothing.
    let before = w.s.node("a").unwrap().clone();
    w.apply(
        commands(
            &w.s,
            &DrainActions {
                migrate: BTreeMap::new(),
                complete: vec!["a".into()],
            },
            t,
            &mut || "x".into(),
        )
        .remove(0),
    );
    assert_eq!(w.s.node("a").unwrap().events, before.events);
}
