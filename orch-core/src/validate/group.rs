//! Validation of a task group: counts, policies per job type, networks, volumes,
//! scaling bounds, and each of its tasks.

use std::collections::BTreeMap;

use super::{Errors, join, policy, task};
use crate::model::{DisconnectStrategy, Job, Port, TaskGroup, job_type};

/// Checks one group at `path` (`TaskGroups[i]`), topic by topic, in field order.
pub(crate) fn validate_group(e: &mut Errors, path: &str, job: &Job, g: &TaskGroup) {
    let jtype = job.job_type.as_str();
    let system = jtype == job_type::SYSTEM;
    identity(e, path, g, system);
    client_disconnect(e, path, jtype, g);
    if let Some(d) = &g.disconnect {
        disconnect_block(e, &join(path, "Disconnect"), g, d);
    }
    if g.shutdown_delay.is_some_and(|d| d < 0) {
        e.at(
            path,
            "ShutdownDelay",
            "ShutdownDelay must be a positive value",
        );
    }
    policy::constraints(e, path, &g.constraints, false);
    policy::affinities(e, path, &g.affinities, system);
    policy::spreads(e, path, &g.spreads, system);
    restart_and_reschedule(e, path, g, system);
    if g.ephemeral_disk.size_mb < 10 {
        e.at(
            path,
            "EphemeralDisk.SizeMB",
            format!(
                "Minimum DiskMB value is 10; got {}",
                g.ephemeral_disk.size_mb
            ),
        );
    }
    update_and_migrate(e, path, jtype, g);
    super::workflow::ordered(e, path, jtype, g);
    super::workflow::gate(e, path, jtype, g);
    scaling(e, path, g);
    networks(e, path, g);
    volumes(e, path, g);
    task::validate_services(e, path, g, &[], &g.services);
    tasks(e, path, job, g);
}

/// The group's name, its count under the system scheduler (at most 1), and that it
/// has tasks at all.
fn identity(e: &mut Errors, path: &str, g: &TaskGroup, system: bool) {
    if g.name.is_empty() {
        e.at(path, "Name", "Missing task group name");
    } else if g.name.contains('\0') {
        e.at(path, "Name", "Task group name contains null character");
    }
    if system && g.count > 1 {
        e.at(
            path,
            "Count",
            format!(
                "Job task group {} has count {}. Count cannot exceed 1 with system scheduler",
                g.name, g.count
            ),
        );
    }
    if g.count > super::MAX_GROUP_COUNT {
        e.at(
            path,
            "Count",
            format!(
                "Job task group {} has count {}; a group can have at most {} allocations (split the work into several groups or jobs)",
                g.name,
                g.count,
                super::MAX_GROUP_COUNT
            ),
        );
    }
    if g.tasks.is_empty() {
        e.at(path, "Tasks", "Missing tasks for task group");
    }
}

/// The legacy client-disconnect fields, `max_client_disconnect` and
/// `stop_after_client_disconnect`: exclusive, non-negative, and the latter only for
/// batch and service jobs.
fn client_disconnect(e: &mut Errors, path: &str, jtype: &str, g: &TaskGroup) {
    if g.max_client_disconnect.is_some() && g.stop_after_client_disconnect.is_some() {
        e.add(path, "Task group cannot be configured with both max_client_disconnect and stop_after_client_disconnect");
    }
    if g.max_client_disconnect.is_some_and(|d| d < 0) {
        e.at(
            path,
            "MaxClientDisconnect",
            "max_client_disconnect cannot be negative",
        );
    }
    if let Some(d) = g.stop_after_client_disconnect {
        if d < 0 {
            e.at(
                path,
                "StopAfterClientDisconnect",
                "stop_after_client_disconnect must be a positive value",
            );
        } else if d > 0 && jtype != job_type::BATCH && jtype != job_type::SERVICE {
            e.at(
                path,
                "StopAfterClientDisconnect",
                "stop_after_client_disconnect can only be set in batch and service jobs",
            );
        }
    }
}

/// The `disconnect` block at `dpath`: not mixed with the legacy fields it replaces, a
/// non-negative `lost_after`, and a known reconcile strategy.
fn disconnect_block(e: &mut Errors, dpath: &str, g: &TaskGroup, d: &DisconnectStrategy) {
    if g.max_client_disconnect.is_some() && d.lost_after > 0 {
        e.add(
            dpath,
            "using both lost_after and max_client_disconnect is not allowed",
        );
    }
    if g.stop_after_client_disconnect.is_some() && d.stop_on_client_after.is_some() {
        e.add(
            dpath,
            "using both stop_after_client_disconnect and stop_on_client_after is not allowed",
        );
    }
    if g.prevent_reschedule_on_lost && d.replace.is_some() {
        e.add(
            dpath,
            "using both prevent_reschedule_on_lost and replace is not allowed",
        );
    }
    if d.lost_after < 0 {
        e.at(dpath, "LostAfter", "lost_after cannot be negative");
    }
    let reconciles = [
        "",
        "best_score",
        "keep_original",
        "keep_replacement",
        "longest_running",
    ];
    if !reconciles.contains(&d.reconcile.as_str()) {
        e.at(dpath, "Reconcile", format!(
            "invalid reconcile strategy {:?}; expected best_score, keep_original, keep_replacement or longest_running",
            d.reconcile
        ));
    }
}

/// A restart policy is required; a reschedule policy is required except for system
/// jobs, which must not have one.
fn restart_and_reschedule(e: &mut Errors, path: &str, g: &TaskGroup, system: bool) {
    match &g.restart_policy {
        None => e.at(
            path,
            "RestartPolicy",
            format!("Task Group {} should have a restart policy", g.name),
        ),
        Some(r) => policy::restart(e, &join(path, "RestartPolicy"), r, &g.name),
    }
    match (&g.reschedule_policy, system) {
        (Some(_), true) => e.at(
            path,
            "ReschedulePolicy",
            "System jobs should not have a reschedule policy",
        ),
        (None, false) => e.at(
            path,
            "ReschedulePolicy",
            format!("Task Group {} should have a reschedule policy", g.name),
        ),
        (Some(r), false) => policy::reschedule(e, &join(path, "ReschedulePolicy"), r),
        (None, true) => {}
    }
}

/// `update` (service and system jobs only) and `migrate` (service jobs only) blocks.
fn update_and_migrate(e: &mut Errors, path: &str, jtype: &str, g: &TaskGroup) {
    if let Some(u) = &g.update {
        if jtype != job_type::SERVICE && jtype != job_type::SYSTEM {
            e.at(
                path,
                "Update",
                format!("Job type {jtype:?} does not allow update block"),
            );
        } else {
            policy::update(e, &join(path, "Update"), u);
        }
    }
    if let Some(m) = &g.migrate {
        if jtype != job_type::SERVICE {
            e.at(
                path,
                "Migrate",
                format!("Job type {jtype:?} does not allow migrate block"),
            );
        } else {
            policy::migrate(e, &join(path, "Migrate"), m);
        }
    }
}

/// Group volumes: a known type (`host` or `csi`) and a source.
fn volumes(e: &mut Errors, path: &str, g: &TaskGroup) {
    for (name, v) in &g.volumes {
        let vpath = join(path, &format!("Volumes[{name:?}]"));
        if v.kind != "host" && v.kind != "csi" {
            e.at(
                &vpath,
                "Type",
                format!(
                    "volume has unrecognized type {:?}; expected \"host\" or \"csi\"",
                    v.kind
                ),
            );
        }
        if v.source.is_empty() {
            e.at(&vpath, "Source", "volume has an empty source");
        }
        if v.kind == "csi" {
            csi_volume(e, &vpath, g, v);
        }
    }
}

/// A CSI volume request: known access and attachment modes (both required, as in
/// Nomad), a read-only mode only for readers, and no `per_alloc` with canaries.
fn csi_volume(e: &mut Errors, vpath: &str, g: &TaskGroup, v: &crate::model::VolumeRequest) {
    use crate::model::csi::{ClaimLimits, access_mode, attachment_mode};
    if v.access_mode.is_empty() {
        e.at(vpath, "AccessMode", "CSI volumes must have an access mode");
    } else if !access_mode::ALL.contains(&v.access_mode.as_str()) {
        e.at(
            vpath,
            "AccessMode",
            format!(
                "access_mode {:?} is unknown; use one of {}",
                v.access_mode,
                access_mode::ALL.join(", ")
            ),
        );
    }
    if v.attachment_mode.is_empty() {
        e.at(
            vpath,
            "AttachmentMode",
            "CSI volumes must have an attachment mode",
        );
    } else if !attachment_mode::ALL.contains(&v.attachment_mode.as_str()) {
        e.at(
            vpath,
            "AttachmentMode",
            format!(
                "attachment_mode {:?} is unknown; use file-system or block-device",
                v.attachment_mode
            ),
        );
    }
    let read_only_mode = ClaimLimits::of(&v.access_mode).is_some_and(|l| l.max_writers == Some(0));
    if read_only_mode && !v.read_only {
        e.at(
            vpath,
            "ReadOnly",
            format!(
                "{} volumes must be read-only; set read_only = true",
                v.access_mode
            ),
        );
    }
    let canaries = g.update.as_ref().is_some_and(|u| u.canary > 0);
    let single_node = [
        access_mode::SINGLE_NODE_READER,
        access_mode::SINGLE_NODE_WRITER,
    ]
    .contains(&v.access_mode.as_str());
    if single_node && !v.per_alloc {
        let role = if read_only_mode { "reader" } else { "writer" };
        if g.count > 1 {
            e.at(
                vpath,
                "AccessMode",
                format!(
                    "volume with {} access mode allows only one {role}; use per_alloc = true or a multi-node access mode",
                    v.access_mode
                ),
            );
        }
        if canaries {
            e.at(
                vpath,
                "AccessMode",
                format!(
                    "volume with {} access mode does not support canaries",
                    v.access_mode
                ),
            );
        }
    }
    if v.per_alloc && canaries {
        e.at(
            vpath,
            "PerAlloc",
            "volume cannot be per_alloc when canaries are in use",
        );
    }
}

/// Each task (see [`task::validate_task`]), plus what only the group can see: task
/// names are unique and at most one task is the leader.
fn tasks(e: &mut Errors, path: &str, job: &Job, g: &TaskGroup) {
    let mut leaders = 0;
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, t) in g.tasks.iter().enumerate() {
        let tpath = join(path, &format!("Tasks[{i}]"));
        if !t.name.is_empty() {
            if let Some(first) = names.get(t.name.as_str()) {
                e.at(
                    &tpath,
                    "Name",
                    format!(
                        "Task {} redefines '{}' from task {}",
                        i + 1,
                        t.name,
                        first + 1
                    ),
                );
            } else {
                names.insert(&t.name, i);
            }
        }
        leaders += usize::from(t.leader);
        task::validate_task(e, &tpath, job, g, t);
    }
    if leaders > 1 {
        e.at(path, "Tasks", "Only one task may be marked as leader");
    }
    dependencies(e, path, job, g);
    if !g.resume.is_empty() && g.resume != crate::model::RESUME_FROM_FAILURE {
        e.at(
            path,
            "Resume",
            format!(
                "group {:?} resume: unknown mode {:?}; expected \"from_failure\" (or nothing, to rerun every task)",
                g.name, g.resume
            ),
        );
    }
}

/// orch's task dependencies (`lifecycle { depends_on, condition }`): names, conditions,
/// hooks they cannot combine with, cycles. Skipped while a hook is unknown (reported
/// by the task's own checks).
fn dependencies(e: &mut Errors, path: &str, job: &Job, g: &TaskGroup) {
    let Ok(roles) = g
        .tasks
        .iter()
        .map(crate::lifecycle::TaskRole::of)
        .collect::<Result<Vec<_>, _>>()
    else {
        return;
    };
    for p in crate::lifecycle::check_dependencies(g, &roles, Some(&job.job_type)) {
        let hcl_field = p
            .field
            .replace("DependsOn", "depends_on")
            .replace("Condition", "condition");
        e.at(
            &join(path, &format!("Tasks[{}].Lifecycle", p.task)),
            &p.field,
            format!(
                "group {:?} task {:?} lifecycle {hcl_field}: {}",
                g.name, g.tasks[p.task].name, p.message
            ),
        );
    }
}

/// The `scaling` block: a type, `max` given and not below `min` or the count, a policy
/// the autoscaler can parse, and `min` non-negative and not above the count.
fn scaling(e: &mut Errors, path: &str, g: &TaskGroup) {
    let Some(s) = &g.scaling else { return };
    let spath = join(path, "Scaling");
    if s.kind.is_empty() {
        e.at(
            &spath,
            "Type",
            "Scaling policy invalid: missing scaling policy type",
        );
    }
    let count = i64::from(g.count);
    match s.max {
        None => e.at(
            &spath,
            "Max",
            "Scaling policy invalid: maximum count must be specified and non-negative",
        ),
        Some(max) if max < 0 => e.at(
            &spath,
            "Max",
            "Scaling policy invalid: maximum count must be specified and non-negative",
        ),
        Some(max) => {
            if s.min.is_some_and(|min| max < min) {
                e.at(
                    &spath,
                    "Max",
                    "Scaling policy invalid: maximum count must not be less than minimum count",
                );
            }
            if max < count {
                e.at(&spath, "Max", "Scaling policy invalid: task group count must not be greater than maximum count in scaling policy");
            }
        }
    }
    if let Err(list) = crate::autoscale::parse_policy(&s.policy.0) {
        let ppath = join(&spath, "Policy");
        for pe in list {
            e.at(
                &ppath,
                &pe.path,
                format!("Scaling policy invalid: {}", pe.message),
            );
        }
    }
    match s.min {
        Some(min) if min < 0 => e.at(&spath, "Min", "Scaling policy invalid: minimum count must be specified and non-negative"),
        Some(min) if count < min => {
            e.at(&spath, "Min", "Scaling policy invalid: task group count must not be less than minimum count in scaling policy")
        }
        _ => {}
    }
}

/// Group networks: a known mode, then every port (see [`port`]); port labels and
/// static ports are tracked across all of the group's networks.
fn networks(e: &mut Errors, path: &str, g: &TaskGroup) {
    let mut labels: BTreeMap<&str, String> = BTreeMap::new();
    let mut statics: BTreeMap<(&str, u16), String> = BTreeMap::new();
    for (i, n) in g.networks.iter().enumerate() {
        let npath = join(path, &format!("Networks[{i}]"));
        let ok_mode =
            ["", "host", "bridge", "none"].contains(&n.mode.as_str()) || n.mode.starts_with("cni/");
        if !ok_mode {
            e.at(
                &npath,
                "Mode",
                format!(
                    "Invalid network mode {:?}; expected host, bridge, none or cni/<name>",
                    n.mode
                ),
            );
        }
        let ports = n
            .reserved_ports
            .iter()
            .map(|p| ("ReservedPorts", p))
            .chain(n.dynamic_ports.iter().map(|p| ("DynamicPorts", p)));
        for (j, (kind, p)) in ports.enumerate() {
            let ppath = join(
                &npath,
                &format!(
                    "{kind}[{}]",
                    if kind == "ReservedPorts" {
                        j
                    } else {
                        j - n.reserved_ports.len()
                    }
                ),
            );
            port(e, &ppath, kind, p, &mut labels, &mut statics);
        }
    }
}

/// One port of `kind` (`ReservedPorts` or `DynamicPorts`) at `ppath`: a label unique in
/// the group, a `to` mapping within -1..=65535, and, for static ports, a value not
/// already reserved on the same host network.
fn port<'g>(
    e: &mut Errors,
    ppath: &str,
    kind: &str,
    p: &'g Port,
    labels: &mut BTreeMap<&'g str, String>,
    statics: &mut BTreeMap<(&'g str, u16), String>,
) {
    if p.label.is_empty() {
        e.at(ppath, "Label", "Port label must not be empty");
    } else if let Some(other) = labels.get(p.label.as_str()) {
        e.at(
            ppath,
            "Label",
            format!("Port label {} already in use by {other}", p.label),
        );
    } else {
        labels.insert(&p.label, ppath.to_string());
    }
    if p.to < -1 {
        e.at(
            ppath,
            "To",
            format!(
                "Port {:?} cannot be mapped to negative value {}",
                p.label, p.to
            ),
        );
    } else if p.to > 65535 {
        e.at(
            ppath,
            "To",
            format!(
                "Port {:?} cannot be mapped to a port ({}) greater than 65535",
                p.label, p.to
            ),
        );
    }
    if kind == "ReservedPorts" && p.value > 0 {
        let net = if p.host_network.is_empty() {
            "default"
        } else {
            p.host_network.as_str()
        };
        if let Some(other) = statics.get(&(net, p.value)) {
            e.at(
                ppath,
                "Value",
                format!("Static port {} already reserved by {other}", p.value),
            );
        } else {
            statics.insert((net, p.value), p.label.clone());
        }
    }
}
