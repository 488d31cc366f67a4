use proptest::prelude::*;

use super::*;
use crate::model::{AllocationMetric, eval_status};

fn eval(id: &str, ns: &str, priority: i32, create_index: u64) -> Evaluation {
    Evaluation {
        id: id.to_owned(),
        namespace: ns.to_owned(),
        job_id: format!("job-{id}"),
        eval_type: "batch".to_owned(),
        priority,
        status: eval_status::BLOCKED.to_owned(),
        create_index,
        ..Evaluation::default()
    }
}

fn share(cpu: u64, mem: u64, ns: &[(&str, u64, u64, u32)]) -> FairShare {
    FairShare {
        cpu_mhz: cpu,
        memory_mb: mem,
        namespaces: ns
            .iter()
            .map(|(n, c, m, w)| {
                (
                    (*n).to_owned(),
                    NamespaceShare {
                        cpu_mhz: *c,
                        memory_mb: *m,
                        weight: *w,
                    },
                )
            })
            .collect(),
    }
}

fn ids<'a>(ranked: &[Waiting<'a>]) -> Vec<&'a str> {
    ranked.iter().map(|w| w.eval.id.as_str()).collect()
}

/// Each evaluation waiting since its own creation.
fn fresh(evals: &[Evaluation]) -> Vec<Waiting<'_>> {
    evals
        .iter()
        .map(|e| Waiting {
            eval: e,
            since: e.create_index,
        })
        .collect()
}

#[test]
fn priority_beats_share_which_beats_age() {
    // "a" holds half the cluster (weight 1), "b" nothing.
    let s = share(1000, 1000, &[("a", 500, 100, 1), ("b", 0, 0, 1)]);
    let evals = [
        eval("old-a", "a", 50, 1),
        eval("new-b", "b", 50, 9),
        eval("high-a", "a", 80, 10),
        eval("older-b", "b", 50, 5),
    ];
    assert_eq!(
        ids(&rank(fresh(&evals), &s)),
        ["high-a", "older-b", "new-b", "old-a"]
    );
}

#[test]
fn the_dominant_dimension_counts_and_weights_divide_it() {
    // "mem" holds 60% of memory and little CPU: its dominant share is 0.6; "cpu" holds
    // 40% of CPU. Unweighted, "cpu" goes first; with weight 2, "mem" owes less (0.3).
    let s = share(1000, 1000, &[("mem", 10, 600, 1), ("cpu", 400, 10, 1)]);
    assert_eq!(s.cmp_namespaces("cpu", "mem"), Ordering::Less);
    let s = share(1000, 1000, &[("mem", 10, 600, 2), ("cpu", 400, 10, 1)]);
    assert_eq!(s.cmp_namespaces("mem", "cpu"), Ordering::Less);
    assert!((s.share("mem") - 0.3).abs() < 1e-9);
    assert!((s.dominant_share("cpu") - 0.4).abs() < 1e-9);
    // Unknown namespaces hold nothing and weigh 1.
    assert_eq!(s.cmp_namespaces("ghost", "cpu"), Ordering::Less);
    assert_eq!(s.weight("ghost"), 1);
}

#[test]
fn an_empty_cluster_still_orders_without_dividing_by_zero() {
    let s = share(0, 0, &[("a", 5, 5, 1), ("b", 1, 1, 1)]);
    assert_eq!(s.cmp_namespaces("b", "a"), Ordering::Less);
    assert!(s.share("a").is_finite());
}

/// Four slots of 250 MHz / 250 MB; two namespaces with weights 3:1 always have work
/// waiting. Whenever a slot frees (the oldest running allocation ends), the best-ranked
/// waiting evaluation takes it. Over time the placements split 3:1.
#[test]
fn weights_three_to_one_share_a_full_cluster_three_to_one() {
    let mut running: std::collections::VecDeque<&str> = Default::default();
    let mut placed = BTreeMap::<&str, u64>::new();
    let mut next_index = 0u64;
    for _ in 0..400 {
        if running.len() == 4 {
            running.pop_front();
        }
        let held = |ns: &str| running.iter().filter(|r| **r == ns).count() as u64 * 250;
        let s = share(
            1000,
            1000,
            &[
                ("a", held("a"), held("a"), 3),
                ("b", held("b"), held("b"), 1),
            ],
        );
        next_index += 2;
        let waiting = [
            eval("ea", "a", 50, next_index),
            eval("eb", "b", 50, next_index + 1),
        ];
        let first = rank(fresh(&waiting), &s)[0].eval;
        running.push_back(if first.namespace == "a" { "a" } else { "b" });
        *placed
            .entry(if first.namespace == "a" { "a" } else { "b" })
            .or_default() += 1;
    }
    assert_eq!(placed["a"], 300, "{placed:?}");
    assert_eq!(placed["b"], 100, "{placed:?}");
}

#[test]
fn wait_reasons_name_what_ran_out() {
    let mut e = eval("x", "a", 50, 1);
    assert_eq!(wait_reason(&e), "waiting for capacity");
    let mut m = AllocationMetric {
        nodes_evaluated: 1,
        nodes_exhausted: 1,
        ..AllocationMetric::default()
    };
    m.dimension_exhausted.insert("memory".to_owned(), 1);
    e.failed_tg_allocs.insert("work".to_owned(), m);
    assert_eq!(
        wait_reason(&e),
        "group \"work\": resources exhausted: memory on 1 node"
    );
    e.failed_tg_allocs.get_mut("work").unwrap().quota_exhausted = vec!["cpu exhausted".into()];
    assert!(wait_reason(&e).contains("quota exhausted (cpu exhausted)"));
}

fn arb_share() -> impl Strategy<Value = FairShare> {
    (
        0u64..10_000,
        0u64..10_000,
        prop::collection::vec((0u64..10_000, 0u64..10_000, 1u32..=MAX_WEIGHT), 4),
    )
        .prop_map(|(cpu, mem, ns)| FairShare {
            cpu_mhz: cpu,
            memory_mb: mem,
            namespaces: ns
                .into_iter()
                .enumerate()
                .map(|(i, (c, m, w))| {
                    (
                        format!("ns{i}"),
                        NamespaceShare {
                            cpu_mhz: c,
                            memory_mb: m,
                            weight: w,
                        },
                    )
                })
                .collect(),
        })
}

fn arb_evals() -> impl Strategy<Value = Vec<Evaluation>> {
    prop::collection::vec((0usize..5, 0i32..4, 0u64..20), 0..24).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (ns, prio, idx))| {
                eval(&format!("e{i:02}"), &format!("ns{ns}"), prio * 25, idx)
            })
            .collect()
    })
}

/// The weighted share as an exact fraction, computed independently of `cmp_namespaces`.
fn weighted(s: &FairShare, ns: &str) -> (u128, u128) {
    let n = s.namespaces.get(ns).copied().unwrap_or_default();
    let cpu = u128::from(s.cpu_mhz.max(1));
    let mem = u128::from(s.memory_mb.max(1));
    let num = (u128::from(n.cpu_mhz) * mem).max(u128::from(n.memory_mb) * cpu);
    (num, u128::from(n.weight))
}

proptest! {
    /// Every adjacent pair of the queue respects priority, then weighted share, then age.
    #[test]
    fn queue_order_respects_priority_then_weights_then_age(s in arb_share(), evals in arb_evals()) {
        let ranked = rank(fresh(&evals), &s);
        prop_assert_eq!(ranked.len(), evals.len());
        for w in ranked.windows(2) {
            let (a, b) = (w[0].eval, w[1].eval);
            prop_assert!(a.priority >= b.priority, "priority: {} before {}", a.id, b.id);
            if a.priority == b.priority {
                let (na, da) = weighted(&s, &a.namespace);
                let (nb, db) = weighted(&s, &b.namespace);
                prop_assert!(na * db <= nb * da, "share: {} before {}", a.id, b.id);
                if na * db == nb * da {
                    prop_assert!(a.create_index <= b.create_index, "age: {} before {}", a.id, b.id);
                }
            }
        }
    }

    /// The order depends only on the evaluations and the shares, never on the input order.
    #[test]
    fn queue_order_is_deterministic(s in arb_share(), evals in arb_evals(), seed in any::<u64>()) {
        let mut shuffled = evals.clone();
        let mut rng = crate::scheduler::rng::SchedRng::new(seed);
        for i in (1..shuffled.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            shuffled.swap(i, j);
        }
        prop_assert_eq!(ids(&rank(fresh(&evals), &s)), ids(&rank(fresh(&shuffled), &s)));
    }

    /// Raising a namespace's weight never moves its evaluations later in the queue.
    #[test]
    fn more_weight_never_waits_longer(s in arb_share(), evals in arb_evals(), ns in 0usize..4, extra in 1u32..100) {
        let name = format!("ns{ns}");
        let mut heavier = s.clone();
        if let Some(n) = heavier.namespaces.get_mut(&name) {
            n.weight = (n.weight + extra).min(MAX_WEIGHT);
        }
        let before = rank(fresh(&evals), &s);
        let after = rank(fresh(&evals), &heavier);
        for e in evals.iter().filter(|e| e.namespace == name) {
            let pos = |r: &[Waiting<'_>]| r.iter().position(|x| x.eval.id == e.id);
            prop_assert!(pos(&after) <= pos(&before), "{} moved later", e.id);
        }
    }
}

#[test]
fn a_jobs_age_is_the_start_of_its_chain_of_blocked_evaluations() {
    use crate::model::trigger;
    use crate::state::testutil::{eval as state_eval, register};
    use crate::state::{Command, EvalUpsert, StateStore};
    let mut s = StateStore::new();
    s.apply(1, register(crate::state::testutil::job("web")))
        .unwrap();
    let mut first = state_eval("b1", "web");
    first.triggered_by = trigger::QUEUED_ALLOCS.into();
    first.status = eval_status::BLOCKED.into();
    first.previous_eval = "register".into();
    s.apply(5, Command::EvalUpsert(EvalUpsert { evals: vec![first] }))
        .unwrap();
    let mut second = state_eval("b2", "web");
    second.triggered_by = trigger::QUEUED_ALLOCS.into();
    second.status = eval_status::BLOCKED.into();
    second.previous_eval = "b1".into();
    s.apply(
        9,
        Command::EvalUpsert(EvalUpsert {
            evals: vec![second],
        }),
    )
    .unwrap();
    let b2 = s.eval("b2").unwrap().clone();
    assert_eq!(b2.create_index, 9);
    assert_eq!(waiting_since(&s, &b2), 5);
    // A chain that leads to another job's evaluation stops there.
    let mut other = b2.clone();
    other.job_id = "api".into();
    assert_eq!(waiting_since(&s, &other), 9);
}

fn ids_of(evals: &[Evaluation]) -> Vec<&str> {
    evals.iter().map(|e| e.id.as_str()).collect()
}

#[test]
fn woken_evaluations_leave_one_at_a_time_best_ranked_first() {
    let mut b = super::super::BlockedEvals::new();
    let s = share(1000, 1000, &[("a", 500, 500, 1), ("b", 0, 0, 1)]);
    let dups = b.wake(vec![
        eval("a1", "a", 50, 1),
        eval("b1", "b", 50, 2),
        eval("hi", "a", 70, 3),
    ]);
    assert!(dups.is_empty());
    assert_eq!(b.len(), 3);
    assert_eq!(b.woken_len(), 3);
    // Woken evaluations are not released again by an unblock.
    assert!(b.unblock("class", 10).is_empty());
    let order: Vec<String> = std::iter::from_fn(|| b.next_ranked(&s, |e| e.create_index, |_| true))
        .map(|e| {
            assert_eq!(e.status, eval_status::PENDING);
            e.id
        })
        .collect();
    assert_eq!(order, ["hi", "b1", "a1"]);
    assert!(b.is_empty());

    // What has no room goes back to blocked (not run); the first that may fit leaves.
    b.wake(vec![
        eval("big", "a", 90, 1),
        eval("small", "b", 50, 2),
        eval("tail", "b", 40, 3),
    ]);
    let next = b
        .next_ranked(&s, |e| e.create_index, |e| e.id != "big")
        .unwrap();
    assert_eq!(next.id, "small");
    assert_eq!(
        b.woken().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["tail"]
    );
    assert_eq!(b.len(), 2, "big is blocked again");
    assert_eq!(ids_of(&b.unblock("class", 20)), ["big"]);
    assert!(b.next_ranked(&s, |e| e.create_index, |_| false).is_none());
    assert_eq!((b.woken_len(), b.len()), (0, 1), "tail is blocked again");
    assert_eq!(ids_of(&b.unblock("class", 30)), ["tail"]);

    // One per job: a newer blocked evaluation of a woken job replaces it.
    b.wake(vec![eval("old", "a", 50, 1)]);
    let mut newer = eval("new", "a", 50, 5);
    newer.job_id = "job-old".into();
    newer.snapshot_index = 40; // Saw the last unblock: no missed unblock.
    let out = b.block(newer);
    assert_eq!(out.duplicate.unwrap().id, "old");
    assert_eq!(b.woken_len(), 0);
    assert_eq!(b.len(), 1);
}

#[test]
fn room_lets_out_only_what_could_fit_unless_preemption_may_make_room() {
    use crate::state::testutil::{job, node, register, register_node};
    use crate::state::{Command, SchedulerConfigSet, StateStore};
    let mut s = StateStore::new();
    let mut n = node("n1");
    n.node_resources.cpu.cpu_shares = 1000;
    n.node_resources.memory.memory_mb = 1000;
    n.node_resources.disk.disk_mb = 10_000;
    n.scheduling_eligibility = crate::model::eligibility::ELIGIBLE.into();
    s.apply(1, register_node(n)).unwrap();
    assert!(s.node("n1").unwrap().is_schedulable());
    let mut big = job("big");
    big.task_groups[0].tasks[0].resources.cpu = 2000;
    s.apply(2, register(big)).unwrap();
    let mut small = job("small");
    small.task_groups[0].tasks[0].resources.cpu = 500;
    s.apply(3, register(small)).unwrap();
    let blocked = |job: &str| {
        let mut e = eval(job, "default", 50, 4);
        e.job_id = job.into();
        e.eval_type = "service".into();
        let mut m = AllocationMetric {
            nodes_evaluated: 1,
            nodes_exhausted: 1,
            ..AllocationMetric::default()
        };
        m.dimension_exhausted.insert("cpu".into(), 1);
        e.failed_tg_allocs.insert("web".into(), m);
        e
    };
    let room = Room::from_state(&s);
    assert!(!room.may_fit(&s, &blocked("big")), "2000 MHz fits no node");
    assert!(room.may_fit(&s, &blocked("small")));
    // Waiting for something other than room: the scheduler decides.
    let mut quota = blocked("big");
    quota
        .failed_tg_allocs
        .get_mut("web")
        .unwrap()
        .quota_exhausted = vec!["cpu".into()];
    assert!(room.may_fit(&s, &quota));
    // With preemption on for its type, evicting may make room.
    let mut config = s.scheduler_config().clone();
    config.preemption_config.service_scheduler_enabled = true;
    s.apply(
        5,
        Command::SchedulerConfigSet(SchedulerConfigSet { config, cas: None }),
    )
    .unwrap();
    assert!(room.may_fit(&s, &blocked("big")));
}
