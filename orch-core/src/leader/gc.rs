//! The leader's housekeeping decisions, as Nomad's core scheduler and leader loop make
//! them (the servers' leader carries them out on its timers; the simulator on demand):
//!
//! - **Failed-eval reaper**: evaluations the broker gave up on (delivery limit reached)
//!   are written as `failed`, each with a `failed-follow-up` evaluation that retries the
//!   job after a delay (1 min + up to 5 min of jitter), once the cluster has hopefully
//!   settled.
//! - **Core GC**: terminal evaluations and allocations, dead jobs, terminal deployments
//!   and down nodes older than their thresholds are removed in one `GcBatch` Raft entry.
//!   Age is measured on the objects' modify times (Unix nanoseconds in the commands), so
//!   every server would pick the same set. `PUT /v1/system/gc` runs it with no age limit.
//! - **Expired ACL tokens** are deleted an hour after they expire (at once when forced).

use std::collections::BTreeSet;
use std::time::Duration;

use crate::model::{Evaluation, eval_status, job_status, job_type, node_status, trigger};
use crate::state::{GcBatch, StateStore};

/// Thresholds and cadence of the core GC (Nomad's server `*_gc_threshold` settings).
#[derive(Debug, Clone, PartialEq)]
pub struct GcConfig {
    /// How often the leader collects (Nomad's `*_gc_interval`, 5 min).
    pub interval: Duration,
    /// Terminal evaluations and their allocations (`eval_gc_threshold`, 1 h).
    pub eval_threshold: Duration,
    /// Dead jobs (`job_gc_threshold`, 4 h).
    pub job_threshold: Duration,
    /// Terminal deployments (`deployment_gc_threshold`, 1 h).
    pub deployment_threshold: Duration,
    /// Down nodes (`node_gc_threshold`, 24 h).
    pub node_threshold: Duration,
    /// Base delay of a failed evaluation's follow-up (Nomad's 1 min).
    pub failed_followup_base: Duration,
    /// Random extra delay of the follow-up (Nomad's up to 5 min).
    pub failed_followup_jitter: Duration,
}

impl Default for GcConfig {
    fn default() -> Self {
        GcConfig {
            interval: Duration::from_secs(300),
            eval_threshold: Duration::from_secs(3600),
            job_threshold: Duration::from_secs(4 * 3600),
            deployment_threshold: Duration::from_secs(3600),
            node_threshold: Duration::from_secs(24 * 3600),
            failed_followup_base: Duration::from_secs(60),
            failed_followup_jitter: Duration::from_secs(300),
        }
    }
}

/// A duration in the state's nanoseconds, saturating.
pub fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// What is old enough to collect at `now`; `force` ignores the thresholds (forced GC).
pub fn collect(s: &StateStore, now: i64, cfg: &GcConfig, force: bool) -> GcBatch {
    let older = |t: i64, threshold: Duration| force || t <= now.saturating_sub(nanos(threshold));
    let mut batch = GcBatch::default();
    let mut allocs: BTreeSet<String> = BTreeSet::new();
    let mut evals: BTreeSet<String> = BTreeSet::new();

    // Dead jobs with nothing live, and everything they own.
    for j in s.jobs() {
        if j.status != job_status::DEAD || (j.is_template() && !j.stop) {
            continue;
        }
        let js = s.evals_by_job(&j.namespace, &j.id);
        let ja = s.allocs_by_job(&j.namespace, &j.id);
        if js.iter().any(|e| !e.terminal()) || ja.iter().any(|a| !a.terminal()) {
            continue;
        }
        let last = js
            .iter()
            .map(|e| e.modify_time)
            .chain(ja.iter().map(|a| a.modify_time))
            .fold(j.submit_time, i64::max);
        if !older(last, cfg.job_threshold) {
            continue;
        }
        batch
            .jobs
            .push((j.namespace.clone(), j.id.clone(), j.modify_index));
        evals.extend(js.iter().map(|e| e.id.clone()));
        allocs.extend(ja.iter().map(|a| a.id.clone()));
        batch.deployments.extend(
            s.deployments_by_job(&j.namespace, &j.id)
                .iter()
                .map(|d| d.id.clone()),
        );
    }

    // Terminal evaluations whose allocations are all terminal and old enough. Batch jobs
    // that still exist keep theirs: their completed allocations are the job's output.
    for e in s.evals().filter(|e| e.terminal()) {
        if evals.contains(&e.id) {
            continue;
        }
        let batch_job = s
            .job(&e.namespace, &e.job_id)
            .is_some_and(|j| j.job_type == job_type::BATCH);
        if batch_job || !older(e.modify_time, cfg.eval_threshold) {
            continue;
        }
        let ea = s.allocs_by_eval(&e.id);
        if ea
            .iter()
            .any(|a| !a.terminal() || !older(a.modify_time, cfg.eval_threshold))
        {
            continue;
        }
        evals.insert(e.id.clone());
        allocs.extend(ea.iter().map(|a| a.id.clone()));
    }

    // Terminal deployments no longer the latest of a live job.
    for d in s.deployments().filter(|d| !d.active()) {
        let latest = s
            .latest_deployment_by_job(&d.namespace, &d.job_id)
            .is_some_and(|l| l.id == d.id)
            && s.job(&d.namespace, &d.job_id).is_some();
        if !latest
            && older(d.modify_time, cfg.deployment_threshold)
            && !batch.deployments.contains(&d.id)
        {
            batch.deployments.push(d.id.clone());
        }
    }

    // Down nodes with nothing running, and their terminal allocations.
    for n in s.nodes().filter(|n| n.status == node_status::DOWN) {
        let since = n.status_updated_at.saturating_mul(1_000_000_000);
        let na = s.allocs_by_node(&n.id);
        if older(since, cfg.node_threshold) && na.iter().all(|a| a.terminal()) {
            batch.nodes.push((n.id.clone(), n.modify_index));
            allocs.extend(na.iter().map(|a| a.id.clone()));
        }
    }

    batch.evals = evals.into_iter().collect();
    batch.allocs = allocs.into_iter().collect();
    batch
}

/// How long an expired ACL token stays (refused) before the GC removes it (Nomad's
/// `acl_token_gc_threshold`).
pub const ACL_TOKEN_GC_THRESHOLD: Duration = Duration::from_secs(3600);

/// Accessors of tokens expired for longer than [`ACL_TOKEN_GC_THRESHOLD`] (`force`: any
/// expired token), at most one command's worth.
pub fn expired_tokens(s: &StateStore, now: i64, force: bool) -> Vec<String> {
    let cutoff = if force {
        now
    } else {
        now.saturating_sub(nanos(ACL_TOKEN_GC_THRESHOLD))
    };
    s.acl_tokens()
        .filter(|t| t.expiration_time != 0 && t.expiration_time <= cutoff)
        .map(|t| t.accessor_id.clone())
        .take(crate::state::MAX_ACL_BATCH)
        .collect()
}

/// How many objects the batch collects.
pub fn batch_len(b: &GcBatch) -> usize {
    b.evals.len() + b.allocs.len() + b.jobs.len() + b.deployments.len() + b.nodes.len()
}

/// True when the batch collects nothing (no command needed).
pub fn is_empty(b: &GcBatch) -> bool {
    b.evals.is_empty()
        && b.allocs.is_empty()
        && b.jobs.is_empty()
        && b.deployments.is_empty()
        && b.nodes.is_empty()
}

/// Nomad's `CreateFailedFollowUpEval`: the failed evaluation, marked failed and linked to
/// a new pending evaluation of the same job that waits `delay`.
pub fn failed_with_followup(
    mut failed: Evaluation,
    delay_limit: u32,
    delay: Duration,
    now: i64,
    id: String,
) -> [Evaluation; 2] {
    let followup = Evaluation {
        id,
        namespace: failed.namespace.clone(),
        priority: failed.priority,
        eval_type: failed.eval_type.clone(),
        triggered_by: trigger::FAILED_FOLLOW_UP.into(),
        job_id: failed.job_id.clone(),
        job_modify_index: failed.job_modify_index,
        status: eval_status::PENDING.into(),
        wait_until: crate::model::wire::Timestamp(now.saturating_add(nanos(delay))),
        previous_eval: failed.id.clone(),
        create_time: now,
        modify_time: now,
        ..Evaluation::default()
    };
    failed.status = eval_status::FAILED.into();
    failed.status_description = format!("evaluation reached delivery limit ({delay_limit})");
    failed.next_eval.clone_from(&followup.id);
    failed.modify_time = now;
    [failed, followup]
}

#[cfg(test)]
mod tests;
