//! Reschedule policy arithmetic: when a failed allocation may be replaced, how long to
//! wait first, and which history the replacement carries.
//!
//! Mirrors Nomad's `Allocation.NextRescheduleTime`, `NextDelay`, `RescheduleTracker.
//! RescheduleEligible` and the scheduler's `updateRescheduleTracker`, so that delays and
//! attempt counting match what Nomad users observe (`nomad alloc status` shows the same
//! "reschedule in" times).

use crate::model::{
    Allocation, RescheduleEvent, ReschedulePolicy, RescheduleTracker, client_status, desired_status,
};

/// Delay function values of [`ReschedulePolicy::delay_function`].
pub mod delay_function {
    /// Same delay every time.
    pub const CONSTANT: &str = "constant";
    /// Delay doubles each reschedule.
    pub const EXPONENTIAL: &str = "exponential";
    /// Delay follows the Fibonacci sequence of the previous two delays.
    pub const FIBONACCI: &str = "fibonacci";
}

/// Allocations whose reschedule time is at most this far in the future are replaced now
/// rather than through a follow-up evaluation (Nomad's `rescheduleWindowSize`): creating an
/// evaluation for a one-second wait costs more than it saves.
pub const RESCHEDULE_WINDOW: i64 = 1_000_000_000;

/// Delayed reschedules due within this window of each other share one follow-up
/// evaluation (Nomad's `batchedFailedAllocWindowSize`), so a burst of failures does not
/// create a burst of evaluations.
pub const FOLLOWUP_BATCH_WINDOW: i64 = 5_000_000_000;

/// With an unlimited policy only this many past events are carried to the replacement
/// (Nomad's `maxPastRescheduleEvents`), keeping trackers bounded forever.
pub const MAX_PAST_RESCHEDULE_EVENTS: usize = 5;

/// When the allocation last failed: the latest task `FinishedAt`, falling back to the
/// allocation's modify time (Nomad's `LastEventTime`). Reschedule delays count from here.
pub fn last_event_time(alloc: &Allocation) -> i64 {
    let latest = alloc
        .task_states
        .values()
        .map(|s| s.finished_at.0)
        .max()
        .unwrap_or(0);
    if latest == 0 {
        alloc.modify_time
    } else {
        latest
    }
}

/// The delay before the next reschedule of `alloc` under `policy` (Nomad's `NextDelay`):
/// the base delay for a first reschedule, then grown by the delay function and capped at
/// `max_delay`; once capped, a failure that came after a long healthy stretch (longer than
/// the cap) resets the series to the base delay.
pub fn next_delay(alloc: &Allocation, policy: &ReschedulePolicy) -> i64 {
    let events = match &alloc.reschedule_tracker {
        Some(t) if !t.events.is_empty() => &t.events,
        _ => return policy.delay,
    };
    let last = &events[events.len() - 1];
    let mut delay = match policy.delay_function.as_str() {
        delay_function::EXPONENTIAL => last.delay.saturating_mul(2),
        delay_function::FIBONACCI if events.len() >= 2 => {
            let n1 = last.delay;
            let n2 = events[events.len() - 2].delay;
            if n2 == policy.max_delay && n1 == policy.delay {
                n1
            } else {
                n1.saturating_add(n2)
            }
        }
        delay_function::FIBONACCI => policy.delay,
        _ => return policy.delay,
    };
    if policy.max_delay > 0 && delay > policy.max_delay {
        delay = policy.max_delay;
        let since_last = last_event_time(alloc).saturating_sub(last.reschedule_time);
        if since_last > delay {
            delay = policy.delay;
        }
    }
    delay
}

/// Reschedules of the tracker that happened within the policy interval before
/// `fail_time` (Nomad's `rescheduleInfo`): the attempts that count against the limit.
pub fn attempts_in_interval(tracker: &RescheduleTracker, interval: i64, fail_time: i64) -> u32 {
    let n = tracker
        .events
        .iter()
        .filter(|e| fail_time.saturating_sub(e.reschedule_time) < interval)
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// When `alloc` may be rescheduled and whether it may be at all (Nomad's
/// `NextRescheduleTime`): only failed allocations the servers still want running qualify;
/// a limited policy allows `attempts` reschedules per interval and never one whose delay
/// exceeds the interval.
pub fn next_reschedule_time(
    alloc: &Allocation,
    policy: Option<&ReschedulePolicy>,
) -> Option<(i64, bool)> {
    let policy = policy?;
    let fail_time = last_event_time(alloc);
    if alloc.desired_status == desired_status::STOP
        || alloc.client_status != client_status::FAILED
        || fail_time == 0
    {
        return None;
    }
    let delay = next_delay(alloc, policy);
    let at = fail_time.saturating_add(delay);
    let has_events = alloc
        .reschedule_tracker
        .as_ref()
        .is_some_and(|t| !t.events.is_empty());
    let mut eligible = policy.unlimited || (policy.attempts > 0 && !has_events);
    if let (true, Some(tracker)) = (policy.attempts > 0 && has_events, &alloc.reschedule_tracker) {
        let attempted = attempts_in_interval(tracker, policy.interval, fail_time);
        eligible = attempted < policy.attempts && delay < policy.interval;
    }
    Some((at, eligible))
}

/// The tracker a replacement of `prev` starts with (Nomad's `updateRescheduleTracker`):
/// the previous events still inside the interval (or the last few when unlimited) plus
/// one new event for this reschedule, so attempt limits carry across the chain.
pub fn carried_tracker(
    prev: &Allocation,
    policy: Option<&ReschedulePolicy>,
    now: i64,
) -> RescheduleTracker {
    let mut events: Vec<RescheduleEvent> = Vec::new();
    if let Some(tracker) = &prev.reschedule_tracker {
        let attempts = policy.map_or(0, |p| p.attempts);
        let interval = policy.map_or(0, |p| p.interval);
        if attempts > 0 {
            events.extend(
                tracker
                    .events
                    .iter()
                    .filter(|e| interval > 0 && now.saturating_sub(e.reschedule_time) <= interval)
                    .cloned(),
            );
        } else {
            let start = tracker
                .events
                .len()
                .saturating_sub(MAX_PAST_RESCHEDULE_EVENTS);
            events.extend(tracker.events[start..].iter().cloned());
        }
    }
    let delay = policy.map_or(0, |p| next_delay(prev, p));
    events.push(RescheduleEvent {
        reschedule_time: now,
        prev_alloc_id: prev.id.clone(),
        prev_node_id: prev.node_id.to_string(),
        delay,
    });
    RescheduleTracker { events }
}

/// Nodes a replacement of `prev` should avoid: the node it failed on and every node an
/// earlier attempt in its chain failed on (the scheduler's penalty nodes).
pub fn penalty_nodes(prev: &Allocation) -> Vec<String> {
    let mut nodes = std::collections::BTreeSet::new();
    if !prev.node_id.is_empty() {
        nodes.insert(prev.node_id.to_string());
    }
    if let Some(t) = &prev.reschedule_tracker {
        for e in &t.events {
            if !e.prev_node_id.is_empty() {
                nodes.insert(e.prev_node_id.clone());
            }
        }
    }
    nodes.into_iter().collect()
}
