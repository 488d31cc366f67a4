use super::*;
use crate::broker::{BrokerConfig, BrokerStats, SchedulerStats, TickOutcome};
use crate::model::Timestamp;
use crate::model::wire::SECOND;

const NOW: i64 = 1_700_000_000 * SECOND;

fn ev(id: &str, job: &str, sched: &str, priority: i32, create_index: u64) -> Evaluation {
    Evaluation {
        id: id.to_owned(),
        namespace: "default".to_owned(),
        job_id: job.to_owned(),
        eval_type: sched.to_owned(),
        priority,
        status: eval_status::PENDING.to_owned(),
        create_index,
        modify_index: create_index,
        ..Evaluation::default()
    }
}

fn broker() -> EvalBroker {
    let mut b = EvalBroker::new(BrokerConfig::default());
    b.set_enabled(true);
    b
}

fn ids(b: &mut EvalBroker, scheds: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    while let Some((e, t)) = b.dequeue(scheds, NOW) {
        b.ack(&e.id, &t).unwrap();
        out.push(e.id);
    }
    out
}

#[test]
fn priority_then_fifo_then_id() {
    let mut b = broker();
    b.enqueue(ev("e1", "j1", "service", 50, 10), NOW).unwrap();
    b.enqueue(ev("e2", "j2", "service", 70, 12), NOW).unwrap();
    b.enqueue(ev("e3", "j3", "service", 50, 5), NOW).unwrap();
    b.enqueue(ev("e5", "j5", "service", 50, 11), NOW).unwrap();
    b.enqueue(ev("e4", "j4", "service", 50, 11), NOW).unwrap();
    assert_eq!(ids(&mut b, &["service"]), ["e2", "e3", "e1", "e4", "e5"]);
}

#[test]
fn dequeue_filters_by_scheduler_and_picks_best_across_queues() {
    let mut b = broker();
    b.enqueue(ev("s", "j1", "service", 50, 1), NOW).unwrap();
    b.enqueue(ev("b", "j2", "batch", 60, 2), NOW).unwrap();
    b.enqueue(ev("y", "j3", "system", 90, 3), NOW).unwrap();
    let (e, _) = b.dequeue(&["service", "batch"], NOW).unwrap();
    assert_eq!(e.id, "b");
    let (e, _) = b.dequeue(&["service"], NOW).unwrap();
    assert_eq!(e.id, "s");
    assert!(b.dequeue(&["service", "batch", "sysbatch"], NOW).is_none());
    assert_eq!(b.stats().by_scheduler["system"].ready, 1);
    assert_eq!(b.stats().total_unacked, 2);
}

#[test]
fn duplicate_id_enqueue_is_ignored() {
    let mut b = broker();
    b.enqueue(ev("e1", "j1", "service", 50, 1), NOW).unwrap();
    b.enqueue(ev("e1", "j1", "service", 50, 1), NOW).unwrap();
    assert_eq!(b.stats().total_ready, 1);
    assert_eq!(b.stats().total_blocked_by_job, 0);
}

#[test]
fn one_eval_per_job_in_flight_and_older_pending_are_cancelable() {
    let mut b = broker();
    b.enqueue(ev("a", "web", "service", 50, 1), NOW).unwrap();
    b.enqueue(ev("b", "web", "service", 50, 2), NOW).unwrap();
    b.enqueue(ev("c", "web", "service", 50, 3), NOW).unwrap();
    b.enqueue(ev("x", "other", "service", 50, 4), NOW).unwrap();
    let st = b.stats();
    assert_eq!((st.total_ready, st.total_blocked_by_job), (2, 2));

    let (e, tok) = b.dequeue(&["service"], NOW).unwrap();
    assert_eq!(e.id, "a");
    // The next dequeue skips web's pending evals.
    let (e2, tok2) = b.dequeue(&["service"], NOW).unwrap();
    assert_eq!(e2.id, "x");
    assert!(b.dequeue(&["service"], NOW).is_none());

    b.ack("a", &tok).unwrap();
    // Newest pending (c) is released, b is superseded.
    let canceled = b.take_cancelable();
    assert_eq!(canceled.len(), 1);
    assert_eq!(canceled[0].id, "b");
    assert_eq!(canceled[0].status, eval_status::CANCELED);
    assert!(b.take_cancelable().is_empty());
    let (e3, _) = b.dequeue(&["service"], NOW).unwrap();
    assert_eq!(e3.id, "c");
    b.ack("x", &tok2).unwrap();
    assert_eq!(b.stats().total_blocked_by_job, 0);
}

#[test]
fn pending_prefers_higher_priority_then_newest() {
    let mut b = broker();
    b.enqueue(ev("a", "web", "service", 50, 1), NOW).unwrap();
    b.enqueue(ev("hi-old", "web", "service", 80, 2), NOW)
        .unwrap();
    b.enqueue(ev("lo-new", "web", "service", 50, 9), NOW)
        .unwrap();
    let (_, tok) = b.dequeue(&["service"], NOW).unwrap();
    b.ack("a", &tok).unwrap();
    assert_eq!(b.take_cancelable()[0].id, "lo-new");
    assert_eq!(b.dequeue(&["service"], NOW).unwrap().0.id, "hi-old");
}

#[test]
fn same_job_in_other_namespace_is_independent() {
    let mut b = broker();
    b.enqueue(ev("a", "web", "service", 50, 1), NOW).unwrap();
    let mut other = ev("b", "web", "service", 50, 2);
    other.namespace = "prod".to_owned();
    b.enqueue(other, NOW).unwrap();
    assert_eq!(b.stats().total_ready, 2);
}

#[test]
fn ack_and_nack_check_the_token() {
    let mut b = broker();
    b.enqueue(ev("a", "web", "service", 50, 1), NOW).unwrap();
    assert_eq!(
        b.ack("a", "nope"),
        Err(BrokerError::NotOutstanding("a".into()))
    );
    let (_, tok) = b.dequeue(&["service"], NOW).unwrap();
    assert_eq!(b.outstanding("a"), Some(tok.as_str()));
    assert_eq!(
        b.ack("a", "nope"),
        Err(BrokerError::TokenMismatch("a".into()))
    );
    assert_eq!(
        b.nack("a", "nope", NOW),
        Err(BrokerError::TokenMismatch("a".into()))
    );
    assert_eq!(
        b.ack("zzz", &tok),
        Err(BrokerError::NotOutstanding("zzz".into()))
    );
    b.ack("a", &tok).unwrap();
    assert_eq!(
        b.ack("a", &tok),
        Err(BrokerError::NotOutstanding("a".into()))
    );
    assert!(b.outstanding("a").is_none());
    assert!(b.is_empty());
}

#[test]
fn tokens_are_deterministic_unique_and_carry_the_epoch() {
    let mut b = broker();
    b.set_token_epoch(0x0102_0304_0506_0708);
    b.enqueue(ev("a", "j1", "service", 50, 1), NOW).unwrap();
    b.enqueue(ev("b", "j2", "service", 50, 2), NOW).unwrap();
    let (_, t1) = b.dequeue(&["service"], NOW).unwrap();
    let (_, t2) = b.dequeue(&["service"], NOW).unwrap();
    assert_eq!(t1, "01020304-0506-0708-0000-000000000001");
    assert_eq!(t2, "01020304-0506-0708-0000-000000000002");
}

#[test]
fn nack_backs_off_then_redelivers_via_tick() {
    let mut b = broker();
    b.enqueue(ev("a", "web", "service", 50, 1), NOW).unwrap();
    let (_, t1) = b.dequeue(&["service"], NOW).unwrap();
    b.nack("a", &t1, NOW).unwrap();
    // Back-off of 1 s: not ready yet, but it still holds the job's slot.
    assert!(b.dequeue(&["service"], NOW).is_none());
    assert_eq!(b.stats().total_delayed, 1);
    b.enqueue(ev("b", "web", "service", 50, 2), NOW).unwrap();
    assert_eq!(b.stats().total_blocked_by_job, 1);
    assert_eq!(b.tick(NOW + SECOND - 1), TickOutcome::default());
    let out = b.tick(NOW + SECOND);
    assert_eq!(out.released, ["a"]);
    let (e, t2) = b.dequeue(&["service"], NOW + SECOND).unwrap();
    assert_eq!(e.id, "a");
    assert_ne!(t1, t2);
    // Second nack: (2 - 1) * 20 s.
    b.nack("a", &t2, NOW + SECOND).unwrap();
    assert!(b.tick(NOW + 20 * SECOND).released.is_empty());
    assert_eq!(b.tick(NOW + 21 * SECOND).released, ["a"]);
}

#[test]
fn delivery_limit_moves_to_failed_and_frees_the_job() {
    let mut b = EvalBroker::new(BrokerConfig {
        initial_nack_delay: 0,
        subsequent_nack_delay: 0,
        ..BrokerConfig::default()
    });
    b.set_enabled(true);
    b.enqueue(ev("a", "web", "service", 50, 1), NOW).unwrap();
    b.enqueue(ev("b", "web", "service", 50, 2), NOW).unwrap();
    for _ in 0..3 {
        let (e, t) = b.dequeue(&["service"], NOW).unwrap();
        assert_eq!(e.id, "a");
        b.nack("a", &t, NOW).unwrap();
    }
    assert_eq!(b.stats().total_failed, 1);
    let failed = b.failed();
    assert_eq!(failed[0].status, eval_status::FAILED);
    assert_eq!(
        failed[0].status_description,
        "evaluation reached delivery limit (3)"
    );
    // The job's next evaluation runs.
    assert_eq!(b.dequeue(&["service"], NOW).unwrap().0.id, "b");
    assert_eq!(b.drain_failed().len(), 1);
    assert_eq!(b.stats().total_failed, 0);
}

#[test]
fn lease_timeout_nacks_automatically() {
    let mut b = broker();
    b.enqueue(ev("a", "web", "service", 50, 1), NOW).unwrap();
    let (_, t1) = b.dequeue(&["service"], NOW).unwrap();
    assert!(b.tick(NOW + 60 * SECOND - 1).timed_out.is_empty());
    let out = b.tick(NOW + 60 * SECOND);
    assert_eq!(out.timed_out, ["a"]);
    assert_eq!(
        b.ack("a", &t1),
        Err(BrokerError::NotOutstanding("a".into()))
    );
    assert_eq!(b.tick(NOW + 61 * SECOND).released, ["a"]);
    let (_, t2) = b.dequeue(&["service"], NOW + 61 * SECOND).unwrap();
    assert_eq!(b.ack("a", &t1), Err(BrokerError::TokenMismatch("a".into())));
    b.ack("a", &t2).unwrap();
}

#[test]
fn outstanding_reset_and_pause_extend_the_lease() {
    let mut b = broker();
    b.enqueue(ev("a", "web", "service", 50, 1), NOW).unwrap();
    let (_, t) = b.dequeue(&["service"], NOW).unwrap();
    b.outstanding_reset("a", &t, NOW + 30 * SECOND).unwrap();
    assert!(b.tick(NOW + 89 * SECOND).timed_out.is_empty());
    b.pause_nack_timeout("a", &t).unwrap();
    assert!(b.tick(NOW + 1000 * SECOND).timed_out.is_empty());
    b.resume_nack_timeout("a", &t, NOW + 1000 * SECOND).unwrap();
    assert_eq!(b.tick(NOW + 1060 * SECOND).timed_out, ["a"]);
    assert!(matches!(
        b.outstanding_reset("a", &t, NOW),
        Err(BrokerError::NotOutstanding(_))
    ));
}

#[test]
fn wait_until_delays_until_its_time() {
    let mut b = broker();
    let mut e = ev("later", "web", "service", 50, 1);
    e.wait_until = Timestamp(NOW + 10 * SECOND);
    b.enqueue(e, NOW).unwrap();
    let mut past = ev("past", "api", "service", 50, 2);
    past.wait_until = Timestamp(NOW - 1);
    b.enqueue(past, NOW).unwrap();
    let mut waited = ev("waited", "db", "service", 50, 3);
    waited.wait = 5 * SECOND;
    b.enqueue(waited, NOW).unwrap();
    assert_eq!(b.stats().total_delayed, 2);
    assert_eq!(ids(&mut b, &["service"]), ["past"]);
    assert_eq!(b.tick(NOW + 5 * SECOND).released, ["waited"]);
    assert_eq!(b.tick(NOW + 10 * SECOND).released, ["later"]);
    assert_eq!(ids(&mut b, &["service"]), ["later", "waited"]);
}

#[test]
fn released_delayed_eval_queues_behind_its_job() {
    let mut b = broker();
    let mut e = ev("later", "web", "service", 50, 5);
    e.wait_until = Timestamp(NOW + SECOND);
    b.enqueue(e, NOW).unwrap();
    b.enqueue(ev("now", "web", "service", 50, 1), NOW).unwrap();
    let (_, t) = b.dequeue(&["service"], NOW).unwrap();
    b.tick(NOW + SECOND);
    assert_eq!(b.stats().total_blocked_by_job, 1);
    b.ack("now", &t).unwrap();
    assert_eq!(b.dequeue(&["service"], NOW).unwrap().0.id, "later");
}

#[test]
fn disabled_broker_refuses_and_disabling_flushes() {
    let mut b = EvalBroker::new(BrokerConfig::default());
    assert!(!b.is_enabled());
    assert_eq!(
        b.enqueue(ev("a", "web", "service", 50, 1), NOW),
        Err(BrokerError::Disabled)
    );
    b.set_enabled(true);
    b.enqueue(ev("a", "web", "service", 50, 1), NOW).unwrap();
    b.enqueue(ev("b", "web", "service", 50, 2), NOW).unwrap();
    let (_, t) = b.dequeue(&["service"], NOW).unwrap();
    b.set_enabled(false);
    assert!(b.dequeue(&["service"], NOW).is_none());
    assert_eq!(b.stats(), BrokerStats::default());
    assert!(b.is_empty());
    b.set_enabled(true);
    assert!(b.ack("a", &t).is_err());
    // Tokens keep increasing across leadership changes.
    b.enqueue(ev("a", "web", "service", 50, 1), NOW).unwrap();
    let (_, t2) = b.dequeue(&["service"], NOW).unwrap();
    assert_ne!(t, t2);
}

#[test]
fn stats_count_every_state() {
    let mut b = broker();
    b.enqueue(ev("a", "web", "service", 50, 1), NOW).unwrap();
    b.enqueue(ev("b", "web", "service", 50, 2), NOW).unwrap();
    b.enqueue(ev("c", "api", "batch", 50, 3), NOW).unwrap();
    let mut d = ev("d", "db", "service", 50, 4);
    d.wait_until = Timestamp(NOW + SECOND);
    b.enqueue(d, NOW).unwrap();
    b.dequeue(&["service"], NOW).unwrap();
    let st = b.stats();
    assert_eq!(st.total_ready, 1);
    assert_eq!(st.total_unacked, 1);
    assert_eq!(st.total_blocked_by_job, 1);
    assert_eq!(st.total_delayed, 1);
    assert_eq!(
        st.by_scheduler["service"],
        SchedulerStats {
            ready: 0,
            unacked: 1
        }
    );
    assert_eq!(
        st.by_scheduler["batch"],
        SchedulerStats {
            ready: 1,
            unacked: 0
        }
    );
    assert_eq!(b.len(), 4);
}
