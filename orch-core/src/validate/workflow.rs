//! orch's workflow fields at the job and group level (README, "Beyond Nomad"): job
//! dependencies (`depends_on { job, condition }`) and ordered groups
//! (`update { ordered = true }`). Cycles between jobs need the other jobs, so they are
//! checked at registration by [`crate::workflow::job_deps::check_cycles`], not here.

use std::collections::BTreeSet;

use super::{Errors, join};
use crate::model::{Job, JobDependency, TaskGroup, job_condition, job_type};

/// The job's own `depends_on` list and every group's.
pub(crate) fn job_dependencies(e: &mut Errors, job: &Job) {
    dependency_list(e, "", "job", job, &job.depends_on);
    for (i, g) in job.task_groups.iter().enumerate() {
        let path = format!("TaskGroups[{i}]");
        let what = format!("group {:?}", g.name);
        dependency_list(e, &path, &what, job, &g.depends_on);
    }
}

/// One `depends_on` list at `prefix`: a job named, not this one, named once, and a
/// known condition.
fn dependency_list(e: &mut Errors, prefix: &str, what: &str, job: &Job, list: &[JobDependency]) {
    let mut seen = BTreeSet::new();
    for (i, d) in list.iter().enumerate() {
        let path = join(prefix, &format!("DependsOn[{i}]"));
        let hcl = format!("{what} depends_on[{i}]");
        if d.job.is_empty() {
            e.at(
                &path,
                "Job",
                format!("{hcl}: missing job ID (job = \"...\")"),
            );
        } else if d.job == job.id {
            e.at(
                &path,
                "Job",
                format!("{hcl}: a job cannot depend on itself"),
            );
        } else if !seen.insert(d.job.as_str()) {
            e.at(
                &path,
                "Job",
                format!("{hcl}: job {:?} is named twice", d.job),
            );
        }
        if !job_condition::ALL.contains(&d.condition.as_str()) {
            e.at(
                &path,
                "Condition",
                format!(
                    "{hcl}: unknown condition {:?}; expected \"running\", \"healthy\" or \"complete\"",
                    d.condition
                ),
            );
        }
    }
}

/// `update { ordered = true }`: a service group rolled out through deployments (the
/// health each index waits for is the deployment's), without canaries (a canary is an
/// extra index out of order).
pub(crate) fn ordered(e: &mut Errors, path: &str, jtype: &str, g: &TaskGroup) {
    let Some(u) = g.update.as_ref().filter(|u| u.ordered) else {
        return;
    };
    let upath = join(path, "Update");
    let hcl = format!("group {:?} update ordered", g.name);
    if jtype != job_type::SERVICE {
        e.at(
            &upath,
            "Ordered",
            format!("{hcl}: only service jobs can be ordered; this is a {jtype} job"),
        );
    }
    if u.max_parallel == 0 {
        e.at(
            &upath,
            "Ordered",
            format!("{hcl}: needs deployments (max_parallel > 0) to know when an index is healthy"),
        );
    }
    if u.canary > 0 {
        e.at(
            &upath,
            "Ordered",
            format!(
                "{hcl}: cannot be combined with canaries (canary = {})",
                u.canary
            ),
        );
    }
}

/// `update { gate { ... } }`: a known source, a bounded query, a condition that parses,
/// a window within the deadline, and a deadline the progress deadline does not cut
/// short; only where the group rolls out through deployments.
pub(crate) fn gate(e: &mut Errors, path: &str, jtype: &str, g: &TaskGroup) {
    use crate::workflow::gate::{Condition, MAX_QUERY_BYTES, SOURCES};
    let Some(u) = g.update.as_ref() else { return };
    let Some(gate) = u.gate.as_ref() else { return };
    let gpath = join(&join(path, "Update"), "Gate");
    let hcl = format!("group {:?} update gate", g.name);
    if !SOURCES.contains(&gate.source.as_str()) {
        e.at(
            &gpath,
            "Source",
            format!(
                "{hcl}: unknown source {:?}; expected \"prometheus\" or \"nomad-apm\"",
                gate.source
            ),
        );
    }
    if gate.query.trim().is_empty() {
        e.at(
            &gpath,
            "Query",
            format!("{hcl}: missing query (query = \"...\")"),
        );
    } else if gate.query.len() > MAX_QUERY_BYTES {
        e.at(
            &gpath,
            "Query",
            format!("{hcl}: the query is longer than {MAX_QUERY_BYTES} bytes"),
        );
    } else if gate.source != "prometheus"
        && let Err(why) = crate::autoscale::NomadQuery::parse(&gate.query)
    {
        e.at(&gpath, "Query", format!("{hcl}: {why}"));
    }
    if let Err(why) = Condition::parse(&gate.condition) {
        e.at(&gpath, "Condition", format!("{hcl}: {why}"));
    }
    gate_times(e, &gpath, &hcl, u);
    if jtype != job_type::SERVICE {
        e.at(
            &gpath,
            "Source",
            format!("{hcl}: only service jobs roll out through deployments; this is a {jtype} job"),
        );
    } else if u.max_parallel == 0 {
        e.at(
            &gpath,
            "Source",
            format!("{hcl}: needs deployments (max_parallel > 0): a gate holds a deployment's next batch"),
        );
    }
}

/// `for` and `deadline` of a gate: positive, `for` within `deadline`, `deadline` within
/// the group's progress deadline (which would otherwise fail the deployment first).
fn gate_times(e: &mut Errors, gpath: &str, hcl: &str, u: &crate::model::UpdateStrategy) {
    use crate::duration::format_go_duration as d;
    let Some(gate) = u.gate.as_ref() else { return };
    if gate.for_ <= 0 {
        e.at(
            gpath,
            "For",
            format!("{hcl}: for must be positive (how long the condition must hold, e.g. \"2m\")"),
        );
    }
    if gate.deadline <= 0 {
        e.at(
            gpath,
            "Deadline",
            format!("{hcl}: deadline must be positive (set it, or set a progress_deadline)"),
        );
    } else if gate.for_ > gate.deadline {
        e.at(
            gpath,
            "For",
            format!(
                "{hcl}: for ({}) is longer than deadline ({}): the gate could never open",
                d(gate.for_),
                d(gate.deadline)
            ),
        );
    }
    if u.progress_deadline > 0 && gate.deadline > u.progress_deadline {
        e.at(
            gpath,
            "Deadline",
            format!(
                "{hcl}: deadline ({}) is longer than the update's progress_deadline ({}), which would fail the deployment first",
                d(gate.deadline),
                d(u.progress_deadline)
            ),
        );
    }
}
