//! The deployment watcher's passes, deciding again only what may have changed.
//!
//! [`decide`](super::decide) visits every deployment on every pass: after each burst
//! of changes, a cluster of a thousand running deployments reads a thousand
//! deployments and their jobs, though one or two changed. A deployment's decision
//! reads only the deployment, its job, the metric gates, the time (its progress
//! deadlines), the healthy total already acted on, and, while it waits on canaries,
//! their allocations' health. So [`Watcher`] decides, on each pass, only:
//!
//! - the deployments created or changed since its last pass, and those of the jobs
//!   registered or changed since then;
//! - the deployments whose progress deadline the time reached since;
//! - the deployments the last pass gave an action (it may have been refused) or that
//!   wait on canaries.
//!
//! Every other one would get the decision it got last: no action, and the same entry
//! of the healthy totals. It decides every deployment again when that cannot be told
//! apart: on its first pass, when a deployment or a job was removed (counts say so),
//! when the gates changed, or when the store or the time went backwards.

use std::collections::{BTreeMap, BTreeSet};

use super::{Action, One, decide_one, next_deadline, waits_on_canaries};
use crate::model::Deployment;
use crate::state::{StateStore, UPDATE_GATES_TABLE};

/// What the store looked like at a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mark {
    index: u64,
    now: i64,
    gates: u64,
    deployments: usize,
    jobs: usize,
}

impl Mark {
    fn of(s: &StateStore, now: i64) -> Self {
        Mark {
            index: s.latest_index(),
            now,
            gates: s.index(UPDATE_GATES_TABLE),
            deployments: s.deployment_count(),
            jobs: s.job_count(),
        }
    }
}

/// The deployment watcher's memory between passes: [`decide`](super::decide)'s
/// decisions, found by visiting what changed (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct Watcher {
    /// The store at the last pass (`None`: decide everything).
    mark: Option<Mark>,
    /// Per running deployment, the healthy allocations an evaluation was made for.
    seen: BTreeMap<String, u32>,
    /// Decided on every pass.
    every_pass: BTreeSet<String>,
    /// The next progress deadline of each other deployment that has one, and the
    /// same ordered by time.
    deadline_of: BTreeMap<String, i64>,
    deadlines: BTreeSet<(i64, String)>,
}

impl Watcher {
    /// A watcher that has acted on nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The healthy totals acted on: [`Decisions::seen`](super::Decisions::seen) of
    /// the same passes.
    pub fn seen(&self) -> &BTreeMap<String, u32> {
        &self.seen
    }

    /// Forgets the healthy totals acted on, as a new leader starts: the next pass
    /// decides every deployment again.
    pub fn forget(&mut self) {
        *self = Self::default();
    }

    /// One pass at `now`: the actions [`decide`](super::decide) returns given the
    /// healthy totals of the last pass, in the same order.
    pub fn pass(&mut self, s: &StateStore, now: i64) -> Vec<Action> {
        let mark = Mark::of(s, now);
        let due = self.mark.and_then(|last| self.changed(s, &last, &mark));
        self.mark = Some(mark);
        match due {
            Some(ids) => self.decide_some(s, now, ids),
            None => self.decide_all(s, now),
        }
    }

    /// The deployments whose decision may differ from the last pass's (`None`: any
    /// may).
    fn changed(&mut self, s: &StateStore, last: &Mark, mark: &Mark) -> Option<BTreeSet<String>> {
        if mark.index < last.index || mark.now < last.now || mark.gates != last.gates {
            return None;
        }
        let mut due = self.every_pass.clone();
        let mut created = 0;
        for d in s.deployments_modified_after(last.index) {
            created += usize::from(d.create_index > last.index);
            due.insert(d.id.clone());
        }
        if last.deployments + created != mark.deployments {
            return None;
        }
        let mut created = 0;
        for j in s.jobs_modified_after(last.index) {
            created += usize::from(j.create_index > last.index);
            due.extend(
                s.deployments_by_job(&j.namespace, &j.id)
                    .into_iter()
                    .map(|d| d.id.clone()),
            );
        }
        if last.jobs + created != mark.jobs {
            return None;
        }
        while let Some((t, id)) = self.deadlines.first().cloned() {
            if t > mark.now {
                break;
            }
            self.deadlines.pop_first();
            self.deadline_of.remove(&id);
            due.insert(id);
        }
        Some(due)
    }

    fn decide_some(&mut self, s: &StateStore, now: i64, ids: BTreeSet<String>) -> Vec<Action> {
        let mut actions = Vec::new();
        for id in ids {
            self.every_pass.remove(&id);
            if let Some(t) = self.deadline_of.remove(&id) {
                self.deadlines.remove(&(t, id.clone()));
            }
            let Some(d) = s.deployment(&id) else {
                self.seen.remove(&id);
                continue;
            };
            let one = decide_one(s, d, now, self.seen.get(&id).copied());
            match one.seen {
                Some(h) => {
                    self.seen.insert(id, h);
                }
                None => {
                    self.seen.remove(&id);
                }
            }
            actions.extend(self.file(d, now, one));
        }
        actions
    }

    fn decide_all(&mut self, s: &StateStore, now: i64) -> Vec<Action> {
        let seen = std::mem::take(&mut self.seen);
        self.every_pass.clear();
        self.deadline_of.clear();
        self.deadlines.clear();
        let mut actions = Vec::new();
        for d in s.deployments() {
            let one = decide_one(s, d, now, seen.get(&d.id).copied());
            if let Some(h) = one.seen {
                self.seen.insert(d.id.clone(), h);
            }
            actions.extend(self.file(d, now, one));
        }
        actions
    }

    /// Files `d` for the next passes after decision `one`; returns its action.
    fn file(&mut self, d: &Deployment, now: i64, one: One) -> Option<Action> {
        if one.action.is_some() || waits_on_canaries(d) {
            self.every_pass.insert(d.id.clone());
        } else if let Some(t) = next_deadline(d, now) {
            self.deadline_of.insert(d.id.clone(), t);
            self.deadlines.insert((t, d.id.clone()));
        }
        one.action
    }
}
