//! Property tests: random operation sequences against the broker never deliver two
//! evaluations of one job at once, never lose an evaluation, and are deterministic.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::model::wire::SECOND;
use crate::model::{Timestamp, eval_status};

const SCHEDS: [&str; 3] = ["service", "batch", "system"];

#[derive(Debug, Clone)]
enum Op {
    Enqueue {
        job: u8,
        sched: u8,
        priority: i32,
        wait_until: Option<i64>,
    },
    Dequeue {
        mask: u8,
    },
    Ack {
        pick: usize,
        bad_token: bool,
    },
    Nack {
        pick: usize,
    },
    Tick {
        advance: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..4, 0u8..3, prop::sample::select(vec![30, 50, 70]), prop::option::of(0i64..5))
            .prop_map(|(job, sched, priority, w)| Op::Enqueue {
                job,
                sched,
                priority,
                wait_until: w.map(|s| s * SECOND),
            }),
        3 => (1u8..8).prop_map(|mask| Op::Dequeue { mask }),
        2 => (0usize..8, prop::bool::weighted(0.1)).prop_map(|(pick, bad_token)| Op::Ack { pick, bad_token }),
        1 => (0usize..8).prop_map(|pick| Op::Nack { pick }),
        1 => (0i64..70).prop_map(|s| Op::Tick { advance: s * SECOND }),
    ]
}

fn config() -> BrokerConfig {
    BrokerConfig {
        nack_timeout: 30 * SECOND,
        delivery_limit: 3,
        initial_nack_delay: SECOND,
        subsequent_nack_delay: 2 * SECOND,
    }
}

/// Runs `ops`, checking invariants as it goes, then drains the broker; returns a log of
/// every observable output.
fn run(ops: &[Op]) -> Vec<String> {
    let mut b = EvalBroker::new(config());
    b.set_enabled(true);
    let mut log = Vec::new();
    let mut now: i64 = 1_000 * SECOND;
    let mut next_id = 0u64;
    let mut enqueued: BTreeSet<String> = BTreeSet::new();
    // eval ID -> (job, token) of live deliveries.
    let mut outstanding: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut acked: BTreeSet<String> = BTreeSet::new();
    let mut cancelable: BTreeSet<String> = BTreeSet::new();
    let mut failed: BTreeSet<String> = BTreeSet::new();

    let deliver = |b: &mut EvalBroker,
                   outstanding: &mut BTreeMap<String, (String, String)>,
                   log: &mut Vec<String>,
                   scheds: &[&str],
                   now: i64| {
        let Some((e, token)) = b.dequeue(scheds, now) else {
            log.push("dequeue none".to_owned());
            return false;
        };
        let job = format!("{}/{}", e.namespace, e.job_id);
        assert!(
            outstanding.values().all(|(j, _)| *j != job),
            "two deliveries of {job} at once"
        );
        log.push(format!("dequeue {} {token}", e.id));
        outstanding.insert(e.id, (job, token));
        true
    };

    for op in ops {
        now += 1;
        match op {
            Op::Enqueue {
                job,
                sched,
                priority,
                wait_until,
            } => {
                next_id += 1;
                let id = format!("e{next_id:04}");
                let eval = Evaluation {
                    id: id.clone(),
                    namespace: "default".to_owned(),
                    job_id: format!("job{job}"),
                    eval_type: SCHEDS[usize::from(*sched)].to_owned(),
                    priority: *priority,
                    status: eval_status::PENDING.to_owned(),
                    create_index: next_id,
                    modify_index: next_id,
                    wait_until: Timestamp(wait_until.map_or(0, |w| now + w)),
                    ..Evaluation::default()
                };
                b.enqueue(eval, now).unwrap();
                enqueued.insert(id);
            }
            Op::Dequeue { mask } => {
                let scheds: Vec<&str> = (0..3)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| SCHEDS[i])
                    .collect();
                deliver(&mut b, &mut outstanding, &mut log, &scheds, now);
            }
            Op::Ack { pick, bad_token } => {
                let Some((id, (_, token))) =
                    outstanding.iter().nth(pick % outstanding.len().max(1))
                else {
                    continue;
                };
                let (id, token) = (id.clone(), token.clone());
                if *bad_token {
                    let r = b.ack(&id, "bogus");
                    assert_eq!(r, Err(BrokerError::TokenMismatch(id.clone())));
                    continue;
                }
                b.ack(&id, &token).unwrap();
                outstanding.remove(&id);
                acked.insert(id.clone());
                log.push(format!("ack {id}"));
            }
            Op::Nack { pick } => {
                let Some((id, (_, token))) =
                    outstanding.iter().nth(pick % outstanding.len().max(1))
                else {
                    continue;
                };
                let (id, token) = (id.clone(), token.clone());
                b.nack(&id, &token, now).unwrap();
                outstanding.remove(&id);
                log.push(format!("nack {id}"));
            }
            Op::Tick { advance } => {
                now += advance;
                let out = b.tick(now);
                for id in &out.timed_out {
                    assert!(
                        outstanding.remove(id).is_some(),
                        "timed out undelivered {id}"
                    );
                }
                log.push(format!("tick {:?} {:?}", out.timed_out, out.released));
            }
        }
        for e in b.take_cancelable() {
            assert_eq!(e.status, eval_status::CANCELED);
            log.push(format!("cancel {}", e.id));
            cancelable.insert(e.id);
        }
        for e in b.drain_failed() {
            assert_eq!(e.status, eval_status::FAILED);
            log.push(format!("failed {}", e.id));
            failed.insert(e.id);
        }
        let st = b.stats();
        assert_eq!(
            st.total_ready + st.total_unacked + st.total_blocked_by_job + st.total_delayed,
            b.len()
        );
        assert_eq!(st.total_unacked, outstanding.len());
        log.push(format!("{st:?}"));
    }

    // Drain: ack everything outstanding, advance time, deliver and ack until empty.
    for _ in 0..10_000 {
        for (id, (_, token)) in std::mem::take(&mut outstanding) {
            b.ack(&id, &token).unwrap();
            acked.insert(id);
        }
        for e in b.take_cancelable() {
            cancelable.insert(e.id);
        }
        if b.is_empty() {
            break;
        }
        now += 100 * SECOND;
        b.tick(now);
        while deliver(&mut b, &mut outstanding, &mut log, &SCHEDS, now) {}
    }
    for e in b.drain_failed() {
        failed.insert(e.id);
    }
    assert!(b.is_empty(), "broker did not drain: {:?}", b.stats());
    assert_eq!(
        acked.len() + cancelable.len() + failed.len(),
        enqueued.len()
    );
    let all: BTreeSet<String> = acked
        .iter()
        .chain(&cancelable)
        .chain(&failed)
        .cloned()
        .collect();
    assert_eq!(all, enqueued, "evaluations lost or double-finished");
    log
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn broker_serializes_jobs_loses_nothing_and_is_deterministic(
        ops in prop::collection::vec(op(), 1..120)
    ) {
        let first = run(&ops);
        let second = run(&ops);
        prop_assert_eq!(first, second);
    }
}
