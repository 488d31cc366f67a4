//! The strategies' arithmetic and how a policy's checks combine into one decision.
//!
//! Combination follows the nomad-autoscaler's "safest action" rule: a scale-out beats
//! everything (the largest one wins), then "hold" (a check that sees no reason to move
//! blocks a scale-in by another), then scale-in (the largest resulting count, i.e. the
//! smallest reduction). The result is clamped to the group's `[min, max]`.

use super::policy::{Check, OnError, Policy, Strategy, ThresholdAction};

/// Tolerance for float noise before rounding up (`2.0000000001` is 2, not 3).
const EPSILON: f64 = 1e-9;

/// Which way a check (or the decision) moves the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    /// Fewer allocations.
    Down,
    /// No change.
    None,
    /// More allocations.
    Up,
}

impl Direction {
    /// `up`, `down` or `none`, as the autoscaler's messages say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Down => "down",
            Direction::None => "none",
            Direction::Up => "up",
        }
    }
}

/// One check and what its source returned: the metric, or why there is none.
#[derive(Debug, Clone, Copy)]
pub struct CheckInput<'a> {
    /// The check.
    pub check: &'a Check,
    /// The metric, or the source's error (including "no data").
    pub value: Result<f64, &'a str>,
}

/// What one check concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    /// Check label.
    pub name: String,
    /// The metric it read, when it read one.
    pub metric: Option<f64>,
    /// Direction it asks for.
    pub direction: Direction,
    /// The count it asks for (before clamping).
    pub count: i64,
    /// Why, in the autoscaler's words (`scaling up because factor is 1.500000`).
    pub reason: String,
    /// The source's error, when the check could not run.
    pub error: Option<String>,
}

/// The outcome of evaluating a policy once.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The new count when the group must be scaled; `None` means leave it.
    pub count: Option<i64>,
    /// Why (the winning check's reason, or why nothing happens).
    pub reason: String,
    /// Set when checks failed and `on_check_error` stopped the evaluation, or no check
    /// could run: the policy's status shows it.
    pub error: Option<String>,
    /// Each check's view, for the policy status.
    pub checks: Vec<CheckOutcome>,
}

/// True while `now` is within `cooldown_ns` after the last scaling action.
pub fn in_cooldown(last_action_ns: Option<i64>, cooldown_ns: i64, now_ns: i64) -> bool {
    last_action_ns.is_some_and(|t| now_ns < t.saturating_add(cooldown_ns))
}

fn ceil_count(x: f64) -> i64 {
    if x.is_nan() || x <= 0.0 {
        return 0;
    }
    let c = (x - EPSILON).ceil();
    if c >= i64::MAX as f64 {
        i64::MAX
    } else {
        c.max(0.0) as i64
    }
}

/// The count one strategy asks for, with its reason; `None` when the metric gives no
/// reason to move.
fn strategy_count(s: &Strategy, current: i64, metric: f64) -> (i64, String) {
    match *s {
        Strategy::TargetValue { target, threshold } => {
            let factor = metric / target;
            if (factor - 1.0).abs() <= threshold || !factor.is_finite() {
                return (
                    current,
                    format!("factor {factor:.6} is within the threshold {threshold}"),
                );
            }
            let new = if current == 0 {
                ceil_count(factor)
            } else {
                ceil_count(current as f64 * factor)
            };
            let dir = direction(current, new);
            (
                new,
                format!("scaling {} because factor is {factor:.6}", dir.as_str()),
            )
        }
        Strategy::Threshold {
            lower,
            upper,
            action,
        } => {
            let within = lower.is_none_or(|l| metric >= l) && upper.is_none_or(|u| metric < u);
            if !within {
                return (current, format!("metric {metric} is out of bounds"));
            }
            let new = match action {
                ThresholdAction::Delta(d) => current.saturating_add(d),
                ThresholdAction::Percentage(p) => {
                    let change = current as f64 * p / 100.0;
                    let change = if change >= 0.0 {
                        change.ceil()
                    } else {
                        change.floor()
                    };
                    current.saturating_add(change as i64)
                }
                ThresholdAction::Value(v) => v,
            }
            .max(0);
            let dir = direction(current, new);
            (
                new,
                format!(
                    "scaling {} because metric {metric} is within bounds",
                    dir.as_str()
                ),
            )
        }
        Strategy::FixedValue(v) => {
            let dir = direction(current, v);
            (
                v,
                format!("scaling {} because fixed value is {v}", dir.as_str()),
            )
        }
        Strategy::PassThrough => {
            let new = ceil_count(metric);
            let dir = direction(current, new);
            (
                new,
                format!("scaling {} because metric is {metric}", dir.as_str()),
            )
        }
    }
}

fn direction(current: i64, new: i64) -> Direction {
    match new.cmp(&current) {
        std::cmp::Ordering::Greater => Direction::Up,
        std::cmp::Ordering::Less => Direction::Down,
        std::cmp::Ordering::Equal => Direction::None,
    }
}

/// Evaluates a policy once: every check's strategy on its metric, combined safely,
/// clamped to `[min, max]`; nothing while in cooldown (`last_action_ns` is the time of the
/// group's last scaling action). Pure: the same inputs always give the same decision.
pub fn decide(
    policy: &Policy,
    min: i64,
    max: i64,
    current: i64,
    inputs: &[CheckInput<'_>],
    last_action_ns: Option<i64>,
    now_ns: i64,
) -> Decision {
    let (min, max) = (min.max(0), max.max(min.max(0)));
    if in_cooldown(last_action_ns, policy.cooldown_ns, now_ns) {
        return Decision {
            count: None,
            reason: "in cooldown after the last scaling action".into(),
            error: None,
            checks: Vec::new(),
        };
    }
    let mut checks = Vec::new();
    let mut failed = Vec::new();
    let mut stop = false;
    for input in inputs {
        match input.value {
            Ok(metric) => {
                let (count, reason) = strategy_count(&input.check.strategy, current, metric);
                checks.push(CheckOutcome {
                    name: input.check.name.clone(),
                    metric: Some(metric),
                    direction: direction(current, count),
                    count,
                    reason,
                    error: None,
                });
            }
            Err(e) => {
                let mode = input.check.on_error.unwrap_or(policy.on_check_error);
                stop |= mode == OnError::Fail;
                failed.push(format!("check {:?}: {e}", input.check.name));
                checks.push(CheckOutcome {
                    name: input.check.name.clone(),
                    metric: None,
                    direction: Direction::None,
                    count: current,
                    reason: "no metric".into(),
                    error: Some(e.to_string()),
                });
            }
        }
    }
    let error = (!failed.is_empty()).then(|| failed.join("; "));
    let usable: Vec<&CheckOutcome> = checks.iter().filter(|c| c.error.is_none()).collect();
    if stop || usable.is_empty() {
        let reason = if stop {
            "a check failed and on_check_error is \"fail\": no action".to_string()
        } else {
            "no check returned a metric: no action".to_string()
        };
        return Decision {
            count: None,
            reason,
            error: error.or(Some("no checks".into())),
            checks,
        };
    }
    // Safest: up (largest) > none > down (largest count = least reduction).
    let winner = usable
        .iter()
        .max_by(|a, b| a.direction.cmp(&b.direction).then(a.count.cmp(&b.count)))
        .copied();
    let Some(w) = winner else {
        return Decision {
            count: None,
            reason: "no checks".into(),
            error,
            checks,
        };
    };
    let target = if w.direction == Direction::None {
        current
    } else {
        w.count
    };
    let clamped = target.clamp(min, max);
    if clamped == current {
        let reason = if target != clamped {
            format!("{}; already at the policy's bound {clamped}", w.reason)
        } else {
            w.reason.clone()
        };
        return Decision {
            count: None,
            reason,
            error,
            checks,
        };
    }
    // The bounds may even reverse the check's direction (a count below `min`).
    let mut reason = if w.direction != direction(current, clamped) {
        format!(
            "scaling {} because the count {current} is outside [{min}, {max}]",
            direction(current, clamped).as_str()
        )
    } else {
        w.reason.clone()
    };
    if clamped != target && w.direction == direction(current, clamped) {
        reason.push_str(&format!(" (capped to {clamped} by the policy's bounds)"));
    }
    Decision {
        count: Some(clamped),
        reason,
        error,
        checks,
    }
}
