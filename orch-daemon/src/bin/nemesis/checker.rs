//! A linearizability checker for the nemesis' histories, in the manner of Porcupine
//! (Lowe's just-in-time linearization with Wing & Gong's backtracking and a cache of
//! visited (linearized set, state) pairs), over a model of one job per key.
//!
//! The model: each key is one job, absent or present with the value its last
//! registration carried and its group count. Registrations set (value, 1),
//! deregistrations (with purge) make it absent, scales set the count of a present job
//! and fail on an absent one, reads return what is there. Keys are independent, so each
//! key's history is checked on its own (linearizability is compositional).
//!
//! An operation whose outcome is unknown (a timeout, a lost connection, a 5xx) may have
//! taken effect at any time after it was invoked, or never: it gets no return event,
//! so the search may place it anywhere after its call, including after everything else
//! (where its effect no longer matters), which stands for "never".

use std::collections::HashSet;

/// What a job looks like to the checker: the value of its last registration and the
/// count of its group.
pub type JobState = Option<(String, u64)>;

/// One operation on a key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Op {
    /// Register the job carrying `value` (count 1).
    Register { value: String },
    /// Deregister and purge it.
    Deregister,
    /// Scale its group to `count`; `applied` is whether the server said it did (an
    /// absent job fails the scale).
    Scale { count: u64, applied: bool },
    /// Read it; what the read returned.
    Read { seen: JobState },
}

/// One operation of the history with its times (any monotonic unit).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Event {
    /// The key.
    pub key: String,
    /// What it did and saw.
    pub op: Op,
    /// When it was invoked.
    pub call: u64,
    /// When its answer came; `None` when the outcome is unknown.
    pub ret: Option<u64>,
}

/// The model's step: the state after `op`, if `op` (with what it saw) is possible in
/// `state`. Unknown operations (`known == false`) apply their effect whatever it is.
fn step(state: &JobState, op: &Op, known: bool) -> Option<JobState> {
    match op {
        Op::Register { value } => Some(Some((value.clone(), 1))),
        Op::Deregister => Some(None),
        Op::Scale { count, applied } => match state {
            Some((v, _)) if *applied || !known => Some(Some((v.clone(), *count))),
            None if !*applied || !known => Some(None),
            _ => None,
        },
        Op::Read { seen } => (seen == state).then(|| state.clone()),
    }
}

/// The verdict on one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyVerdict {
    /// The key.
    pub key: String,
    /// Operations checked.
    pub ops: usize,
    /// Whether a linearization exists (`None`: the search gave up at its budget).
    pub linearizable: Option<bool>,
}

/// The shortest prefix (by call time) of `key`'s operations that is not linearizable,
/// for a report that shows where a violation starts; `None` if the whole is.
pub fn first_violation(history: &[Event], key: &str) -> Option<Vec<Event>> {
    let mut ops: Vec<&Event> = history.iter().filter(|e| e.key == key).collect();
    ops.sort_by_key(|e| e.call);
    let fails = |n: usize| check_key(&ops[..n], STEP_BUDGET) == Some(false);
    if !fails(ops.len()) {
        return None;
    }
    let (mut lo, mut hi) = (0, ops.len());
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        if fails(mid) { hi = mid } else { lo = mid }
    }
    Some(ops[..hi].iter().map(|e| (*e).clone()).collect())
}

/// The most search steps spent on one key before giving up (reported, not a pass).
pub const STEP_BUDGET: u64 = 50_000_000;

/// Checks every key's history; the keys in order.
pub fn check(history: &[Event]) -> Vec<KeyVerdict> {
    let mut keys: Vec<&str> = history.iter().map(|e| e.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .map(|key| {
            let ops: Vec<&Event> = history.iter().filter(|e| e.key == key).collect();
            KeyVerdict {
                key: key.to_string(),
                ops: ops.len(),
                linearizable: check_key(&ops, STEP_BUDGET),
            }
        })
        .collect()
}

/// A call or return in the doubly linked list the search walks.
#[derive(Debug, Clone, Copy)]
struct Entry {
    op: usize,
    is_call: bool,
    /// For a call: the index of its return entry (if any).
    partner: Option<usize>,
    prev: Option<usize>,
    next: Option<usize>,
}

/// The search over one key's operations (all on the same key, starting absent).
fn check_key(ops: &[&Event], budget: u64) -> Option<bool> {
    let mut list = build_list(ops);
    let head = list.len() - 1; // the sentinel, last
    let mut seen: HashSet<(Vec<u64>, JobState)> = HashSet::new();
    let mut linearized = vec![0_u64; ops.len().div_ceil(64)];
    let mut state: JobState = None;
    let mut stack: Vec<(usize, JobState)> = Vec::new();
    let mut cursor = list[head].next;
    let mut steps = 0_u64;
    loop {
        steps += 1;
        if steps > budget {
            return None;
        }
        let Some(at) = cursor else {
            // Only unknown calls (never returning) are left: place them last.
            return Some(true);
        };
        let entry = list[at];
        if entry.is_call {
            let event = ops[entry.op];
            if let Some(next_state) = step(&state, &event.op, event.ret.is_some()) {
                let bit = (entry.op / 64, 1_u64 << (entry.op % 64));
                linearized[bit.0] |= bit.1;
                if seen.insert((linearized.clone(), next_state.clone())) {
                    stack.push((at, state));
                    state = next_state;
                    lift(&mut list, at);
                    cursor = list[head].next;
                    continue;
                }
                linearized[bit.0] &= !bit.1;
            }
            cursor = entry.next;
        } else {
            // A return with its call not linearized: undo the last choice.
            let Some((call_at, previous)) = stack.pop() else {
                return Some(false);
            };
            state = previous;
            let op = list[call_at].op;
            linearized[op / 64] &= !(1_u64 << (op % 64));
            unlift(&mut list, call_at);
            cursor = list[call_at].next;
        }
    }
}

/// Calls and returns by time, with a sentinel head at the end of the vector.
fn build_list(ops: &[&Event]) -> Vec<Entry> {
    let mut points: Vec<(u64, bool, usize)> = Vec::with_capacity(ops.len() * 2);
    for (i, e) in ops.iter().enumerate() {
        points.push((e.call, true, i));
        if let Some(r) = e.ret {
            points.push((r.max(e.call), false, i));
        }
    }
    // At equal times calls sort first: the operations count as overlapping (the clock
    // cannot tell their order), which may hide a violation but never invents one, and
    // an operation that returned within the clock's resolution keeps its call first.
    points.sort_by_key(|&(t, is_call, i)| (t, !is_call, i));
    let n = points.len();
    let mut list: Vec<Entry> = points
        .iter()
        .enumerate()
        .map(|(idx, &(_, is_call, op))| Entry {
            op,
            is_call,
            partner: None,
            prev: Some(if idx == 0 { n } else { idx - 1 }),
            next: (idx + 1 < n).then_some(idx + 1),
        })
        .collect();
    let mut return_of = vec![None; ops.len()];
    for (idx, e) in list.iter().enumerate() {
        if !e.is_call {
            return_of[e.op] = Some(idx);
        }
    }
    for e in list.iter_mut().filter(|e| e.is_call) {
        e.partner = return_of[e.op];
    }
    list.push(Entry {
        op: usize::MAX,
        is_call: false,
        partner: None,
        prev: None,
        next: (n > 0).then_some(0),
    });
    list
}

fn unlink(list: &mut [Entry], at: usize) {
    let (prev, next) = (list[at].prev, list[at].next);
    if let Some(p) = prev {
        list[p].next = next;
    }
    if let Some(nx) = next {
        list[nx].prev = prev;
    }
}

fn relink(list: &mut [Entry], at: usize) {
    let (prev, next) = (list[at].prev, list[at].next);
    if let Some(p) = prev {
        list[p].next = Some(at);
    }
    if let Some(nx) = next {
        list[nx].prev = Some(at);
    }
}

/// Takes a call and its return out of the list.
fn lift(list: &mut [Entry], call: usize) {
    unlink(list, call);
    if let Some(r) = list[call].partner {
        unlink(list, r);
    }
}

/// Puts them back (in the reverse order of [`lift`]).
fn unlift(list: &mut [Entry], call: usize) {
    if let Some(r) = list[call].partner {
        relink(list, r);
    }
    relink(list, call);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(op: Op, call: u64, ret: Option<u64>) -> Event {
        Event {
            key: "k".into(),
            op,
            call,
            ret,
        }
    }

    fn reg(v: &str) -> Op {
        Op::Register { value: v.into() }
    }

    fn read(v: Option<(&str, u64)>) -> Op {
        Op::Read {
            seen: v.map(|(s, c)| (s.to_string(), c)),
        }
    }

    fn verdict(h: &[Event]) -> Option<bool> {
        check(h)[0].linearizable
    }

    #[test]
    fn sequential_histories_follow_the_model() {
        let h = [
            ev(read(None), 0, Some(1)),
            ev(reg("a"), 2, Some(3)),
            ev(read(Some(("a", 1))), 4, Some(5)),
            ev(
                Op::Scale {
                    count: 3,
                    applied: true,
                },
                6,
                Some(7),
            ),
            ev(read(Some(("a", 3))), 8, Some(9)),
            ev(Op::Deregister, 10, Some(11)),
            ev(
                Op::Scale {
                    count: 2,
                    applied: false,
                },
                12,
                Some(13),
            ),
            ev(read(None), 14, Some(15)),
        ];
        assert_eq!(verdict(&h), Some(true));
    }

    #[test]
    fn a_stale_read_after_an_acknowledged_write_is_a_violation() {
        let h = [
            ev(reg("a"), 0, Some(1)),
            ev(reg("b"), 2, Some(3)),
            ev(read(Some(("a", 1))), 4, Some(5)),
        ];
        assert_eq!(verdict(&h), Some(false));
    }

    #[test]
    fn a_lost_acknowledged_write_is_a_violation() {
        let h = [ev(reg("a"), 0, Some(1)), ev(read(None), 2, Some(3))];
        assert_eq!(verdict(&h), Some(false));
    }

    #[test]
    fn concurrent_operations_may_take_effect_in_either_order() {
        // The read overlaps both writes: it may see either, or neither.
        for seen in [None, Some(("a", 1)), Some(("b", 1))] {
            let h = [
                ev(reg("a"), 0, Some(10)),
                ev(reg("b"), 1, Some(9)),
                ev(read(seen), 2, Some(8)),
            ];
            assert_eq!(verdict(&h), Some(true), "{seen:?}");
        }
        // But two reads cannot see the writes' order both ways.
        let h = [
            ev(reg("a"), 0, Some(10)),
            ev(reg("b"), 0, Some(10)),
            ev(read(Some(("a", 1))), 11, Some(12)),
            ev(read(Some(("b", 1))), 13, Some(14)),
        ];
        assert_eq!(verdict(&h), Some(false));
    }

    #[test]
    fn an_unknown_write_may_happen_late_or_never() {
        let never = [
            ev(reg("a"), 0, Some(1)),
            ev(reg("lost"), 2, None),
            ev(read(Some(("a", 1))), 3, Some(4)),
        ];
        assert_eq!(verdict(&never), Some(true));
        let late = [
            ev(reg("a"), 0, Some(1)),
            ev(reg("late"), 2, None),
            ev(read(Some(("a", 1))), 3, Some(4)),
            ev(read(Some(("late", 1))), 50, Some(51)),
        ];
        assert_eq!(verdict(&late), Some(true));
        // It cannot take effect before it was called.
        let early = [
            ev(read(Some(("late", 1))), 0, Some(1)),
            ev(reg("late"), 2, None),
        ];
        assert_eq!(verdict(&early), Some(false));
    }

    #[test]
    fn a_failed_scale_means_the_job_was_absent() {
        let h = [
            ev(reg("a"), 0, Some(1)),
            ev(
                Op::Scale {
                    count: 2,
                    applied: false,
                },
                2,
                Some(3),
            ),
        ];
        assert_eq!(verdict(&h), Some(false));
    }

    #[test]
    fn operations_within_one_clock_tick_count_as_overlapping() {
        // A read answered within the tick of its call, and a write at the same tick.
        let h = [
            ev(reg("a"), 0, Some(5)),
            ev(read(Some(("a", 1))), 5, Some(5)),
        ];
        assert_eq!(verdict(&h), Some(true));
        let h = [ev(reg("a"), 0, Some(5)), ev(read(None), 5, Some(6))];
        assert_eq!(verdict(&h), Some(true));
    }

    #[test]
    fn keys_are_checked_apart() {
        let mut h = vec![ev(reg("a"), 0, Some(1))];
        h.push(Event {
            key: "other".into(),
            op: read(None),
            call: 2,
            ret: Some(3),
        });
        let v = check(&h);
        assert_eq!(v.len(), 2);
        assert!(v.iter().all(|k| k.linearizable == Some(true)), "{v:?}");
    }

    #[test]
    fn long_concurrent_histories_finish() {
        // 4 writers and a reader over 2,000 operations, each read seeing the last
        // completed write: linearizable, and the cache keeps the search short.
        let mut h = Vec::new();
        for i in 0..400_u64 {
            let t = i * 10;
            for w in 0..4 {
                h.push(ev(reg(&format!("v{i}-{w}")), t, Some(t + 5)));
            }
            h.push(ev(read(Some((&format!("v{i}-3"), 1))), t + 6, Some(t + 7)));
        }
        assert_eq!(verdict(&h), Some(true));
    }
}
