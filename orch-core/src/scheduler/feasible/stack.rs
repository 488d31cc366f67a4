//! The feasibility stack: all checkers for one job, built once per evaluation,
//! run per node in Nomad's order with computed-class caching, plus the metric
//! bookkeeping Nomad does in `AllocMetric.FilterNode` / `EvaluateNode`.

use std::sync::Arc;

use super::checkers::{
    ConstraintChecker, DeviceChecker, DriverChecker, FILTER_CLASS_INELIGIBLE, FILTER_DEVICES,
    FILTER_DISTINCT_HOSTS, FILTER_DRIVERS, HostVolumeChecker,
};
use super::distinct::{DistinctHostsChecker, DistinctPropertyChecker, ProposedAllocs};
use super::eligibility::{ClassRef, ClassStatus, EvalEligibility};
use crate::model::{AllocationMetric, Job, Node, TaskGroup};

/// Why a node was filtered, as Nomad words it in `ConstraintFiltered`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterReason {
    /// A fixed reason (`missing drivers`, `computed class ineligible`, ...).
    Static(&'static str),
    /// A failed constraint's string form, shared and formatted once.
    Constraint(Arc<str>),
    /// A reason that names node-specific values (distinct_property).
    Dynamic(String),
}

impl FilterReason {
    /// The reason text.
    pub fn as_str(&self) -> &str {
        match self {
            FilterReason::Static(s) => s,
            FilterReason::Constraint(s) => s,
            FilterReason::Dynamic(s) => s,
        }
    }
}

impl std::fmt::Display for FilterReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Counts a node as evaluated (Nomad's `EvaluateNode`).
pub fn record_evaluated(metrics: &mut AllocationMetric) {
    metrics.nodes_evaluated += 1;
}

/// Counts a filtered node under its node class and reason (Nomad's `FilterNode`).
/// Allocates only the first time a class or reason is seen.
pub fn record_filtered(metrics: &mut AllocationMetric, node: &Node, reason: &str) {
    metrics.nodes_filtered += 1;
    if !node.node_class.is_empty() {
        bump(&mut metrics.class_filtered, &node.node_class);
    }
    if !reason.is_empty() {
        bump(&mut metrics.constraint_filtered, reason);
    }
}

fn bump(map: &mut crate::model::SmallMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

/// Checkers of one task group.
#[derive(Debug, Clone)]
struct GroupChecks {
    drivers: DriverChecker,
    constraints: ConstraintChecker,
    devices: DeviceChecker,
    host_volumes: HostVolumeChecker,
    csi: super::csi::CsiChecker,
    distinct_hosts: DistinctHostsChecker,
    distinct_property: Vec<DistinctPropertyChecker>,
}

/// Every feasibility check for one job, built once per evaluation. The scheduler
/// filters base nodes with [`super::NodeReadyChecker`] first, then asks
/// [`FeasibilityStack::check`] per (group, node).
///
/// Order and caching follow Nomad's stack: job constraints (class-cached), then the
/// group's drivers and constraints (class-cached), then the checks that are not
/// class-stable in orch (devices, host volumes; never cached), then distinct_hosts and
/// distinct_property, which depend on the plan.
#[derive(Debug, Clone)]
pub struct FeasibilityStack {
    job_constraints: ConstraintChecker,
    job_distinct_property: Vec<DistinctPropertyChecker>,
    groups: Vec<GroupChecks>,
    group_names: Vec<String>,
    eligibility: EvalEligibility,
    /// Per group: every check is class-stable (no escaped constraint, devices, host
    /// volumes, distinct_hosts or distinct_property), so one node of a computed class
    /// answers for all of them.
    class_stable: Vec<bool>,
    /// Per group: some volume request is `per_alloc`.
    per_alloc: Vec<bool>,
}

impl FeasibilityStack {
    /// Compiles every constraint, regex and version constraint of `job` once.
    pub fn new(job: &Job) -> Self {
        let job_distinct_property: Vec<DistinctPropertyChecker> = job
            .constraints
            .iter()
            .filter(|c| c.operand == "distinct_property")
            .map(|c| DistinctPropertyChecker::new(c, None))
            .collect();
        let groups: Vec<GroupChecks> = job
            .task_groups
            .iter()
            .map(|g| GroupChecks {
                drivers: DriverChecker::new(g),
                constraints: ConstraintChecker::for_group(g),
                devices: DeviceChecker::new(g),
                host_volumes: HostVolumeChecker::new(g),
                csi: super::csi::CsiChecker::default(),
                distinct_hosts: DistinctHostsChecker::new(job, g),
                distinct_property: g
                    .constraints
                    .iter()
                    .filter(|c| c.operand == "distinct_property")
                    .map(|c| DistinctPropertyChecker::new(c, Some(&g.name)))
                    .collect(),
            })
            .collect();
        let eligibility = EvalEligibility::new(job);
        let class_stable = job
            .task_groups
            .iter()
            .zip(&groups)
            .enumerate()
            .map(|(i, (g, checks)): (usize, (&TaskGroup, &GroupChecks))| {
                job_distinct_property.is_empty()
                    && checks.distinct_property.is_empty()
                    && !checks.distinct_hosts.is_active()
                    && g.volumes.is_empty()
                    && g.tasks.iter().all(|t| t.resources.devices.is_empty())
                    && !eligibility.scope_escaped(Some(i))
                    && !eligibility.scope_escaped(None)
            })
            .collect();
        let per_alloc = job
            .task_groups
            .iter()
            .map(|g| g.volumes.values().any(|v| v.per_alloc))
            .collect();
        FeasibilityStack {
            class_stable,
            per_alloc,
            job_constraints: ConstraintChecker::new(&job.constraints),
            job_distinct_property,
            groups,
            group_names: job.task_groups.iter().map(|g| g.name.clone()).collect(),
            eligibility,
        }
    }

    /// Reads what the CSI check of each group needs from `state` (the volumes it may
    /// claim, their claims and plugins); without it CSI requests find no volume.
    pub fn with_csi(mut self, state: &crate::state::StateStore, job: &Job) -> Self {
        for (g, tg) in self.groups.iter_mut().zip(&job.task_groups) {
            g.csi = super::csi::CsiChecker::new(state, &job.namespace, tg);
        }
        self
    }

    /// Whether group `group` asks for a `per_alloc` volume, so a node that cannot take
    /// one of its allocations may still take another.
    pub fn per_alloc(&self, group: usize) -> bool {
        self.per_alloc.get(group).copied().unwrap_or(false)
    }

    /// Whether every check of group `group` depends only on the node's computed class,
    /// so a caller may remember one node's answer for the whole class (the answer
    /// [`check`](Self::check) gives every later node of a class it rejected is
    /// [`FILTER_CLASS_INELIGIBLE`]).
    pub fn class_stable(&self, group: usize) -> bool {
        self.class_stable.get(group).copied().unwrap_or(false)
    }

    /// The index [`check`](Self::check) takes for the group named `name`.
    pub fn group_index(&self, name: &str) -> Option<usize> {
        self.group_names.iter().position(|n| n == name)
    }

    /// Call after every placement (Nomad's iterator `Reset`): the plan changed, so
    /// distinct_property counts are recomputed on next use.
    pub fn reset(&mut self) {
        for p in self.job_distinct_property.iter_mut() {
            p.reset();
        }
        for g in self.groups.iter_mut() {
            for p in g.distinct_property.iter_mut() {
                p.reset();
            }
        }
    }

    /// Sets the allocation name (`job.group[3]`) being placed, for per-allocation
    /// host volumes.
    pub fn set_alloc_name(&mut self, group: usize, alloc_name: &str) {
        if let Some(g) = self.groups.get_mut(group) {
            g.host_volumes.set_alloc_name(alloc_name);
            g.csi.set_alloc_name(alloc_name);
        }
    }

    /// The class eligibility gathered so far.
    pub fn eligibility(&self) -> &EvalEligibility {
        &self.eligibility
    }

    /// Whether `node` can run group number `group`; on failure, the reason Nomad
    /// would count. An unknown group index is infeasible everywhere.
    pub fn check(
        &mut self,
        group: usize,
        node: &Node,
        proposed: &impl ProposedAllocs,
    ) -> Result<(), FilterReason> {
        self.check_class(group, node, None, proposed)
    }

    /// [`Self::check`] of a node whose computed class has number `class_number` in
    /// the node table (so the class memo is read without comparing class names).
    pub fn check_class(
        &mut self,
        group: usize,
        node: &Node,
        class_number: Option<u32>,
        proposed: &impl ProposedAllocs,
    ) -> Result<(), FilterReason> {
        let Some(g) = self.groups.get_mut(group) else {
            return Err(FilterReason::Static("unknown task group"));
        };
        let class = ClassRef {
            name: node.computed_class.as_str(),
            table_number: class_number,
        };
        let elig = &mut self.eligibility;

        // Job-level, class-cached.
        let job_status = elig.job_status_of(class);
        if job_status == ClassStatus::Ineligible {
            return Err(FilterReason::Static(FILTER_CLASS_INELIGIBLE));
        }
        if let Some(reason) = self.job_constraints.first_failure(node) {
            elig.set_job_of(class, false);
            return Err(FilterReason::Constraint(reason.clone()));
        }
        if job_status == ClassStatus::Unknown {
            elig.set_job_of(class, true);
        }

        // Group-level, class-cached.
        match elig.group_status_of(group, class) {
            ClassStatus::Ineligible => return Err(FilterReason::Static(FILTER_CLASS_INELIGIBLE)),
            ClassStatus::Eligible => {}
            status => {
                let failure = if !g.drivers.feasible(node) {
                    Some(FilterReason::Static(FILTER_DRIVERS))
                } else {
                    g.constraints
                        .first_failure(node)
                        .map(|r| FilterReason::Constraint(r.clone()))
                };
                if let Some(reason) = failure {
                    elig.set_group_of(group, class, false);
                    return Err(reason);
                }
                if status == ClassStatus::Unknown {
                    elig.set_group_of(group, class, true);
                }
            }
        }

        // Not class-stable in orch: checked on every node.
        if !g.devices.feasible(node) {
            return Err(FilterReason::Static(FILTER_DEVICES));
        }
        if let Some(reason) = g.host_volumes.failure(node) {
            return Err(FilterReason::Static(reason));
        }
        if !g.csi.is_empty()
            && let Some(reason) = g.csi.failure(node, proposed)
        {
            return Err(FilterReason::Dynamic(reason));
        }

        // Plan-dependent.
        if !g.distinct_hosts.feasible(node, proposed) {
            return Err(FilterReason::Static(FILTER_DISTINCT_HOSTS));
        }
        for p in self
            .job_distinct_property
            .iter_mut()
            .chain(g.distinct_property.iter_mut())
        {
            p.check(node, proposed).map_err(FilterReason::Dynamic)?;
        }
        Ok(())
    }

    /// [`check`](Self::check) plus Nomad's metric bookkeeping: counts the node as
    /// evaluated and, when filtered, under its class and reason.
    pub fn check_and_record(
        &mut self,
        group: usize,
        node: &Node,
        class_number: Option<u32>,
        proposed: &impl ProposedAllocs,
        metrics: &mut AllocationMetric,
    ) -> bool {
        record_evaluated(metrics);
        match self.check_class(group, node, class_number, proposed) {
            Ok(()) => true,
            Err(reason) => {
                record_filtered(metrics, node, reason.as_str());
                false
            }
        }
    }
}
