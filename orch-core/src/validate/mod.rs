//! Job validation: every problem at once, each with the JSON path of the field at fault
//! (`TaskGroups[0].Tasks[1].Resources.MemoryMB: minimum MemoryMB value is 10; got 4`).
//!
//! Runs on a canonicalized job (see [`crate::canonical`]); rules and wording follow
//! Nomad's `Validate` methods so that messages users search for still match.
//!
//! Modules: `group` (a task group and its tasks), `task` (one task), `identity` (a
//! task's workload identities) and `policy` (the
//! small shared blocks: placement rules, restart, reschedule, update, migrate, periodic,
//! dispatch), `workflow` (orch's job dependencies and ordered groups).

mod group;
mod identity;
mod policy;
mod task;
mod workflow;

use std::fmt;

use crate::model::{Job, job_type};

/// One problem: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field, e.g. `TaskGroups[0].Count`; empty for the whole job.
    pub path: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in a job, in field order. Never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error(s) in job:", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n  * {e}")?;
        }
        Ok(())
    }
}

/// Collects errors while walking a job, keeping the current path.
pub(crate) struct Errors {
    list: Vec<FieldError>,
}

impl Errors {
    fn new() -> Self {
        Errors { list: Vec::new() }
    }

    /// Records a problem at `path` (relative to nothing: callers build full paths).
    pub(crate) fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.list.push(FieldError {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Records a problem at `prefix.field`.
    pub(crate) fn at(&mut self, prefix: &str, field: &str, message: impl Into<String>) {
        self.add(join(prefix, field), message);
    }
}

/// Joins path segments: `join("TaskGroups[0]", "Count")` is `TaskGroups[0].Count`.
pub(crate) fn join(prefix: &str, field: &str) -> String {
    match (prefix.is_empty(), field.is_empty()) {
        (true, _) => field.to_string(),
        (_, true) => prefix.to_string(),
        _ => format!("{prefix}.{field}"),
    }
}

/// Highest job priority accepted (Nomad's default `job_max_priority`).
pub const MAX_PRIORITY: i32 = 100;

/// The most allocations one task group may ask for. Nomad sets no bound, but a count in
/// the billions cannot be planned (the scheduler would try to hold every placement) and
/// must be a clear 400, not an aborted server; a million is far beyond any real group
/// (Nomad's C2M ran two million containers over many jobs).
pub const MAX_GROUP_COUNT: u32 = 1_000_000;

/// Checks a canonicalized job. Returns every problem, never just the first.
pub fn validate_job(job: &Job) -> Result<(), ValidationErrors> {
    let mut e = Errors::new();
    if job.region.is_empty() {
        e.add("Region", "Missing job region");
    }
    if job.id.is_empty() {
        e.add("ID", "Missing job ID");
    } else if job.id.contains(' ') {
        e.add("ID", "Job ID contains a space");
    } else if job.id.contains('\0') {
        e.add("ID", "Job ID contains a null character");
    }
    if job.name.is_empty() {
        e.add("Name", "Missing job name");
    } else if job.name.contains('\0') {
        e.add("Name", "Job Name contains a null character");
    }
    if job.namespace.is_empty() {
        e.add("Namespace", "Job must be in a namespace");
    }
    if !job_type::ALL.contains(&job.job_type.as_str()) {
        e.add(
            "Type",
            format!(
                "Invalid job type: {:?}; expected one of {:?}",
                job.job_type,
                job_type::ALL
            ),
        );
    }
    if !(1..=MAX_PRIORITY).contains(&job.priority) {
        e.add(
            "Priority",
            format!(
                "job priority must be between [1, {MAX_PRIORITY}]; got {}",
                job.priority
            ),
        );
    }
    if job.datacenters.is_empty() {
        e.add("Datacenters", "Missing job datacenters");
    }
    for (i, dc) in job.datacenters.iter().enumerate() {
        if dc.is_empty() {
            e.add(
                format!("Datacenters[{i}]"),
                "Job datacenter must be non-empty string",
            );
        }
    }
    if job.task_groups.is_empty() {
        e.add("TaskGroups", "Missing job task groups");
    }
    let system = job.job_type == job_type::SYSTEM;
    policy::constraints(&mut e, "", &job.constraints, false);
    policy::affinities(&mut e, "", &job.affinities, system);
    policy::spreads(&mut e, "", &job.spreads, system);
    let batch_like = job.job_type == job_type::BATCH || job.job_type == job_type::SYSBATCH;
    if let Some(periodic) = job.periodic.as_ref().filter(|p| p.enabled) {
        if !batch_like {
            e.add(
                "Periodic",
                "Periodic can only be used with \"batch\" or \"sysbatch\" scheduler",
            );
        }
        policy::periodic(&mut e, "Periodic", periodic);
    }
    if let Some(p) = job.parameterized_job.as_ref().filter(|_| !job.dispatched) {
        if !batch_like {
            e.add(
                "ParameterizedJob",
                "Parameterized job can only be used with \"batch\" or \"sysbatch\" scheduler",
            );
        }
        policy::parameterized(&mut e, "ParameterizedJob", p);
    }
    let mut seen = std::collections::BTreeMap::new();
    for (i, group) in job.task_groups.iter().enumerate() {
        let path = format!("TaskGroups[{i}]");
        if !group.name.is_empty()
            && let Some(first) = seen.insert(group.name.as_str(), i)
        {
            e.at(
                &path,
                "Name",
                format!(
                    "Job task group {} redefines '{}' from group {}",
                    i + 1,
                    group.name,
                    first + 1
                ),
            );
            seen.insert(group.name.as_str(), first);
        }
        group::validate_group(&mut e, &path, job, group);
    }
    workflow::job_dependencies(&mut e, job);
    if e.list.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors(e.list))
    }
}
