//! The deployment watcher's decisions (Nomad's `deploymentwatcher`): what drives rolling
//! updates forward from the allocation health clients report. The servers' leader runs
//! them after every burst of state changes; the simulator after every step.
//!
//! - an allocation of a running deployment became healthy → one evaluation per
//!   deployment per burst of changes, so the reconciler places the next `max_parallel`;
//! - a group has unhealthy allocations, or made no progress by its `RequireProgressBy` →
//!   the deployment fails, and with `auto_revert` the job goes back to its latest stable
//!   version (a new version with that spec);
//! - every group healthy (and canaries promoted) → `successful`, which marks the job
//!   version stable;
//! - every unpromoted canary group has `auto_promote` and all its canaries healthy →
//!   promotion (once its metric gate, if any, opened);
//! - orch's metric gates (`gates`, `core::workflow::gate`): a gate standing at its
//!   batch is read and recorded; one that failed fails the deployment.
//!
//! Cancelling deployments of stopped or superseded jobs is the reconciler's job (it does
//! it on the evaluation the job change creates), so the watcher leaves them alone.
//!
//! Every decision is a pure function ([`decide`]) of the replicated state, the time and
//! the healthy counts already acted on, so a new leader picks up where the old one
//! stopped: at worst it creates one extra evaluation per running deployment. A revert is
//! recorded in the failed deployment's description before it is proposed, so one lost
//! between the two commands (leader change) is redone from the state ([`Action::Revert`]).

use std::collections::BTreeMap;

use crate::model::{Deployment, Evaluation, deployment_status, eval_status, trigger};
use crate::scheduler::reconcile::deployment_describe;
use crate::state::{
    Command, DeploymentPromote, DeploymentStatusUpdate, JobRevert, StateStore, spec_changed,
};
use crate::workflow::gate;

/// Status descriptions the watcher writes, verbatim from Nomad.
pub mod describe {
    /// A group reported unhealthy allocations.
    pub const FAILED_ALLOCATIONS: &str = "Failed due to unhealthy allocations";
    /// A group made no progress within its progress deadline.
    pub const PROGRESS_DEADLINE: &str = "Failed due to progress deadline";
    /// An operator failed the deployment.
    pub const FAILED_BY_USER: &str = "Deployment marked as failed";
    /// An operator paused the deployment.
    pub const PAUSED: &str = "Deployment is paused";
    /// The suffix naming the version a failed deployment rolls back to.
    pub const ROLLBACK_MARK: &str = " - rolling back to job version ";
}

/// One thing the watcher wants committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// New healthy allocations: let the scheduler place the next batch.
    Evaluate {
        /// Deployment.
        deployment_id: String,
    },
    /// Fail the deployment. Without a revert it carries an evaluation so failed
    /// allocations get rescheduled; with one, the revert's evaluation does that.
    Fail {
        /// Deployment.
        deployment_id: String,
        /// Status description (with the rollback suffix when reverting).
        description: String,
        /// Whether a revert follows (then no evaluation is attached).
        reverting: bool,
    },
    /// Every group is healthy.
    Succeed {
        /// Deployment.
        deployment_id: String,
    },
    /// Auto-promote every group's canaries.
    Promote {
        /// Deployment.
        deployment_id: String,
    },
    /// Re-register a stable version's spec after a failed deployment.
    Revert {
        /// Deployment that failed.
        deployment_id: String,
        /// Version to go back to.
        version: u64,
        /// The failed version (check-and-set: nobody registered a newer one meanwhile).
        prior_version: u64,
    },
}

/// What [`decide`] returns: the actions, and the healthy totals they account for (the
/// input of the next call).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decisions {
    /// To commit, in order.
    pub actions: Vec<Action>,
    /// Per running deployment, the healthy allocations an evaluation was made for.
    pub seen: BTreeMap<String, u32>,
}

/// A group is done when all its allocations are healthy and its canaries promoted.
fn group_done(s: &crate::model::DeploymentState) -> bool {
    s.healthy_allocs >= s.desired_total && (s.desired_canaries == 0 || s.promoted)
}

/// The job version a failing deployment rolls back to, and the description to record
/// (Nomad's wording for each case). `None` when no group has `auto_revert`.
pub fn rollback(s: &StateStore, d: &Deployment, base: &str) -> (Option<u64>, String) {
    let wants = d.task_groups.values().any(|g| g.auto_revert);
    if !wants {
        return (None, base.to_string());
    }
    let Some(current) = s.job(&d.namespace, &d.job_id) else {
        return (None, base.to_string());
    };
    let stable = s
        .job_versions(&d.namespace, &d.job_id)
        .into_iter()
        .find(|j| j.stable && j.version != d.job_version);
    match stable {
        None => (
            None,
            format!("{base} - no stable job version to auto revert to"),
        ),
        Some(j) if !spec_changed(current, j) => (
            None,
            format!(
                "{base} - not rolling back to stable job version {} as current job has same specification",
                j.version
            ),
        ),
        Some(j) => (
            Some(j.version),
            format!("{base}{}{}", describe::ROLLBACK_MARK, j.version),
        ),
    }
}

/// Whether the deployment's group that failed wants a revert (Nomad's `shouldFail`: the
/// deadline fails the deployment when some group is short of healthy allocations). A
/// group waiting at its metric gate is governed by the gate's own deadline instead.
fn deadline_failure(s: &StateStore, d: &Deployment, now: i64) -> Option<bool> {
    let mut fail = None;
    for (name, g) in &d.task_groups {
        if gate::at_gate(g) && gate::gate_of(s, d, name).is_some() {
            continue;
        }
        let short = if g.desired_canaries > 0 && !g.promoted {
            g.healthy_allocs < g.desired_canaries
        } else {
            g.healthy_allocs < g.desired_total
        };
        let passed = g.require_progress_by.0 != 0 && g.require_progress_by.0 <= now;
        if short && passed && !group_done(g) {
            fail = Some(fail.unwrap_or(false) || g.auto_revert);
        }
    }
    fail
}

/// Healthy canaries of one group.
fn healthy_canaries(s: &StateStore, g: &crate::model::DeploymentState) -> usize {
    g.placed_canaries
        .iter()
        .filter(|id| {
            s.alloc_stub(id)
                .and_then(|a| a.deployment_status.as_ref())
                .and_then(|h| h.healthy)
                == Some(true)
        })
        .count()
}

/// Decides what to do for every deployment at `now`, given the healthy totals already
/// acted on (`seen`; empty after a leader change). [`Watcher`] decides the same,
/// visiting only the deployments whose decision may have changed.
pub fn decide(s: &StateStore, now: i64, seen: &BTreeMap<String, u32>) -> Decisions {
    let mut out = Decisions::default();
    for d in s.deployments() {
        let one = decide_one(s, d, now, seen.get(&d.id).copied());
        out.actions.extend(one.action);
        if let Some(healthy) = one.seen {
            out.seen.insert(d.id.clone(), healthy);
        }
    }
    out
}

/// What [`decide`] concludes for one deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct One {
    /// Its action, if any.
    pub(crate) action: Option<Action>,
    /// Its entry of [`Decisions::seen`] (running deployments of the current job
    /// version that neither fail nor succeed now).
    pub(crate) seen: Option<u32>,
}

/// [`decide`] for deployment `d`, `seen` its healthy total already acted on.
pub(crate) fn decide_one(s: &StateStore, d: &Deployment, now: i64, seen: Option<u32>) -> One {
    let action = |a| One {
        action: Some(a),
        seen: None,
    };
    if d.status == deployment_status::FAILED {
        return One {
            action: pending_revert(s, d),
            seen: None,
        };
    }
    if d.status != deployment_status::RUNNING {
        return One::default();
    }
    // A deployment of a stopped or superseded job is the reconciler's to cancel.
    let current = s
        .job(&d.namespace, &d.job_id)
        .is_some_and(|j| !j.stop && j.version == d.job_version);
    if !current {
        return One::default();
    }
    let id = d.id.clone();
    if d.task_groups.values().any(|g| g.unhealthy_allocs > 0) {
        return action(fail(s, d, describe::FAILED_ALLOCATIONS));
    }
    if let Some(why) = gate::failed(s, d) {
        return action(fail(s, d, &why));
    }
    if deadline_failure(s, d, now).is_some() {
        return action(fail(s, d, describe::PROGRESS_DEADLINE));
    }
    if !d.task_groups.is_empty() && d.task_groups.values().all(group_done) {
        return action(Action::Succeed { deployment_id: id });
    }
    let healthy: u32 = d.task_groups.values().map(|g| g.healthy_allocs).sum();
    let action = if promotes(s, d) {
        Some(Action::Promote { deployment_id: id })
    } else if healthy > seen.unwrap_or(0) {
        Some(Action::Evaluate { deployment_id: id })
    } else {
        None
    };
    One {
        action,
        seen: Some(healthy),
    }
}

/// Groups with canaries not yet promoted: whether `d` has any (its decision then reads
/// the canaries' health).
pub(crate) fn waits_on_canaries(d: &Deployment) -> bool {
    d.task_groups
        .values()
        .any(|g| g.desired_canaries > 0 && !g.promoted)
}

/// Whether every group waiting on canaries auto-promotes and its canaries are all
/// placed and healthy (orch's metric gates hold an auto-promotion until they open).
fn promotes(s: &StateStore, d: &Deployment) -> bool {
    let waiting: Vec<_> = d
        .task_groups
        .iter()
        .filter(|(_, g)| g.desired_canaries > 0 && !g.promoted)
        .collect();
    !waiting.is_empty()
        && waiting.iter().all(|(name, g)| {
            g.auto_promote
                && g.placed_canaries.len() >= g.desired_canaries as usize
                && healthy_canaries(s, g) >= g.desired_canaries as usize
                && gate::gate_open(s, d, name)
        })
}

/// The earliest progress deadline of `d` after `now`: until then its decision does
/// not depend on the time.
pub(crate) fn next_deadline(d: &Deployment, now: i64) -> Option<i64> {
    d.task_groups
        .values()
        .map(|g| g.require_progress_by.0)
        .filter(|t| *t != 0 && *t > now)
        .min()
}

fn fail(s: &StateStore, d: &Deployment, base: &str) -> Action {
    let (target, description) = rollback(s, d, base);
    Action::Fail {
        deployment_id: d.id.clone(),
        description,
        reverting: target.is_some(),
    }
}

/// A failed deployment whose description promises a rollback that has not happened: the
/// job is still at the failed version.
fn pending_revert(s: &StateStore, d: &Deployment) -> Option<Action> {
    let (_, version) = d.status_description.rsplit_once(describe::ROLLBACK_MARK)?;
    let version: u64 = version.trim().parse().ok()?;
    let job = s.job(&d.namespace, &d.job_id)?;
    let same = job.version == d.job_version
        && (d.job_create_index == 0 || job.create_index == d.job_create_index);
    (same && !job.stop && version != job.version).then(|| Action::Revert {
        deployment_id: d.id.clone(),
        version,
        prior_version: job.version,
    })
}

/// What to carry out once `action` committed, decided on the state after it: a failed
/// deployment that promised a rollback reverts its job (two commands, so a leader
/// change between them is redone from the failed deployment's description).
pub fn follow_up(s: &StateStore, action: &Action) -> Option<Action> {
    let Action::Fail {
        deployment_id,
        reverting: true,
        ..
    } = action
    else {
        return None;
    };
    s.deployment(deployment_id)
        .and_then(|d| pending_revert(s, d))
}

/// A pending evaluation of a deployment's job, as Nomad's watcher creates them.
pub fn deployment_eval(s: &StateStore, d: &Deployment, now: i64, id: String) -> Evaluation {
    let job = s.job(&d.namespace, &d.job_id);
    Evaluation {
        id,
        namespace: d.namespace.clone(),
        priority: job.map_or(d.eval_priority, |j| j.priority),
        eval_type: job.map_or_else(|| "service".to_string(), |j| j.job_type.clone()),
        triggered_by: trigger::DEPLOYMENT_WATCHER.into(),
        job_id: d.job_id.clone(),
        job_modify_index: job.map_or(0, |j| j.job_modify_index),
        deployment_id: d.id.clone(),
        status: eval_status::PENDING.into(),
        create_time: now,
        modify_time: now,
        ..Evaluation::default()
    }
}

/// The command carrying out `action` (`None` when its deployment is gone).
pub fn command(
    s: &StateStore,
    action: &Action,
    now: i64,
    next_id: &mut dyn FnMut() -> String,
) -> Option<Command> {
    let id = match action {
        Action::Evaluate { deployment_id }
        | Action::Fail { deployment_id, .. }
        | Action::Succeed { deployment_id }
        | Action::Promote { deployment_id }
        | Action::Revert { deployment_id, .. } => deployment_id,
    };
    let d = s.deployment(id)?;
    let eval = Some(deployment_eval(s, d, now, next_id()));
    Some(match action {
        Action::Evaluate { .. } => Command::EvalUpsert(crate::state::EvalUpsert {
            evals: eval.into_iter().collect(),
        }),
        Action::Fail {
            description,
            reverting,
            ..
        } => Command::DeploymentStatusUpdate(DeploymentStatusUpdate {
            deployment_id: id.clone(),
            status: deployment_status::FAILED.into(),
            status_description: description.clone(),
            eval: if *reverting { None } else { eval },
            now,
        }),
        Action::Succeed { .. } => Command::DeploymentStatusUpdate(DeploymentStatusUpdate {
            deployment_id: id.clone(),
            status: deployment_status::SUCCESSFUL.into(),
            status_description: deployment_describe::SUCCESSFUL.into(),
            eval,
            now,
        }),
        Action::Promote { .. } => Command::DeploymentPromote(DeploymentPromote {
            deployment_id: id.clone(),
            groups: None,
            eval,
            now,
        }),
        Action::Revert {
            version,
            prior_version,
            ..
        } => Command::JobRevert(JobRevert {
            namespace: d.namespace.clone(),
            job_id: d.job_id.clone(),
            version: *version,
            enforce_prior_version: Some(*prior_version),
            eval: eval.map(|mut e| {
                e.triggered_by = trigger::JOB_REGISTER.into();
                e.deployment_id.clear();
                e
            }),
            now,
        }),
    })
}

mod watch;

pub use watch::Watcher;

#[cfg(test)]
mod tests;
