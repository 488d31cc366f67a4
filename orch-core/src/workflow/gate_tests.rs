//! Metric gates: the condition language, `observe` step by step, and the invariants
//! (a gate never opens before its condition held for the whole window; no data never
//! passes; a gate never fails before its deadline).

use proptest::prelude::*;

use super::gate::*;
use crate::model::{DeploymentState, UpdateGate};

fn gate(for_: i64, deadline: i64) -> UpdateGate {
    UpdateGate {
        source: "prometheus".into(),
        query: "scalar(errors)".into(),
        condition: "< 0.5".into(),
        for_,
        deadline,
    }
}

#[test]
fn conditions_parse_and_compare() {
    let c = Condition::parse(" <= 0.01 ").unwrap();
    assert_eq!((c.op, c.threshold), (Op::Le, 0.01));
    assert!(c.holds(0.01) && !c.holds(0.02) && !c.holds(f64::NAN));
    assert!(Condition::parse("!= 3").unwrap().holds(2.0));
    assert!(Condition::parse(">1e3").unwrap().holds(1001.0));
    for bad in ["0.01", "< abc", "<", "=< 1", "< inf", "~ 1"] {
        assert!(Condition::parse(bad).is_err(), "{bad:?} should be refused");
    }
}

#[test]
fn a_gate_opens_after_the_window_and_a_break_restarts_it() {
    let g = gate(10, 100);
    let s0 = start(2, 0);
    let s1 = observe(&s0, &g, "web", 0, &Observation::Value(0.1));
    assert_eq!(s1.holding_since, Some(0));
    assert!(!s1.open);
    assert!(
        s1.description.contains("waiting for the metric gate"),
        "{}",
        s1.description
    );
    let s2 = observe(&s1, &g, "web", 5, &Observation::Value(0.9));
    assert_eq!(s2.holding_since, None);
    let s3 = observe(&s2, &g, "web", 6, &Observation::Value(0.1));
    let s4 = observe(&s3, &g, "web", 15, &Observation::Value(0.1));
    assert!(!s4.open, "only 9ns held");
    let s5 = observe(&s4, &g, "web", 16, &Observation::Value(0.1));
    assert!(s5.open && s5.description.contains("passed"), "{s5:?}");
    // Open stays open.
    assert_eq!(observe(&s5, &g, "web", 17, &Observation::Value(9.0)), s5);
}

#[test]
fn no_data_waits_and_the_deadline_fails() {
    let g = gate(10, 30);
    let s = start(1, 0);
    let s = observe(&s, &g, "web", 0, &Observation::Value(0.1));
    let s = observe(&s, &g, "web", 20, &Observation::NoData("no series".into()));
    assert!(!s.open && s.holding_since.is_none());
    assert!(s.description.contains("no data"), "{}", s.description);
    let s = observe(&s, &g, "web", 30, &Observation::Value(0.1));
    assert!(
        s.failed && s.description.starts_with("Failed due to metric gate"),
        "{s:?}"
    );
}

#[test]
fn the_gate_stands_only_at_a_healthy_batch_with_more_to_do() {
    let ds = |placed, healthy, total| DeploymentState {
        placed_allocs: placed,
        healthy_allocs: healthy,
        desired_total: total,
        ..DeploymentState::default()
    };
    assert!(!at_gate(&ds(0, 0, 3)), "the first batch goes at once");
    assert!(!at_gate(&ds(1, 0, 3)), "the batch is not healthy yet");
    assert!(at_gate(&ds(1, 1, 3)));
    assert!(!at_gate(&ds(3, 3, 3)), "nothing left to do");
    let canaries = DeploymentState {
        desired_canaries: 1,
        auto_promote: true,
        ..ds(1, 1, 3)
    };
    assert!(at_gate(&canaries));
    let manual = DeploymentState {
        auto_promote: false,
        ..canaries.clone()
    };
    assert!(!at_gate(&manual), "an operator promotes by hand");
}

#[test]
fn writes_are_spaced_out_when_only_the_description_changes() {
    let a = GateState {
        description: "x = 1".into(),
        updated_at: 0,
        ..GateState::default()
    };
    let b = GateState {
        description: "x = 2".into(),
        updated_at: 1,
        ..a.clone()
    };
    assert!(!worth_writing(Some(&a), &b, 5));
    assert!(worth_writing(
        Some(&a),
        &GateState {
            updated_at: 5,
            ..b.clone()
        },
        5
    ));
    assert!(worth_writing(
        Some(&a),
        &GateState {
            open: true,
            ..b.clone()
        },
        5
    ));
    assert!(worth_writing(None, &b, 5));
}

/// One reading in a generated run: time step and what the source said.
fn reading() -> impl Strategy<Value = (i64, Option<f64>)> {
    (0i64..20, prop::option::weighted(0.8, -1.0f64..1.0))
}

proptest! {
    /// Whatever the readings: the gate opens only on a reading that passed, at the end
    /// of an unbroken run of passing readings at least `for` long; it opens as soon as
    /// such a run exists (if it has not failed); it never fails before its deadline.
    #[test]
    fn a_gate_opens_exactly_when_the_condition_held_for_the_window(
        window in 1i64..60,
        extra in 0i64..200,
        readings in prop::collection::vec(reading(), 1..60),
    ) {
        let g = gate(window, window + extra);
        let cond = Condition::parse(&g.condition).unwrap();
        let mut st = start(3, 0);
        let mut now = 0;
        let mut streak_start: Option<i64> = None;
        for (dt, value) in readings {
            now += dt;
            let obs = match value {
                Some(v) => Observation::Value(v),
                None => Observation::NoData("no series".into()),
            };
            let passes = value.is_some_and(|v| cond.holds(v));
            streak_start = if passes { streak_start.or(Some(now)) } else { None };
            let was = st.clone();
            st = observe(&st, &g, "web", now, &obs);
            if was.open || was.failed {
                prop_assert_eq!(&st, &was);
                continue;
            }
            let held_long_enough = streak_start.is_some_and(|s| now - s >= window);
            if st.open {
                prop_assert!(passes, "opened on a reading that did not pass (no data never passes)");
                prop_assert!(held_long_enough, "opened before the condition held for the window");
            } else {
                prop_assert!(!held_long_enough, "the condition held for the window but the gate stayed shut");
            }
            if st.failed {
                prop_assert!(now >= g.deadline, "failed before the deadline");
            }
        }
    }
}

const GATED: &str = r#"
job "web" {
  group "g" {
    update {
      max_parallel      = 1
      progress_deadline = "10m"
      gate {
        source    = "SOURCE"
        query     = "scalar(errors)"
        condition = "COND"
        for       = "FOR"
      }
    }
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
    }
  }
}
"#;

fn parse(source: &str, cond: &str, window: &str) -> Result<crate::model::Job, String> {
    let hcl = GATED
        .replace("SOURCE", source)
        .replace("COND", cond)
        .replace("FOR", window);
    crate::jobspec::parse_jobspec("web.hcl", &hcl, &Default::default()).map_err(|e| e.to_string())
}

#[test]
fn a_jobspec_gate_parses_with_its_deadline_defaulted_to_the_progress_deadline() {
    let job = parse("prometheus", "< 0.01", "2m").unwrap();
    let u = job.task_groups[0].update.as_ref().unwrap();
    let g = u.gate.as_ref().unwrap();
    assert_eq!((g.for_, g.deadline), (120_000_000_000, 600_000_000_000));
    let mut job = job;
    let gates = take_gates(&mut job);
    assert_eq!(gates["g"].condition, "< 0.01");
    assert!(job.task_groups[0].update.as_ref().unwrap().gate.is_none());
}

#[test]
fn bad_gates_are_refused_naming_the_field() {
    let e = parse("graphite", "< 0.01", "2m").unwrap_err();
    assert!(e.contains("unknown source \"graphite\""), "{e}");
    let e = parse("prometheus", "lower than 1", "2m").unwrap_err();
    assert!(e.contains("must start with <"), "{e}");
    let e = parse("prometheus", "< 1", "11m").unwrap_err();
    assert!(e.contains("longer than deadline"), "{e}");
    let e = parse("nomad-apm", "< 1", "1m").unwrap_err();
    assert!(e.contains("update gate"), "{e}");
}

#[test]
fn a_gate_on_a_system_job_is_refused() {
    let hcl = GATED
        .replace("job \"web\" {", "job \"web\" {\n  type = \"system\"")
        .replace("SOURCE", "prometheus")
        .replace("COND", "< 1")
        .replace("FOR", "1m");
    let e = crate::jobspec::parse_jobspec("web.hcl", &hcl, &Default::default())
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(e.contains("only service jobs"), "{e}");
}
