//! A task's runtime environment (Nomad's `NOMAD_*` variables, meta, ports, the task's
//! `env` block) and Nomad's `${...}` interpolation of node attributes and environment
//! variables in `env` values, driver `config` and templates' `env` function.
//!
//! Differences from Nomad, all deterministic choices where Nomad iterates Go maps:
//! - `env` block values are interpolated against the Nomad-built variables and node
//!   values only, never against each other;
//! - legacy task-level networks give `NOMAD_{IP,PORT,ADDR,HOST_PORT}_<label>` but not the
//!   `<task>_<label>` variants for other tasks of the group;
//! - bridge-mode `NOMAD_ALLOC_{IP,ADDR}_<label>` need the allocation's network namespace
//!   address, which orch does not have yet; `NOMAD_ALLOC_PORT_<label>` is set.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::{Allocation, Job, Node, Task, TaskGroup};

/// Everything a task's environment is built from. Paths are as the task sees them
/// (host paths for `raw_exec`/`exec`-style drivers).
#[derive(Debug, Clone, Copy)]
pub struct TaskEnvInput<'a> {
    /// With its `job` (meta, IDs, type); an allocation without a job gives fewer variables.
    pub alloc: &'a Allocation,
    pub group: &'a str,
    pub task: &'a Task,
    pub node: &'a Node,
    /// The client's region (Nomad's `NOMAD_REGION`), falling back to the job's.
    pub region: &'a str,
    /// The shared `alloc/` directory.
    pub alloc_dir: &'a str,
    /// The task's `local/` directory (`NOMAD_TASK_DIR`).
    pub task_dir: &'a str,
    pub secrets_dir: &'a str,
    /// The task's temporary directory (`TMPDIR`); empty to leave `TMPDIR` unset.
    pub tmp_dir: &'a str,
}

/// The variables `${...}` may refer to: the task's environment plus the node's values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterpolationVars {
    /// Environment variables (`${NOMAD_ALLOC_ID}`, or any name).
    pub env: BTreeMap<String, String>,
    /// `node.unique.id`, `node.unique.name`, `node.datacenter`, `node.region`,
    /// `node.class`, `node.pool`, `attr.<key>`, `meta.<key>` (node meta).
    pub node: BTreeMap<String, String>,
}

impl InterpolationVars {
    /// The node values Nomad interpolates (`${node.*}`, `${attr.*}`, `${meta.*}`).
    pub fn node_values(node: &Node, region: &str) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("node.unique.id".into(), node.id.clone());
        m.insert("node.unique.name".into(), node.name.clone());
        m.insert("node.datacenter".into(), node.datacenter.clone());
        m.insert("node.region".into(), region.to_string());
        m.insert("node.class".into(), node.node_class.clone());
        m.insert("node.pool".into(), node.node_pool.clone());
        for (k, v) in &node.attributes {
            m.insert(format!("attr.{k}"), v.clone());
        }
        for (k, v) in &node.meta {
            m.insert(format!("meta.{k}"), v.clone());
        }
        m
    }

    /// Environment plus the node's values.
    pub fn new(env: BTreeMap<String, String>, node: &Node, region: &str) -> Self {
        InterpolationVars {
            env,
            node: Self::node_values(node, region),
        }
    }

    /// The value of one `${...}` reference (without the braces): node values first
    /// (`node.`, `attr.`, `meta.` prefixes), then environment variables. This is also
    /// what a template's `{{ env "KEY" }}` sees in Nomad.
    pub fn lookup(&self, key: &str) -> Option<&str> {
        let key = key.trim();
        if (key.starts_with("node.") || key.starts_with("attr.") || key.starts_with("meta."))
            && let Some(v) = self.node.get(key)
        {
            return Some(v);
        }
        self.env.get(key).map(String::as_str)
    }

    /// Nomad's template `env` function: environment variables plus `node.*`, `attr.*`
    /// and `meta.*` keys.
    pub fn template_env_lookup(&self, key: &str) -> Option<String> {
        self.lookup(key).map(str::to_string)
    }
}

/// Replaces every `${name}` in `s` whose name is known; unknown references (and a `${`
/// without its `}`) are left as they are, as Nomad does.
pub fn interpolate(s: &str, vars: &InterpolationVars) -> String {
    if !s.contains("${") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match vars.lookup(name) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&rest[start..start + 2 + end + 1]),
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Interpolates every string inside a driver `config` value, recursively (object keys
/// are left alone).
pub fn interpolate_json(value: &Value, vars: &InterpolationVars) -> Value {
    match value {
        Value::String(s) => Value::String(interpolate(s, vars)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| interpolate_json(v, vars)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), interpolate_json(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Nomad's `helper.CleanEnvVar`: every byte outside `[A-Za-z0-9_]` becomes `_`.
pub fn clean_env_var(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `[0, 1, 2, 7]` as `0-2,7` (cpuset list notation).
fn cpuset(cores: &[u32]) -> String {
    let mut cores = cores.to_vec();
    cores.sort_unstable();
    cores.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < cores.len() {
        let mut j = i;
        while j + 1 < cores.len() && cores[j + 1] == cores[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            cores[i].to_string()
        } else {
            format!("{}-{}", cores[i], cores[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

fn host_addr(ip: &str, port: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

fn job_group<'a>(job: Option<&'a Job>, group: &str) -> Option<&'a TaskGroup> {
    job?.task_groups.iter().find(|g| g.name == group)
}

/// The variables Nomad itself sets for a task (no `env` block), keys cleaned.
pub fn nomad_env(input: &TaskEnvInput) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("NOMAD_ALLOC_DIR".into(), input.alloc_dir.to_string());
    env.insert("NOMAD_TASK_DIR".into(), input.task_dir.to_string());
    env.insert("NOMAD_SECRETS_DIR".into(), input.secrets_dir.to_string());
    if !input.tmp_dir.is_empty() {
        env.insert("TMPDIR".into(), input.tmp_dir.to_string());
    }
    resources_env(input, &mut env);
    if let Some(a) = input.alloc.allocated_resources.tasks.get(&input.task.name) {
        devices::devices_env(&a.devices, &mut env);
    }
    identity_env(input, &mut env);
    meta_env(input, &mut env);
    ports_env(input, &mut env);
    env
}

/// `NOMAD_CPU_LIMIT`, `NOMAD_CPU_CORES`, `NOMAD_MEMORY_LIMIT`, `NOMAD_MEMORY_MAX_LIMIT`.
fn resources_env(input: &TaskEnvInput, env: &mut BTreeMap<String, String>) {
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    let (alloc, task) = (input.alloc, input.task);
    // Resources: what was allocated, falling back to what the task asked for.
    let allocated = alloc.allocated_resources.tasks.get(&task.name);
    let cpu = allocated
        .map(|a| a.cpu.cpu_shares)
        .filter(|&c| c > 0)
        .unwrap_or(task.resources.cpu);
    set("NOMAD_CPU_LIMIT", cpu.to_string());
    if let Some(a) = allocated
        && !a.cpu.reserved_cores.is_empty()
    {
        set("NOMAD_CPU_CORES", cpuset(&a.cpu.reserved_cores));
    }
    let (mem, mem_max) = match allocated {
        Some(a) if a.memory.memory_mb > 0 => (a.memory.memory_mb, a.memory.memory_max_mb),
        _ => (task.resources.memory_mb, task.resources.memory_max_mb),
    };
    set("NOMAD_MEMORY_LIMIT", mem.to_string());
    if mem_max > mem {
        set("NOMAD_MEMORY_MAX_LIMIT", mem_max.to_string());
    }
}

/// The allocation's, job's and node's identifiers (`NOMAD_ALLOC_ID`, `NOMAD_JOB_ID`, ...).
fn identity_env(input: &TaskEnvInput, env: &mut BTreeMap<String, String>) {
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    let (alloc, task) = (input.alloc, input.task);
    let job = alloc.job.as_deref();
    // Identifiers.
    set("NOMAD_ALLOC_ID", alloc.id.clone());
    set("NOMAD_SHORT_ALLOC_ID", alloc.id.chars().take(8).collect());
    set("NOMAD_ALLOC_NAME", alloc.name.clone());
    set("NOMAD_ALLOC_INDEX", alloc.index().unwrap_or(0).to_string());
    set("NOMAD_GROUP_NAME", input.group.to_string());
    set("NOMAD_TASK_NAME", task.name.clone());
    set("NOMAD_DC", input.node.datacenter.clone());
    let namespace = match (alloc.namespace.as_str(), job) {
        ("", Some(j)) => j.namespace.clone(),
        (ns, _) => ns.to_string(),
    };
    set("NOMAD_NAMESPACE", namespace);
    let region = match (input.region, job) {
        ("", Some(j)) => j.region.clone(),
        (r, _) => r.to_string(),
    };
    set("NOMAD_REGION", region);
    let job_id = job.map_or(alloc.job_id.to_string(), |j| j.id.clone());
    set("NOMAD_JOB_ID", job_id);
    if let Some(j) = job {
        set("NOMAD_JOB_NAME", j.name.clone());
        if !j.parent_id.is_empty() {
            set("NOMAD_JOB_PARENT_ID", j.parent_id.clone());
        }
    }
}

/// `NOMAD_META_*`.
fn meta_env(input: &TaskEnvInput, env: &mut BTreeMap<String, String>) {
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    let job = input.alloc.job.as_deref();
    let task = input.task;
    // Meta: job, then group, then task (later wins), as NOMAD_META_<KEY> and
    // NOMAD_META_<key>.
    let mut meta: BTreeMap<&str, &str> = BTreeMap::new();
    if let Some(j) = job {
        meta.extend(j.meta.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    if let Some(g) = job_group(job, input.group) {
        meta.extend(g.meta.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    meta.extend(task.meta.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for (k, v) in &meta {
        let clean = clean_env_var(k);
        set(
            &format!("NOMAD_META_{}", clean.to_uppercase()),
            v.to_string(),
        );
        set(&format!("NOMAD_META_{clean}"), v.to_string());
    }
}

/// The ports' addresses: the group's shared ports, then legacy task-level networks.
fn ports_env(input: &TaskEnvInput, env: &mut BTreeMap<String, String>) {
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    let alloc = input.alloc;
    let allocated = alloc.allocated_resources.tasks.get(&input.task.name);
    // Group-level ports (`network` in the group): host side and the mapped port.
    for p in &alloc.allocated_resources.shared.ports {
        let label = clean_env_var(&p.label);
        let host_port = p.value.to_string();
        let port = if p.to > 0 {
            p.to.to_string()
        } else {
            host_port.clone()
        };
        set(&format!("NOMAD_HOST_IP_{label}"), p.host_ip.clone());
        set(&format!("NOMAD_HOST_PORT_{label}"), host_port.clone());
        set(
            &format!("NOMAD_HOST_ADDR_{label}"),
            host_addr(&p.host_ip, &host_port),
        );
        set(&format!("NOMAD_IP_{label}"), p.host_ip.clone());
        set(&format!("NOMAD_PORT_{label}"), port.clone());
        set(
            &format!("NOMAD_ADDR_{label}"),
            host_addr(&p.host_ip, &host_port),
        );
        if p.to > 0 {
            set(&format!("NOMAD_ALLOC_PORT_{label}"), port);
        }
    }
    // Legacy task-level networks.
    if let Some(a) = allocated {
        for net in &a.networks {
            for p in net.reserved_ports.iter().chain(&net.dynamic_ports) {
                let label = clean_env_var(&p.label);
                let host_port = p.value.to_string();
                let port = if p.to > 0 {
                    p.to.to_string()
                } else {
                    host_port.clone()
                };
                set(&format!("NOMAD_IP_{label}"), net.ip.clone());
                set(&format!("NOMAD_HOST_PORT_{label}"), host_port.clone());
                set(&format!("NOMAD_PORT_{label}"), port);
                set(
                    &format!("NOMAD_ADDR_{label}"),
                    host_addr(&net.ip, &host_port),
                );
            }
        }
    }
}

/// The task's whole environment: [`nomad_env`] plus the task's `env` block, each value
/// interpolated (`${NOMAD_*}`, `${node.*}`, `${attr.*}`, `${meta.*}`). The `env` block
/// wins over Nomad's variables, as in Nomad.
pub fn task_env(input: &TaskEnvInput) -> BTreeMap<String, String> {
    let vars = InterpolationVars::new(nomad_env(input), input.node, &region_of(input));
    let mut env = vars.env.clone();
    for (k, v) in &input.task.env {
        env.insert(k.clone(), interpolate(v, &vars));
    }
    env
}

/// The variables a task's driver `config`, artifacts and templates are interpolated
/// with: the whole [`task_env`] plus the node's values.
pub fn interpolation_vars(input: &TaskEnvInput) -> InterpolationVars {
    InterpolationVars::new(task_env(input), input.node, &region_of(input))
}

fn region_of(input: &TaskEnvInput) -> String {
    match (input.region, input.alloc.job.as_deref()) {
        ("", Some(j)) => j.region.clone(),
        (r, _) => r.to_string(),
    }
}

mod devices;

#[cfg(test)]
mod tests;
