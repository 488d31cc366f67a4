//! The reconciliation of a job whose only work is replacing lost allocations, in one
//! pass over its allocations.
//!
//! When nodes fail, every job with allocations on them gets an evaluation; each has
//! a few lost allocations among hundreds that need nothing. The full reconciler
//! groups, sorts and classifies all of them (name indexes, ID sets, per-group
//! vectors) to find that out. This pass recognises the common case instead, a job
//! at rest apart from its lost allocations, and answers exactly what the full
//! reconciler would: each lost allocation stopped as lost and replaced under its own
//! name. Anything it does not recognise (an update, a failed or migrating
//! allocation, canaries, a paused or failed deployment, disconnect handling, a count
//! that changed, a missing group) makes it decline, and the full reconciler runs.
//! `proptests::lost_only_matches_the_full_reconciler` checks the equivalence.

use crate::model::{Allocation, Deployment, Job, client_status, desired_status, node_status};

use super::group::deployment_group_done;
use super::sets::{DisconnectCfg, is_canary};
use super::{
    AllocStopResult, DeploymentStatusUpdate, DesiredUpdates, Placement, ReconcileInput,
    ReconcileResults, deployment_describe, describe, sort_results,
};

/// One group's tally in the pass.
#[derive(Default)]
struct Tally<'a> {
    /// Live allocations of the current version on healthy nodes, needing nothing.
    settled: u64,
    /// Terminal allocations the full reconciler counts as ignored (batch: older
    /// versions).
    ignored: u64,
    /// Live allocations of the current version on down or vanished nodes.
    lost: Vec<&'a Allocation>,
}

/// The full reconciler's results when the job needs nothing but its lost allocations
/// replaced (or nothing at all); `None` when it may need more, so the caller runs the
/// full reconciler.
pub(super) fn lost_only(input: &ReconcileInput<'_>) -> Option<ReconcileResults> {
    let job = input.job.filter(|j| !j.stop)?;
    let deployment_id = resting_deployment(job, input.deployment, input.batch)?;
    if job
        .task_groups
        .iter()
        .any(|g| DisconnectCfg::of(g).supports || DisconnectCfg::of(g).prevent_replace)
    {
        return None;
    }
    let mut tallies: Vec<Tally<'_>> = job.task_groups.iter().map(|_| Tally::default()).collect();
    let mut last_group = 0usize;
    // Whether the spec of the current version was created with this job (looked up
    // through the first allocation at rest of that version).
    let mut current_spec: Option<bool> = None;
    for (i, &a) in input.existing.iter().enumerate() {
        if let Some(h) = input.hints.and_then(|h| h.get(i))
            && h.at_rest
            && h.healthy
            && h.version == job.version
            && let Some(gi) = group_by_name(job, h.group, &mut last_group)
            && *current_spec
                .get_or_insert_with(|| spec_created(input, a).is_none_or(|c| c == job.create_index))
            && let Some(t) = tallies.get_mut(gi)
        {
            // Settled, without reading the allocation.
            t.settled += 1;
            continue;
        }
        let gi = group_index(job, a, &mut last_group)?;
        let tally = tallies.get_mut(gi)?;
        if a.terminal() {
            // Replaced already: the full reconciler drops it (a batch one of an older
            // version counted as ignored). A terminal one without a successor may be
            // rescheduled or hold a batch name: declined.
            if a.next_allocation.is_empty() || is_canary(a) {
                return None;
            }
            if input.batch && is_older(input, job, a) {
                tally.ignored += 1;
            }
            continue;
        }
        if !at_rest(input, job, a) {
            return None;
        }
        if input.missing_nodes.contains(a.node_id.as_str()) {
            tally.lost.push(a);
            continue;
        }
        match input.tainted_nodes.get(a.node_id.as_str()) {
            Some(n) if n.status == node_status::DOWN => tally.lost.push(a),
            Some(n) if n.status == node_status::DISCONNECTED => return None,
            _ => tally.settled += 1,
        }
    }
    let mut r = ReconcileResults::default();
    for (tg, t) in job.task_groups.iter().zip(&tallies) {
        if t.settled + t.lost.len() as u64 != u64::from(tg.count) {
            return None;
        }
        for &a in &t.lost {
            r.stop.push(AllocStopResult {
                alloc_id: a.id.clone(),
                client_status: Some(client_status::LOST.into()),
                description: describe::LOST.into(),
            });
            r.place.push(Placement {
                task_group: tg.name.clone(),
                name: a.name.clone(),
                index: a.index().unwrap_or(0),
                previous_alloc: Some(a.id.clone()),
                lost: true,
                min_job_version: Some(a.job_version),
                ..Placement::default()
            });
        }
        let n = t.lost.len() as u64;
        let du = DesiredUpdates {
            ignore: t.settled + t.ignored,
            place: n,
            stop: n,
            ..DesiredUpdates::default()
        };
        r.desired_tg_updates.insert(tg.name.clone(), du);
    }
    if r.place.is_empty()
        && let Some(d) = input.deployment.filter(|d| !input.batch && d.active())
        && job.task_groups.iter().all(|g| {
            d.task_groups
                .get(&g.name)
                .is_some_and(deployment_group_done)
        })
    {
        r.deployment_updates.push(DeploymentStatusUpdate {
            deployment_id: d.id.clone(),
            status: crate::model::deployment_status::SUCCESSFUL.into(),
            status_description: deployment_describe::SUCCESSFUL.into(),
        });
    }
    r.deployment_id = deployment_id;
    sort_results(&mut r);
    Some(r)
}

/// The deployment new placements join (`Some(None)`: none), when the job's latest
/// deployment leaves lost replacements alone: absent, or of the current version with
/// no canaries and not paused or failed. `None` declines.
fn resting_deployment(job: &Job, d: Option<&Deployment>, batch: bool) -> Option<Option<String>> {
    let Some(d) = d else {
        return Some(None);
    };
    let current = d.job_create_index == job.create_index && d.job_version == job.version;
    let canaries = d
        .task_groups
        .values()
        .any(|s| s.desired_canaries != 0 || !s.placed_canaries.is_empty());
    if !current || canaries {
        return None;
    }
    let status = d.status.as_str();
    if batch || status == crate::model::deployment_status::SUCCESSFUL {
        return Some(None);
    }
    if status == crate::model::deployment_status::PAUSED
        || status == "pending"
        || status == crate::model::deployment_status::FAILED
    {
        return None;
    }
    Some(d.active().then(|| d.id.clone()))
}

/// The index of `a`'s group in the job (the previous answer tried first: a job's
/// allocations are nearly always of one group).
fn group_index(job: &Job, a: &Allocation, last: &mut usize) -> Option<usize> {
    group_by_name(job, a.task_group.as_str(), last)
}

/// [`group_index`] by the group's name.
fn group_by_name(job: &Job, name: &str, last: &mut usize) -> Option<usize> {
    if job.task_groups.get(*last).is_some_and(|g| g.name == name) {
        return Some(*last);
    }
    *last = job.task_groups.iter().position(|g| g.name == name)?;
    Some(*last)
}

/// A live allocation that needs nothing where it stands: running or pending as asked,
/// of the current version, no transition asked for, not a canary.
fn at_rest(input: &ReconcileInput<'_>, job: &Job, a: &Allocation) -> bool {
    let t = &a.desired_transition;
    let status = a.client_status.as_str();
    a.desired_status == desired_status::RUN
        && (status == client_status::RUNNING || status == client_status::PENDING)
        && t.migrate != Some(true)
        && t.reschedule != Some(true)
        && t.force_reschedule != Some(true)
        && a.next_allocation.is_empty()
        && !is_canary(a)
        && a.job_version == job.version
        && spec_created(input, a).is_none_or(|c| c == job.create_index)
}

/// As the full reconciler's `is_older`.
fn is_older(input: &ReconcileInput<'_>, job: &Job, a: &Allocation) -> bool {
    a.job_version < job.version || spec_created(input, a).is_some_and(|c| c < job.create_index)
}

/// The create index of the spec `a` was placed with (embedded, else looked up).
fn spec_created(input: &ReconcileInput<'_>, a: &Allocation) -> Option<u64> {
    match a.job.as_deref() {
        Some(j) => Some(j.create_index),
        None => (input.alloc_job)(a).map(|j| j.create_index),
    }
}
