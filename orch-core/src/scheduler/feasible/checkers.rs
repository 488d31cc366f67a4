//! The per-node feasibility checkers. Each is built once per (job, group) per
//! evaluation and answers "can this node run the group?" without allocating on the
//! common path. Reasons match the strings Nomad puts in `ConstraintFiltered`.

use std::sync::Arc;

use super::attribute::{Attribute, parse_go_bool};
use super::constraint::{CompiledConstraint, glob};
use super::version::{Version, VersionConstraints};
use crate::model::{Constraint, Job, Node, NodeDeviceResource, RequestedDevice, TaskGroup};

/// Nomad's reason when a task's driver is missing or unhealthy.
pub const FILTER_DRIVERS: &str = "missing drivers";
/// Nomad's reason when a host volume is missing or read-only for a writer.
pub const FILTER_HOST_VOLUMES: &str = "missing compatible host volumes";
/// Nomad's reason when device requests cannot be met.
pub const FILTER_DEVICES: &str = "missing devices";
/// Nomad's reason when a node of an already-rejected computed class is skipped.
pub const FILTER_CLASS_INELIGIBLE: &str = "computed class ineligible";
/// Nomad's reason for a distinct_hosts collision.
pub const FILTER_DISTINCT_HOSTS: &str = "distinct_hosts";

/// Nomad's base-node selection (`readyNodesInDCsAndPool`): ready, eligible, not
/// draining, in one of the job's datacenters (globs) and in its node pool (`all` or
/// empty: every pool). Nodes it rejects are not "evaluated" in Nomad's metrics; the
/// scheduler should drop them before the stack sees them.
#[derive(Debug, Clone)]
pub struct NodeReadyChecker {
    datacenters: Vec<String>,
    pool: Option<String>,
}

impl NodeReadyChecker {
    /// Builds the filter for `job`.
    pub fn new(job: &Job) -> Self {
        let pool = match job.node_pool.as_str() {
            "" | "all" => None,
            p => Some(p.to_string()),
        };
        NodeReadyChecker {
            datacenters: job.datacenters.clone(),
            pool,
        }
    }

    /// Whether the node's pool is the job's (or the job spans all pools).
    pub fn in_pool(&self, node: &Node) -> bool {
        self.pool_matches(&node.node_pool)
    }

    /// Whether a node in pool `pool` is in the job's pool.
    pub fn pool_matches(&self, pool: &str) -> bool {
        self.pool.as_deref().is_none_or(|p| pool == p)
    }

    /// Whether a node in datacenter `dc` matches one of the job's patterns.
    pub fn datacenter_matches(&self, dc: &str) -> bool {
        self.datacenters.iter().any(|pattern| glob(pattern, dc))
    }

    /// Whether the node's datacenter matches one of the job's patterns.
    pub fn in_datacenters(&self, node: &Node) -> bool {
        self.datacenters.iter().any(|dc| glob(dc, &node.datacenter))
    }

    /// Ready, eligible, not draining, in pool and datacenter.
    pub fn admits(&self, node: &Node) -> bool {
        node.is_schedulable() && self.in_pool(node) && self.in_datacenters(node)
    }
}

/// Every task's driver must be detected and healthy (Nomad's `DriverChecker`), with
/// the pre-0.8 fallback to the `driver.<name>` attribute parsed as a Go boolean.
#[derive(Debug, Clone, Default)]
pub struct DriverChecker {
    /// (driver, `driver.<driver>` attribute key), deduplicated and sorted.
    drivers: Vec<(String, String)>,
}

impl DriverChecker {
    /// Collects the drivers of `group`'s tasks.
    pub fn new(group: &TaskGroup) -> Self {
        let mut names: Vec<&str> = group.tasks.iter().map(|t| t.driver.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        DriverChecker {
            drivers: names
                .into_iter()
                .map(|d| (d.to_string(), format!("driver.{d}")))
                .collect(),
        }
    }

    /// Whether the node can run every driver.
    pub fn feasible(&self, node: &Node) -> bool {
        self.drivers
            .iter()
            .all(|(name, attr)| match node.drivers.get(name) {
                Some(info) => info.detected && info.healthy,
                None => node
                    .attributes
                    .get(attr)
                    .and_then(|v| parse_go_bool(v))
                    .unwrap_or(false),
            })
    }
}

/// A list of node constraints (job-level, or group plus task level), evaluated in
/// order; the first failure names the reason. distinct_hosts / distinct_property are
/// left to their own checkers.
#[derive(Debug, Clone, Default)]
pub struct ConstraintChecker {
    constraints: Vec<CompiledConstraint>,
}

impl ConstraintChecker {
    /// Compiles `constraints`, skipping the distinct_* operators.
    pub fn new<'a>(constraints: impl IntoIterator<Item = &'a Constraint>) -> Self {
        ConstraintChecker {
            constraints: constraints
                .into_iter()
                .filter(|c| c.operand != "distinct_hosts" && c.operand != "distinct_property")
                .map(CompiledConstraint::new)
                .collect(),
        }
    }

    /// The group's and its tasks' constraints (Nomad's `TaskGroupConstraints`).
    pub fn for_group(group: &TaskGroup) -> Self {
        Self::new(
            group
                .constraints
                .iter()
                .chain(group.tasks.iter().flat_map(|t| t.constraints.iter())),
        )
    }

    /// `None` when every constraint holds, else the first failing one's string form.
    pub fn first_failure(&self, node: &Node) -> Option<&Arc<str>> {
        self.constraints
            .iter()
            .find(|c| !c.matches(node))
            .map(CompiledConstraint::reason)
    }

    /// Whether there is nothing to check.
    pub fn is_empty(&self) -> bool {
        self.constraints.is_empty()
    }
}

#[derive(Debug, Clone)]
struct HostVolumeReq {
    source: String,
    read_only: bool,
    per_alloc: bool,
    /// `source` plus the current allocation's `[index]` when `per_alloc`.
    resolved: String,
}

/// The group's host volumes must exist on the node, and a writer may not use a
/// read-only volume (Nomad's `HostVolumeChecker`, static volumes). CSI volumes are
/// [`super::csi::CsiChecker`]'s. Host volumes are not part of the computed class, so
/// this check is never cached by class.
#[derive(Debug, Clone, Default)]
pub struct HostVolumeChecker {
    reqs: Vec<HostVolumeReq>,
}

impl HostVolumeChecker {
    /// Collects the group's volume requests.
    pub fn new(group: &TaskGroup) -> Self {
        let reqs = group
            .volumes
            .values()
            .filter(|req| req.kind == "host")
            .map(|req| HostVolumeReq {
                source: req.source.clone(),
                read_only: req.read_only,
                per_alloc: req.per_alloc,
                resolved: req.source.clone(),
            })
            .collect();
        HostVolumeChecker { reqs }
    }

    /// Per-allocation volumes get the allocation's `[index]` suffix (Nomad's
    /// `AllocSuffix`); call before checking nodes for that allocation.
    pub fn set_alloc_name(&mut self, alloc_name: &str) {
        let suffix = alloc_name.rfind('[').map_or("", |i| &alloc_name[i..]);
        for r in self.reqs.iter_mut().filter(|r| r.per_alloc) {
            r.resolved.clear();
            r.resolved.push_str(&r.source);
            r.resolved.push_str(suffix);
        }
    }

    /// `None` when feasible, else the reason.
    pub fn failure(&self, node: &Node) -> Option<&'static str> {
        let ok = self.reqs.iter().all(|r| {
            node.host_volumes
                .get(&r.resolved)
                .is_some_and(|cfg| r.read_only || !cfg.read_only)
        });
        (!ok).then_some(FILTER_HOST_VOLUMES)
    }
}

/// A device constraint side.
#[derive(Debug, Clone)]
enum DeviceTarget {
    Literal(String),
    Ids,
    Model,
    Vendor,
    Type,
    Attr(String),
    Unknown,
}

impl DeviceTarget {
    fn parse(t: &str) -> Self {
        if !t.starts_with("${") {
            return DeviceTarget::Literal(t.to_string());
        }
        match t {
            "${device.ids}" => DeviceTarget::Ids,
            "${device.model}" => DeviceTarget::Model,
            "${device.vendor}" => DeviceTarget::Vendor,
            "${device.type}" => DeviceTarget::Type,
            _ => match t.strip_prefix("${device.attr.") {
                Some(rest) => DeviceTarget::Attr(rest.strip_suffix('}').unwrap_or(rest).into()),
                None => DeviceTarget::Unknown,
            },
        }
    }

    /// Resolves against a device; `ids` is scratch space for `${device.ids}`.
    fn resolve<'a>(
        &'a self,
        d: &'a NodeDeviceResource,
        ids: &'a mut String,
    ) -> Option<Attribute<'a>> {
        Some(match self {
            DeviceTarget::Literal(s) => Attribute::parse(s),
            DeviceTarget::Ids => {
                ids.clear();
                for (i, inst) in d.instances.iter().enumerate() {
                    if i > 0 {
                        ids.push(',');
                    }
                    ids.push_str(&inst.id);
                }
                Attribute::Str(ids)
            }
            DeviceTarget::Model => Attribute::Str(&d.name),
            DeviceTarget::Vendor => Attribute::Str(&d.vendor),
            DeviceTarget::Type => Attribute::Str(&d.device_type),
            DeviceTarget::Attr(k) => Attribute::parse(d.attributes.get(k)?),
            DeviceTarget::Unknown => return None,
        })
    }
}

#[derive(Debug, Clone)]
struct DeviceConstraint {
    l: DeviceTarget,
    r: DeviceTarget,
    operand: String,
}

impl DeviceConstraint {
    /// Nomad's `checkAttributeConstraint`.
    fn matches(&self, d: &NodeDeviceResource) -> bool {
        use std::cmp::Ordering::*;
        let (mut lbuf, mut rbuf) = (String::new(), String::new());
        let l = self.l.resolve(d, &mut lbuf);
        let r = self.r.resolve(d, &mut rbuf);
        let both = || l.zip(r);
        match self.operand.as_str() {
            "distinct_hosts" | "distinct_property" => true,
            "!=" | "not" => match (l, r) {
                (None, None) => false,
                (Some(a), Some(b)) => a.compare(&b).is_some_and(|o| o != Equal),
                _ => true,
            },
            op @ ("<" | "<=" | ">" | ">=" | "=" | "==" | "is") => {
                let Some(o) = both().and_then(|(a, b)| a.compare(&b)) else {
                    return false;
                };
                match op {
                    "<" => o == Less,
                    "<=" => o != Greater,
                    ">" => o == Greater,
                    ">=" => o != Less,
                    _ => o == Equal,
                }
            }
            op @ ("version" | "semver") => {
                let Some((a, b)) = both() else { return false };
                let int_form;
                let v = match a {
                    Attribute::Str(s) => s,
                    Attribute::Int(i, _) => {
                        int_form = i.to_string();
                        &int_form
                    }
                    _ => return false,
                };
                let (Some(v), Some(c)) = (Version::parse(v), b.as_str()) else {
                    return false;
                };
                let c = if op == "semver" {
                    VersionConstraints::parse_semver(c)
                } else {
                    VersionConstraints::parse_version(c)
                };
                c.is_some_and(|c| c.check(&v))
            }
            op @ ("regexp" | "set_contains" | "set_contains_all" | "set_contains_any") => {
                let Some((Some(a), Some(b))) = both().map(|(a, b)| (a.as_str(), b.as_str())) else {
                    return false;
                };
                match op {
                    "regexp" => regex::Regex::new(b).is_ok_and(|re| re.is_match(a)),
                    "set_contains_any" => super::constraint::set_contains_any(a, b),
                    _ => super::constraint::set_contains_all(a, b),
                }
            }
            "is_set" => l.is_some(),
            "is_not_set" => l.is_none(),
            _ => false,
        }
    }
}

/// One device request compiled for matching against a node's device groups; used by
/// the feasibility check and by device instance assignment at placement.
#[derive(Debug, Clone)]
pub struct DeviceReq {
    /// (vendor, type, name); empty parts match anything. `None`: empty request name.
    id: Option<(String, String, String)>,
    /// Instances wanted.
    pub count: u64,
    /// Part of one instance (orch's `share`): other shares may use the same instance.
    pub shared: bool,
    constraints: Vec<DeviceConstraint>,
    /// The request's affinities with their weights, for choosing among device groups.
    affinities: Vec<(DeviceConstraint, i64)>,
}

impl DeviceReq {
    /// Compiles a task's device request.
    pub fn new(r: &RequestedDevice) -> Self {
        let id = (!r.name.is_empty()).then(|| {
            let mut parts = r.name.splitn(3, '/');
            let (a, b, c) = (parts.next(), parts.next(), parts.next());
            match (a, b, c) {
                (Some(t), None, _) => (String::new(), t.to_string(), String::new()),
                (Some(v), Some(t), None) => (v.to_string(), t.to_string(), String::new()),
                (v, t, n) => (
                    v.unwrap_or("").to_string(),
                    t.unwrap_or("").to_string(),
                    n.unwrap_or("").to_string(),
                ),
            }
        });
        DeviceReq {
            id,
            count: r.count,
            shared: r.share.is_some(),
            constraints: r
                .constraints
                .iter()
                .map(|c| DeviceConstraint {
                    l: DeviceTarget::parse(&c.ltarget),
                    r: DeviceTarget::parse(&c.rtarget),
                    operand: c.operand.clone(),
                })
                .collect(),
            affinities: r
                .affinities
                .iter()
                .map(|a| {
                    let c = DeviceConstraint {
                        l: DeviceTarget::parse(&a.ltarget),
                        r: DeviceTarget::parse(&a.rtarget),
                        operand: a.operand.clone(),
                    };
                    (c, i64::from(a.weight))
                })
                .collect(),
        }
    }

    /// Whether the request states affinities, and their total absolute weight.
    pub fn affinity_total(&self) -> i64 {
        self.affinities.iter().map(|(_, w)| w.abs()).sum()
    }

    /// The summed weights of the request's affinities `d` matches (Nomad scores device
    /// groups by these, over the total weight, which is the same for every group).
    pub fn affinity_weight(&self, d: &NodeDeviceResource) -> i64 {
        self.affinities
            .iter()
            .filter(|(c, _)| c.matches(d))
            .map(|(_, w)| w)
            .sum()
    }

    /// Nomad's `nodeDeviceMatches` (ID tuple and constraints; not the count).
    pub fn matches(&self, d: &NodeDeviceResource) -> bool {
        let Some((vendor, kind, name)) = &self.id else {
            return false;
        };
        (name.is_empty() || *name == d.name)
            && (vendor.is_empty() || *vendor == d.vendor)
            && (kind.is_empty() || *kind == d.device_type)
            && self.constraints.iter().all(|c| c.matches(d))
    }
}

/// The group's device requests must fit the node's healthy device instances
/// (Nomad's `DeviceChecker`): each request takes `count` instances from one matching
/// device group. Device groups are tried in the node's order (Nomad iterates a Go
/// map, i.e. randomly). Device attributes and instance health are not in orch's
/// computed class, so this check is never cached by class.
#[derive(Debug, Clone, Default)]
pub struct DeviceChecker {
    reqs: Vec<DeviceReq>,
    scratch: Vec<u64>,
}

impl DeviceChecker {
    /// Collects the device requests of `group`'s tasks.
    pub fn new(group: &TaskGroup) -> Self {
        DeviceChecker {
            reqs: group
                .tasks
                .iter()
                .flat_map(|t| t.resources.devices.iter())
                .map(DeviceReq::new)
                .collect(),
            scratch: Vec::new(),
        }
    }

    /// Whether the group asks for any device.
    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Whether all requests can be met at once on `node`.
    pub fn feasible(&mut self, node: &Node) -> bool {
        if self.reqs.is_empty() {
            return true;
        }
        let devices = &node.node_resources.devices;
        self.scratch.clear();
        self.scratch.extend(
            devices
                .iter()
                .map(|d| d.instances.iter().filter(|i| i.healthy).count() as u64),
        );
        'reqs: for req in &self.reqs {
            for (d, unused) in devices.iter().zip(self.scratch.iter_mut()) {
                if *unused == 0 || *unused < req.count {
                    continue;
                }
                if req.matches(d) {
                    // Shares may pack onto one instance: assignment checks their sum.
                    if !req.shared {
                        *unused -= req.count;
                    }
                    continue 'reqs;
                }
            }
            return false;
        }
        true
    }
}
