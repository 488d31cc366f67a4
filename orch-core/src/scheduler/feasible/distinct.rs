//! distinct_hosts and distinct_property: the checks that depend on where the job's
//! other allocations are (in state and in the plan being built), not only on the node.

use std::collections::BTreeMap;

use super::constraint::Target;
use crate::model::{Allocation, Constraint, Job, Node, TaskGroup};

/// The scheduler's view of the job's allocations as the in-progress plan would leave
/// them: existing allocations minus the plan's stops and preemptions, plus its
/// placements (Nomad's `ProposedAllocs` / property-set inputs). Implemented by the
/// scheduler over the state snapshot and the plan.
pub trait ProposedAllocs {
    /// The job's live allocations on `node_id` (for distinct_hosts).
    fn job_allocs_on_node(&self, node_id: &str) -> impl Iterator<Item = &Allocation>;
    /// All of the job's live allocations (for distinct_property counting).
    fn job_allocs(&self) -> impl Iterator<Item = &Allocation>;
    /// A node by ID, to read the property value of the node an allocation is on.
    fn node(&self, node_id: &str) -> Option<&Node>;
}

/// Whether a distinct_hosts constraint is present and enabled (Nomad: the first one
/// decides; empty or unparsable `RTarget` means enabled).
fn distinct_hosts_enabled(constraints: &[Constraint]) -> bool {
    constraints
        .iter()
        .find(|c| c.operand == "distinct_hosts")
        .is_some_and(|c| {
            c.rtarget.is_empty() || super::attribute::parse_go_bool(&c.rtarget).unwrap_or(true)
        })
}

/// No two allocations of the job (job-level constraint) or of the group (group-level)
/// on one node (Nomad's `DistinctHostsIterator`).
#[derive(Debug, Clone)]
pub struct DistinctHostsChecker {
    namespace: String,
    job_id: String,
    group: String,
    job_level: bool,
    group_level: bool,
}

impl DistinctHostsChecker {
    /// Reads the job's and the group's distinct_hosts constraints.
    pub fn new(job: &Job, group: &TaskGroup) -> Self {
        DistinctHostsChecker {
            namespace: job.namespace.clone(),
            job_id: job.id.clone(),
            group: group.name.clone(),
            job_level: distinct_hosts_enabled(&job.constraints),
            group_level: distinct_hosts_enabled(&group.constraints),
        }
    }

    /// Whether there is anything to check.
    pub fn is_active(&self) -> bool {
        self.job_level || self.group_level
    }

    /// Whether the node is free of colliding allocations.
    pub fn feasible(&self, node: &Node, proposed: &impl ProposedAllocs) -> bool {
        if !self.is_active() {
            return true;
        }
        !proposed.job_allocs_on_node(&node.id).any(|a| {
            let job = a.job_id == self.job_id && a.namespace == self.namespace;
            let group = a.task_group == self.group;
            !a.client_terminal() && job && (self.job_level || group)
        })
    }
}

/// One distinct_property constraint: at most `allowed` allocations (default 1) per
/// value of the property, counting the job's allocations (job level) or the group's
/// (group level). Mirrors Nomad's `propertySet`.
#[derive(Debug, Clone)]
pub struct DistinctPropertyChecker {
    target: Target,
    target_text: String,
    group: Option<String>,
    allowed: Result<u64, String>,
    /// Uses per property value; `None` until first needed after a reset.
    counts: Option<BTreeMap<String, u64>>,
}

impl DistinctPropertyChecker {
    /// Builds the checker for `c`; `group` is `Some` for a group-level constraint.
    pub fn new(c: &Constraint, group: Option<&str>) -> Self {
        let allowed = if c.rtarget.is_empty() {
            Ok(1)
        } else {
            c.rtarget.parse::<u64>().map_err(|e| {
                let why = if matches!(e.kind(), std::num::IntErrorKind::PosOverflow) {
                    "value out of range"
                } else {
                    "invalid syntax"
                };
                format!(
                    "failed to convert RTarget {:?} to uint64: strconv.ParseUint: parsing {:?}: {why}",
                    c.rtarget, c.rtarget
                )
            })
        };
        DistinctPropertyChecker {
            target: Target::parse(&c.ltarget),
            target_text: c.ltarget.clone(),
            group: group.map(str::to_string),
            allowed,
            counts: None,
        }
    }

    /// Forgets the counts; call whenever the plan changes (Nomad's `PopulateProposed`).
    pub fn reset(&mut self) {
        self.counts = None;
    }

    fn count(&self, proposed: &impl ProposedAllocs) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for a in proposed.job_allocs() {
            if a.terminal() || self.group.as_ref().is_some_and(|g| *g != a.task_group) {
                continue;
            }
            let Some(node) = proposed.node(&a.node_id) else {
                continue;
            };
            if let Some(v) = self.target.resolve(node) {
                match counts.get_mut(v) {
                    Some(n) => *n += 1,
                    None => {
                        counts.insert(v.to_string(), 1);
                    }
                }
            }
        }
        counts
    }

    /// `Ok` when the node's value is used fewer than the allowed times, else Nomad's
    /// reason text.
    pub fn check(&mut self, node: &Node, proposed: &impl ProposedAllocs) -> Result<(), String> {
        let allowed = match &self.allowed {
            Ok(n) => *n,
            Err(e) => return Err(e.clone()),
        };
        let Some(value) = self.target.resolve(node) else {
            return Err(format!("missing property {:?}", self.target_text));
        };
        if self.counts.is_none() {
            self.counts = Some(self.count(proposed));
        }
        let used = self
            .counts
            .as_ref()
            .and_then(|c| c.get(value))
            .copied()
            .unwrap_or(0);
        if used < allowed {
            Ok(())
        } else {
            Err(format!(
                "distinct_property: {}={} used by {} allocs",
                self.target_text, value, used
            ))
        }
    }
}
