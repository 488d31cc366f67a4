//! The typed autoscaler policy: the group `scaling { policy { ... } }` block, which the
//! job model keeps free-form (as Nomad does), parsed and checked here so the jobspec
//! validator and the leader's autoscaler read it the same way.
//!
//! Both shapes of the policy are accepted: the HCL decoder's (`check` is a list of
//! single-key maps `{"name": [{...}]}`, as Nomad's `jobspec2` produces and `nomad job
//! inspect` prints) and a plain JSON object (`"check": {"name": {...}}`).

use std::collections::BTreeMap;

use serde_json::Value;

/// `evaluation_interval` when the policy has none (the nomad-autoscaler's default).
pub const DEFAULT_EVALUATION_INTERVAL_NS: i64 = 10_000_000_000;
/// `cooldown` when the policy has none (the nomad-autoscaler's default).
pub const DEFAULT_COOLDOWN_NS: i64 = 300_000_000_000;
/// `threshold` of `target-value` when absent: a 1% dead band around the target.
pub const DEFAULT_TARGET_THRESHOLD: f64 = 0.01;

/// What to do when a check's query fails (`on_check_error` / a check's `on_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Any failing check stops the whole evaluation: no action (the default).
    Fail,
    /// Failing checks are left out; the others still decide.
    Ignore,
}

/// Where a check's metric comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Built in: the group's allocations' real usage from the clients' stats
    /// (`nomad-apm`, also accepted as `nomad`).
    Nomad,
    /// A Prometheus server's HTTP query API (address from the agent's `autoscaler` block).
    Prometheus,
}

/// How the new count of a group follows from a check's metric.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// Keep the metric at `target`: `new = ceil(current * metric / target)`, unless
    /// `|metric / target - 1| <= threshold`.
    TargetValue {
        /// The metric value to hold.
        target: f64,
        /// Dead band on the relative error.
        threshold: f64,
    },
    /// Act when the metric is within `[lower, upper)`.
    Threshold {
        /// Inclusive lower bound (unbounded when absent).
        lower: Option<f64>,
        /// Exclusive upper bound (unbounded when absent).
        upper: Option<f64>,
        /// What to do when in bounds.
        action: ThresholdAction,
    },
    /// Always this count.
    FixedValue(i64),
    /// The metric is the count.
    PassThrough,
}

/// The action of the `threshold` strategy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdAction {
    /// Add (or remove, when negative) this many.
    Delta(i64),
    /// Change the count by this percentage of itself.
    Percentage(f64),
    /// Set the count to this.
    Value(i64),
}

/// One `check "name" { ... }` of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The check's label.
    pub name: String,
    /// Metric source.
    pub source: Source,
    /// The query, in the source's language.
    pub query: String,
    /// Prometheus range to read (nanoseconds); `None` for an instant query.
    pub query_window_ns: Option<i64>,
    /// How the count follows the metric.
    pub strategy: Strategy,
    /// Overrides the policy's `on_check_error` for this check.
    pub on_error: Option<OnError>,
}

/// A group's autoscaler policy, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Quiet time after every scaling action (nanoseconds).
    pub cooldown_ns: i64,
    /// How often the policy is evaluated (nanoseconds).
    pub evaluation_interval_ns: i64,
    /// What a failing check does to the evaluation.
    pub on_check_error: OnError,
    /// The checks, in label order.
    pub checks: Vec<Check>,
}

/// One problem in a policy: the path below `Policy` and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// Path below the policy, e.g. `check[cpu].strategy[target-value].target`.
    pub path: String,
    /// What is wrong, with the fix.
    pub message: String,
}

type Errs = Vec<PolicyError>;

fn err(errs: &mut Errs, path: impl Into<String>, message: impl Into<String>) {
    errs.push(PolicyError {
        path: path.into(),
        message: message.into(),
    });
}

/// Parses a group's free-form `Policy`. An empty policy is `Ok(None)`: the group only
/// declares bounds (for `job scale`) and the autoscaler leaves it alone.
pub fn parse_policy(raw: &BTreeMap<String, Value>) -> Result<Option<Policy>, Vec<PolicyError>> {
    if raw.is_empty() {
        return Ok(None);
    }
    let mut errs = Errs::new();
    let mut policy = Policy {
        cooldown_ns: DEFAULT_COOLDOWN_NS,
        evaluation_interval_ns: DEFAULT_EVALUATION_INTERVAL_NS,
        on_check_error: OnError::Fail,
        checks: Vec::new(),
    };
    for (key, value) in raw {
        match key.as_str() {
            "cooldown" => {
                if let Some(d) = duration(&mut errs, key, value) {
                    policy.cooldown_ns = d;
                }
            }
            "evaluation_interval" => match duration(&mut errs, key, value) {
                Some(d) if d <= 0 => err(
                    &mut errs,
                    key,
                    "evaluation_interval must be positive, e.g. \"10s\"",
                ),
                Some(d) => policy.evaluation_interval_ns = d,
                None => {}
            },
            "on_check_error" => {
                if let Some(o) = on_error(&mut errs, key, value) {
                    policy.on_check_error = o;
                }
            }
            "check" => {
                for (name, body) in labeled(&mut errs, key, value) {
                    if let Some(c) = check(&mut errs, &format!("check[{name}]"), &name, body) {
                        policy.checks.push(c);
                    }
                }
            }
            "target" => err(
                &mut errs,
                key,
                "a policy \"target\" block (cluster scaling) is not supported by orch: group policies always scale their own group",
            ),
            other => err(
                &mut errs,
                other,
                format!(
                    "unknown policy setting {other:?}: use cooldown, evaluation_interval, on_check_error or check"
                ),
            ),
        }
    }
    if policy.checks.is_empty() && errs.is_empty() {
        err(
            &mut errs,
            "check",
            "the policy has no check: add a check \"name\" { source, query, strategy ... } block, or remove the policy block",
        );
    }
    policy.checks.sort_by(|a, b| a.name.cmp(&b.name));
    if errs.is_empty() {
        Ok(Some(policy))
    } else {
        Err(errs)
    }
}

/// The labeled blocks under `value`: `[{"a": [{..}]}, {"b": [{..}]}]` or `{"a": {..}}`.
fn labeled<'a>(errs: &mut Errs, path: &str, value: &'a Value) -> Vec<(String, &'a Value)> {
    let mut out = Vec::new();
    let mut take = |m: &'a serde_json::Map<String, Value>| {
        for (k, v) in m {
            out.push((k.clone(), v));
        }
    };
    match value {
        Value::Object(m) => take(m),
        Value::Array(list) => {
            for item in list {
                match item {
                    Value::Object(m) => take(m),
                    _ => err(
                        errs,
                        path,
                        format!("{path} must be labeled blocks: {path} \"name\" {{ ... }}"),
                    ),
                }
            }
        }
        _ => err(
            errs,
            path,
            format!("{path} must be labeled blocks: {path} \"name\" {{ ... }}"),
        ),
    }
    out
}

/// A block body: an object, or the HCL decoder's one-element list of objects.
fn body<'a>(
    errs: &mut Errs,
    path: &str,
    value: &'a Value,
) -> Option<&'a serde_json::Map<String, Value>> {
    match value {
        Value::Object(m) => Some(m),
        Value::Array(list) if list.len() == 1 => body(errs, path, &list[0]),
        Value::Array(list) if list.len() > 1 => {
            err(errs, path, "defined more than once; keep one block");
            None
        }
        _ => {
            err(errs, path, "must be a block { ... }");
            None
        }
    }
}

fn check(errs: &mut Errs, path: &str, name: &str, value: &Value) -> Option<Check> {
    let m = body(errs, path, value)?;
    let before = errs.len();
    let mut source = Some(Source::Nomad);
    let mut query = None;
    let mut window = None;
    let mut strat = None;
    let mut on_err = None;
    for (key, v) in m {
        let p = format!("{path}.{key}");
        match key.as_str() {
            "source" => match v.as_str() {
                Some("nomad-apm" | "nomad") => source = Some(Source::Nomad),
                Some("prometheus") => source = Some(Source::Prometheus),
                Some(other) => {
                    source = None;
                    err(
                        errs,
                        p,
                        format!(
                            "unknown metric source {other:?}: orch supports \"nomad-apm\" (alias \"nomad\") and \"prometheus\""
                        ),
                    );
                }
                None => {
                    source = None;
                    err(errs, p, "source must be a string");
                }
            },
            "query" => match v.as_str() {
                Some(q) if !q.trim().is_empty() => query = Some(q.to_string()),
                _ => err(errs, p, "query must be a non-empty string"),
            },
            "query_window" => match duration(errs, &p, v) {
                Some(d) if d > 0 => window = Some(d),
                Some(_) => err(errs, p, "query_window must be positive, e.g. \"1m\""),
                None => {}
            },
            "on_error" => on_err = on_error(errs, &p, v),
            "strategy" => {
                let list = labeled(errs, &p, v);
                if list.len() != 1 {
                    err(
                        errs,
                        &p,
                        "a check needs exactly one strategy \"name\" { ... } block",
                    );
                }
                if let Some((sname, sbody)) = list.into_iter().next() {
                    strat = strategy(errs, &format!("{p}[{sname}]"), &sname, sbody);
                }
            }
            "group" | "query_window_offset" => err(
                errs,
                p,
                format!("check setting {key:?} is not supported by orch; remove it"),
            ),
            other => err(
                errs,
                p,
                format!(
                    "unknown check setting {other:?}: use source, query, query_window, on_error or strategy"
                ),
            ),
        }
    }
    if query.is_none() && !m.contains_key("query") {
        err(
            errs,
            format!("{path}.query"),
            "missing query: say what to measure, e.g. query = \"avg_cpu-allocated\"",
        );
    }
    if strat.is_none() && !m.contains_key("strategy") {
        err(
            errs,
            format!("{path}.strategy"),
            "missing strategy: add strategy \"target-value\" { target = ... } (or threshold, fixed-value, pass-through)",
        );
    }
    if let (Some(Source::Nomad), Some(q)) = (source, &query)
        && let Err(e) = super::NomadQuery::parse(q)
    {
        err(errs, format!("{path}.query"), e);
    }
    if source == Some(Source::Nomad) && window.is_some() {
        err(
            errs,
            format!("{path}.query_window"),
            "the nomad-apm source reads instant values and cannot use query_window; remove it or use prometheus",
        );
    }
    if errs.len() != before {
        return None;
    }
    Some(Check {
        name: name.to_string(),
        source: source?,
        query: query?,
        query_window_ns: window,
        strategy: strat?,
        on_error: on_err,
    })
}

fn strategy(errs: &mut Errs, path: &str, name: &str, value: &Value) -> Option<Strategy> {
    let m = body(errs, path, value)?;
    let allowed: &[&str] = match name {
        "target-value" => &["target", "threshold"],
        "threshold" => &[
            "upper_bound",
            "lower_bound",
            "delta",
            "percentage",
            "value",
            "within_bounds_trigger",
        ],
        "fixed-value" => &["value"],
        "pass-through" => &[],
        other => {
            err(
                errs,
                path,
                format!(
                    "unknown strategy {other:?}: orch supports target-value, threshold, fixed-value and pass-through"
                ),
            );
            return None;
        }
    };
    let before = errs.len();
    for key in m.keys().filter(|k| !allowed.contains(&k.as_str())) {
        err(
            errs,
            format!("{path}.{key}"),
            format!(
                "unknown {name} setting {key:?}; allowed: {}",
                allowed.join(", ")
            ),
        );
    }
    let num = |errs: &mut Errs, key: &str| -> Option<f64> {
        let v = m.get(key)?;
        match number(v) {
            Some(n) if n.is_finite() => Some(n),
            _ => {
                err(
                    errs,
                    format!("{path}.{key}"),
                    format!("{key} must be a number"),
                );
                None
            }
        }
    };
    let int = |errs: &mut Errs, key: &str| -> Option<i64> {
        let n = num(errs, key)?;
        if n.fract() != 0.0 || n.abs() > 1e15 {
            err(
                errs,
                format!("{path}.{key}"),
                format!("{key} must be a whole number"),
            );
            return None;
        }
        Some(n as i64)
    };
    let s = match name {
        "target-value" => {
            let target = num(errs, "target");
            if target.is_none() && !m.contains_key("target") {
                err(
                    errs,
                    format!("{path}.target"),
                    "missing target: the metric value to hold, e.g. target = 50",
                );
            }
            if target.is_some_and(|t| t <= 0.0) {
                err(
                    errs,
                    format!("{path}.target"),
                    "target must be greater than 0",
                );
            }
            let threshold = num(errs, "threshold").unwrap_or(DEFAULT_TARGET_THRESHOLD);
            if threshold < 0.0 {
                err(
                    errs,
                    format!("{path}.threshold"),
                    "threshold must not be negative",
                );
            }
            Strategy::TargetValue {
                target: target.unwrap_or(1.0),
                threshold,
            }
        }
        "threshold" => {
            let lower = num(errs, "lower_bound");
            let upper = num(errs, "upper_bound");
            if lower.is_none()
                && upper.is_none()
                && !m.contains_key("lower_bound")
                && !m.contains_key("upper_bound")
            {
                err(
                    errs,
                    path,
                    "threshold needs lower_bound, upper_bound or both",
                );
            }
            if let (Some(l), Some(u)) = (lower, upper)
                && l >= u
            {
                err(
                    errs,
                    format!("{path}.lower_bound"),
                    "lower_bound must be less than upper_bound",
                );
            }
            let actions: Vec<&str> = ["delta", "percentage", "value"]
                .into_iter()
                .filter(|k| m.contains_key(*k))
                .collect();
            if actions.len() != 1 {
                err(
                    errs,
                    path,
                    "threshold needs exactly one of delta, percentage or value",
                );
            }
            let action = match actions.first().copied() {
                Some("delta") => int(errs, "delta").map(ThresholdAction::Delta),
                Some("percentage") => num(errs, "percentage").map(ThresholdAction::Percentage),
                Some("value") => match int(errs, "value") {
                    Some(v) if v < 0 => {
                        err(errs, format!("{path}.value"), "value must not be negative");
                        None
                    }
                    v => v.map(ThresholdAction::Value),
                },
                _ => None,
            };
            if let Some(t) = int(errs, "within_bounds_trigger")
                && t != 1
            {
                err(
                    errs,
                    format!("{path}.within_bounds_trigger"),
                    "orch's sources return one data point per evaluation, so within_bounds_trigger can only be 1; remove it",
                );
            }
            Strategy::Threshold {
                lower,
                upper,
                action: action.unwrap_or(ThresholdAction::Delta(0)),
            }
        }
        "fixed-value" => match int(errs, "value") {
            Some(v) if v >= 0 => Strategy::FixedValue(v),
            Some(_) => {
                err(errs, format!("{path}.value"), "value must not be negative");
                return None;
            }
            None => {
                if !m.contains_key("value") {
                    err(
                        errs,
                        format!("{path}.value"),
                        "missing value: the count to hold, e.g. value = 3",
                    );
                }
                return None;
            }
        },
        _ => Strategy::PassThrough,
    };
    (errs.len() == before).then_some(s)
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn duration(errs: &mut Errs, path: &str, v: &Value) -> Option<i64> {
    let parsed = match v {
        Value::String(s) => crate::duration::parse_go_duration(s).map_err(|e| e.to_string()),
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| "not a whole number of nanoseconds".to_string()),
        _ => Err("not a string".to_string()),
    };
    match parsed {
        Ok(d) if d >= 0 => Some(d),
        Ok(_) => {
            err(errs, path, "duration must not be negative");
            None
        }
        Err(e) => {
            err(
                errs,
                path,
                format!("invalid duration ({e}): write it like \"30s\" or \"5m\""),
            );
            None
        }
    }
}

fn on_error(errs: &mut Errs, path: &str, v: &Value) -> Option<OnError> {
    match v.as_str() {
        Some("fail") => Some(OnError::Fail),
        Some("ignore") => Some(OnError::Ignore),
        _ => {
            err(errs, path, "must be \"fail\" or \"ignore\"");
            None
        }
    }
}
