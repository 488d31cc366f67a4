//! Destructive versus in-place updates: Nomad's `tasksUpdated`.
//!
//! A new job version can be applied to a running allocation in place (the client just
//! records the new version and re-registers services) unless it changes something the
//! running tasks were started with — driver, config, environment, resources, files,
//! volumes, networks, workload identities. Those require stopping the allocation and placing a new one.
//!
//! Node feasibility of an in-place update (does the node still satisfy new constraints,
//! datacenters, node pool?) needs node data and is the placing scheduler's job; it may
//! turn an in-place update into a destructive one.

use std::collections::BTreeMap;

use crate::model::{Job, Task, TaskGroup};

/// True when moving an allocation of `group` from `old` to `new` needs a destructive
/// update. A group missing from either version counts as changed.
pub fn tasks_updated(new: &Job, old: &Job, group: &str) -> bool {
    let (Some(a), Some(b)) = (new.group(group), old.group(group)) else {
        return true;
    };
    group_updated(new, a, old, b)
}

fn group_updated(new_job: &Job, a: &TaskGroup, old_job: &Job, b: &TaskGroup) -> bool {
    if a.tasks.len() != b.tasks.len()
        || a.ephemeral_disk != b.ephemeral_disk
        || a.networks != b.networks
        || a.volumes != b.volumes
        || a.affinities != b.affinities
        || a.spreads != b.spreads
        || new_job.affinities != old_job.affinities
        || new_job.spreads != old_job.spreads
    {
        return true;
    }
    for at in &a.tasks {
        let Some(bt) = b.tasks.iter().find(|t| t.name == at.name) else {
            return true;
        };
        if task_updated(at, bt) {
            return true;
        }
        // Metadata reaches tasks as NOMAD_META_* variables, so any change in the
        // merged job/group/task metadata restarts them.
        if combined_meta(new_job, a, at) != combined_meta(old_job, b, bt) {
            return true;
        }
    }
    false
}

fn task_updated(a: &Task, b: &Task) -> bool {
    a.driver != b.driver
        || a.user != b.user
        || a.lifecycle != b.lifecycle
        || a.config != b.config
        || a.env != b.env
        || a.log_config != b.log_config
        || a.artifacts != b.artifacts
        || a.templates != b.templates
        || a.dispatch_payload != b.dispatch_payload
        || a.volume_mounts != b.volume_mounts
        || a.resources != b.resources
        || a.kind != b.kind
        // The tokens a task sees are in its environment and files from its start.
        || a.identity != b.identity
        || a.identities != b.identities
}

fn combined_meta<'a>(job: &'a Job, g: &'a TaskGroup, t: &'a Task) -> BTreeMap<&'a str, &'a str> {
    let mut m = BTreeMap::new();
    for src in [&job.meta, &g.meta, &t.meta] {
        for (k, v) in src {
            m.insert(k.as_str(), v.as_str());
        }
    }
    m
}

#[cfg(test)]
mod tests;
