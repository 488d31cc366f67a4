use std::collections::BTreeMap;

use proptest::prelude::{prop_assert, prop_assert_eq, prop_assert_ne, proptest};
use serde_json::{Value, json};

use super::*;

fn policy_from(v: Value) -> Result<Option<Policy>, Vec<PolicyError>> {
    let m: BTreeMap<String, Value> = serde_json::from_value(v).unwrap();
    parse_policy(&m)
}

fn tv_policy(target: f64, cooldown_ns: i64) -> Policy {
    Policy {
        cooldown_ns,
        evaluation_interval_ns: 1,
        on_check_error: OnError::Fail,
        checks: vec![check(
            "cpu",
            Strategy::TargetValue {
                target,
                threshold: 0.01,
            },
        )],
    }
}

fn check(name: &str, strategy: Strategy) -> Check {
    Check {
        name: name.into(),
        source: Source::Nomad,
        query: "avg_cpu".into(),
        query_window_ns: None,
        strategy,
        on_error: None,
    }
}

#[test]
fn parses_the_hcl_shape() {
    let p = policy_from(json!({
        "cooldown": "4s", "evaluation_interval": "2s", "on_check_error": "ignore",
        "check": [{"cpu": [{"source": "nomad-apm", "query": "avg_cpu-allocated",
            "strategy": [{"target-value": [{"target": 50}]}]}]},
            {"prom": [{"source": "prometheus", "query": "scalar(up)", "query_window": "1m",
            "strategy": [{"threshold": [{"upper_bound": 10, "delta": -1}]}]}]}]
    }))
    .unwrap()
    .unwrap();
    assert_eq!(p.cooldown_ns, 4_000_000_000);
    assert_eq!(p.evaluation_interval_ns, 2_000_000_000);
    assert_eq!(p.on_check_error, OnError::Ignore);
    assert_eq!(p.checks.len(), 2);
    assert_eq!(
        p.checks[0].strategy,
        Strategy::TargetValue {
            target: 50.0,
            threshold: 0.01
        }
    );
    assert_eq!(p.checks[1].query_window_ns, Some(60_000_000_000));
    assert_eq!(
        p.checks[1].strategy,
        Strategy::Threshold {
            lower: None,
            upper: Some(10.0),
            action: ThresholdAction::Delta(-1)
        }
    );
}

#[test]
fn parses_the_plain_json_shape_and_empty() {
    let p = policy_from(json!({"check": {"c": {"query": "max_memory",
        "strategy": {"fixed-value": {"value": 2}}}}}))
    .unwrap()
    .unwrap();
    assert_eq!(p.checks[0].strategy, Strategy::FixedValue(2));
    assert_eq!(p.cooldown_ns, policy::DEFAULT_COOLDOWN_NS);
    assert_eq!(policy_from(json!({})).unwrap(), None);
}

#[test]
fn refuses_unknowns_with_paths() {
    let errs = policy_from(json!({"check": [{"c": [{"source": "datadog", "query": "x",
        "strategy": [{"app-sizing-avg": [{}]}]}]}], "bogus": 1}))
    .unwrap_err();
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"bogus"), "{errs:?}");
    assert!(paths.contains(&"check[c].source"), "{errs:?}");
    assert!(
        paths.contains(&"check[c].strategy[app-sizing-avg]"),
        "{errs:?}"
    );
    assert!(errs.iter().any(|e| e.message.contains("datadog")));
    let errs = policy_from(json!({"check": [{"c": [{"query": "avg_disk",
        "strategy": [{"target-value": [{}]}]}]}]}))
    .unwrap_err();
    assert!(errs.iter().any(|e| e.path == "check[c].query"), "{errs:?}");
    assert!(
        errs.iter()
            .any(|e| e.path == "check[c].strategy[target-value].target"),
        "{errs:?}"
    );
    let errs = policy_from(json!({"check": [{"c": [{"query": "avg_cpu",
        "strategy": [{"threshold": [{"lower_bound": 1, "delta": 1, "value": 2}]}]}]}]}))
    .unwrap_err();
    assert!(errs[0].message.contains("exactly one"), "{errs:?}");
}

#[test]
fn nomad_queries() {
    let q = NomadQuery::parse("avg_cpu-allocated").unwrap();
    assert_eq!(q.metric, NomadMetric::CpuAllocated);
    assert_eq!(q.aggregate(&[10.0, 30.0]), Some(20.0));
    assert_eq!(
        NomadQuery::parse("sum_memory")
            .unwrap()
            .aggregate(&[1.0, 2.0]),
        Some(3.0)
    );
    assert_eq!(q.aggregate(&[]), None);
    assert!(NomadQuery::parse("p99_cpu").is_err());
}

#[test]
fn policy_ids_are_stable_and_distinct() {
    assert_eq!(
        policy_id("default", "web", "g"),
        policy_id("default", "web", "g")
    );
    assert_ne!(
        policy_id("default", "web", "g"),
        policy_id("default", "webg", "")
    );
    assert_eq!(policy_id("default", "web", "g").len(), 36);
    // Pinned: IDs are stored in scaling events, so they must not change across releases
    // (a UUID v5 in orch's namespace; uuid.uuid5 in Python gives the same).
    assert_eq!(
        policy_id("default", "web", "g"),
        "b4c17202-3be7-5e78-ad10-9cf80ee3638e"
    );
}

#[test]
fn target_value_scales_with_the_factor() {
    let p = tv_policy(50.0, 0);
    let c = &p.checks[0];
    let d = decide(
        &p,
        1,
        10,
        2,
        &[CheckInput {
            check: c,
            value: Ok(75.0),
        }],
        None,
        0,
    );
    assert_eq!(d.count, Some(3));
    assert_eq!(d.reason, "scaling up because factor is 1.500000");
    let d = decide(
        &p,
        1,
        10,
        4,
        &[CheckInput {
            check: c,
            value: Ok(10.0),
        }],
        None,
        0,
    );
    assert_eq!(d.count, Some(1));
    // Inside the dead band: nothing.
    let d = decide(
        &p,
        1,
        10,
        4,
        &[CheckInput {
            check: c,
            value: Ok(50.4),
        }],
        None,
        0,
    );
    assert_eq!(d.count, None);
    // Capped by max.
    let d = decide(
        &p,
        1,
        3,
        2,
        &[CheckInput {
            check: c,
            value: Ok(500.0),
        }],
        None,
        0,
    );
    assert_eq!(d.count, Some(3));
}

#[test]
fn checks_combine_safely_and_errors_follow_on_check_error() {
    let mut p = tv_policy(50.0, 0);
    p.checks.push(check("fixed", Strategy::FixedValue(5)));
    p.checks.push(check("pass", Strategy::PassThrough));
    let (a, b, c) = (&p.checks[0], &p.checks[1], &p.checks[2]);
    // Up beats down; largest up wins.
    let d = decide(
        &p,
        0,
        10,
        4,
        &[
            CheckInput {
                check: a,
                value: Ok(100.0),
            },
            CheckInput {
                check: b,
                value: Ok(0.0),
            },
            CheckInput {
                check: c,
                value: Ok(1.0),
            },
        ],
        None,
        0,
    );
    assert_eq!(d.count, Some(8));
    // Only scale-ins: the least reduction wins.
    let d = decide(
        &p,
        0,
        10,
        8,
        &[
            CheckInput {
                check: a,
                value: Ok(25.0),
            },
            CheckInput {
                check: b,
                value: Ok(0.0),
            },
            CheckInput {
                check: c,
                value: Ok(2.0),
            },
        ],
        None,
        0,
    );
    assert_eq!(d.count, Some(5));
    // A failing check with on_check_error = fail stops everything.
    let d = decide(
        &p,
        0,
        10,
        4,
        &[
            CheckInput {
                check: a,
                value: Ok(100.0),
            },
            CheckInput {
                check: b,
                value: Err("prometheus is down"),
            },
        ],
        None,
        0,
    );
    assert_eq!(d.count, None);
    assert!(d.error.unwrap().contains("prometheus is down"));
    p.on_check_error = OnError::Ignore;
    let d = decide(
        &p,
        0,
        10,
        4,
        &[
            CheckInput {
                check: &p.checks[0],
                value: Ok(100.0),
            },
            CheckInput {
                check: &p.checks[1],
                value: Err("down"),
            },
        ],
        None,
        0,
    );
    assert_eq!(d.count, Some(8));
}

#[test]
fn a_count_outside_the_bounds_is_brought_back() {
    let p = tv_policy(50.0, 0);
    let c = &p.checks[0];
    let d = decide(
        &p,
        2,
        5,
        1,
        &[CheckInput {
            check: c,
            value: Ok(10.0),
        }],
        None,
        0,
    );
    assert_eq!(d.count, Some(2));
    assert_eq!(d.reason, "scaling up because the count 1 is outside [2, 5]");
}

#[test]
fn threshold_actions() {
    let s = |action| Strategy::Threshold {
        lower: Some(70.0),
        upper: Some(100.0),
        action,
    };
    let p = Policy {
        checks: vec![check("t", s(ThresholdAction::Percentage(50.0)))],
        ..tv_policy(1.0, 0)
    };
    let d = decide(
        &p,
        0,
        100,
        4,
        &[CheckInput {
            check: &p.checks[0],
            value: Ok(70.0),
        }],
        None,
        0,
    );
    assert_eq!(d.count, Some(6));
    let d = decide(
        &p,
        0,
        100,
        4,
        &[CheckInput {
            check: &p.checks[0],
            value: Ok(100.0),
        }],
        None,
        0,
    );
    assert_eq!(d.count, None, "upper bound is exclusive");
}

proptest! {
    #[test]
    fn result_within_bounds(min in 0i64..20, span in 0i64..20, current in 0i64..50,
                            metrics in proptest::collection::vec(0.0f64..1e4, 1..4),
                            target in 0.1f64..1000.0) {
        let max = min + span;
        let mut p = tv_policy(target, 0);
        p.checks.push(check("pass", Strategy::PassThrough));
        p.checks.push(check("fixed", Strategy::FixedValue(7)));
        let inputs: Vec<CheckInput> = p.checks.iter().zip(metrics.iter().cycle())
            .map(|(c, m)| CheckInput { check: c, value: Ok(*m) }).collect();
        let d = decide(&p, min, max, current, &inputs, None, 0);
        if let Some(n) = d.count {
            prop_assert!(n >= min && n <= max, "{n} outside [{min}, {max}]");
            prop_assert_ne!(n, current);
        } else {
            prop_assert!(current >= min && current <= max || d.error.is_some());
        }
    }

    #[test]
    fn no_action_in_cooldown(last in 0i64..1_000_000, cooldown in 1i64..1_000_000,
                             into in 0i64..1_000_000, metric in 0.0f64..1e4) {
        let into = into % cooldown;
        let p = tv_policy(1.0, cooldown);
        let d = decide(&p, 0, 100, 5, &[CheckInput { check: &p.checks[0], value: Ok(metric) }],
                       Some(last), last + into);
        prop_assert_eq!(d.count, None);
    }

    #[test]
    fn target_value_monotone(current in 1i64..50, a in 0.0f64..1e4, b in 0.0f64..1e4,
                             target in 0.1f64..1000.0) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let p = tv_policy(target, 0);
        let run = |m: f64| decide(&p, 0, 1000, current,
            &[CheckInput { check: &p.checks[0], value: Ok(m) }], None, 0).count.unwrap_or(current);
        prop_assert!(run(lo) <= run(hi), "count({lo}) > count({hi})");
    }
}
