use super::*;
use crate::broker::BrokerConfig;
use crate::model::Evaluation;

fn eval(id: &str, job: &str, status: &str) -> Evaluation {
    Evaluation {
        id: id.into(),
        namespace: "default".into(),
        job_id: job.into(),
        eval_type: "service".into(),
        priority: 50,
        status: status.into(),
        triggered_by: trigger::JOB_REGISTER.into(),
        ..Evaluation::default()
    }
}

fn upsert(s: &mut StateStore, evals: Vec<Evaluation>) {
    let index = s.latest_index() + 1;
    assert!(
        s.apply(index, Command::EvalUpsert(EvalUpsert { evals }))
            .is_ok()
    );
}

struct Queues {
    broker: EvalBroker,
    tracker: BlockedEvals,
}

fn queues() -> Queues {
    let mut broker = EvalBroker::new(BrokerConfig::default());
    broker.set_enabled(true);
    Queues {
        broker,
        tracker: BlockedEvals::new(),
    }
}

fn pass(f: &mut Feeder, q: &mut Queues, s: &StateStore, now: i64) -> FeedOutcome {
    let mut n = 0;
    let p = f.collect(s, now, &mut || {
        n += 1;
        format!("new-{n}")
    });
    f.apply(p, &mut q.broker, &mut q.tracker, s, now)
}

#[test]
fn pending_evaluations_are_fed_once_and_blocked_ones_tracked() {
    let mut s = StateStore::new();
    upsert(&mut s, vec![eval("e1", "a", eval_status::PENDING)]);
    upsert(&mut s, vec![eval("e2", "b", eval_status::BLOCKED)]);
    let (mut f, mut q) = (Feeder::new(), queues());
    let out = pass(&mut f, &mut q, &s, 1);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(q.tracker.len(), 1);
    let first = q.broker.dequeue(&["service"], 1);
    assert_eq!(first.as_ref().map(|(e, _)| e.id.as_str()), Some("e1"));
    // Nothing changed: a second pass feeds nothing again.
    assert!(pass(&mut f, &mut q, &s, 2).is_empty());
    assert!(q.broker.dequeue(&["service"], 2).is_none());
    assert_eq!(f.last_index(), s.latest_index());
}

#[test]
fn a_stopped_jobs_blocked_evaluation_is_untracked_and_canceled() {
    let mut s = StateStore::new();
    upsert(&mut s, vec![eval("b1", "a", eval_status::BLOCKED)]);
    let (mut f, mut q) = (Feeder::new(), queues());
    assert!(pass(&mut f, &mut q, &s, 1).is_empty());
    assert_eq!(q.tracker.len(), 1);
    // The job is gone and its deregister evaluation appears.
    let mut dereg = eval("d1", "a", eval_status::PENDING);
    dereg.triggered_by = trigger::JOB_DEREGISTER.into();
    upsert(&mut s, vec![dereg]);
    let out = pass(&mut f, &mut q, &s, 2);
    assert_eq!(q.tracker.len(), 0);
    assert_eq!(out.canceled.len(), 1);
    assert_eq!(out.canceled[0].id, "b1");
    assert_eq!(out.canceled[0].status, eval_status::CANCELED);
}

#[test]
fn failed_evaluations_are_retried_every_interval() {
    let mut s = StateStore::new();
    let mut failed = eval("f1", "a", eval_status::BLOCKED);
    failed.triggered_by = trigger::MAX_PLAN_ATTEMPTS.into();
    upsert(&mut s, vec![failed]);
    let (mut f, mut q) = (Feeder::new(), queues());
    assert!(pass(&mut f, &mut q, &s, 0).released.is_empty());
    let before = pass(&mut f, &mut q, &s, FAILED_UNBLOCK_INTERVAL_NS - 1);
    assert!(before.released.is_empty());
    let due = pass(&mut f, &mut q, &s, FAILED_UNBLOCK_INTERVAL_NS);
    assert_eq!(due.released.len(), 1);
    assert_eq!(due.released[0].status, eval_status::PENDING);
    assert_eq!(q.tracker.len(), 0);
}

#[test]
fn a_restore_empties_the_queues_and_reads_everything_again() {
    let mut s = StateStore::new();
    upsert(&mut s, vec![eval("e1", "a", eval_status::PENDING)]);
    let (mut f, mut q) = (Feeder::new(), queues());
    pass(&mut f, &mut q, &s, 1);
    assert!(q.broker.dequeue(&["service"], 1).is_some());
    f.restore_seen = Some(u64::MAX); // as if the state were restored since
    pass(&mut f, &mut q, &s, 2);
    let again = q.broker.dequeue(&["service"], 2);
    assert_eq!(again.map(|(e, _)| e.id), Some("e1".to_string()));
}
