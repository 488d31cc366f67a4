//! A task's container as Nomad lays it out: name `<task>-<alloc_id>`, the allocation's
//! `alloc/` and the task's `local/` and `secrets/` bound at `/alloc`, `/local`,
//! `/secrets`, the task's environment with those paths, Nomad's labels, `cpu` as CPU
//! shares and `memory` as the limit (`memory_max`: reservation at `memory`, limit at
//! `memory_max`), no swap, and the task config's options. What the plugin does not
//! allow (privileges, host binds, capabilities) is refused here, before the engine is
//! asked.

use std::collections::HashMap;
use std::path::{Component, Path};

use bollard::models::{
    ContainerCreateBody, DeviceMapping, HostConfig, HostConfigLogConfig, Mount, MountBindOptions,
    MountBindOptionsPropagationEnum, MountTmpfsOptions, MountType, MountVolumeOptions,
    MountVolumeOptionsDriverConfig, PortBinding, ResourcesUlimits,
};

use super::config::{MountConfig, TaskConfig};
use super::options::DockerOptions;
use crate::client::driver::caps::CapSet;
use crate::client::driver::{DriverError, TaskSpec};
use crate::client::safe_path::{Dir, is_refused};

/// The label every container of orch carries (Nomad's): the allocation it belongs to.
pub const LABEL_ALLOC_ID: &str = "com.hashicorp.nomad.alloc_id";

fn err(field: &str, message: impl Into<String>) -> DriverError {
    DriverError::Config {
        field: field.to_string(),
        message: message.into(),
    }
}

/// `<task>-<alloc_id>`, Nomad's container name.
pub fn container_name(spec: &TaskSpec) -> String {
    format!("{}-{}", spec.task_name, spec.alloc_id)
}

/// Nomad's labels (alloc ID, job, group, task, namespace, node) from the spec and its
/// `NOMAD_*` environment, under the task's own `labels`.
fn labels(spec: &TaskSpec, cfg: &TaskConfig) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = cfg.labels.clone().into_iter().collect();
    let env = |k: &str| spec.env.get(k).cloned().unwrap_or_default();
    for (name, value) in [
        ("alloc_id", spec.alloc_id.clone()),
        ("job_name", env("NOMAD_JOB_NAME")),
        ("job_id", env("NOMAD_JOB_ID")),
        ("task_group_name", env("NOMAD_GROUP_NAME")),
        ("task_name", spec.task_name.clone()),
        ("namespace", env("NOMAD_NAMESPACE")),
        ("node_id", spec.node_id.clone()),
        ("node_name", spec.node_name.clone()),
    ] {
        out.insert(format!("com.hashicorp.nomad.{name}"), value);
    }
    out
}

/// The task's environment with the container's paths for the task directories.
fn env(spec: &TaskSpec) -> Vec<String> {
    let mut env = spec.env.clone();
    for (k, v) in [
        ("NOMAD_ALLOC_DIR", "/alloc"),
        ("NOMAD_TASK_DIR", "/local"),
        ("NOMAD_SECRETS_DIR", "/secrets"),
    ] {
        env.insert(k.into(), v.into());
    }
    // The host's PATH means nothing in an image: keep the image's own.
    env.remove("PATH");
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// A bind source: relative ones are inside the task directory (always allowed, no
/// `..`); absolute ones are host paths, allowed only with `volumes { enabled = true }`.
fn bind_source(
    field: &str,
    source: &str,
    spec: &TaskSpec,
    opts: &DockerOptions,
) -> Result<String, DriverError> {
    let p = Path::new(source);
    if p.is_absolute() {
        if !opts.volumes_enabled {
            return Err(err(
                field,
                format!(
                    "binding the host path {source:?} needs volumes {{ enabled = true }} in the client's plugin \"docker\" config; use a path relative to the task directory instead"
                ),
            ));
        }
        return Ok(source.to_string());
    }
    if p.components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(err(
            field,
            format!("{source:?} leaves the task directory; relative sources may not use .."),
        ));
    }
    // The engine follows links when it binds: a link an earlier run of the task left
    // there (`local/x -> /`) would bind the host's root. Resolve it beneath the task
    // directory without following any link first.
    if !spec.task_dir.as_os_str().is_empty() {
        let found = Dir::open(&spec.task_dir).and_then(|d| d.metadata(p));
        let link = match &found {
            Ok(m) => m.file_type().is_symlink(),
            Err(e) => is_refused(e),
        };
        if link {
            return Err(err(
                field,
                format!(
                    "{source:?} is or passes through a symbolic link inside the task directory; bind a real directory"
                ),
            ));
        }
    }
    Ok(spec.task_dir.join(p).display().to_string())
}

fn binds(
    spec: &TaskSpec,
    cfg: &TaskConfig,
    opts: &DockerOptions,
) -> Result<Vec<String>, DriverError> {
    let mut out = vec![
        format!("{}:/alloc", spec.alloc_dir.join("alloc").display()),
        format!("{}:/local", spec.task_dir.join("local").display()),
        format!("{}:/secrets", spec.task_dir.join("secrets").display()),
    ];
    for (i, v) in cfg.volumes.iter().enumerate() {
        let field = format!("volumes[{i}]");
        let (source, rest) = v.split_once(':').unwrap_or((v, ""));
        out.push(format!(
            "{}:{rest}",
            bind_source(&field, source, spec, opts)?
        ));
    }
    out.extend(spec.volumes.iter().map(host_volume_bind));
    Ok(out)
}

/// A host volume of the client (`volume_mount`): the operator configured it, so it is
/// bound whatever `volumes { enabled }` says, as in Nomad; read-only and propagation
/// become the bind's options.
fn host_volume_bind(v: &super::super::TaskVolume) -> String {
    let mut flags = Vec::new();
    if v.read_only {
        flags.push("ro");
    }
    match v.propagation.as_str() {
        "host-to-task" => flags.push("rslave"),
        "bidirectional" => flags.push("rshared"),
        _ => {}
    }
    let bind = format!("{}:{}", v.host_path.display(), v.destination.display());
    if flags.is_empty() {
        bind
    } else {
        format!("{bind}:{}", flags.join(","))
    }
}

fn mount(
    i: usize,
    m: &MountConfig,
    spec: &TaskSpec,
    opts: &DockerOptions,
) -> Result<Mount, DriverError> {
    let field = format!("mount[{i}]");
    let mut out = Mount {
        target: Some(m.target.clone()),
        read_only: Some(m.readonly),
        ..Default::default()
    };
    match m.kind.as_str() {
        "bind" => {
            out.typ = Some(MountType::BIND);
            out.source = Some(bind_source(
                &format!("{field}.source"),
                &m.source,
                spec,
                opts,
            )?);
            if let Some(p) = &m.propagation {
                let prop = serde_json::from_value::<MountBindOptionsPropagationEnum>(
                    serde_json::Value::String(p.clone()),
                )
                .map_err(|_| {
                    err(
                        &format!("{field}.bind_options.propagation"),
                        format!("{p:?}: use private, rprivate, shared, rshared, slave or rslave"),
                    )
                })?;
                out.bind_options = Some(MountBindOptions {
                    propagation: Some(prop),
                    ..Default::default()
                });
            }
        }
        "volume" => {
            if !opts.volumes_enabled {
                return Err(err(
                    &field,
                    "volume mounts need volumes { enabled = true } in the client's plugin \"docker\" config",
                ));
            }
            out.typ = Some(MountType::VOLUME);
            out.source = Some(m.source.clone());
            out.volume_options = Some(MountVolumeOptions {
                no_copy: Some(m.no_copy),
                labels: Some(m.volume_labels.clone().into_iter().collect()),
                driver_config: m.volume_driver.as_ref().map(|name| {
                    MountVolumeOptionsDriverConfig {
                        name: Some(name.clone()),
                        options: Some(m.volume_driver_options.clone().into_iter().collect()),
                    }
                }),
                ..Default::default()
            });
        }
        _ => {
            out.typ = Some(MountType::TMPFS);
            out.tmpfs_options = Some(MountTmpfsOptions {
                size_bytes: m.tmpfs_size,
                mode: m.tmpfs_mode,
                ..Default::default()
            });
        }
    }
    Ok(out)
}

/// The `ports` a task lists, as container port → host binding. Without a port of
/// that label in the group's network, the task cannot start.
fn port_bindings(
    spec: &TaskSpec,
    cfg: &TaskConfig,
) -> Result<HashMap<String, Option<Vec<PortBinding>>>, DriverError> {
    let mut out = HashMap::new();
    for (i, label) in cfg.ports.iter().enumerate() {
        let p = spec.ports.iter().find(|p| &p.label == label).ok_or_else(|| {
            err(
                &format!("ports[{i}]"),
                format!(
                    "no port labelled {label:?} in the group's network block; add port {label:?} {{}} to it"
                ),
            )
        })?;
        let inside = if p.to > 0 { p.to } else { p.value };
        let binding = PortBinding {
            host_ip: (!p.host_ip.is_empty()).then(|| p.host_ip.clone()),
            host_port: Some(p.value.to_string()),
        };
        for proto in ["tcp", "udp"] {
            out.insert(format!("{inside}/{proto}"), Some(vec![binding.clone()]));
        }
    }
    Ok(out)
}

/// The capability set docker is told (`cap_drop = ALL` plus these), within `allow_caps`.
fn capabilities(cfg: &TaskConfig, opts: &DockerOptions) -> Result<Vec<String>, DriverError> {
    let set = CapSet::for_driver("docker", opts.allow_caps, cfg.caps.add, cfg.caps.drop)?;
    Ok(set
        .names()
        .into_iter()
        .map(|n| format!("CAP_{}", n.to_ascii_uppercase()))
        .collect())
}

/// Refuses what needs the plugin's `allow_privileged`.
pub fn check_privileges(cfg: &TaskConfig, opts: &DockerOptions) -> Result<(), DriverError> {
    match cfg.privileged_request() {
        Some(field) if !opts.allow_privileged => Err(err(
            field,
            "privileged containers and host pid/ipc namespaces are disabled on this client; set allow_privileged = true in its plugin \"docker\" config to allow them",
        )),
        _ => Ok(()),
    }
}

/// Checks everything about the task config that does not need the spec.
pub fn check(cfg: &TaskConfig, opts: &DockerOptions) -> Result<(), DriverError> {
    check_privileges(cfg, opts)?;
    capabilities(cfg, opts)?;
    let spec = dummy_spec();
    for (i, v) in cfg.volumes.iter().enumerate() {
        let source = v.split(':').next().unwrap_or_default();
        bind_source(&format!("volumes[{i}]"), source, &spec, opts)?;
    }
    for (i, m) in cfg.mounts.iter().enumerate() {
        mount(i, m, &spec, opts)?;
    }
    Ok(())
}

fn dummy_spec() -> TaskSpec {
    TaskSpec {
        log_max_files: 1,
        log_max_file_size_mb: 1,
        ..TaskSpec::default()
    }
}

/// The pause container a task of a group network joins; refuses what the group's
/// network block sets instead (Nomad: `network { dns { ... } hostname }`), since the
/// engine refuses them with `container:` networking.
fn group_sandbox(spec: &TaskSpec, cfg: &TaskConfig) -> Result<Option<String>, DriverError> {
    let Some(net) = &spec.network else {
        return Ok(None);
    };
    let Some(id) = &net.sandbox_container else {
        return Err(DriverError::Start(format!(
            "the allocation's network namespace {} is not held by a docker sandbox container; docker tasks can join only those",
            net.netns_path.display()
        )));
    };
    let conflicts = [
        ("network_mode", cfg.network_mode.is_some()),
        ("hostname", cfg.hostname.is_some()),
        ("dns_servers", !cfg.dns_servers.is_empty()),
        ("dns_search_domains", !cfg.dns_search_domains.is_empty()),
        ("dns_options", !cfg.dns_options.is_empty()),
        ("extra_hosts", !cfg.extra_hosts.is_empty()),
    ];
    if let Some((field, _)) = conflicts.iter().find(|(_, set)| *set) {
        return Err(err(
            field,
            "the task joins its group's network (bridge mode): set the hostname and DNS in the group's network block instead, and remove this option",
        ));
    }
    Ok(Some(id.clone()))
}

fn ulimits(cfg: &TaskConfig) -> Option<Vec<ResourcesUlimits>> {
    (!cfg.ulimit.is_empty()).then(|| {
        cfg.ulimit
            .iter()
            .map(|(name, (soft, hard))| ResourcesUlimits {
                name: Some(name.clone()),
                soft: Some(*soft),
                hard: Some(*hard),
            })
            .collect()
    })
}

fn devices(cfg: &TaskConfig) -> Option<Vec<DeviceMapping>> {
    (!cfg.devices.is_empty()).then(|| {
        cfg.devices
            .iter()
            .map(|d| DeviceMapping {
                path_on_host: Some(d.host_path.clone()),
                path_in_container: Some(d.container_path.clone()),
                cgroup_permissions: Some(d.cgroup_permissions.clone()),
            })
            .collect()
    })
}

fn host_config(
    spec: &TaskSpec,
    cfg: &TaskConfig,
    opts: &DockerOptions,
) -> Result<HostConfig, DriverError> {
    check_privileges(cfg, opts)?;
    let mib = |m: u64| i64::try_from(m.saturating_mul(1024 * 1024)).unwrap_or(i64::MAX);
    let (limit, reservation) = if spec.memory_max_mb > spec.memory_mb {
        (mib(spec.memory_max_mb), Some(mib(spec.memory_mb)))
    } else {
        (mib(spec.memory_mb), None)
    };
    let (network_mode, port_bindings) = match group_sandbox(spec, cfg)? {
        // Bridge mode: the pause container holds the namespace, CNI maps the ports.
        Some(id) => (Some(format!("container:{id}")), None),
        // Docker maps ports only into a network of its own (bridge or a named one).
        None => {
            let mode = cfg.network_mode.clone();
            let own = mode
                .as_deref()
                .is_none_or(|m| m != "host" && m != "none" && !m.starts_with("container:"));
            (mode, own.then(|| port_bindings(spec, cfg)).transpose()?)
        }
    };
    let mounts = cfg
        .mounts
        .iter()
        .enumerate()
        .map(|(i, m)| mount(i, m, spec, opts))
        .collect::<Result<Vec<_>, _>>()?;
    let caps = (!cfg.privileged)
        .then(|| capabilities(cfg, opts))
        .transpose()?;
    let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    Ok(HostConfig {
        binds: Some(binds(spec, cfg, opts)?),
        mounts: (!mounts.is_empty()).then_some(mounts),
        cpu_shares: Some(i64::try_from(spec.cpu_mhz.max(2)).unwrap_or(i64::MAX)),
        memory: (limit > 0).then_some(limit),
        memory_reservation: reservation,
        // Nomad's containers do not swap.
        memory_swap: (limit > 0).then_some(limit),
        network_mode,
        port_bindings,
        dns: list(&cfg.dns_servers),
        dns_search: list(&cfg.dns_search_domains),
        dns_options: list(&cfg.dns_options),
        extra_hosts: list(&cfg.extra_hosts),
        cap_drop: caps.is_some().then(|| vec!["ALL".to_string()]),
        cap_add: caps,
        privileged: Some(cfg.privileged),
        readonly_rootfs: Some(cfg.readonly_rootfs),
        init: cfg.init.then_some(true),
        security_opt: list(&cfg.security_opt),
        sysctls: (!cfg.sysctl.is_empty()).then(|| cfg.sysctl.clone().into_iter().collect()),
        ulimits: ulimits(cfg),
        shm_size: cfg.shm_size,
        ipc_mode: cfg.ipc_mode.clone(),
        pid_mode: cfg.pid_mode.clone(),
        oom_score_adj: cfg.oom_score_adj,
        devices: devices(cfg),
        // Nomad's default: json-file, rotated, which the driver follows into its files.
        log_config: Some(HostConfigLogConfig {
            typ: Some("json-file".into()),
            config: Some(HashMap::from([
                ("max-file".to_string(), "2".to_string()),
                ("max-size".to_string(), "2m".to_string()),
            ])),
        }),
        ..Default::default()
    })
}

/// The engine's create request for the task.
pub fn create_body(
    spec: &TaskSpec,
    cfg: &TaskConfig,
    opts: &DockerOptions,
) -> Result<ContainerCreateBody, DriverError> {
    let host = host_config(spec, cfg, opts)?;
    let cmd = match &cfg.command {
        Some(c) => Some(std::iter::once(c.clone()).chain(cfg.args.clone()).collect()),
        None => (!cfg.args.is_empty()).then(|| cfg.args.clone()),
    };
    let exposed: Vec<String> = host
        .port_bindings
        .as_ref()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    Ok(ContainerCreateBody {
        image: Some(cfg.image.clone()),
        cmd,
        entrypoint: cfg.entrypoint.clone(),
        env: Some(env(spec)),
        working_dir: cfg.work_dir.clone(),
        // Joining another container's namespace leaves the hostname to it.
        hostname: if host
            .network_mode
            .as_deref()
            .is_some_and(|m| m.starts_with("container:"))
        {
            None
        } else {
            cfg.hostname.clone()
        },
        user: (!spec.user.is_empty()).then(|| spec.user.clone()),
        labels: Some(labels(spec, cfg)),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        host_config: Some(host),
        ..Default::default()
    })
}
