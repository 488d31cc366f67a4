//! Namespaces and quota specifications in Nomad's JSON shape (`Namespace`, `QuotaSpec`,
//! `QuotaLimit`, `QuotaUsage` of `nomad/structs`). Nomad keeps quotas in its Enterprise
//! tier; orch has them in the open build, with the same fields and endpoints.
//!
//! The rules every object must keep (name syntax, sizes) live here, so the state machine
//! and the HTTP layer refuse the same things with the same words.

use serde::{Deserialize, Serialize};

use super::{Allocation, TaskGroup};

/// The namespace every cluster has and nobody can delete.
pub const DEFAULT_NAMESPACE: &str = "default";
/// Longest namespace or quota name (Nomad's `^[a-zA-Z0-9-]{1,128}$`).
pub const MAX_NAME_LEN: usize = 128;
/// Longest description, in bytes (Nomad: 256 characters).
pub const MAX_DESCRIPTION_LEN: usize = 256;
/// Most `Meta` entries on a namespace.
pub const MAX_META_ENTRIES: usize = 64;
/// Longest `Meta` key or value, in bytes.
pub const MAX_META_LEN: usize = 512;
/// Most namespaces a cluster holds (bounds every per-namespace scan).
pub const MAX_NAMESPACES: usize = 1024;
/// Most quota specifications a cluster holds.
pub const MAX_QUOTAS: usize = 256;
/// Most limits in one quota specification.
pub const MAX_QUOTA_LIMITS: usize = 16;

/// A namespace: a named scope for jobs and their allocations (Nomad's `Namespace`).
///
/// `Weight` is an orch extension (its fair share of the cluster for queued work,
/// `broker::queue`). In JSON it is a field; in the Raft log and snapshots it rides in
/// `Meta` under [`WEIGHT_META_KEY`], so the binary layout of
/// format 12 is unchanged and every older entry decodes with weight 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// Unique name.
    pub name: String,
    /// Free text for operators.
    pub description: String,
    /// Name of the quota specification that limits this namespace (empty: none).
    pub quota: String,
    /// Which task drivers jobs of this namespace may use.
    pub capabilities: Option<NamespaceCapabilities>,
    /// Operator metadata.
    pub meta: std::collections::BTreeMap<String, String>,
    /// Raft index that created it.
    pub create_index: u64,
    /// Raft index of its last change.
    pub modify_index: u64,
    /// Its weight in the queue's fair share (orch; 1 to `MAX_WEIGHT`, default 1).
    pub weight: u32,
}

/// The `Meta` key that carries a namespace's weight in binary encodings. It starts with
/// a NUL byte, which [`validate_meta`] refuses in keys users send.
pub const WEIGHT_META_KEY: &str = "\u{0}orch.weight";

impl Default for Namespace {
    fn default() -> Self {
        Namespace {
            name: String::new(),
            description: String::new(),
            quota: String::new(),
            capabilities: None,
            meta: std::collections::BTreeMap::new(),
            create_index: 0,
            modify_index: 0,
            weight: crate::broker::queue::DEFAULT_WEIGHT,
        }
    }
}

fn default_weight() -> u32 {
    crate::broker::queue::DEFAULT_WEIGHT
}

/// A namespace in JSON: Nomad's fields plus orch's `Weight` (default 1).
#[derive(Serialize, Deserialize)]
#[serde(default)]
struct NamespaceJson {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Description")]
    description: String,
    #[serde(rename = "Quota")]
    quota: String,
    #[serde(rename = "Capabilities")]
    capabilities: Option<NamespaceCapabilities>,
    #[serde(rename = "Meta")]
    meta: std::collections::BTreeMap<String, String>,
    #[serde(rename = "Weight", default = "default_weight")]
    weight: u32,
    #[serde(rename = "CreateIndex")]
    create_index: u64,
    #[serde(rename = "ModifyIndex")]
    modify_index: u64,
}

impl Default for NamespaceJson {
    fn default() -> Self {
        Namespace::default().into()
    }
}

/// A namespace in postcard (the Raft log, snapshots): the seven fields of format 12,
/// the weight in `meta` under [`WEIGHT_META_KEY`] when it is not 1.
#[derive(Serialize, Deserialize)]
struct NamespaceWire {
    name: String,
    description: String,
    quota: String,
    capabilities: Option<NamespaceCapabilities>,
    meta: std::collections::BTreeMap<String, String>,
    create_index: u64,
    modify_index: u64,
}

impl From<Namespace> for NamespaceJson {
    fn from(n: Namespace) -> Self {
        NamespaceJson {
            name: n.name,
            description: n.description,
            quota: n.quota,
            capabilities: n.capabilities,
            meta: n.meta,
            weight: n.weight,
            create_index: n.create_index,
            modify_index: n.modify_index,
        }
    }
}

impl Serialize for Namespace {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            return NamespaceJson::from(self.clone()).serialize(s);
        }
        let mut meta = self.meta.clone();
        if self.weight != default_weight() {
            meta.insert(WEIGHT_META_KEY.to_owned(), self.weight.to_string());
        }
        NamespaceWire {
            name: self.name.clone(),
            description: self.description.clone(),
            quota: self.quota.clone(),
            capabilities: self.capabilities.clone(),
            meta,
            create_index: self.create_index,
            modify_index: self.modify_index,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Namespace {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let j = NamespaceJson::deserialize(d)?;
            return Ok(Namespace {
                name: j.name,
                description: j.description,
                quota: j.quota,
                capabilities: j.capabilities,
                meta: j.meta,
                create_index: j.create_index,
                modify_index: j.modify_index,
                weight: j.weight,
            });
        }
        let mut w = NamespaceWire::deserialize(d)?;
        let weight = w
            .meta
            .remove(WEIGHT_META_KEY)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(default_weight);
        Ok(Namespace {
            name: w.name,
            description: w.description,
            quota: w.quota,
            capabilities: w.capabilities,
            meta: w.meta,
            create_index: w.create_index,
            modify_index: w.modify_index,
            weight,
        })
    }
}

/// Nomad's `NamespaceCapabilities`: drivers a namespace enables or disables. Enforced at
/// job registration (an empty `EnabledTaskDrivers` allows every driver not disabled).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NamespaceCapabilities {
    /// Only these drivers (empty: all).
    #[serde(rename = "EnabledTaskDrivers")]
    pub enabled_task_drivers: Vec<String>,
    /// Never these drivers.
    #[serde(rename = "DisabledTaskDrivers")]
    pub disabled_task_drivers: Vec<String>,
}

impl NamespaceCapabilities {
    /// Whether a task may use `driver` in a namespace with these capabilities.
    pub fn allows(&self, driver: &str) -> bool {
        (self.enabled_task_drivers.is_empty()
            || self.enabled_task_drivers.iter().any(|d| d == driver))
            && !self.disabled_task_drivers.iter().any(|d| d == driver)
    }
}

impl Namespace {
    /// The `default` namespace as a fresh cluster has it.
    pub fn default_namespace() -> Self {
        Namespace {
            name: DEFAULT_NAMESPACE.into(),
            description: "Default shared namespace".into(),
            ..Namespace::default()
        }
    }
}

/// A quota specification (Nomad's `QuotaSpec`): resource limits per region shared by
/// every namespace that names it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct QuotaSpec {
    /// Unique name.
    #[serde(rename = "Name")]
    pub name: String,
    /// Free text for operators.
    #[serde(rename = "Description")]
    pub description: String,
    /// One limit per region.
    #[serde(rename = "Limits")]
    pub limits: Vec<QuotaLimit>,
    /// Raft index that created it.
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    /// Raft index of its last change.
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

/// The limit of one region (Nomad's `QuotaLimit`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct QuotaLimit {
    /// Region the limit applies to.
    #[serde(rename = "Region")]
    pub region: String,
    /// Resource limits; a zero field is unlimited (Nomad: 0 unlimited, -1 none allowed,
    /// which orch refuses as it has no use without per-dimension denial).
    #[serde(rename = "RegionLimit")]
    pub region_limit: QuotaResources,
    /// Variables storage limit in MiB, shared by the quota's namespaces (sealed bytes
    /// counted; 0 or none: unlimited). Checked when a variable is written.
    #[serde(rename = "VariablesLimit")]
    pub variables_limit: Option<i64>,
    /// Identifies the limit in a [`QuotaUsage`]'s `Used` (orch: FNV-1a of the region and
    /// limits, hex; Nomad: base64 of a blake2b hash).
    #[serde(rename = "Hash")]
    pub hash: String,
}

/// The resource dimensions a quota limits (the subset of Nomad's `Resources` quotas use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct QuotaResources {
    /// CPU in MHz.
    #[serde(rename = "CPU")]
    pub cpu: u64,
    /// Reserved memory in MB.
    #[serde(rename = "MemoryMB")]
    pub memory_mb: u64,
    /// Memory limit in MB (a task without `memory_max` counts its `memory`).
    #[serde(rename = "MemoryMaxMB")]
    pub memory_max_mb: u64,
    /// Whole reserved cores.
    #[serde(rename = "Cores")]
    pub cores: u64,
}

impl QuotaResources {
    /// Adds another amount, saturating.
    pub fn add(&mut self, o: &QuotaResources) {
        self.cpu = self.cpu.saturating_add(o.cpu);
        self.memory_mb = self.memory_mb.saturating_add(o.memory_mb);
        self.memory_max_mb = self.memory_max_mb.saturating_add(o.memory_max_mb);
        self.cores = self.cores.saturating_add(o.cores);
    }

    /// Subtracts another amount, saturating at zero.
    pub fn sub(&mut self, o: &QuotaResources) {
        self.cpu = self.cpu.saturating_sub(o.cpu);
        self.memory_mb = self.memory_mb.saturating_sub(o.memory_mb);
        self.memory_max_mb = self.memory_max_mb.saturating_sub(o.memory_max_mb);
        self.cores = self.cores.saturating_sub(o.cores);
    }

    /// Whether `self + ask` stays within `limit` (zero limits are unlimited); otherwise
    /// Nomad's `QuotaExhausted` entries, one per exceeded dimension
    /// (`cpu exhausted (600 needed > 500 limit)`).
    pub fn exceeds(&self, ask: &QuotaResources, limit: &QuotaResources) -> Vec<String> {
        let dims = [
            ("cpu", self.cpu, ask.cpu, limit.cpu),
            ("memory", self.memory_mb, ask.memory_mb, limit.memory_mb),
            (
                "memory_max",
                self.memory_max_mb,
                ask.memory_max_mb,
                limit.memory_max_mb,
            ),
            ("cores", self.cores, ask.cores, limit.cores),
        ];
        dims.into_iter()
            .filter_map(|(name, used, ask, limit)| {
                let needed = used.saturating_add(ask);
                (limit > 0 && needed > limit)
                    .then(|| format!("{name} exhausted ({needed} needed > {limit} limit)"))
            })
            .collect()
    }
}

/// What the namespaces of a quota use (Nomad's `QuotaUsage`): per limit hash, the
/// summed resources of their non-terminal allocations in that limit's region.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct QuotaUsage {
    /// Quota name.
    #[serde(rename = "Name")]
    pub name: String,
    /// Per limit hash: the limit with `RegionLimit` holding the usage.
    #[serde(rename = "Used")]
    pub used: std::collections::BTreeMap<String, QuotaLimit>,
    /// The quota's `CreateIndex`.
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    /// The quota's `ModifyIndex`.
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

/// FNV-1a 64 over the limit's identity: deterministic on every replica, no dependency.
pub fn limit_hash(l: &QuotaLimit) -> String {
    let r = &l.region_limit;
    let text = format!(
        "{}|{}|{}|{}|{}|{:?}",
        l.region, r.cpu, r.memory_mb, r.memory_max_mb, r.cores, l.variables_limit
    );
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Checks a namespace or quota name against Nomad's `^[a-zA-Z0-9-]{1,128}$`; the error
/// names `what` and says what is allowed.
pub fn validate_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(format!(
            "invalid {what} name {name:?}: it must be 1 to {MAX_NAME_LEN} characters long"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && *c != '-')
    {
        return Err(format!(
            "invalid {what} name {name:?}: character {c:?} is not allowed; use letters, digits and '-'"
        ));
    }
    Ok(())
}

/// The bounds on an object's operator `Meta` (namespaces, node pools): each problem
/// pushed to `errs`, naming the key.
pub fn validate_meta(meta: &std::collections::BTreeMap<String, String>, errs: &mut Vec<String>) {
    if meta.len() > MAX_META_ENTRIES {
        errs.push(format!(
            "Meta: {} entries, at most {MAX_META_ENTRIES} are allowed",
            meta.len()
        ));
    }
    for (k, v) in meta {
        if k.starts_with('\0') {
            errs.push(format!(
                "Meta[{k:?}]: keys may not start with a NUL character (reserved by orch)"
            ));
        }
        if k.is_empty() || k.len() > MAX_META_LEN || v.len() > MAX_META_LEN {
            errs.push(format!(
                "Meta[{k:?}]: keys must be 1 to {MAX_META_LEN} bytes and values at most {MAX_META_LEN}"
            ));
        }
    }
}

impl Namespace {
    /// Every rule a namespace must keep on its own (the quota's existence is the state's
    /// check); all problems are reported at once, each naming its field.
    pub fn validate(&self) -> Result<(), String> {
        let mut errs = Vec::new();
        if let Err(e) = validate_name("namespace", &self.name) {
            errs.push(format!("Name: {e}"));
        }
        if self.description.len() > MAX_DESCRIPTION_LEN {
            errs.push(format!(
                "Description: {} bytes is longer than the {MAX_DESCRIPTION_LEN} allowed; shorten it",
                self.description.len()
            ));
        }
        if !self.quota.is_empty()
            && let Err(e) = validate_name("quota", &self.quota)
        {
            errs.push(format!("Quota: {e}"));
        }
        validate_meta(&self.meta, &mut errs);
        let max = crate::broker::queue::MAX_WEIGHT;
        if self.weight == 0 || self.weight > max {
            errs.push(format!(
                "Weight: {} is out of range; use 1 to {max} (the namespace's share of the cluster for queued work, default 1)",
                self.weight
            ));
        }
        if let Some(c) = &self.capabilities {
            let n = c.enabled_task_drivers.len() + c.disabled_task_drivers.len();
            if n > MAX_META_ENTRIES {
                errs.push(format!(
                    "Capabilities: {n} drivers listed, at most {MAX_META_ENTRIES} are allowed"
                ));
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        }
    }
}

impl QuotaSpec {
    /// Every rule a quota specification must keep; all problems at once.
    pub fn validate(&self) -> Result<(), String> {
        let mut errs = Vec::new();
        if let Err(e) = validate_name("quota", &self.name) {
            errs.push(format!("Name: {e}"));
        }
        if self.description.len() > MAX_DESCRIPTION_LEN {
            errs.push(format!(
                "Description: {} bytes is longer than the {MAX_DESCRIPTION_LEN} allowed; shorten it",
                self.description.len()
            ));
        }
        if self.limits.is_empty() {
            errs.push("Limits: a quota needs at least one limit block".into());
        }
        if self.limits.len() > MAX_QUOTA_LIMITS {
            errs.push(format!(
                "Limits: {} limits, at most {MAX_QUOTA_LIMITS} are allowed",
                self.limits.len()
            ));
        }
        let mut regions = std::collections::BTreeSet::new();
        for (i, l) in self.limits.iter().enumerate() {
            if l.region.is_empty() || l.region.len() > MAX_NAME_LEN {
                errs.push(format!(
                    "Limits[{i}].Region: set the region the limit applies to (1 to {MAX_NAME_LEN} characters)"
                ));
            } else if !regions.insert(l.region.as_str()) {
                errs.push(format!(
                    "Limits[{i}].Region: region {:?} has more than one limit; merge them",
                    l.region
                ));
            }
            if l.variables_limit.is_some_and(|v| v < 0) {
                errs.push(format!(
                    "Limits[{i}].VariablesLimit: must be 0 (unlimited) or positive"
                ));
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        }
    }

    /// The limit of `region`, if the quota has one.
    pub fn limit_for(&self, region: &str) -> Option<&QuotaLimit> {
        self.limits.iter().find(|l| l.region == region)
    }
}

impl Allocation {
    /// What this allocation counts against its namespace's quota: zero once terminal;
    /// CPU of tasks with reserved cores is counted as cores only, as in [`TaskGroup::quota_ask`].
    pub fn quota_usage(&self) -> QuotaResources {
        let mut q = QuotaResources::default();
        if self.terminal() {
            return q;
        }
        for t in self.allocated_resources.tasks.values() {
            let cores = t.cpu.reserved_cores.len() as u64;
            if cores == 0 {
                q.cpu = q.cpu.saturating_add(t.cpu.cpu_shares);
            }
            q.cores = q.cores.saturating_add(cores);
            q.memory_mb = q.memory_mb.saturating_add(t.memory.memory_mb);
            let max = t.memory.memory_max_mb.max(t.memory.memory_mb);
            q.memory_max_mb = q.memory_max_mb.saturating_add(max);
        }
        q
    }
}

impl TaskGroup {
    /// What one allocation of this group would count against a quota (see
    /// [`Allocation::quota_usage`]).
    pub fn quota_ask(&self) -> QuotaResources {
        let mut q = QuotaResources::default();
        for t in &self.tasks {
            let r = &t.resources;
            if r.cores == 0 {
                q.cpu = q.cpu.saturating_add(r.cpu);
            }
            q.cores = q.cores.saturating_add(r.cores);
            q.memory_mb = q.memory_mb.saturating_add(r.memory_mb);
            q.memory_max_mb = q
                .memory_max_mb
                .saturating_add(r.memory_max_mb.max(r.memory_mb));
        }
        q
    }
}

#[cfg(test)]
mod tests;
