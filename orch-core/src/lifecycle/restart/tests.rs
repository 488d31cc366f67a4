use proptest::prelude::*;

use super::*;
use crate::model::wire::SECOND;
use crate::model::{RestartPolicy, TaskLifecycle};

const MIN: Nanos = 60 * SECOND;

fn policy(attempts: u32, interval: Nanos, delay: Nanos, mode: &str) -> RestartPolicy {
    RestartPolicy {
        attempts,
        interval,
        delay,
        mode: mode.into(),
        render_templates: false,
    }
}

fn delay_of(d: &RestartDecision) -> Nanos {
    match d {
        RestartDecision::Restart { delay_nanos } => *delay_nanos,
        other => panic!("expected a restart, got {other:?}"),
    }
}

#[test]
fn batch_success_is_not_restarted() {
    let mut t = RestartTracker::new(
        &policy(3, 24 * 60 * MIN, 15 * SECOND, "fail"),
        "batch",
        None,
        1,
    );
    assert_eq!(
        t.on_exit(true, 0),
        RestartDecision::NoRestart {
            failed: false,
            reason: reason::EXITED_SUCCESSFULLY.into()
        }
    );
    assert_eq!(t.restarts(), 0);
    // A failed exit is restarted.
    assert!(matches!(
        t.on_exit(false, 0),
        RestartDecision::Restart { .. }
    ));
}

#[test]
fn service_success_counts_as_attempt() {
    let mut t = RestartTracker::new(
        &policy(2, 30 * MIN, 15 * SECOND, "fail"),
        "service",
        None,
        1,
    );
    for i in 0..2 {
        let d = delay_of(&t.on_exit(true, i * SECOND));
        assert!(
            (15 * SECOND..=15 * SECOND + 15 * SECOND / 4).contains(&d),
            "{d}"
        );
    }
    assert_eq!(t.restarts(), 2);
    assert_eq!(t.last_restart(), Some(SECOND));
    assert_eq!(
        t.on_exit(true, 2 * SECOND),
        RestartDecision::NoRestart {
            failed: true,
            reason: "Exceeded allowed attempts 2 in interval 30m0s and mode is \"fail\"".into()
        }
    );
}

#[test]
fn ephemeral_lifecycle_tasks_are_not_restarted_on_success() {
    let p = policy(2, 30 * MIN, 15 * SECOND, "fail");
    let init = TaskLifecycle {
        hook: "prestart".into(),
        sidecar: false,
        ..TaskLifecycle::default()
    };
    let mut t = RestartTracker::new(&p, "service", Some(&init), 1);
    assert!(matches!(
        t.on_exit(true, 0),
        RestartDecision::NoRestart { failed: false, .. }
    ));
    let mut t = RestartTracker::with_ephemeral(&p, "service", true, 1);
    assert!(matches!(
        t.on_exit(true, 0),
        RestartDecision::NoRestart { failed: false, .. }
    ));
    // A prestart sidecar in a batch job is restarted on success.
    let sidecar = TaskLifecycle {
        hook: "prestart".into(),
        sidecar: true,
        ..TaskLifecycle::default()
    };
    let mut t = RestartTracker::new(&p, "batch", Some(&sidecar), 1);
    assert!(matches!(
        t.on_exit(true, 0),
        RestartDecision::Restart { .. }
    ));
}

#[test]
fn window_resets_after_interval() {
    let mut t = RestartTracker::new(&policy(1, MIN, SECOND, "fail"), "service", None, 1);
    assert!(matches!(
        t.on_exit(false, 0),
        RestartDecision::Restart { .. }
    ));
    assert!(matches!(
        t.on_exit(false, 30 * SECOND),
        RestartDecision::NoRestart { failed: true, .. }
    ));
    // A new window opened at the first attempt after the old one ended.
    let mut t = RestartTracker::new(&policy(1, MIN, SECOND, "fail"), "service", None, 1);
    assert!(matches!(
        t.on_exit(false, 0),
        RestartDecision::Restart { .. }
    ));
    assert!(matches!(
        t.on_exit(false, MIN + 1),
        RestartDecision::Restart { .. }
    ));
    assert!(matches!(
        t.on_exit(false, MIN + 2),
        RestartDecision::NoRestart { .. }
    ));
}

#[test]
fn delay_mode_waits_for_the_window_end() {
    let mut t = RestartTracker::new(
        &policy(2, 10 * MIN, 5 * SECOND, "delay"),
        "service",
        None,
        7,
    );
    t.on_exit(false, 0);
    t.on_exit(false, MIN);
    let d = t.on_exit(false, 3 * MIN);
    assert_eq!(
        d,
        RestartDecision::Restart {
            delay_nanos: 7 * MIN
        }
    );
    assert_eq!(t.last_reason(), reason::DELAY);
    // After the delay the window is over and the count starts again.
    let d = delay_of(&t.on_exit(false, 10 * MIN));
    assert!(d < 10 * SECOND);
    assert_eq!(t.last_reason(), reason::WITHIN_POLICY);
    assert_eq!(t.restarts(), 4);
}

#[test]
fn start_errors() {
    let mut t = RestartTracker::new(&policy(2, 10 * MIN, SECOND, "fail"), "service", None, 7);
    assert_eq!(
        t.on_start_error(false, 0),
        RestartDecision::NoRestart {
            failed: true,
            reason: reason::UNRECOVERABLE.into()
        }
    );
    assert!(matches!(
        t.on_start_error(true, 0),
        RestartDecision::Restart { .. }
    ));
}

#[test]
fn zero_attempts() {
    let mut t = RestartTracker::new(&policy(0, 10 * MIN, SECOND, "fail"), "service", None, 7);
    assert!(matches!(
        t.on_exit(false, 0),
        RestartDecision::NoRestart { failed: true, .. }
    ));
    let mut t = RestartTracker::new(&policy(0, 10 * MIN, SECOND, "fail"), "batch", None, 7);
    assert!(matches!(
        t.on_exit(true, 0),
        RestartDecision::NoRestart { failed: false, .. }
    ));
}

#[test]
fn jitter_is_seeded() {
    let p = policy(100, 10 * MIN, 15 * SECOND, "fail");
    let run = |seed| {
        let mut t = RestartTracker::new(&p, "service", None, seed);
        (0..20)
            .map(|i| delay_of(&t.on_exit(false, i)))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
    assert!(
        run(3)
            .iter()
            .all(|d| (15 * SECOND..=15 * SECOND * 5 / 4).contains(d))
    );
}

proptest! {
    #[test]
    fn never_more_than_attempts_in_an_interval(
        attempts in 1u32..5,
        interval_s in 1i64..100,
        gaps in prop::collection::vec(0i64..30 * SECOND, 1..60),
        seed in any::<u64>(),
    ) {
        let interval = interval_s * SECOND;
        let mut t = RestartTracker::new(&policy(attempts, interval, SECOND, "fail"), "service", None, seed);
        let mut now = 0;
        // (time, window start) of every restart.
        let mut restarts_at: Vec<(Nanos, Nanos)> = Vec::new();
        for gap in gaps {
            now += gap;
            match t.on_exit(false, now) {
                RestartDecision::Restart { delay_nanos } => {
                    prop_assert!((SECOND..=SECOND * 5 / 4).contains(&delay_nanos));
                    restarts_at.push((now, t.window_start.unwrap()));
                }
                RestartDecision::NoRestart { failed, .. } => {
                    prop_assert!(failed);
                    break;
                }
            }
        }
        // Nomad's windows: at most `attempts` restarts in each, all inside it.
        let mut per_window: std::collections::BTreeMap<Nanos, usize> = Default::default();
        for &(at, ws) in &restarts_at {
            prop_assert!(at >= ws && at < ws + interval);
            *per_window.entry(ws).or_default() += 1;
        }
        prop_assert!(per_window.values().all(|&n| n <= attempts as usize));
        // So any sliding interval sees at most two windows' worth.
        for (i, &(start, _)) in restarts_at.iter().enumerate() {
            let within = restarts_at[i..].iter().take_while(|&&(x, _)| x < start + interval).count();
            prop_assert!(within <= 2 * attempts as usize, "{} restarts within {}s from {}", within, interval_s, start);
        }
    }
}
