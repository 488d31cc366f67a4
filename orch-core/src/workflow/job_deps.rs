//! Dependencies between jobs: `depends_on { job = "db", condition = "healthy" }` on a
//! job (every group) or on one group.
//!
//! - **Held.** A group with no live allocation is not placed while one of its
//!   dependencies (the job's, then its own) has not reached its condition
//!   ([`held_groups`]). Once the group has a live allocation its replacements, updates
//!   and scale-ups go on as usual: a dependency gates a start, it does not stop a
//!   running service when the job it waited for falters.
//! - **Conditions** ([`unmet`]), over the named job's current version, group by group:
//!   `running` — `count` allocations running (or, for batch work, completed);
//!   `healthy` — as `running`, and reported healthy where the group has deployments;
//!   `complete` — `count` allocations completed and none left running. A job that is
//!   not registered or is stopped holds no condition.
//! - **Released** ([`release`]): the leader asks, for each blocked evaluation, whether a
//!   group it holds is no longer held.
//! - **Cycles** ([`check_cycles`]) are refused at registration, with the field path of
//!   the new job's dependency that closes the cycle.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    Allocation, Evaluation, Job, JobDependency, TaskGroup, client_status, desired_status,
    job_condition, job_type,
};
use crate::state::StateStore;

/// What one group of the named job counts toward a condition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupFacts {
    /// The group's count.
    pub count: u32,
    /// Allocations of the current version running as asked.
    pub running: u32,
    /// Of those, the ones reported healthy (all of them where the group has no
    /// deployments).
    pub healthy: u32,
    /// Allocations of the current version that completed successfully.
    pub complete: u32,
    /// Allocations not terminal, any version.
    pub live: u32,
}

/// Whether a group's facts hold a condition. Pure, over counts, so it is property
/// tested on its own: `healthy` implies `running`; `complete` implies nothing live.
pub fn group_holds(condition: &str, f: &GroupFacts) -> bool {
    match condition {
        job_condition::RUNNING => f.running.saturating_add(f.complete) >= f.count,
        job_condition::HEALTHY => f.healthy.saturating_add(f.complete) >= f.count,
        job_condition::COMPLETE => f.complete >= f.count && f.live == 0,
        _ => false,
    }
}

/// Counts one group's allocations of `job` for [`group_holds`].
pub fn group_facts(job: &Job, g: &TaskGroup, allocs: &[&Allocation]) -> GroupFacts {
    let deployments =
        job.job_type == job_type::SERVICE && g.update.as_ref().is_some_and(|u| u.max_parallel > 0);
    let mut f = GroupFacts {
        count: g.count,
        ..GroupFacts::default()
    };
    for a in allocs.iter().filter(|a| a.task_group == g.name) {
        if !a.terminal() {
            f.live += 1;
        }
        if a.job_version != job.version {
            continue;
        }
        let run = a.desired_status == desired_status::RUN;
        if run && a.client_status == client_status::RUNNING {
            f.running += 1;
            let healthy = a.deployment_status.as_ref().and_then(|d| d.healthy);
            if !deployments || healthy == Some(true) {
                f.healthy += 1;
            }
        } else if a.client_status == client_status::COMPLETE {
            f.complete += 1;
        }
    }
    f
}

/// Why `dep` (of a job in `namespace`) does not hold yet, or `None` when it holds.
pub fn unmet(state: &StateStore, namespace: &str, dep: &JobDependency) -> Option<String> {
    let cond = dep.condition.as_str();
    let Some(job) = state.job(namespace, &dep.job) else {
        return Some(format!(
            "waiting for job {:?} to be {cond}: it is not registered",
            dep.job
        ));
    };
    if job.stop {
        return Some(format!(
            "waiting for job {:?} to be {cond}: it is stopped",
            dep.job
        ));
    }
    let allocs = state.allocs_by_job(namespace, &dep.job);
    for g in &job.task_groups {
        let f = group_facts(job, g, &allocs);
        if !group_holds(cond, &f) {
            let have = match cond {
                job_condition::RUNNING => f.running + f.complete,
                job_condition::HEALTHY => f.healthy + f.complete,
                _ => f.complete,
            };
            return Some(format!(
                "waiting for job {:?} to be {cond}: group {:?} has {have} of {}",
                dep.job, g.name, f.count
            ));
        }
    }
    None
}

/// The dependencies that gate `g`: the job's, then the group's own.
pub fn dependencies_of<'j>(
    job: &'j Job,
    g: &'j TaskGroup,
) -> impl Iterator<Item = &'j JobDependency> {
    job.depends_on.iter().chain(&g.depends_on)
}

/// The groups of `job` held back, each with the reason of its first unmet dependency.
/// A group that already has a live allocation among `existing` is never held.
pub fn held_groups(
    state: &StateStore,
    job: &Job,
    existing: &[&Allocation],
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if job.depends_on.is_empty() && job.task_groups.iter().all(|g| g.depends_on.is_empty()) {
        return out;
    }
    let live: BTreeSet<&str> = existing
        .iter()
        .filter(|a| !a.terminal())
        .map(|a| a.task_group.as_str())
        .collect();
    for g in &job.task_groups {
        if live.contains(g.name.as_str()) {
            continue;
        }
        if let Some(why) = dependencies_of(job, g).find_map(|d| unmet(state, &job.namespace, d)) {
            out.insert(g.name.clone(), why);
        }
    }
    out
}

/// Whether the leader should release the blocked evaluation `eval`: a group it holds
/// for a dependency (queued, without a placement failure) is no longer held, or its job
/// is gone or stopped (the scheduler then cleans up). An evaluation of a job without
/// dependencies is not this module's to release.
pub fn release(state: &StateStore, eval: &Evaluation) -> bool {
    let Some(job) = state.job(&eval.namespace, &eval.job_id) else {
        return false;
    };
    if job.stop {
        return true;
    }
    let waiting: Vec<&str> = eval
        .queued_allocations
        .iter()
        .filter(|(g, n)| **n > 0 && !eval.failed_tg_allocs.contains_key(*g))
        .map(|(g, _)| g.as_str())
        .collect();
    let gated = |g: &&str| {
        job.group(g)
            .is_some_and(|tg| dependencies_of(job, tg).next().is_some())
    };
    let waiting: Vec<&str> = waiting.into_iter().filter(gated).collect();
    if waiting.is_empty() {
        return false;
    }
    let existing = state.allocs_by_job(&eval.namespace, &eval.job_id);
    let held = held_groups(state, job, &existing);
    waiting.iter().any(|g| !held.contains_key(*g))
}

/// A registration refused because its dependencies close a cycle between jobs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: dependency cycle between jobs: {cycle}")]
pub struct CycleError {
    /// JSON path of the new job's dependency that closes the cycle
    /// (`DependsOn[0].Job`, `TaskGroups[1].DependsOn[0].Job`).
    pub path: String,
    /// The cycle, `a -> b -> a`.
    pub cycle: String,
}

/// Every job a job depends on (its own list and its groups'), in order, once each.
fn edges(job: &Job) -> Vec<(String, &str)> {
    let mut out: Vec<(String, &str)> = job
        .depends_on
        .iter()
        .enumerate()
        .map(|(i, d)| (format!("DependsOn[{i}].Job"), d.job.as_str()))
        .collect();
    for (gi, g) in job.task_groups.iter().enumerate() {
        for (i, d) in g.depends_on.iter().enumerate() {
            out.push((
                format!("TaskGroups[{gi}].DependsOn[{i}].Job"),
                d.job.as_str(),
            ));
        }
    }
    out
}

/// Refuses `job` if registering it closes a dependency cycle among the jobs of its
/// namespace. `lookup` gives the other jobs by ID (their current versions); the new
/// job stands in for its own stored version.
pub fn check_cycles<'a>(
    job: &'a Job,
    lookup: impl Fn(&str) -> Option<&'a Job>,
) -> Result<(), CycleError> {
    let find = |id: &str| if id == job.id { Some(job) } else { lookup(id) };
    for (path, first) in edges(job) {
        // Depth-first from the dependency, looking for the way back to `job`.
        let mut stack: Vec<Vec<&str>> = vec![vec![job.id.as_str(), first]];
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        while let Some(trail) = stack.pop() {
            let Some(&at) = trail.last() else { continue };
            if at == job.id {
                return Err(CycleError {
                    path,
                    cycle: trail.join(" -> "),
                });
            }
            if !seen.insert(at) {
                continue;
            }
            let Some(next) = find(at) else { continue };
            for (_, to) in edges(next).into_iter().rev() {
                let mut t = trail.clone();
                t.push(to);
                stack.push(t);
            }
        }
    }
    Ok(())
}

/// [`check_cycles`] against the jobs stored in `state`.
pub fn check_cycles_in(state: &StateStore, job: &Job) -> Result<(), CycleError> {
    let ns = job.namespace.as_str();
    check_cycles(job, |id| state.job(ns, id))
}
