//! The horizontal autoscaler's decisions: which enabled policies are due, whether a due
//! one must wait (a deployment in progress, its cooldown), what its checks decide
//! ([`crate::autoscale::decide`]) and the `Job.Scale` that carries a change. Reading the
//! metrics is the caller's (the servers query Prometheus and their allocations' usage;
//! the simulator is handed values), and so is where each policy's status goes.
//!
//! The cooldown comes from the group's replicated scaling events (the latest count
//! change), so a new leader neither acts twice nor forgets a cooldown.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::autoscale::{self, CheckInput, Decision, Policy};
use crate::model::{Evaluation, FreeForm, eval_status, trigger};
use crate::state::{Command, JobScale, StateStore};

/// One enabled policy and its group as the state has them now.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingTarget {
    /// The policy ID (`autoscale::policy_id`).
    pub id: String,
    /// The job's namespace.
    pub namespace: String,
    /// The job.
    pub job_id: String,
    /// The job's type (its evaluation's).
    pub job_type: String,
    /// The job's priority (its evaluation's).
    pub priority: i32,
    /// The group scaled.
    pub group: String,
    /// `scaling { min }` (the count when unset).
    pub min: i64,
    /// `scaling { max }` (the count when unset).
    pub max: i64,
    /// The group's count now.
    pub count: i64,
    /// The parsed policy.
    pub policy: Policy,
}

/// Every group with an enabled `scaling { policy }`, in the state's job order.
pub fn enabled_policies(s: &StateStore) -> Vec<ScalingTarget> {
    let mut out = Vec::new();
    for job in s.scaling_jobs() {
        for g in &job.task_groups {
            let Some(sc) = g.scaling.as_ref().filter(|sc| sc.enabled) else {
                continue;
            };
            // Validation refused bad policies at registration; skip any that slipped.
            let Ok(Some(policy)) = autoscale::parse_policy(&sc.policy.0) else {
                continue;
            };
            let count = i64::from(g.count);
            out.push(ScalingTarget {
                id: autoscale::policy_id(&job.namespace, &job.id, &g.name),
                namespace: job.namespace.clone(),
                job_id: job.id.clone(),
                job_type: job.job_type.clone(),
                priority: job.priority,
                group: g.name.clone(),
                min: sc.min.unwrap_or(count),
                max: sc.max.unwrap_or(count),
                count,
                policy,
            });
        }
    }
    out
}

/// When each policy is next due: the leader's memory, dropped with leadership.
#[derive(Debug, Clone, Default)]
pub struct PolicyClock {
    next: BTreeMap<String, i64>,
}

impl PolicyClock {
    /// The indexes into `enabled` of the policies due at `now`, each scheduled again one
    /// `evaluation_interval` later; a policy no longer enabled is forgotten. A policy
    /// never seen is due at once.
    pub fn due(&mut self, enabled: &[ScalingTarget], now: i64) -> Vec<usize> {
        self.next
            .retain(|id, _| enabled.iter().any(|p| &p.id == id));
        let mut due = Vec::new();
        for (i, p) in enabled.iter().enumerate() {
            if self.next.get(&p.id).is_some_and(|t| now < *t) {
                continue;
            }
            let next = now.saturating_add(p.policy.evaluation_interval_ns);
            self.next.insert(p.id.clone(), next);
            due.push(i);
        }
        due
    }

    /// Forgets every schedule (leadership lost).
    pub fn clear(&mut self) {
        self.next.clear();
    }
}

/// Why a due policy is not evaluated now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wait {
    /// A deployment of the job runs: `Job.Scale` refuses during one (the
    /// nomad-autoscaler's "target not ready"), so the policy waits instead of failing.
    Deploying {
        /// The deployment.
        deployment_id: String,
    },
    /// The last scaling action was less than the cooldown ago.
    Cooldown {
        /// Nanoseconds of cooldown left.
        left_ns: i64,
    },
}

impl Wait {
    /// The status state the policy shows meanwhile.
    pub fn state(&self) -> &'static str {
        match self {
            Wait::Deploying { .. } => "waiting",
            Wait::Cooldown { .. } => "cooldown",
        }
    }

    /// Why, for the policy's status.
    pub fn reason(&self) -> String {
        match self {
            Wait::Deploying { deployment_id } => format!(
                "deployment {deployment_id} is in progress; scaling resumes when it finishes"
            ),
            Wait::Cooldown { left_ns } => format!(
                "in cooldown for {:.1}s more after the last scaling action",
                *left_ns as f64 / 1e9
            ),
        }
    }
}

/// Whether `t` may be evaluated at `now`: `Ok` with the time of the group's last
/// scaling action, or why it waits.
pub fn gate(s: &StateStore, t: &ScalingTarget, now: i64) -> Result<Option<i64>, Wait> {
    if let Some(d) = s
        .latest_deployment_by_job(&t.namespace, &t.job_id)
        .filter(|d| d.active())
    {
        return Err(Wait::Deploying {
            deployment_id: d.id.clone(),
        });
    }
    let last = s.last_scaling_action(&t.namespace, &t.job_id, &t.group);
    if autoscale::in_cooldown(last, t.policy.cooldown_ns, now) {
        let left_ns = last.unwrap_or(now) + t.policy.cooldown_ns - now;
        return Err(Wait::Cooldown { left_ns });
    }
    Ok(last)
}

/// What `t`'s checks decide, given each check's metric (or its source's error) in the
/// policy's order.
pub fn decide(
    t: &ScalingTarget,
    values: &[Result<f64, String>],
    last_action: Option<i64>,
    now: i64,
) -> Decision {
    let inputs: Vec<CheckInput<'_>> = t
        .policy
        .checks
        .iter()
        .zip(values)
        .map(|(check, v)| CheckInput {
            check,
            value: v.as_ref().map(|f| *f).map_err(String::as_str),
        })
        .collect();
    autoscale::decide(&t.policy, t.min, t.max, t.count, &inputs, last_action, now)
}

/// The scaling of `t`'s group to `count` as decided by `d`: a `Job.Scale` carrying the
/// nomad-autoscaler's meta (policy ID, the checks' reasons) and its evaluation
/// (`eval_id`).
pub fn scale_command(
    t: &ScalingTarget,
    d: &Decision,
    count: i64,
    now: i64,
    eval_id: String,
) -> Command {
    let mut meta = BTreeMap::new();
    meta.insert(
        autoscale::META_POLICY_ID.to_string(),
        Value::from(t.id.clone()),
    );
    let reasons: Vec<String> = d.checks.iter().map(|c| c.reason.clone()).collect();
    meta.insert(
        "nomad_autoscaler.reason_history".to_string(),
        json!(reasons),
    );
    let eval = Evaluation {
        id: eval_id,
        namespace: t.namespace.clone(),
        job_id: t.job_id.clone(),
        eval_type: t.job_type.clone(),
        priority: t.priority,
        triggered_by: trigger::JOB_SCALING.to_string(),
        status: eval_status::PENDING.to_string(),
        create_time: now,
        modify_time: now,
        ..Evaluation::default()
    };
    Command::JobScale(JobScale {
        namespace: t.namespace.clone(),
        job_id: t.job_id.clone(),
        group: t.group.clone(),
        count,
        message: d.reason.clone(),
        error: false,
        meta: FreeForm(meta),
        eval: Some(eval),
        now,
    })
}
