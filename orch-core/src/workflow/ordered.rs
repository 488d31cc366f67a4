//! Ordered groups: `update { ordered = true }` (what a Kubernetes StatefulSet
//! guarantees, on Nomad's deployments).
//!
//! - **Start and update in index order.** Index *i* is placed, or replaced by a
//!   destructive update, only once every index below it runs the current version and
//!   is healthy (the deployment's health), and while no allocation of the current
//!   version at *i* is still on its way to health ([`frontier`]). The deployment watcher
//!   evaluates the job each time an allocation becomes healthy, which places the next.
//! - **Stop in reverse order.** When the job is stopped, only the highest index still
//!   running on its client is stopped; the next one when that one has ended
//!   ([`stops_allowed`]). The leader evaluates the job when an allocation of a stopped
//!   ordered group ends.
//!
//! The decisions are pure functions of per-index facts, so they are property tested
//! (`never index i running unhealthy while i+1 starts`).

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Allocation, Job, TaskGroup, client_status, desired_status};
use crate::scheduler::reconcile::ReconcileResults;
use crate::state::StateStore;

/// What one index of an ordered group is doing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexFacts {
    /// An allocation of the current version runs there and is healthy.
    pub ready: bool,
    /// An allocation of the current version is there, live, not (yet) healthy.
    pub starting: bool,
}

/// The one index that may be placed (or replaced) now, if any: the lowest index that
/// is not ready, provided nothing there is still starting. `None` when every index is
/// ready or the lowest one that is not is still starting.
pub fn frontier(facts: &[IndexFacts]) -> Option<u32> {
    let i = facts.iter().position(|f| !f.ready)?;
    if facts[i].starting {
        return None;
    }
    u32::try_from(i).ok()
}

/// Whether `g` is an ordered group.
pub fn is_ordered(g: &TaskGroup) -> bool {
    g.update.as_ref().is_some_and(|u| u.ordered)
}

/// Per index `0..count` of `g`, what its allocations of `job`'s current version do.
pub fn index_facts(job: &Job, g: &TaskGroup, existing: &[&Allocation]) -> Vec<IndexFacts> {
    let mut facts = vec![IndexFacts::default(); g.count as usize];
    for a in existing.iter().filter(|a| a.task_group == g.name) {
        let Some(f) = a.index().and_then(|i| facts.get_mut(i as usize)) else {
            continue;
        };
        if a.job_version != job.version || a.terminal() {
            continue;
        }
        let healthy = a.deployment_status.as_ref().and_then(|d| d.healthy);
        if a.client_status == client_status::RUNNING && healthy == Some(true) {
            f.ready = true;
        } else {
            f.starting = true;
        }
    }
    facts
}

/// Drops the ordered groups' placements and destructive updates above the group's
/// [`frontier`] (all of them when there is none).
pub fn order_placements(job: &Job, existing: &[&Allocation], results: &mut ReconcileResults) {
    let mut allowed: BTreeMap<&str, Option<u32>> = BTreeMap::new();
    for g in job.task_groups.iter().filter(|g| is_ordered(g)) {
        allowed.insert(g.name.as_str(), frontier(&index_facts(job, g, existing)));
    }
    if allowed.is_empty() {
        return;
    }
    let may = |group: &str, index: u32| match allowed.get(group) {
        None => true,
        Some(limit) => limit.is_some_and(|l| index <= l),
    };
    results.place.retain(|p| may(&p.task_group, p.index));
    results
        .destructive_update
        .retain(|d| may(&d.place.task_group, d.place.index));
}

/// Of one group's allocations as `(index, still running on its client)`, the indexes
/// that may be stopped now: the highest index still running, none below it.
pub fn stops_allowed(allocs: &[(u32, bool)]) -> BTreeSet<u32> {
    allocs
        .iter()
        .filter(|(_, running)| *running)
        .map(|(i, _)| *i)
        .max()
        .into_iter()
        .collect()
}

/// Keeps, for each ordered group of a stopped job, only the stops [`stops_allowed`]
/// allows; the group's spec is the one its allocations were placed with.
pub fn order_stops(state: &StateStore, existing: &[&Allocation], results: &mut ReconcileResults) {
    let mut by_group: BTreeMap<&str, Vec<&Allocation>> = BTreeMap::new();
    for a in existing {
        let ordered = state
            .alloc_job(a)
            .and_then(|j| j.group(&a.task_group))
            .is_some_and(is_ordered);
        if ordered {
            by_group.entry(a.task_group.as_str()).or_default().push(a);
        }
    }
    if by_group.is_empty() {
        return;
    }
    let mut keep: BTreeSet<&str> = BTreeSet::new();
    let mut gated: BTreeSet<&str> = BTreeSet::new();
    for allocs in by_group.values() {
        let facts: Vec<(u32, bool)> = allocs
            .iter()
            .map(|a| (a.index().unwrap_or(0), !a.client_terminal()))
            .collect();
        let allowed = stops_allowed(&facts);
        for a in allocs {
            gated.insert(a.id.as_str());
            let stopping = a.desired_status != desired_status::RUN;
            if stopping || allowed.contains(&a.index().unwrap_or(0)) {
                keep.insert(a.id.as_str());
            }
        }
    }
    results
        .stop
        .retain(|s| !gated.contains(s.alloc_id.as_str()) || keep.contains(s.alloc_id.as_str()));
}

/// The stopped (or purged) jobs that `ended` allocations leave with a next stop to
/// make: an allocation of an ordered group ended on its client while another of its
/// job is still asked to run. The leader evaluates each such job again.
pub fn stops_pending<'a>(
    state: &StateStore,
    ended: impl Iterator<Item = &'a Allocation>,
) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    // Whether each job is stopped, asked once per job: a node's failure ends hundreds
    // of allocations of jobs still running, which need nothing more read.
    let mut stopped: BTreeMap<(&str, &str), bool> = BTreeMap::new();
    for a in ended.filter(|a| a.client_terminal()) {
        let job = (a.namespace.as_str(), a.job_id.as_str());
        let stopped = *stopped
            .entry(job)
            .or_insert_with(|| state.job(job.0, job.1).is_none_or(|j| j.stop));
        if !stopped {
            continue;
        }
        let key = (job.0.to_string(), job.1.to_string());
        if out.contains(&key) {
            continue;
        }
        let ordered = state
            .alloc_job(a)
            .and_then(|j| j.group(&a.task_group))
            .is_some_and(is_ordered);
        if !ordered {
            continue;
        }
        let left = state
            .allocs_by_job(&key.0, &key.1)
            .iter()
            .any(|b| b.desired_status == desired_status::RUN && !b.client_terminal());
        if left {
            out.insert(key);
        }
    }
    out
}
