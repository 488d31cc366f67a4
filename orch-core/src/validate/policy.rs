//! Validation of the small policy blocks shared by jobs, groups and tasks: placement
//! rules and the restart, reschedule, update, migrate, periodic and dispatch policies.

use crate::duration::format_go_duration;
use std::collections::BTreeSet;

use super::{Errors, join};
use crate::model::wire::SECOND;
use crate::model::{
    Affinity, CONSTRAINT_OPERANDS, Constraint, MigrateStrategy, ParameterizedJobConfig,
    PeriodicConfig, ReschedulePolicy, RestartPolicy, Spread, UpdateStrategy,
};

/// Checks a list of constraints at `prefix.Constraints[i]`.
pub(crate) fn constraints(e: &mut Errors, prefix: &str, list: &[Constraint], task_level: bool) {
    for (i, c) in list.iter().enumerate() {
        let path = join(prefix, &format!("Constraints[{i}]"));
        if task_level && (c.operand == "distinct_hosts" || c.operand == "distinct_property") {
            e.at(
                &path,
                "Operand",
                format!(
                    "Constraint {} has disallowed Operand at task level: {}",
                    i + 1,
                    c.operand
                ),
            );
            continue;
        }
        if let Err(msg) = check_rule(&c.operand, &c.ltarget, &c.rtarget, true) {
            e.add(
                path,
                format!("Constraint {} validation failed: {msg}", i + 1),
            );
        }
    }
}

/// Checks one `LTarget Operand RTarget` rule; `distinct` allows the distinct_* operands.
fn check_rule(op: &str, ltarget: &str, rtarget: &str, distinct: bool) -> Result<(), String> {
    if op.is_empty() {
        return Err("Missing constraint operand".into());
    }
    if !CONSTRAINT_OPERANDS.contains(&op) || (!distinct && op.starts_with("distinct_")) {
        return Err(format!("Unknown constraint type {op:?}"));
    }
    if op != "distinct_hosts" && ltarget.is_empty() {
        return Err("No LTarget provided but is required by constraint".into());
    }
    match op {
        "set_contains" | "set_contains_all" | "set_contains_any" if rtarget.is_empty() => {
            Err("Set contains constraint requires an RTarget".into())
        }
        "regexp" => regex::Regex::new(rtarget)
            .map(|_| ())
            .map_err(|err| format!("Regular expression failed to compile: {err}")),
        "version" | "semver" if rtarget.trim().is_empty() => Err(format!(
            "{} constraint is invalid: empty constraint",
            if op == "version" { "Version" } else { "Semver" }
        )),
        "distinct_property" if !rtarget.is_empty() => match rtarget.parse::<u64>() {
            Err(err) => Err(format!(
                "Failed to convert RTarget {rtarget:?} to uint64: {err}"
            )),
            Ok(0) => {
                Err("Distinct Property must have an allowed count of 1 or greater: 0 < 1".into())
            }
            Ok(_) => Ok(()),
        },
        "is_set" | "is_not_set" if !rtarget.is_empty() => {
            Err(format!("Operator {op:?} does not support an RTarget"))
        }
        "=" | "==" | "is" | "!=" | "not" | "<" | "<=" | ">" | ">=" if rtarget.is_empty() => {
            Err(format!("Operator {op:?} requires an RTarget"))
        }
        _ => Ok(()),
    }
}

/// Checks affinities; system jobs may not have any.
pub(crate) fn affinities(e: &mut Errors, prefix: &str, list: &[Affinity], system: bool) {
    if system && !list.is_empty() {
        e.at(
            prefix,
            "Affinities",
            "System jobs may not have an affinity block",
        );
        return;
    }
    for (i, a) in list.iter().enumerate() {
        let path = join(prefix, &format!("Affinities[{i}]"));
        let result = if a.weight == 0 {
            Err("Affinity weight cannot be zero".to_string())
        } else if !(-100..=100).contains(&a.weight) {
            Err("Affinity weight must be within the range [-100,100]".to_string())
        } else if matches!(a.operand.as_str(), "is_set" | "is_not_set") {
            Err(format!("Unknown affinity operator {:?}", a.operand))
        } else {
            check_rule(&a.operand, &a.ltarget, &a.rtarget, false)
        };
        if let Err(msg) = result {
            e.add(path, format!("Affinity {} validation failed: {msg}", i + 1));
        }
    }
}

/// Checks spreads; system jobs may not have any.
pub(crate) fn spreads(e: &mut Errors, prefix: &str, list: &[Spread], system: bool) {
    if system && !list.is_empty() {
        e.at(prefix, "Spreads", "System jobs may not have a spread block");
        return;
    }
    for (i, s) in list.iter().enumerate() {
        let path = join(prefix, &format!("Spreads[{i}]"));
        if s.attribute.is_empty() {
            e.at(&path, "Attribute", "Missing spread attribute");
        }
        if s.weight <= 0 || s.weight > 100 {
            e.at(
                &path,
                "Weight",
                "Spread block must have a positive weight from 0 to 100",
            );
        }
        let mut seen = BTreeSet::new();
        let mut sum = 0u32;
        for (j, t) in s.targets.iter().enumerate() {
            let tpath = join(&path, &format!("SpreadTarget[{j}]"));
            if !seen.insert(t.value.as_str()) {
                e.at(
                    &tpath,
                    "Value",
                    format!("Spread target value {:?} already defined", t.value),
                );
            }
            if t.percent > 100 {
                e.at(
                    &tpath,
                    "Percent",
                    format!(
                        "Spread target percentage for value {:?} must be between 0 and 100",
                        t.value
                    ),
                );
            }
            sum += u32::from(t.percent);
        }
        if sum > 100 {
            e.at(
                &path,
                "SpreadTarget",
                format!(
                    "Sum of spread target percentages must not be greater than 100%; got {sum}%"
                ),
            );
        }
    }
}

/// Checks a restart policy.
pub(crate) fn restart(e: &mut Errors, path: &str, r: &RestartPolicy, group: &str) {
    if r.mode != "delay" && r.mode != "fail" {
        e.at(
            path,
            "Mode",
            format!(
                "Unsupported restart mode: {:?}; expected \"delay\" or \"fail\"",
                r.mode
            ),
        );
    }
    if r.attempts == 0 && r.mode != "fail" {
        e.at(
            path,
            "Attempts",
            format!("Restart policy {:?} with 0 attempts is ambiguous", r.mode),
        );
    }
    if r.interval < 5 * SECOND {
        e.at(
            path,
            "Interval",
            format!(
                "Interval can not be less than 5s (got {})",
                format_go_duration(r.interval)
            ),
        );
    }
    if r.delay < 0 {
        e.at(path, "Delay", "Delay must not be negative");
    } else if i128::from(r.attempts) * i128::from(r.delay) > i128::from(r.interval) {
        e.add(
            path,
            format!(
                "Nomad can't restart the TaskGroup {group} {} times in an interval of {} with a delay of {}",
                r.attempts,
                format_go_duration(r.interval),
                format_go_duration(r.delay)
            ),
        );
    }
}

/// Checks a reschedule policy (only policies that can reschedule at all).
pub(crate) fn reschedule(e: &mut Errors, path: &str, r: &ReschedulePolicy) {
    if r.attempts == 0 && !r.unlimited {
        return;
    }
    if r.attempts > 0 && r.interval <= 0 {
        e.at(
            path,
            "Interval",
            "Interval must be a non zero value if Attempts > 0",
        );
    }
    if r.attempts > 0 && r.unlimited {
        e.add(path, format!(
            "Reschedule Policy with Attempts = {}, Interval = {}, and Unlimited = true is ambiguous; if Attempts > 0, Unlimited cannot also be set to true",
            r.attempts, format_go_duration(r.interval)
        ));
    }
    if r.delay < 5 * SECOND {
        e.at(
            path,
            "Delay",
            format!(
                "Delay cannot be less than 5s (got {})",
                format_go_duration(r.delay)
            ),
        );
    }
    let functions = ["constant", "exponential", "fibonacci"];
    if !functions.contains(&r.delay_function.as_str()) {
        e.at(
            path,
            "DelayFunction",
            format!(
                "Invalid delay function {:?}, must be one of {functions:?}",
                r.delay_function
            ),
        );
    } else if r.delay_function != "constant" {
        if r.max_delay < 5 * SECOND {
            e.at(
                path,
                "MaxDelay",
                format!(
                    "Max Delay cannot be less than 5s (got {})",
                    format_go_duration(r.max_delay)
                ),
            );
        } else if r.max_delay < r.delay {
            e.at(
                path,
                "MaxDelay",
                format!(
                    "Max Delay cannot be less than Delay {} (got {})",
                    format_go_duration(r.delay),
                    format_go_duration(r.max_delay)
                ),
            );
        }
    }
    if !r.unlimited && r.interval < 15 * SECOND {
        e.at(
            path,
            "Interval",
            format!(
                "Interval cannot be less than 15s (got {})",
                format_go_duration(r.interval)
            ),
        );
    } else if !r.unlimited && r.delay > 0 && functions.contains(&r.delay_function.as_str()) {
        let needed = reschedule_time_needed(r);
        if needed > i128::from(r.interval) {
            e.at(path, "Interval", format!(
                "Nomad can only make {} attempts in {} with initial delay {} and delay function {:?}; set the interval to at least {}",
                r.attempts, format_go_duration(r.interval), format_go_duration(r.delay), r.delay_function,
                format_go_duration(i64::try_from(needed).unwrap_or(i64::MAX))
            ));
        }
    }
}

/// Sum of the delays of `attempts` reschedules under the policy's delay function.
fn reschedule_time_needed(r: &ReschedulePolicy) -> i128 {
    let cap = if r.delay_function == "constant" {
        i128::MAX
    } else {
        i128::from(r.max_delay)
    };
    let (mut total, mut prev, mut cur) = (0i128, 0i128, i128::from(r.delay));
    for _ in 0..r.attempts.min(1_000) {
        total += cur.min(cap);
        let next = match r.delay_function.as_str() {
            "exponential" => cur.saturating_mul(2),
            "fibonacci" => {
                if prev == 0 {
                    cur
                } else {
                    cur.saturating_add(prev)
                }
            }
            _ => cur,
        };
        prev = cur;
        cur = next.min(cap);
    }
    total
}

/// Checks an update strategy.
pub(crate) fn update(e: &mut Errors, path: &str, u: &UpdateStrategy) {
    if !["checks", "task_states", "manual"].contains(&u.health_check.as_str()) {
        e.at(
            path,
            "HealthCheck",
            format!(
                "Invalid health check given: {:?}; expected checks, task_states or manual",
                u.health_check
            ),
        );
    }
    if u.canary == 0 && u.auto_promote {
        e.at(
            path,
            "AutoPromote",
            "Auto Promote requires a Canary count greater than zero",
        );
    }
    if u.min_healthy_time < 0 {
        e.at(
            path,
            "MinHealthyTime",
            format!(
                "Minimum healthy time may not be less than zero: {}",
                format_go_duration(u.min_healthy_time)
            ),
        );
    }
    if u.healthy_deadline <= 0 {
        e.at(
            path,
            "HealthyDeadline",
            format!(
                "Healthy deadline must be greater than zero: {}",
                format_go_duration(u.healthy_deadline)
            ),
        );
    }
    if u.progress_deadline < 0 {
        e.at(
            path,
            "ProgressDeadline",
            format!(
                "Progress deadline must be zero or greater: {}",
                format_go_duration(u.progress_deadline)
            ),
        );
    }
    if u.min_healthy_time >= u.healthy_deadline {
        e.at(
            path,
            "MinHealthyTime",
            format!(
                "Minimum healthy time must be less than healthy deadline: {} > {}",
                format_go_duration(u.min_healthy_time),
                format_go_duration(u.healthy_deadline)
            ),
        );
    }
    if u.progress_deadline != 0 && u.healthy_deadline >= u.progress_deadline {
        e.at(
            path,
            "HealthyDeadline",
            format!(
                "Healthy deadline must be less than progress deadline: {} > {}",
                format_go_duration(u.healthy_deadline),
                format_go_duration(u.progress_deadline)
            ),
        );
    }
    if u.stagger <= 0 {
        e.at(
            path,
            "Stagger",
            format!(
                "Stagger must be greater than zero: {}",
                format_go_duration(u.stagger)
            ),
        );
    }
}

/// Checks a migrate strategy.
pub(crate) fn migrate(e: &mut Errors, path: &str, m: &MigrateStrategy) {
    if m.health_check.is_empty() {
        if m.max_parallel > 0 {
            e.at(path, "HealthCheck", "Missing HealthCheck");
        }
    } else if !["checks", "task_states"].contains(&m.health_check.as_str()) {
        e.at(
            path,
            "HealthCheck",
            format!(
                "Invalid HealthCheck: {:?}; expected checks or task_states",
                m.health_check
            ),
        );
    }
    if m.min_healthy_time < 0 {
        e.at(
            path,
            "MinHealthyTime",
            format!(
                "MinHealthyTime is {} and must be >= 0",
                format_go_duration(m.min_healthy_time)
            ),
        );
    }
    if m.healthy_deadline < 0 {
        e.at(
            path,
            "HealthyDeadline",
            format!(
                "HealthyDeadline is {} and must be >= 0",
                format_go_duration(m.healthy_deadline)
            ),
        );
    }
    if m.min_healthy_time > m.healthy_deadline {
        e.at(
            path,
            "MinHealthyTime",
            "MinHealthyTime must be less than HealthyDeadline",
        );
    }
}

/// Checks a periodic configuration, cron syntax and time zone included.
pub(crate) fn periodic(e: &mut Errors, path: &str, p: &PeriodicConfig) {
    if !p.spec.is_empty() && !p.specs.is_empty() {
        e.add(path, "Only cron or crons may be used");
    }
    if p.spec.is_empty() && p.specs.is_empty() {
        e.at(path, "Spec", "Must specify a spec");
    }
    if p.spec_type != "cron" {
        e.at(
            path,
            "SpecType",
            format!(
                "Unknown periodic specification type {:?}; expected \"cron\"",
                p.spec_type
            ),
        );
    }
    if let Err(err) = crate::periodic::Schedule::new(p) {
        let field = match &err {
            crate::periodic::PeriodicError::TimeZone(_) => "TimeZone".to_string(),
            crate::periodic::PeriodicError::Spec { field, .. } => field.clone(),
        };
        e.at(path, &field, err.to_string());
    }
}

/// Checks a parameterized job configuration.
pub(crate) fn parameterized(e: &mut Errors, path: &str, p: &ParameterizedJobConfig) {
    if !["optional", "required", "forbidden"].contains(&p.payload.as_str()) {
        e.at(
            path,
            "Payload",
            format!(
                "Unknown payload requirement: {:?}; expected optional, required or forbidden",
                p.payload
            ),
        );
    }
    let required: BTreeSet<_> = p.meta_required.iter().collect();
    let both: Vec<_> = p
        .meta_optional
        .iter()
        .filter(|k| required.contains(k))
        .collect();
    if !both.is_empty() {
        e.add(path, format!("Required and optional meta keys should be disjoint. Following keys exist in both: {both:?}"));
    }
}

#[cfg(test)]
mod tests;
