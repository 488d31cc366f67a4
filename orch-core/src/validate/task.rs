//! Validation of one task: driver, resources, log limits against the group's disk,
//! lifecycle, artifacts, templates, volume mounts and services.

use std::collections::BTreeSet;

use super::{Errors, join, policy};
use crate::model::{Job, LIFECYCLE_HOOKS, Task, TaskGroup, job_type};

/// Checks one task at `path` (`TaskGroups[i].Tasks[j]`), topic by topic, in field order.
pub(crate) fn validate_task(e: &mut Errors, path: &str, job: &Job, g: &TaskGroup, t: &Task) {
    name_and_driver(e, path, t);
    super::identity::workload_identities(e, path, t);
    timeouts(e, path, job, g, t);
    resources(e, &join(path, "Resources"), t);
    log_config(e, &join(path, "LogConfig"), g, t);
    policy::constraints(e, path, &t.constraints, true);
    policy::affinities(e, path, &t.affinities, job.job_type == job_type::SYSTEM);
    if let Some(r) = &t.restart_policy {
        policy::restart(e, &join(path, "RestartPolicy"), r, &g.name);
    }
    lifecycle(e, path, t);
    artifacts(e, path, t);
    templates(e, path, t);
    if let Some(d) = &t.dispatch_payload
        && escapes(&d.file)
    {
        e.at(
            path,
            "DispatchPayload.File",
            "destination escapes allocation directory",
        );
    }
    volume_mounts(e, path, g, t);
    csi_plugin(e, path, t);
    services(e, path, g, t);
}

/// The task's name (present, no slashes or null characters) and driver.
fn name_and_driver(e: &mut Errors, path: &str, t: &Task) {
    if t.name.is_empty() {
        e.at(path, "Name", "Missing task name");
    } else if t.name.contains('/') || t.name.contains('\\') {
        e.at(path, "Name", "Task name cannot include slashes");
    } else if t.name.contains('\0') {
        e.at(path, "Name", "Task name cannot include null characters");
    } else if t.name == "." || t.name == ".." {
        // The task's directory is named after it: `..` would be the allocation's parent.
        e.at(path, "Name", "Task name cannot be \".\" or \"..\"");
    }
    if t.driver.is_empty() {
        e.at(path, "Driver", "Missing task driver");
    }
}

/// `kill_timeout` (non-negative, and within a service group's update progress
/// deadline) and `shutdown_delay` (non-negative).
fn timeouts(e: &mut Errors, path: &str, job: &Job, g: &TaskGroup, t: &Task) {
    if t.kill_timeout < 0 {
        e.at(path, "KillTimeout", "KillTimeout must be a positive value");
    } else if let Some(u) = g
        .update
        .as_ref()
        .filter(|_| job.job_type == job_type::SERVICE)
        && u.progress_deadline > 0
        && t.kill_timeout > u.progress_deadline
    {
        e.at(
            path,
            "KillTimeout",
            format!(
                "KillTimeout ({}) longer than the group's ProgressDeadline ({})",
                crate::duration::format_go_duration(t.kill_timeout),
                crate::duration::format_go_duration(u.progress_deadline)
            ),
        );
    }
    if t.shutdown_delay < 0 {
        e.at(
            path,
            "ShutdownDelay",
            "ShutdownDelay must be a positive value",
        );
    }
}

/// The log rotation limits at `lpath`: at least one file of at least 1 MB, and all of
/// them together smaller than the group's ephemeral disk.
fn log_config(e: &mut Errors, lpath: &str, g: &TaskGroup, t: &Task) {
    let log = &t.log_config;
    if log.max_files < 1 {
        e.at(
            lpath,
            "MaxFiles",
            format!("minimum number of files is 1; got {}", log.max_files),
        );
    }
    if log.max_file_size_mb < 1 {
        e.at(
            lpath,
            "MaxFileSizeMB",
            format!("minimum file size is 1MB; got {}", log.max_file_size_mb),
        );
    }
    let log_mb = u64::from(log.max_files) * u64::from(log.max_file_size_mb);
    if g.ephemeral_disk.size_mb <= log_mb {
        e.add(
            lpath,
            format!(
                "log storage ({log_mb} MB) must be less than requested disk capacity ({} MB)",
                g.ephemeral_disk.size_mb
            ),
        );
    }
}

/// The `lifecycle` hook, when there is one, is a known hook. A block with only orch's
/// dependencies (no hook) is a main task that waits; the group checks those.
fn lifecycle(e: &mut Errors, path: &str, t: &Task) {
    if let Some(l) = &t.lifecycle
        && (!l.hook.is_empty() || l.depends_on.is_empty())
        && !LIFECYCLE_HOOKS.contains(&l.hook.as_str())
    {
        e.at(
            path,
            "Lifecycle.Hook",
            format!(
                "invalid hook: {}; expected prestart, poststart, poststop or postfail",
                l.hook
            ),
        );
    }
}

/// Each artifact: a source, a known mode, and a destination inside the allocation
/// directory.
fn artifacts(e: &mut Errors, path: &str, t: &Task) {
    for (i, a) in t.artifacts.iter().enumerate() {
        let apath = join(path, &format!("Artifacts[{i}]"));
        if a.source.is_empty() {
            e.at(&apath, "GetterSource", "source must be specified");
        }
        if !["any", "file", "dir"].contains(&a.mode.as_str()) {
            e.at(
                &apath,
                "GetterMode",
                format!(
                    "invalid artifact mode {:?}; must be one of: any, file, dir",
                    a.mode
                ),
            );
        }
        if escapes(&a.destination) {
            e.at(
                &apath,
                "RelativeDest",
                "destination escapes allocation directory",
            );
        }
    }
}

/// A CSI plugin task: a valid ID, a known type, absolute directories, raw_exec.
fn csi_plugin(e: &mut Errors, path: &str, t: &Task) {
    use crate::model::csi_plugin_type as ty;
    let Some(c) = &t.csi_plugin else { return };
    let cpath = join(path, "CSIPluginConfig");
    if !crate::model::csi::valid_csi_id(&c.id) {
        e.at(
            &cpath,
            "ID",
            "csi_plugin needs an id of 1 to 128 letters, digits, '-', '_' or '.'",
        );
    }
    if ![ty::CONTROLLER, ty::NODE, ty::MONOLITH].contains(&c.plugin_type.as_str()) {
        e.at(
            &cpath,
            "Type",
            format!(
                "csi_plugin type {:?} is unknown; use controller, node or monolith",
                c.plugin_type
            ),
        );
    }
    for (field, dir) in [
        ("MountDir", &c.mount_dir),
        ("StagePublishBaseDir", &c.stage_publish_base_dir),
    ] {
        if !dir.starts_with('/') || dir.split('/').any(|p| p == "..") {
            e.at(
                &cpath,
                field,
                format!("{dir:?} must be an absolute path without '..'"),
            );
        }
    }
    if c.health_timeout < 0 {
        e.at(&cpath, "HealthTimeout", "must not be negative");
    }
    // The plugin's socket and mounts must be the host's: tasks with their own root
    // (exec, java, docker) would keep them inside the task.
    if t.driver != "raw_exec" {
        e.at(
            path,
            "Driver",
            format!(
                "csi_plugin tasks must use the raw_exec driver in orch (got {:?}): the plugin's socket and mounts must be the host's; plugins in containers are not supported yet",
                t.driver
            ),
        );
    }
}

/// Each volume mount names a volume of the group, a destination without `..` and a
/// known propagation mode, in a task whose driver can mount (not raw_exec, which runs
/// on the host's filesystem: a mount it ignored would make the task write elsewhere).
fn volume_mounts(e: &mut Errors, path: &str, g: &TaskGroup, t: &Task) {
    if t.driver == "raw_exec" && !t.volume_mounts.is_empty() {
        e.at(
            path,
            "VolumeMounts",
            "the raw_exec driver cannot mount volumes (it runs on the host's filesystem); use exec or docker, or use the host path directly",
        );
    }
    for (i, m) in t.volume_mounts.iter().enumerate() {
        let mpath = join(path, &format!("VolumeMounts[{i}]"));
        if m.destination.is_empty() || m.destination.split('/').any(|c| c == "..") {
            e.at(
                &mpath,
                "Destination",
                format!(
                    "Volume Mount ({i}) needs a destination inside the task without \"..\"; got {:?}",
                    m.destination
                ),
            );
        }
        if !g.volumes.contains_key(&m.volume) {
            e.at(
                &mpath,
                "Volume",
                format!(
                    "Volume Mount ({i}) references undefined volume {}",
                    m.volume
                ),
            );
        }
        if !["private", "host-to-task", "bidirectional"].contains(&m.propagation_mode.as_str()) {
            e.at(&mpath, "PropagationMode", format!(
                "Volume Mount ({i}) is invalid: unknown propagation mode {:?}; expected private, host-to-task or bidirectional",
                m.propagation_mode
            ));
        }
    }
}

/// The task's resources at `path`: `cpu` or `cores` (not both), memory minimums and
/// `memory_max`, no task-level disk, and devices with a name and a count.
fn resources(e: &mut Errors, path: &str, t: &Task) {
    let r = &t.resources;
    if r.cores > 0 && r.cpu > 0 {
        e.add(
            path,
            "Task can only ask for 'cpu' or 'cores' resource, not both.",
        );
    }
    if r.cores == 0 && r.cpu < 1 {
        e.at(
            path,
            "CPU",
            format!("minimum CPU value is 1; got {}", r.cpu),
        );
    }
    if r.memory_mb < 10 {
        e.at(
            path,
            "MemoryMB",
            format!("minimum MemoryMB value is 10; got {}", r.memory_mb),
        );
    }
    if r.memory_max_mb != 0 && r.memory_max_mb < r.memory_mb {
        e.at(
            path,
            "MemoryMaxMB",
            format!(
                "MemoryMaxMB value ({}) should be larger than MemoryMB value ({})",
                r.memory_max_mb, r.memory_mb
            ),
        );
    }
    if r.disk_mb > 0 {
        e.at(
            path,
            "DiskMB",
            "Task can't ask for disk resources, they have to be specified at the task group level.",
        );
    }
    for (i, d) in r.devices.iter().enumerate() {
        device(e, &join(path, &format!("Devices[{i}]")), i, d);
    }
}

/// One device request: a name of one to three non-empty parts, a count, and orch's
/// `share` (a fraction of one instance, so only with `count = 1`).
fn device(e: &mut Errors, dpath: &str, i: usize, d: &crate::model::RequestedDevice) {
    let parts: Vec<&str> = d.name.split('/').collect();
    if d.name.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.trim().is_empty()) {
        e.at(dpath, "Name", format!("device {} failed validation: device name {:?} must be given as one of: <device_type>, <vendor>/<device_type>, or <vendor>/<device_type>/<model_name>", i + 1, d.name));
    }
    if d.count == 0 {
        e.at(
            dpath,
            "Count",
            format!(
                "device {} failed validation: count must be at least 1",
                i + 1
            ),
        );
    }
    let Some(share) = d.share else {
        return;
    };
    if !share.is_valid() {
        e.at(
            dpath,
            "Share",
            format!(
                "device {} failed validation: share must be above 0 and at most 1 (the fraction of one instance the task needs, such as 0.25); got {}",
                i + 1,
                share.to_text()
            ),
        );
    }
    if d.count > 1 {
        e.at(
            dpath,
            "Count",
            format!(
                "device {} failed validation: a share is part of one instance, so count must be 1 with share (got count {}); ask for whole instances without share",
                i + 1,
                d.count
            ),
        );
    }
}

/// Each template: a source, a destination inside the allocation directory and unique
/// in the task, a supported change mode, a non-negative splay and octal permissions.
fn templates(e: &mut Errors, path: &str, t: &Task) {
    let mut dests = BTreeSet::new();
    for (i, tm) in t.templates.iter().enumerate() {
        let tpath = join(path, &format!("Templates[{i}]"));
        if tm.source_path.is_empty() && tm.embedded_tmpl.is_empty() {
            e.add(
                &tpath,
                "Must specify a source path or have an embedded template",
            );
        }
        if tm.dest_path.is_empty() {
            e.at(
                &tpath,
                "DestPath",
                "Must specify a destination for the template",
            );
        } else if escapes(&tm.dest_path) {
            e.at(
                &tpath,
                "DestPath",
                "destination escapes allocation directory",
            );
        } else if !dests.insert(tm.dest_path.as_str()) {
            e.at(
                &tpath,
                "DestPath",
                format!(
                    "Template {} has same destination as another template",
                    i + 1
                ),
            );
        }
        if !["noop", "restart", "signal", "script"].contains(&tm.change_mode.as_str()) {
            e.at(
                &tpath,
                "ChangeMode",
                "Invalid change mode. Must be one of the following: noop, signal, script, restart",
            );
        }
        if tm.change_mode == "script" {
            e.at(
                &tpath,
                "ChangeMode",
                "change_mode \"script\" is not supported by orch yet; use restart, signal or noop",
            );
        }
        if tm.change_mode == "signal" && tm.envvars {
            e.at(
                &tpath,
                "Envvars",
                "cannot use signals with env var templates",
            );
        }
        if tm.splay < 0 {
            e.at(&tpath, "Splay", "Must specify positive splay value");
        }
        if !tm.perms.is_empty() && u32::from_str_radix(&tm.perms, 8).is_err() {
            e.at(
                &tpath,
                "Perms",
                format!("Failed to parse {:?} as octal", tm.perms),
            );
        }
    }
}

/// The task's services, whose port labels may also come from the task's own networks.
fn services(e: &mut Errors, path: &str, g: &TaskGroup, t: &Task) {
    validate_services(e, path, g, &t.resources.networks, &t.services);
}

/// Services of a group (`task_networks` empty) or of a task: provider, port labels and
/// checks. orch has no Consul integration, so only the built-in `nomad` provider (the
/// default in orch) is accepted.
pub(crate) fn validate_services(
    e: &mut Errors,
    path: &str,
    g: &TaskGroup,
    task_networks: &[crate::model::NetworkResource],
    services: &[crate::model::Service],
) {
    let labels: BTreeSet<&str> = g
        .networks
        .iter()
        .chain(task_networks)
        .flat_map(|n| n.reserved_ports.iter().chain(&n.dynamic_ports))
        .map(|p| p.label.as_str())
        .collect();
    for (i, s) in services.iter().enumerate() {
        let spath = join(path, &format!("Services[{i}]"));
        if s.provider == "consul" {
            e.at(
                &spath,
                "Provider",
                "service provider \"consul\" is not supported: orch has no Consul integration; \
                 use provider = \"nomad\" (orch's built-in service catalog, the default)",
            );
        } else if s.provider != "nomad" {
            e.at(
                &spath,
                "Provider",
                format!(
                    "invalid service provider {:?}; expected nomad (orch's built-in catalog)",
                    s.provider
                ),
            );
        }
        if !s.port_label.is_empty()
            && s.port_label.parse::<u16>().is_err()
            && !labels.contains(s.port_label.as_str())
        {
            e.at(
                &spath,
                "PortLabel",
                format!(
                    "port label {:?} referenced by service {:?} does not exist",
                    s.port_label, s.name
                ),
            );
        }
        for (j, c) in s.checks.iter().enumerate() {
            service_check(e, &join(&spath, &format!("Checks[{j}]")), c);
        }
    }
}

/// One service check at `cpath`: a supported type, and for non-script checks a positive
/// interval and a timeout of at least 1s.
fn service_check(e: &mut Errors, cpath: &str, c: &crate::model::ServiceCheck) {
    if c.kind == "grpc" {
        e.at(
            cpath,
            "Type",
            "grpc checks are not supported by orch yet; use an http, tcp or script check",
        );
    } else if !["http", "tcp", "script"].contains(&c.kind.as_str()) {
        e.at(
            cpath,
            "Type",
            format!(
                "invalid check type {:?}; expected http, tcp or script",
                c.kind
            ),
        );
    }
    if c.kind != "script" && c.interval <= 0 {
        e.at(
            cpath,
            "Interval",
            "check interval must be greater than zero",
        );
    }
    if c.kind != "script" && c.timeout < 1_000_000_000 {
        e.at(
            cpath,
            "Timeout",
            format!(
                "check timeout must be at least 1s; got {}",
                crate::duration::format_go_duration(c.timeout)
            ),
        );
    }
}

/// True if a relative path climbs out of the allocation directory.
pub(super) fn escapes(p: &str) -> bool {
    let mut depth: i32 = 0;
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}
