//! Per-evaluation memo of which computed node classes passed or failed the
//! class-stable checks (Nomad's `EvalEligibility`). Nodes of a known class skip the
//! checks; the result also goes into the evaluation so a blocked evaluation is only
//! retried when a node of a new or eligible class appears.

use std::collections::BTreeMap;

use super::constraint::constraint_escapes;
use crate::model::Job;

/// What is known about a computed class for the job or one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassStatus {
    /// Not checked yet.
    Unknown,
    /// Passed the class-stable checks.
    Eligible,
    /// Failed them; every node of the class fails.
    Ineligible,
    /// Some constraint reads unique node properties: the class says nothing.
    Escaped,
}

#[derive(Debug, Clone, Default)]
struct Scope {
    escaped: bool,
    classes: BTreeMap<String, bool>,
}

impl Scope {
    fn status(&self, class: &str) -> ClassStatus {
        if self.escaped || class.is_empty() {
            return ClassStatus::Escaped;
        }
        match self.classes.get(class) {
            Some(true) => ClassStatus::Eligible,
            Some(false) => ClassStatus::Ineligible,
            None => ClassStatus::Unknown,
        }
    }

    fn set(&mut self, class: &str, eligible: bool) {
        if self.escaped || class.is_empty() {
            return;
        }
        match self.classes.get_mut(class) {
            Some(v) => *v = eligible,
            None => {
                self.classes.insert(class.to_string(), eligible);
            }
        }
    }
}

/// Class eligibility for one job and its groups over one evaluation.
#[derive(Debug, Clone, Default)]
pub struct EvalEligibility {
    job: Scope,
    /// Per task group, in the job's group order.
    groups: Vec<Scope>,
}

impl EvalEligibility {
    /// Computes which scopes escape class caching: the job's constraints, and per
    /// group its own plus its tasks' constraints (Nomad's `SetJob`).
    pub fn new(job: &Job) -> Self {
        EvalEligibility {
            job: Scope {
                escaped: job.constraints.iter().any(constraint_escapes),
                classes: BTreeMap::new(),
            },
            groups: job
                .task_groups
                .iter()
                .map(|g| Scope {
                    // CSI volumes depend on claims and plugin health, not on the
                    // node's class: such groups escape, so any capacity change
                    // releases their blocked evaluations (Nomad's CSI checker too).
                    escaped: g.volumes.values().any(|v| v.kind == "csi")
                        || g.constraints
                            .iter()
                            .chain(g.tasks.iter().flat_map(|t| t.constraints.iter()))
                            .any(constraint_escapes),
                    classes: BTreeMap::new(),
                })
                .collect(),
        }
    }

    /// Whether the job's scope (`None`) or group `Some(i)`'s escapes class caching.
    pub fn scope_escaped(&self, group: Option<usize>) -> bool {
        match group {
            None => self.job.escaped,
            Some(i) => self.groups.get(i).is_none_or(|g| g.escaped),
        }
    }

    /// The job-level status of `class` (empty classes are always escaped).
    pub fn job_status(&self, class: &str) -> ClassStatus {
        self.job.status(class)
    }

    /// Records the job-level outcome for `class` (ignored when escaped).
    pub fn set_job(&mut self, class: &str, eligible: bool) {
        self.job.set(class, eligible);
    }

    /// The status of `class` for group number `group`.
    pub fn group_status(&self, group: usize, class: &str) -> ClassStatus {
        self.groups
            .get(group)
            .map_or(ClassStatus::Escaped, |g| g.status(class))
    }

    /// Records group `group`'s outcome for `class` (ignored when escaped).
    pub fn set_group(&mut self, group: usize, class: &str, eligible: bool) {
        if let Some(g) = self.groups.get_mut(group) {
            g.set(class, eligible);
        }
    }

    /// Whether any constraint of the job escaped class caching; goes into
    /// `Evaluation.EscapedComputedClass` so any node change unblocks the eval.
    pub fn escaped_computed_class(&self) -> bool {
        self.job.escaped || self.groups.iter().any(|g| g.escaped)
    }

    /// Nomad's `GetClasses`: a class is eligible if some group accepted it (and the
    /// job did not reject it), ineligible if every group that saw it or the job
    /// rejected it. Goes into `Evaluation.ClassEligibility`.
    pub fn class_eligibility(&self) -> BTreeMap<String, bool> {
        let mut out: BTreeMap<String, bool> = BTreeMap::new();
        for g in &self.groups {
            for (class, &ok) in &g.classes {
                if ok {
                    out.insert(class.clone(), true);
                } else {
                    out.entry(class.clone()).or_insert(false);
                }
            }
        }
        for (class, &ok) in &self.job.classes {
            if ok {
                out.entry(class.clone()).or_insert(true);
            } else {
                out.insert(class.clone(), false);
            }
        }
        out
    }
}
