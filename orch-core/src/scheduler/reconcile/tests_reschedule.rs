//! Reschedule tests: delay math, now versus later, attempt limits, forced reschedules.

use super::reschedule::{next_delay, next_reschedule_time};
use super::tests::{NOW, S, World, alloc, job, placed, stopped};
use super::*;
use crate::model::{
    RescheduleEvent, ReschedulePolicy, RescheduleTracker, TaskState, Timestamp, UpdateStrategy,
    client_status,
};

fn failed_at(a: &mut Allocation, t: i64) {
    a.client_status = client_status::FAILED.into();
    a.task_states.insert(
        "t".into(),
        TaskState {
            state: "dead".into(),
            failed: true,
            finished_at: Timestamp(t),
            ..TaskState::default()
        },
    );
}

fn tracker(delays: &[i64], at: i64) -> Option<RescheduleTracker> {
    Some(RescheduleTracker {
        events: delays
            .iter()
            .map(|&d| RescheduleEvent {
                reschedule_time: at,
                prev_alloc_id: "p".into(),
                prev_node_id: "n0".into(),
                delay: d,
            })
            .collect(),
    })
}

fn policy(f: &str) -> ReschedulePolicy {
    ReschedulePolicy {
        delay: 5 * S,
        delay_function: f.into(),
        max_delay: 60 * S,
        unlimited: true,
        ..ReschedulePolicy::default()
    }
}

#[test]
fn delay_functions() {
    let j = job(1);
    let mut a = alloc(&j, 0);
    failed_at(&mut a, NOW);
    let exp = policy("exponential");
    assert_eq!(next_delay(&a, &exp), 5 * S);
    a.reschedule_tracker = tracker(&[5 * S, 10 * S], NOW - S);
    assert_eq!(next_delay(&a, &exp), 20 * S);
    a.reschedule_tracker = tracker(&[40 * S], NOW - S);
    assert_eq!(next_delay(&a, &exp), 60 * S, "capped at max_delay");
    a.reschedule_tracker = tracker(&[40 * S], NOW - 3600 * S);
    assert_eq!(
        next_delay(&a, &exp),
        5 * S,
        "reset after a long healthy run"
    );

    let fib = policy("fibonacci");
    a.reschedule_tracker = tracker(&[5 * S, 5 * S], NOW - S);
    assert_eq!(next_delay(&a, &fib), 10 * S);
    a.reschedule_tracker = tracker(&[5 * S, 10 * S], NOW - S);
    assert_eq!(next_delay(&a, &fib), 15 * S);

    let constant = policy("constant");
    a.reschedule_tracker = tracker(&[5 * S, 5 * S], NOW - S);
    assert_eq!(next_delay(&a, &constant), 5 * S);
}

#[test]
fn attempts_within_interval() {
    let j = job(1);
    let mut a = alloc(&j, 0);
    failed_at(&mut a, NOW);
    let p = ReschedulePolicy {
        attempts: 2,
        interval: 3600 * S,
        delay: 5 * S,
        delay_function: "constant".into(),
        ..ReschedulePolicy::default()
    };
    assert_eq!(
        next_reschedule_time(&a, Some(&p)),
        Some((NOW + 5 * S, true))
    );
    a.reschedule_tracker = tracker(&[5 * S, 5 * S], NOW - 60 * S);
    assert_eq!(next_reschedule_time(&a, Some(&p)).map(|x| x.1), Some(false));
    a.reschedule_tracker = tracker(&[5 * S, 5 * S], NOW - 7200 * S);
    assert_eq!(
        next_reschedule_time(&a, Some(&p)).map(|x| x.1),
        Some(true),
        "old attempts fall out of the interval"
    );
}

#[test]
fn reschedule_now_carries_tracker_and_penalizes_node() {
    let j = job(2);
    let mut w = World::new(j.clone(), vec![alloc(&j, 0), alloc(&j, 1)]);
    failed_at(&mut w.allocs[1], NOW - 60 * S);
    let r = w.run();
    assert_eq!(stopped(&r), vec!["a0001"]);
    assert_eq!(r.stop[0].description, describe::RESCHEDULED);
    assert_eq!(placed(&r), vec![1]);
    let p = &r.place[0];
    assert!(p.reschedule);
    assert_eq!(p.previous_alloc.as_deref(), Some("a0001"));
    assert_eq!(p.penalty_nodes, vec!["n1".to_string()]);
    let ev = &p.reschedule_tracker.as_ref().unwrap().events[0];
    assert_eq!((ev.reschedule_time, ev.delay), (NOW, 30 * S));
    assert!(r.desired_followup_evals.is_empty());
}

#[test]
fn reschedule_later_creates_batched_followup_evals() {
    let j = job(3);
    let mut w = World::new(j.clone(), (0..3).map(|i| alloc(&j, i)).collect());
    failed_at(&mut w.allocs[0], NOW);
    failed_at(&mut w.allocs[1], NOW + 2 * S);
    failed_at(&mut w.allocs[2], NOW + 20 * S);
    let r = w.run();
    assert!(r.place.is_empty() && r.stop.is_empty());
    let evals = &r.desired_followup_evals["g"];
    assert_eq!(evals.len(), 2);
    assert_eq!(evals[0].wait_until.0, NOW + 30 * S);
    assert_eq!(evals[1].wait_until.0, NOW + 50 * S);
    assert_eq!(evals[0].triggered_by, "failed-follow-up");
    assert_eq!(r.attribute_updates["a0000"].followup_eval_id, evals[0].id);
    assert_eq!(r.attribute_updates["a0001"].followup_eval_id, evals[0].id);
    assert_eq!(r.attribute_updates["a0002"].followup_eval_id, evals[1].id);

    // The follow-up evaluation itself reschedules them even if a bit early.
    let mut w2 = World::new(j.clone(), vec![w.allocs[0].clone()]);
    w2.allocs[0].followup_eval_id = "follow".into();
    w2.eval_id = "follow".into();
    w2.job.task_groups[0].count = 1;
    let r = w2.run();
    assert_eq!(r.place.len(), 1);
}

#[test]
fn exhausted_attempts_leave_failed_alloc() {
    let mut j = job(1);
    j.task_groups[0].reschedule_policy = Some(ReschedulePolicy {
        attempts: 1,
        interval: 3600 * S,
        delay: 5 * S,
        delay_function: "constant".into(),
        ..ReschedulePolicy::default()
    });
    let mut w = World::new(j.clone(), vec![alloc(&j, 0)]);
    failed_at(&mut w.allocs[0], NOW - 60 * S);
    w.allocs[0].reschedule_tracker = tracker(&[5 * S], NOW - 120 * S);
    let r = w.run();
    assert!(r.place.is_empty() && r.stop.is_empty());
    assert!(r.desired_followup_evals.is_empty());

    // Forcing overrides the limit.
    w.allocs[0].desired_transition.force_reschedule = Some(true);
    let r = w.run();
    assert_eq!(r.place.len(), 1);
    assert!(r.place[0].reschedule);
}

#[test]
fn unlimited_keeps_rescheduling_and_bounds_history() {
    let j = job(1);
    let mut w = World::new(j.clone(), vec![alloc(&j, 0)]);
    failed_at(&mut w.allocs[0], NOW - 7200 * S);
    w.allocs[0].reschedule_tracker = tracker(&[S; 9], NOW - 8000 * S);
    let r = w.run();
    assert_eq!(r.place.len(), 1);
    let t = r.place[0].reschedule_tracker.as_ref().unwrap();
    assert_eq!(t.events.len(), 6, "last five plus this one");
}

#[test]
fn replaced_failed_alloc_is_not_rescheduled_again() {
    let j = job(1);
    let mut old = alloc(&j, 0);
    failed_at(&mut old, NOW - 60 * S);
    old.next_allocation = "new".into();
    let mut new = alloc(&j, 0);
    new.id = "new".into();
    let w = World::new(j, vec![old, new]);
    let r = w.run();
    assert!(r.place.is_empty() && r.stop.is_empty());
}

/// Three allocations of version 0; the job is now at version 1 (a destructive change,
/// rolled out one at a time).
fn three_allocs_then_version_1() -> World {
    let j = job(3);
    let mut w = World::new(j.clone(), (0..3).map(|i| alloc(&j, i)).collect());
    w.update(|j| {
        j.task_groups[0].tasks[0].env.insert("V".into(), "1".into());
        j.task_groups[0].update = Some(UpdateStrategy {
            max_parallel: 1,
            ..UpdateStrategy::default()
        });
    });
    w
}

#[test]
fn a_failed_alloc_replaced_by_a_destructive_update_gets_no_delayed_reschedule() {
    // After an auto-revert: version 2's allocation failed just now (its deployment is
    // over), and the job is back at the spec of version 1 as version 3.
    let mut w = three_allocs_then_version_1();
    let v1 = w.job.clone();
    w.update(|j| {
        j.task_groups[0].tasks[0]
            .config
            .0
            .insert("command".into(), "false".into());
    });
    for a in &mut w.allocs {
        a.job_version = 1;
    }
    w.allocs[0].job_version = 2;
    w.allocs[0].deployment_id = "d2".into();
    failed_at(&mut w.allocs[0], NOW - S);
    w.update(|j| {
        *j = Job {
            version: j.version,
            ..v1
        }
    });
    let r = w.run();
    // Replaced now: stopped with its replacement, and no follow-up for it.
    assert_eq!(r.destructive_update.len(), 1);
    assert_eq!(r.destructive_update[0].stop_alloc_id, "a0000");
    assert!(r.attribute_updates.is_empty(), "{:?}", r.attribute_updates);
    assert!(r.desired_followup_evals.is_empty());
    assert_eq!(r.inplace_update.len(), 2);

    // Two failed, one replaced (max_parallel): the other still waits for its delay.
    w.allocs[1].job_version = 2;
    w.allocs[1].deployment_id = "d2".into();
    failed_at(&mut w.allocs[1], NOW - S);
    let r = w.run();
    assert_eq!(r.destructive_update.len(), 1);
    assert_eq!(r.destructive_update[0].stop_alloc_id, "a0000");
    assert_eq!(r.attribute_updates.keys().collect::<Vec<_>>(), ["a0001"]);
    assert_eq!(r.desired_followup_evals["g"].len(), 1);
}

#[test]
fn a_deployment_desires_only_the_allocations_it_changes() {
    // Version 1 runs on two allocations (its deployment succeeded); one of version 0
    // failed just now, before its reschedule delay. Its destructive update starts a
    // deployment of that one allocation.
    let mut w = three_allocs_then_version_1();
    w.allocs[1].job_version = 1;
    w.allocs[2].job_version = 1;
    failed_at(&mut w.allocs[0], NOW - S);
    let r = w.run();
    assert_eq!(r.destructive_update.len(), 1);
    let d = r
        .deployment
        .as_ref()
        .expect("a deployment for the replacement");
    assert_eq!(d.task_groups["g"].desired_total, 1, "not the count");
}
