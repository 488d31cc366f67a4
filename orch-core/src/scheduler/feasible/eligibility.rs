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
        // Each scope's classes are sorted: merged in one pass each, then built into
        // the map in order (no search per class).
        let mut merged: Vec<(&str, bool)> = Vec::new();
        for g in &self.groups {
            merged = merge_sorted(merged, &g.classes, |seen, ok| seen || ok);
        }
        merged = merge_sorted(merged, &self.job.classes, |seen, ok| seen && ok);
        merged
            .into_iter()
            .map(|(class, ok)| (class.to_string(), ok))
            .collect()
    }
}

/// `acc` and `scope`'s classes merged in class order; a class in both takes
/// `both(acc's answer, scope's)`, one in either alone keeps its answer.
fn merge_sorted<'a>(
    acc: Vec<(&'a str, bool)>,
    scope: &'a BTreeMap<String, bool>,
    both: impl Fn(bool, bool) -> bool,
) -> Vec<(&'a str, bool)> {
    let mut out = Vec::with_capacity(acc.len().max(scope.len()));
    let mut a = acc.into_iter().peekable();
    let mut b = scope.iter().map(|(c, ok)| (c.as_str(), *ok)).peekable();
    loop {
        match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => match x.0.cmp(y.0) {
                std::cmp::Ordering::Less => out.extend(a.next()),
                std::cmp::Ordering::Greater => out.extend(b.next()),
                std::cmp::Ordering::Equal => {
                    let merged = (x.0, both(x.1, y.1));
                    out.push(merged);
                    a.next();
                    b.next();
                }
            },
            (Some(_), None) => out.extend(a.next()),
            (None, Some(_)) => out.extend(b.next()),
            (None, None) => return out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Nomad's `GetClasses` as first written here: one map search per class.
    fn by_search(e: &EvalEligibility) -> BTreeMap<String, bool> {
        let mut out: BTreeMap<String, bool> = BTreeMap::new();
        for g in &e.groups {
            for (class, &ok) in &g.classes {
                if ok {
                    out.insert(class.clone(), true);
                } else {
                    out.entry(class.clone()).or_insert(false);
                }
            }
        }
        for (class, &ok) in &e.job.classes {
            if ok {
                out.entry(class.clone()).or_insert(true);
            } else {
                out.insert(class.clone(), false);
            }
        }
        out
    }

    proptest! {
        /// Merging the sorted scopes gives what searching the map per class gives.
        #[test]
        fn merged_classes_match_the_searched_ones(
            groups in 0usize..4,
            sets in proptest::collection::vec((0usize..5, 0u8..8, any::<bool>()), 0..40),
        ) {
            let mut e = EvalEligibility {
                job: Scope::default(),
                groups: vec![Scope::default(); groups],
            };
            for (scope, class, ok) in sets {
                let class = format!("v1:{class}");
                match scope.checked_sub(1) {
                    None => e.set_job(&class, ok),
                    Some(g) => e.set_group(g, &class, ok),
                }
            }
            prop_assert_eq!(e.class_eligibility(), by_search(&e));
        }
    }
}
