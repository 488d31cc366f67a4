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

/// A class's answer in one scope: not recorded, eligible or not.
const UNKNOWN: u8 = 0;
const ELIGIBLE: u8 = 1;
const INELIGIBLE: u8 = 2;

#[derive(Debug, Clone, Default)]
struct Scope {
    escaped: bool,
    /// By the evaluation's class number (`EvalEligibility::number`).
    answers: Vec<u8>,
}

impl Scope {
    fn status(&self, class: Option<u32>) -> ClassStatus {
        if self.escaped {
            return ClassStatus::Escaped;
        }
        match class.and_then(|c| self.answers.get(c as usize)) {
            Some(&ELIGIBLE) => ClassStatus::Eligible,
            Some(&INELIGIBLE) => ClassStatus::Ineligible,
            _ => ClassStatus::Unknown,
        }
    }

    fn set(&mut self, class: u32, eligible: bool) {
        if self.escaped {
            return;
        }
        let c = class as usize;
        if self.answers.len() <= c {
            self.answers.resize(c + 1, UNKNOWN);
        }
        self.answers[c] = if eligible { ELIGIBLE } else { INELIGIBLE };
    }

    /// The recorded answer for class number `c`.
    fn answer(&self, c: usize) -> Option<bool> {
        match self.answers.get(c) {
            Some(&ELIGIBLE) => Some(true),
            Some(&INELIGIBLE) => Some(false),
            _ => None,
        }
    }
}

/// A computed class as the stack knows it: its name, and the node table's number
/// for it when the caller has one (the placer does), which finds the class's
/// answers without comparing its name (a class hash of twenty-odd characters).
#[derive(Debug, Clone, Copy)]
pub struct ClassRef<'a> {
    /// The node's computed class.
    pub name: &'a str,
    /// Its number among the node table's interned classes, if known.
    pub table_number: Option<u32>,
}

impl<'a> ClassRef<'a> {
    /// A class known by name only.
    pub fn named(name: &'a str) -> Self {
        ClassRef {
            name,
            table_number: None,
        }
    }
}

/// Class eligibility for one job and its groups over one evaluation.
#[derive(Debug, Clone, Default)]
pub struct EvalEligibility {
    job: Scope,
    /// Per task group, in the job's group order.
    groups: Vec<Scope>,
    /// The classes recorded so far, numbered for this evaluation in the order first
    /// seen; every scope's answers are by these numbers.
    names: Vec<String>,
    /// Per node-table class number, this evaluation's number for it (or `u32::MAX`).
    by_table_number: Vec<u32>,
    /// The numbers of classes first recorded by name alone (no table number).
    by_name: BTreeMap<String, u32>,
    /// How many classes were first recorded with their table number.
    numbered: usize,
}

impl EvalEligibility {
    /// Computes which scopes escape class caching: the job's constraints, and per
    /// group its own plus its tasks' constraints (Nomad's `SetJob`).
    pub fn new(job: &Job) -> Self {
        EvalEligibility {
            job: Scope {
                escaped: job.constraints.iter().any(constraint_escapes),
                answers: Vec::new(),
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
                    answers: Vec::new(),
                })
                .collect(),
            ..EvalEligibility::default()
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
        self.job_status_of(ClassRef::named(class))
    }

    /// Records the job-level outcome for `class` (ignored when escaped).
    pub fn set_job(&mut self, class: &str, eligible: bool) {
        self.set_job_of(ClassRef::named(class), eligible);
    }

    /// The status of `class` for group number `group`.
    pub fn group_status(&self, group: usize, class: &str) -> ClassStatus {
        self.group_status_of(group, ClassRef::named(class))
    }

    /// Records group `group`'s outcome for `class` (ignored when escaped).
    pub fn set_group(&mut self, group: usize, class: &str, eligible: bool) {
        self.set_group_of(group, ClassRef::named(class), eligible);
    }

    /// [`Self::job_status`] of a class that may carry its table number.
    pub fn job_status_of(&self, class: ClassRef<'_>) -> ClassStatus {
        if class.name.is_empty() {
            return ClassStatus::Escaped;
        }
        self.job.status(self.find(class))
    }

    /// [`Self::set_job`] of a class that may carry its table number.
    pub fn set_job_of(&mut self, class: ClassRef<'_>, eligible: bool) {
        if class.name.is_empty() || self.job.escaped {
            return;
        }
        let c = self.number(class);
        self.job.set(c, eligible);
    }

    /// [`Self::group_status`] of a class that may carry its table number.
    pub fn group_status_of(&self, group: usize, class: ClassRef<'_>) -> ClassStatus {
        if class.name.is_empty() {
            return ClassStatus::Escaped;
        }
        self.groups
            .get(group)
            .map_or(ClassStatus::Escaped, |g| g.status(self.find(class)))
    }

    /// [`Self::set_group`] of a class that may carry its table number.
    pub fn set_group_of(&mut self, group: usize, class: ClassRef<'_>, eligible: bool) {
        if class.name.is_empty() || self.groups.get(group).is_none_or(|g| g.escaped) {
            return;
        }
        let c = self.number(class);
        if let Some(g) = self.groups.get_mut(group) {
            g.set(c, eligible);
        }
    }

    /// This evaluation's number of a class already recorded. By its table number
    /// when it has one (no name compared, unless some class was recorded by name
    /// alone); by name otherwise.
    fn find(&self, class: ClassRef<'_>) -> Option<u32> {
        let by_name = || self.by_name.get(class.name).copied();
        match class.table_number {
            Some(t) => match self.by_table_number.get(t as usize) {
                Some(&c) if c != u32::MAX => Some(c),
                _ if self.by_name.is_empty() => None,
                _ => by_name(),
            },
            None => by_name().or_else(|| {
                // Recorded with a table number: only its name is left to compare.
                let seen =
                    (self.numbered > 0).then(|| self.names.iter().position(|n| n == class.name));
                seen.flatten().map(|c| c as u32)
            }),
        }
    }

    /// This evaluation's number of a class, given one on first sight (its name is
    /// copied once per evaluation, not once per scope and answer).
    fn number(&mut self, class: ClassRef<'_>) -> u32 {
        let c = match self.find(class) {
            Some(c) => c,
            None => {
                let c = self.names.len() as u32;
                self.names.push(class.name.to_string());
                match class.table_number {
                    Some(_) => self.numbered += 1,
                    None => {
                        self.by_name.insert(class.name.to_string(), c);
                    }
                }
                c
            }
        };
        if let Some(t) = class.table_number.map(|t| t as usize) {
            if self.by_table_number.len() <= t {
                self.by_table_number.resize(t + 1, u32::MAX);
            }
            self.by_table_number[t] = c;
        }
        c
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
        // Gathered, then built in one go (the map sorts them once and fills its
        // nodes in order, instead of a search per class).
        let mut out = Vec::with_capacity(self.names.len());
        for (c, name) in self.names.iter().enumerate() {
            let mut seen: Option<bool> = None;
            for ok in self.groups.iter().filter_map(|g| g.answer(c)) {
                seen = Some(seen.is_some_and(|s| s) || ok);
            }
            if let Some(ok) = self.job.answer(c) {
                seen = Some(seen.is_none_or(|s| s) && ok);
            }
            if let Some(ok) = seen {
                out.push((name.clone(), ok));
            }
        }
        out.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The memo as first written here, by class name in a map per scope: the
    /// reference the numbered one must agree with.
    #[derive(Clone, Default)]
    struct ByName {
        escaped: bool,
        classes: BTreeMap<String, bool>,
    }

    impl ByName {
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
            if !self.escaped && !class.is_empty() {
                self.classes.insert(class.to_string(), eligible);
            }
        }
    }

    /// Nomad's `GetClasses` over the reference: one map search per class.
    fn by_search(job: &ByName, groups: &[ByName]) -> BTreeMap<String, bool> {
        let mut out: BTreeMap<String, bool> = BTreeMap::new();
        for g in groups {
            for (class, &ok) in &g.classes {
                if ok {
                    out.insert(class.clone(), true);
                } else {
                    out.entry(class.clone()).or_insert(false);
                }
            }
        }
        for (class, &ok) in &job.classes {
            if ok {
                out.entry(class.clone()).or_insert(true);
            } else {
                out.insert(class.clone(), false);
            }
        }
        out
    }

    proptest! {
        /// Statuses and the evaluation's class eligibility as the by-name memo has
        /// them, whatever mix of answers and questions, by table number or by name
        /// alone (one class, one number), escaped scopes and the empty class included.
        #[test]
        fn numbered_classes_answer_as_the_named_ones(
            escaped in proptest::collection::vec(any::<bool>(), 1..5),
            ops in proptest::collection::vec(
                (0usize..5, 0u8..8, any::<bool>(), any::<bool>(), any::<bool>()),
                0..60,
            ),
        ) {
            let mut e = EvalEligibility {
                job: Scope { escaped: escaped[0], ..Scope::default() },
                groups: escaped[1..]
                    .iter()
                    .map(|&escaped| Scope { escaped, ..Scope::default() })
                    .collect(),
                ..EvalEligibility::default()
            };
            let mut job = ByName { escaped: escaped[0], ..ByName::default() };
            let mut groups: Vec<ByName> = escaped[1..]
                .iter()
                .map(|&escaped| ByName { escaped, ..ByName::default() })
                .collect();
            for (scope, class, numbered, set, ok) in ops {
                let name = if class == 7 { String::new() } else { format!("v1:{class}") };
                let c = ClassRef {
                    name: &name,
                    table_number: numbered.then_some(u32::from(class) * 3),
                };
                match (scope.checked_sub(1), set) {
                    (None, true) => {
                        e.set_job_of(c, ok);
                        job.set(&name, ok);
                    }
                    (None, false) => prop_assert_eq!(e.job_status_of(c), job.status(&name)),
                    (Some(g), true) => {
                        e.set_group_of(g, c, ok);
                        if let Some(r) = groups.get_mut(g) {
                            r.set(&name, ok);
                        }
                    }
                    (Some(g), false) => prop_assert_eq!(
                        e.group_status_of(g, c),
                        groups.get(g).map_or(ClassStatus::Escaped, |r| r.status(&name))
                    ),
                }
            }
            prop_assert_eq!(e.class_eligibility(), by_search(&job, &groups));
        }
    }
}
