//! Canonicalization: filling a submitted job with Nomad's defaults, so that what is
//! stored, scheduled and shown back (`GET /v1/job/:id`) is what Nomad would hold.
//!
//! Two stages. [`merge::merge_partial_blocks`] works on the JSON, where absent and zero
//! can still be told apart, and merges partial policy blocks over their defaults.
//! [`canonicalize_job`] works on the typed job and fills what is wholly absent or empty;
//! it is idempotent and is all a job built in Rust needs.
//!
//! Modules: [`merge`] (the JSON stage) and [`defaults`] (Nomad's default policies per
//! job type, shared by both stages so they never disagree).

pub mod defaults;
pub mod merge;

use crate::model::{Job, Service, Task, TaskGroup, TaskLifecycle, job_type};

/// Fills every default Nomad fills on registration. Idempotent.
pub fn canonicalize_job(job: &mut Job) {
    if job.region.is_empty() {
        job.region = "global".into();
    }
    if job.namespace.is_empty() {
        job.namespace = "default".into();
    }
    if job.job_type.is_empty() {
        job.job_type = job_type::SERVICE.into();
    }
    if job.name.is_empty() {
        job.name = job.id.clone();
    }
    if job.datacenters.is_empty() {
        job.datacenters = vec!["*".into()];
    }
    if job.node_pool.is_empty() {
        job.node_pool = "default".into();
    }
    if job.update.is_none() && job.job_type == job_type::SERVICE {
        job.update = Some(defaults::update_strategy());
    }
    if let Some(periodic) = job.periodic.as_mut() {
        if periodic.spec_type.is_empty() {
            periodic.spec_type = "cron".into();
        }
        if periodic.time_zone.is_empty() {
            periodic.time_zone = "UTC".into();
        }
    }
    if let Some(p) = job.parameterized_job.as_mut()
        && p.payload.is_empty()
    {
        p.payload = "optional".into();
    }
    // orch's job dependencies wait for `running` unless told otherwise.
    let deps = job.depends_on.iter_mut();
    for d in deps.chain(
        job.task_groups
            .iter_mut()
            .flat_map(|g| g.depends_on.iter_mut()),
    ) {
        if d.condition.is_empty() {
            d.condition = crate::model::job_condition::RUNNING.into();
        }
    }
    let (jtype, job_name) = (job.job_type.clone(), job.name.clone());
    let job_update = job.update.clone();
    for group in &mut job.task_groups {
        canonicalize_group(group, &jtype, &job_name, job_update.as_ref());
    }
}

fn canonicalize_group(
    group: &mut TaskGroup,
    jtype: &str,
    job_name: &str,
    job_update: Option<&crate::model::UpdateStrategy>,
) {
    if group.restart_policy.is_none() {
        group.restart_policy = Some(defaults::restart_policy(jtype));
    }
    if group.reschedule_policy.is_none() {
        group.reschedule_policy = defaults::reschedule_policy(jtype);
    }
    if group.update.is_none() && (jtype == job_type::SERVICE || jtype == job_type::SYSTEM) {
        group.update = job_update.cloned();
    }
    // A metric gate's deadline defaults to the group's progress deadline.
    if let Some(u) = group.update.as_mut() {
        let progress = u.progress_deadline;
        if let Some(gate) = u.gate.as_mut().filter(|g| g.deadline == 0) {
            gate.deadline = progress;
        }
    }
    if group.migrate.is_none() && jtype == job_type::SERVICE {
        group.migrate = Some(defaults::migrate_strategy());
    }
    if jtype == job_type::SYSTEM && group.count == 0 {
        group.count = 1;
    }
    if let Some(scaling) = group.scaling.as_mut() {
        if scaling.min.is_none() {
            scaling.min = Some(i64::from(group.count));
        }
        if scaling.kind.is_empty() {
            scaling.kind = "horizontal".into();
        }
    }
    let group_name = group.name.clone();
    for service in &mut group.services {
        canonicalize_service(service, &format!("{job_name}-{group_name}"), "group");
    }
    let restart = group.restart_policy.clone();
    for task in &mut group.tasks {
        canonicalize_task(task, restart.as_ref(), job_name, &group_name);
    }
}

fn canonicalize_task(
    task: &mut Task,
    group_restart: Option<&crate::model::RestartPolicy>,
    job_name: &str,
    group_name: &str,
) {
    if task.restart_policy.is_none() {
        task.restart_policy = group_restart.cloned();
    }
    if task.kill_timeout == 0 {
        task.kill_timeout = Task::default().kill_timeout;
    }
    // A lifecycle block without a hook (nor orch's dependencies) means nothing; Nomad
    // drops it.
    if task.lifecycle.as_ref().is_some_and(|l: &TaskLifecycle| {
        l.hook.is_empty() && l.depends_on.is_empty() && l.condition.is_empty()
    }) {
        task.lifecycle = None;
    }
    // Dependencies wait for success unless told otherwise.
    if let Some(l) = task.lifecycle.as_mut()
        && !l.depends_on.is_empty()
        && l.condition.is_empty()
    {
        l.condition = crate::model::dependency_condition::SUCCESS.into();
    }
    canonicalize_identities(task);
    for artifact in &mut task.artifacts {
        if artifact.mode.is_empty() {
            artifact.mode = "any".into();
        }
        if artifact.destination.is_empty() {
            artifact.destination = if artifact.mode == "file" {
                let base = artifact.source.rsplit('/').next().unwrap_or_default();
                let base = base.split('?').next().unwrap_or_default();
                format!("local/{base}")
            } else {
                "local/".into()
            };
        }
    }
    for template in &mut task.templates {
        if template.change_mode.is_empty() {
            template.change_mode = "restart".into();
        }
        if template.change_signal.is_empty() && template.change_mode == "signal" {
            template.change_signal = "SIGHUP".into();
        }
        template.change_signal = template.change_signal.to_uppercase();
    }
    if let Some(csi) = task.csi_plugin.as_mut() {
        if csi.mount_dir.is_empty() {
            csi.mount_dir = "/csi".into();
        }
        if csi.stage_publish_base_dir.is_empty() {
            csi.stage_publish_base_dir = csi.mount_dir.clone();
        }
        if csi.health_timeout == 0 {
            csi.health_timeout = 30 * crate::model::wire::SECOND;
        }
    }
    for mount in &mut task.volume_mounts {
        if mount.propagation_mode.is_empty() {
            mount.propagation_mode = "private".into();
        }
    }
    let task_name = task.name.clone();
    for service in &mut task.services {
        canonicalize_service(
            service,
            &format!("{job_name}-{group_name}-{task_name}"),
            &task_name,
        );
    }
}

fn canonicalize_service(service: &mut Service, default_name: &str, task_name: &str) {
    if service.name.is_empty() {
        service.name = default_name.to_string();
    }
    if service.address_mode.is_empty() {
        service.address_mode = "auto".into();
    }
    if service.on_update.is_empty() {
        service.on_update = "require_healthy".into();
    }
    // orch has no Consul integration: its own catalog is the default provider (Nomad
    // defaults to consul). An explicit `provider = "consul"` is refused by validation.
    if service.provider.is_empty() {
        service.provider = "nomad".into();
    }
    if service.task_name.is_empty() && task_name != "group" {
        service.task_name = task_name.to_string();
    }
    let service_name = service.name.clone();
    for check in &mut service.checks {
        if check.on_update.is_empty() {
            check.on_update = service.on_update.clone();
        }
        if check.name.is_empty() {
            check.name = format!("service: \"{service_name}\" check");
        }
        if check.check_restart.is_none() {
            check.check_restart = service.check_restart.clone();
        }
    }
}

#[cfg(test)]
mod tests;

/// The default identity gets its name and Nomad's audience; every identity's change mode
/// defaults to `noop`. A block named `default` among the named ones is the default one.
fn canonicalize_identities(task: &mut Task) {
    use crate::model::{DEFAULT_IDENTITY, DEFAULT_IDENTITY_AUDIENCE, identity_change_mode};
    if task.identity.is_none()
        && let Some(i) = task.identities.iter().position(|w| w.is_default())
    {
        task.identity = Some(task.identities.remove(i));
    }
    if let Some(w) = task.identity.as_mut() {
        w.name = DEFAULT_IDENTITY.into();
        if w.audience.is_empty() {
            w.audience = vec![DEFAULT_IDENTITY_AUDIENCE.into()];
        }
    }
    for w in task.identity.iter_mut().chain(task.identities.iter_mut()) {
        if w.change_mode.is_empty() {
            w.change_mode = identity_change_mode::NOOP.into();
        }
    }
}
