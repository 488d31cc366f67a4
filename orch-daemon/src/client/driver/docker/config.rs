//! The docker task's `config` block, with Nomad's option names, checked by hand so each
//! error names its field (see `driver::config`). Blocks arrive as the jobspec decoder
//! writes them (lists of objects: `labels { a = "b" }` is `[{"a": "b"}]`), literal
//! objects as they were written; both forms are accepted wherever Nomad accepts a map or
//! a block.
//!
//! Nomad options orch does not implement are refused naming them, never ignored.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::client::driver::DriverError;
use crate::client::driver::config::{CapRequest, opt_string, req_string, string_list};

/// Every option orch's docker driver reads.
pub const KNOWN: [&str; 37] = [
    "image",
    "load",
    "force_pull",
    "command",
    "args",
    "entrypoint",
    "work_dir",
    "ports",
    "network_mode",
    "hostname",
    "dns_servers",
    "dns_search_domains",
    "dns_options",
    "extra_hosts",
    "labels",
    "volumes",
    "mount",
    "mounts",
    "devices",
    "cap_add",
    "cap_drop",
    "privileged",
    "readonly_rootfs",
    "init",
    "security_opt",
    "sysctl",
    "ulimit",
    "shm_size",
    "ipc_mode",
    "pid_mode",
    "oom_score_adj",
    "auth_soft_fail",
    // Nomad's boolean defaults, accepted only at their default (see `check_defaults`).
    "interactive",
    "tty",
    "cpu_hard_limit",
    "advertise_ipv6_address",
    "healthchecks",
];

/// Nomad's options that orch's docker driver does not implement.
const UNSUPPORTED: [&str; 25] = [
    "auth",
    "logging",
    "image_pull_timeout",
    "container_exists_attempts",
    "group_add",
    "isolation",
    "ipv4_address",
    "ipv6_address",
    "mac_address",
    "memory_hard_limit",
    "network_aliases",
    "port_map",
    "storage_opt",
    "uts_mode",
    "userns_mode",
    "volume_driver",
    "runtime",
    "pids_limit",
    "cpu_cfs_period",
    "cpuset_cpus",
    "pid_limit",
    "entrypoint_override",
    "work_dir_override",
    "dns_opts",
    "gpu",
];

/// One `mount` block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MountConfig {
    /// `bind`, `volume` or `tmpfs` (Nomad's default: `volume`).
    pub kind: String,
    /// Path in the container.
    pub target: String,
    /// Host path (bind) or volume name (volume).
    pub source: String,
    /// `readonly`.
    pub readonly: bool,
    /// `bind_options { propagation }`.
    pub propagation: Option<String>,
    /// `volume_options { no_copy }`.
    pub no_copy: bool,
    /// `volume_options { labels }`.
    pub volume_labels: BTreeMap<String, String>,
    /// `volume_options { driver_config { name } }`.
    pub volume_driver: Option<String>,
    /// `volume_options { driver_config { options } }`.
    pub volume_driver_options: BTreeMap<String, String>,
    /// `tmpfs_options { size }` in bytes.
    pub tmpfs_size: Option<i64>,
    /// `tmpfs_options { mode }`.
    pub tmpfs_mode: Option<i64>,
}

/// One `devices` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceConfig {
    /// `host_path` (required).
    pub host_path: String,
    /// `container_path` (default: `host_path`).
    pub container_path: String,
    /// `cgroup_permissions` (default `rwm`).
    pub cgroup_permissions: String,
}

/// A checked docker task config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskConfig {
    /// `image` (required).
    pub image: String,
    /// `load`: an image tarball in the task directory.
    pub load: Option<String>,
    /// `force_pull`.
    pub force_pull: bool,
    /// `command`.
    pub command: Option<String>,
    /// `args`.
    pub args: Vec<String>,
    /// `entrypoint` (absent: the image's).
    pub entrypoint: Option<Vec<String>>,
    /// `work_dir`.
    pub work_dir: Option<String>,
    /// `ports`: group port labels.
    pub ports: Vec<String>,
    /// `network_mode`.
    pub network_mode: Option<String>,
    /// `hostname`.
    pub hostname: Option<String>,
    /// `dns_servers`.
    pub dns_servers: Vec<String>,
    /// `dns_search_domains`.
    pub dns_search_domains: Vec<String>,
    /// `dns_options`.
    pub dns_options: Vec<String>,
    /// `extra_hosts` (`host:IP`).
    pub extra_hosts: Vec<String>,
    /// `labels`.
    pub labels: BTreeMap<String, String>,
    /// `volumes` (`source:target[:options]`).
    pub volumes: Vec<String>,
    /// `mount` blocks and `mounts` entries.
    pub mounts: Vec<MountConfig>,
    /// `devices`.
    pub devices: Vec<DeviceConfig>,
    /// `cap_add` / `cap_drop`.
    pub caps: CapRequest,
    /// `privileged`.
    pub privileged: bool,
    /// `readonly_rootfs`.
    pub readonly_rootfs: bool,
    /// `init`.
    pub init: bool,
    /// `security_opt`.
    pub security_opt: Vec<String>,
    /// `sysctl`.
    pub sysctl: BTreeMap<String, String>,
    /// `ulimit`: name → `soft[:hard]`.
    pub ulimit: BTreeMap<String, (i64, i64)>,
    /// `shm_size` in bytes.
    pub shm_size: Option<i64>,
    /// `ipc_mode`.
    pub ipc_mode: Option<String>,
    /// `pid_mode`.
    pub pid_mode: Option<String>,
    /// `oom_score_adj`.
    pub oom_score_adj: Option<i64>,
    /// `auth_soft_fail`: accepted; orch has no registry auth to fail.
    pub auth_soft_fail: bool,
}

fn err(field: &str, message: impl Into<String>) -> DriverError {
    DriverError::Config {
        field: field.to_string(),
        message: message.into(),
    }
}

/// A boolean (or `"true"` / `"false"`, as interpolation leaves them).
fn opt_bool(obj: &Map<String, Value>, field: &str) -> Result<bool, DriverError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        Some(_) => Err(err(field, "must be true or false")),
    }
}

/// An integer (or a string holding one).
fn opt_int(obj: &Map<String, Value>, field: &str) -> Result<Option<i64>, DriverError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| err(field, "must be a whole number")),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| err(field, format!("{s:?} is not a whole number"))),
        Some(_) => Err(err(field, "must be a whole number")),
    }
}

/// A block or literal object: an object, or a list of objects merged in order.
fn objects<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
) -> Result<Vec<&'a Map<String, Value>>, DriverError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(o)) => Ok(vec![o]),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Object(o) => Ok(o),
                _ => Err(err(&format!("{field}[{i}]"), "must be a block (object)")),
            })
            .collect(),
        Some(_) => Err(err(field, "must be a block or a map")),
    }
}

/// A map of strings (numbers and booleans are taken as written).
fn string_map(
    obj: &Map<String, Value>,
    field: &str,
) -> Result<BTreeMap<String, String>, DriverError> {
    let mut out = BTreeMap::new();
    for o in objects(obj, field)? {
        for (k, v) in o {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return Err(err(&format!("{field}.{k}"), "must be a string")),
            };
            out.insert(k.clone(), s);
        }
    }
    Ok(out)
}

/// A nested block given at most once, checked against `known`.
fn single<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
    known: &[&str],
) -> Result<Option<&'a Map<String, Value>>, DriverError> {
    let list = objects(obj, field)?;
    if list.len() > 1 {
        return Err(err(field, "may be given only once"));
    }
    let Some(o) = list.first() else {
        return Ok(None);
    };
    if let Some(k) = o.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(err(
            &format!("{field}.{k}"),
            format!("unknown option; use {}", known.join(", ")),
        ));
    }
    Ok(Some(o))
}

fn in_field(prefix: &str, e: DriverError) -> DriverError {
    match e {
        DriverError::Config { field, message } => err(&format!("{prefix}.{field}"), message),
        other => other,
    }
}

fn parse_mount(o: &Map<String, Value>) -> Result<MountConfig, DriverError> {
    const KEYS: [&str; 7] = [
        "type",
        "target",
        "source",
        "readonly",
        "bind_options",
        "volume_options",
        "tmpfs_options",
    ];
    if let Some(k) = o.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(err(k, format!("unknown option; use {}", KEYS.join(", "))));
    }
    let kind = opt_string(o, "type")?.unwrap_or_else(|| "volume".into());
    if !["bind", "volume", "tmpfs"].contains(&kind.as_str()) {
        return Err(err("type", format!("{kind:?}: use bind, volume or tmpfs")));
    }
    let mut m = MountConfig {
        target: req_string(o, "target")?,
        source: opt_string(o, "source")?.unwrap_or_default(),
        readonly: opt_bool(o, "readonly")?,
        ..Default::default()
    };
    if kind != "tmpfs" && m.source.is_empty() {
        return Err(err("source", format!("is required for a {kind} mount")));
    }
    if let Some(b) = single(o, "bind_options", &["propagation"])? {
        m.propagation = opt_string(b, "propagation").map_err(|e| in_field("bind_options", e))?;
    }
    let vo = single(o, "volume_options", &["no_copy", "labels", "driver_config"])?;
    if let Some(v) = vo {
        m.no_copy = opt_bool(v, "no_copy").map_err(|e| in_field("volume_options", e))?;
        m.volume_labels = string_map(v, "labels").map_err(|e| in_field("volume_options", e))?;
        if let Some(d) = single(v, "driver_config", &["name", "options"])
            .map_err(|e| in_field("volume_options", e))?
        {
            let ctx = |e| in_field("volume_options.driver_config", e);
            m.volume_driver = opt_string(d, "name").map_err(ctx)?;
            m.volume_driver_options = string_map(d, "options").map_err(ctx)?;
        }
    }
    if let Some(t) = single(o, "tmpfs_options", &["size", "mode"])? {
        m.tmpfs_size = opt_int(t, "size").map_err(|e| in_field("tmpfs_options", e))?;
        m.tmpfs_mode = opt_int(t, "mode").map_err(|e| in_field("tmpfs_options", e))?;
    }
    m.kind = kind;
    Ok(m)
}

fn parse_mounts(obj: &Map<String, Value>) -> Result<Vec<MountConfig>, DriverError> {
    let mut out = Vec::new();
    for field in ["mount", "mounts"] {
        for (i, o) in objects(obj, field)?.into_iter().enumerate() {
            out.push(parse_mount(o).map_err(|e| in_field(&format!("{field}[{i}]"), e))?);
        }
    }
    Ok(out)
}

fn parse_devices(obj: &Map<String, Value>) -> Result<Vec<DeviceConfig>, DriverError> {
    const KEYS: [&str; 3] = ["host_path", "container_path", "cgroup_permissions"];
    let mut out = Vec::new();
    for (i, o) in objects(obj, "devices")?.into_iter().enumerate() {
        let at = |e| in_field(&format!("devices[{i}]"), e);
        if let Some(k) = o.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(at(err(
                k,
                format!("unknown option; use {}", KEYS.join(", ")),
            )));
        }
        let host_path = req_string(o, "host_path").map_err(at)?;
        let perms = opt_string(o, "cgroup_permissions")
            .map_err(at)?
            .unwrap_or_else(|| "rwm".into());
        if perms.is_empty() || !perms.chars().all(|c| "rwm".contains(c)) {
            return Err(at(err(
                "cgroup_permissions",
                format!("{perms:?}: use a combination of r, w and m"),
            )));
        }
        out.push(DeviceConfig {
            container_path: opt_string(o, "container_path")
                .map_err(at)?
                .unwrap_or_else(|| host_path.clone()),
            host_path,
            cgroup_permissions: perms,
        });
    }
    Ok(out)
}

fn parse_ulimits(obj: &Map<String, Value>) -> Result<BTreeMap<String, (i64, i64)>, DriverError> {
    let mut out = BTreeMap::new();
    for (name, v) in string_map(obj, "ulimit")? {
        let field = format!("ulimit.{name}");
        let bad = || {
            err(
                &field,
                format!("{v:?}: use \"soft\" or \"soft:hard\" (numbers)"),
            )
        };
        let (soft, hard) = match v.split_once(':') {
            Some((s, h)) => (s.trim().parse(), h.trim().parse()),
            None => (v.trim().parse(), v.trim().parse()),
        };
        let (soft, hard): (i64, i64) = (soft.map_err(|_| bad())?, hard.map_err(|_| bad())?);
        if soft > hard {
            return Err(err(&field, "the soft limit is above the hard limit"));
        }
        out.insert(name, (soft, hard));
    }
    Ok(out)
}

/// Refuses Nomad's options orch lacks, and Nomad's default-off booleans set on.
fn check_unsupported(obj: &Map<String, Value>) -> Result<(), DriverError> {
    if let Some(k) = obj.keys().find(|k| UNSUPPORTED.contains(&k.as_str())) {
        return Err(err(
            k,
            "not supported by orch's docker driver; remove it from the task's config",
        ));
    }
    for k in [
        "interactive",
        "tty",
        "cpu_hard_limit",
        "advertise_ipv6_address",
    ] {
        if opt_bool(obj, k)? {
            return Err(err(
                k,
                "not supported by orch's docker driver; remove it or set it to false",
            ));
        }
    }
    if !objects(obj, "healthchecks")?.is_empty() {
        return Err(err(
            "healthchecks",
            "not supported by orch's docker driver; remove it from the task's config",
        ));
    }
    Ok(())
}

fn opt_list(obj: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>, DriverError> {
    obj.contains_key(field)
        .then(|| string_list(obj, field))
        .transpose()
}

impl TaskConfig {
    /// Parses and checks a docker task's config block.
    pub fn parse(config: &Value) -> Result<TaskConfig, DriverError> {
        let obj = match config {
            Value::Object(o) => o,
            Value::Null => return Err(err("", "the config block is missing (it needs image)")),
            _ => return Err(err("", "must be a block (object)")),
        };
        check_unsupported(obj)?;
        if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(err(
                k,
                format!(
                    "unknown option; the docker driver accepts {}",
                    KNOWN.join(", ")
                ),
            ));
        }
        let mut c = TaskConfig {
            image: req_string(obj, "image")?,
            load: opt_string(obj, "load")?,
            force_pull: opt_bool(obj, "force_pull")?,
            command: opt_string(obj, "command")?,
            args: string_list(obj, "args")?,
            entrypoint: opt_list(obj, "entrypoint")?,
            work_dir: opt_string(obj, "work_dir")?,
            ports: string_list(obj, "ports")?,
            network_mode: opt_string(obj, "network_mode")?,
            hostname: opt_string(obj, "hostname")?,
            dns_servers: string_list(obj, "dns_servers")?,
            dns_search_domains: string_list(obj, "dns_search_domains")?,
            dns_options: string_list(obj, "dns_options")?,
            extra_hosts: string_list(obj, "extra_hosts")?,
            labels: string_map(obj, "labels")?,
            volumes: string_list(obj, "volumes")?,
            mounts: parse_mounts(obj)?,
            devices: parse_devices(obj)?,
            caps: CapRequest::from_object(obj)?,
            privileged: opt_bool(obj, "privileged")?,
            readonly_rootfs: opt_bool(obj, "readonly_rootfs")?,
            init: opt_bool(obj, "init")?,
            security_opt: string_list(obj, "security_opt")?,
            sysctl: string_map(obj, "sysctl")?,
            ulimit: parse_ulimits(obj)?,
            shm_size: opt_int(obj, "shm_size")?,
            ipc_mode: opt_string(obj, "ipc_mode")?,
            pid_mode: opt_string(obj, "pid_mode")?,
            oom_score_adj: opt_int(obj, "oom_score_adj")?,
            auth_soft_fail: opt_bool(obj, "auth_soft_fail")?,
        };
        c.check_values()?;
        c.image = c.image.trim().to_string();
        Ok(c)
    }

    fn check_values(&self) -> Result<(), DriverError> {
        for (i, v) in self.volumes.iter().enumerate() {
            let parts: Vec<&str> = v.split(':').collect();
            if !(2..=3).contains(&parts.len()) || parts[0].is_empty() || parts[1].is_empty() {
                return Err(err(
                    &format!("volumes[{i}]"),
                    format!("{v:?}: use \"source:target\" or \"source:target:options\""),
                ));
            }
        }
        for (i, h) in self.extra_hosts.iter().enumerate() {
            if !h.contains(':') {
                return Err(err(
                    &format!("extra_hosts[{i}]"),
                    format!("{h:?}: use \"host:IP\""),
                ));
            }
        }
        if self.shm_size.is_some_and(|s| s < 0) {
            return Err(err("shm_size", "must not be negative"));
        }
        if self.oom_score_adj.is_some_and(|s| !(0..=1000).contains(&s)) {
            return Err(err("oom_score_adj", "must be between 0 and 1000"));
        }
        for (field, mode) in [("pid_mode", &self.pid_mode), ("ipc_mode", &self.ipc_mode)] {
            if mode.as_deref().is_some_and(|m| m.is_empty()) {
                return Err(err(field, "must not be empty (remove it for the default)"));
            }
        }
        Ok(())
    }

    /// Whether the container asks for host namespaces or full privileges, which need the
    /// plugin's `allow_privileged` (as Nomad).
    pub fn privileged_request(&self) -> Option<&'static str> {
        if self.privileged {
            Some("privileged")
        } else if self.pid_mode.as_deref() == Some("host") {
            Some("pid_mode")
        } else if self.ipc_mode.as_deref() == Some("host") {
            Some("ipc_mode")
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests;
