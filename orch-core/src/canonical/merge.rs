//! The JSON stage of canonicalization: merging *partial* policy blocks.
//!
//! A user who writes `restart { attempts = 5 }` gets Nomad's other restart defaults under
//! it, and a job-level `update` block flows into every group, overlaid by the group's own.
//! Only the JSON still knows which fields were written and which were absent, so these
//! merges happen here, before typed deserialization. Whole-absent blocks are left to the
//! typed stage ([`super::canonicalize_job`]), which Rust-built jobs go through too.

use serde::Serialize;
use serde_json::{Map, Value};

use super::defaults;
use crate::model::job_type;
use crate::model::wire::is_empty_value;

/// Merges partial policy blocks of a Nomad-shaped job object (nulls already stripped).
/// Anything that is not an object is left for deserialization to reject with a path.
pub fn merge_partial_blocks(job: &mut Value) {
    let Some(job) = job.as_object_mut() else {
        return;
    };
    let jtype = job
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or(job_type::SERVICE)
        .to_string();
    // Job-level reschedule and migrate blocks exist only to be merged into groups.
    let job_reschedule = job.remove("Reschedule");
    let job_migrate = job.remove("Migrate");
    // Nomad copies a job-level update block into groups only when it sets something.
    let job_update = job.get("Update").filter(|u| !is_empty_value(u)).cloned();
    if let Some(update) = job.get_mut("Update") {
        fill_under(update, &defaults::update_strategy());
    }
    let Some(Value::Array(groups)) = job.get_mut("TaskGroups") else {
        return;
    };
    for group in groups.iter_mut().filter_map(Value::as_object_mut) {
        merge_group(
            group,
            &jtype,
            job_update.as_ref(),
            job_reschedule.as_ref(),
            job_migrate.as_ref(),
        );
    }
}

fn merge_group(
    group: &mut Map<String, Value>,
    jtype: &str,
    job_update: Option<&Value>,
    job_reschedule: Option<&Value>,
    job_migrate: Option<&Value>,
) {
    inherit(group, "Update", job_update);
    if let Some(update) = group.get_mut("Update") {
        fill_under(update, &defaults::update_strategy());
    }
    inherit(group, "ReschedulePolicy", job_reschedule);
    if let Some(policy) = group.get_mut("ReschedulePolicy") {
        // System jobs have no default to fill from; validation refuses their policy.
        if let Some(default) = defaults::reschedule_policy(jtype) {
            fill_under(policy, &default);
        }
    }
    inherit(group, "Migrate", job_migrate);
    if let Some(migrate) = group.get_mut("Migrate") {
        fill_under(migrate, &defaults::migrate_strategy());
    }
    if let Some(restart) = group.get_mut("RestartPolicy") {
        fill_under(restart, &defaults::restart_policy(jtype));
    }
    // Tasks inherit the group's (already merged) restart policy under their own fields.
    let group_restart = group.get("RestartPolicy").cloned();
    if let Some(Value::Array(tasks)) = group.get_mut("Tasks") {
        for task in tasks.iter_mut().filter_map(Value::as_object_mut) {
            if let (Some(own), Some(base)) = (task.get_mut("RestartPolicy"), group_restart.as_ref())
            {
                overlay_under(own, base);
            }
            if let Some(Value::Object(res)) = task.get_mut("Resources") {
                // Asking for whole cores means no MHz default.
                let wants_cores = res.get("Cores").and_then(Value::as_u64).unwrap_or(0) > 0;
                if wants_cores && !res.contains_key("CPU") {
                    res.insert("CPU".into(), Value::from(0));
                }
            }
        }
    }
    // Scaling bounds: an absent count starts at the minimum, an absent minimum is the count.
    let scaling_min = group.get("Scaling").and_then(|s| s.get("Min")).cloned();
    if !group.contains_key("Count")
        && let Some(min) = scaling_min
    {
        group.insert("Count".into(), min);
    }
    let count = group.get("Count").cloned().unwrap_or(Value::from(1));
    if let Some(Value::Object(scaling)) = group.get_mut("Scaling") {
        scaling.entry("Min").or_insert(count);
        scaling.entry("Type").or_insert(Value::from("horizontal"));
    }
}

/// Sets `group[key]` to the job-level block overlaid by the group's own, if either exists.
fn inherit(group: &mut Map<String, Value>, key: &str, job_level: Option<&Value>) {
    let Some(job_level) = job_level else { return };
    match group.get_mut(key) {
        Some(own) => overlay_under(own, job_level),
        None => {
            group.insert(key.into(), job_level.clone());
        }
    }
}

/// Fills fields absent from `target` with those of a typed default.
fn fill_under<T: Serialize>(target: &mut Value, default: &T) {
    if let Ok(base) = serde_json::to_value(default) {
        overlay_under(target, &base);
    }
}

/// Copies into `target` every field of `base` that `target` lacks (one level deep: the
/// policies are flat).
fn overlay_under(target: &mut Value, base: &Value) {
    if let (Value::Object(target), Value::Object(base)) = (target, base) {
        for (k, v) in base {
            target.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

#[cfg(test)]
mod tests;
