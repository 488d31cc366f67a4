//! The steps of a group's reconciliation, in the order [`super::group`] runs them.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    Allocation, DeploymentState, Evaluation, Job, TaskGroup, Timestamp, UpdateStrategy,
    client_status, eval_status, trigger,
};

use super::group::{Reconciler, clone_without_job};
use super::reschedule::{FOLLOWUP_BATCH_WINDOW, carried_tracker, penalty_nodes};
use super::sets::{DisconnectCfg, Later, NameIndex, filter_by_tainted, is_canary};
use super::update::tasks_updated;
use super::{DesiredUpdates, DestructiveUpdate, Placement, describe, followup_trigger};

/// What kind of replacement a placement is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Reschedule,
    Lost,
    Migrate,
}

impl<'a> Reconciler<'a> {
    /// Stops unpromoted canaries of superseded or failed deployments and returns the
    /// current deployment's healthy-node canaries plus the remaining allocations
    /// (Nomad's `cancelUnneededCanaries`).
    pub(super) fn cancel_unneeded_canaries(
        &mut self,
        all: Vec<&'a Allocation>,
        du: &mut DesiredUpdates,
    ) -> (Vec<&'a Allocation>, Vec<&'a Allocation>) {
        let mut stop_ids: BTreeSet<&str> = BTreeSet::new();
        let failed = self.deployment.filter(|_| self.failed);
        for d in [self.old_deployment, failed].into_iter().flatten() {
            for s in d.task_groups.values().filter(|s| !s.promoted) {
                stop_ids.extend(s.placed_canaries.iter().map(String::as_str));
            }
        }
        let mut rest = Vec::with_capacity(all.len());
        for a in all {
            if stop_ids.contains(a.id.as_str()) {
                if !a.terminal() {
                    self.stop(a, None, describe::NOT_NEEDED);
                    du.stop += 1;
                }
            } else {
                rest.push(a);
            }
        }
        let Some(d) = self.deployment else {
            return (Vec::new(), rest);
        };
        let ids: BTreeSet<&str> = d
            .task_groups
            .values()
            .flat_map(|s| s.placed_canaries.iter().map(String::as_str))
            .collect();
        if ids.is_empty() {
            return (Vec::new(), rest);
        }
        let canaries: Vec<&'a Allocation> = rest
            .iter()
            .copied()
            .filter(|a| ids.contains(a.id.as_str()))
            .collect();
        let t = filter_by_tainted(
            &canaries,
            self.tainted,
            self.missing,
            DisconnectCfg::default(),
            self.now,
        );
        let mut gone: BTreeSet<&str> = BTreeSet::new();
        for &a in &t.migrate {
            self.stop(a, None, describe::MIGRATING);
            gone.insert(a.id.as_str());
        }
        for &a in &t.lost {
            self.stop(a, Some(client_status::LOST), describe::LOST);
            gone.insert(a.id.as_str());
        }
        rest.retain(|a| !gone.contains(a.id.as_str()));
        (t.untainted, rest)
    }

    /// Marks allocations of a just-disconnected node `unknown` and schedules the
    /// evaluation that declares them lost when `lost_after` runs out.
    pub(super) fn mark_disconnecting(
        &mut self,
        job: &Job,
        group: &str,
        allocs: &[&'a Allocation],
        cfg: DisconnectCfg,
    ) {
        let eval_id = if cfg.supports {
            let at = self.now.saturating_add(cfg.lost_after);
            let ev = self.followup_eval(
                job,
                at,
                followup_trigger::MAX_DISCONNECT_TIMEOUT,
                "created for delayed disconnect timeout",
            );
            let id = ev.id.clone();
            self.r
                .desired_followup_evals
                .entry(group.to_string())
                .or_default()
                .push(ev);
            id
        } else {
            String::new()
        };
        for &a in allocs {
            let mut u = clone_without_job(a);
            u.client_status = client_status::UNKNOWN.into();
            u.client_description = describe::UNKNOWN.into();
            u.followup_eval_id.clone_from(&eval_id);
            self.r.disconnect_updates.insert(a.id.clone(), u);
        }
    }

    /// Creates batched follow-up evaluations for delayed reschedules and records their
    /// IDs on the allocations (Nomad's `createRescheduleLaterEvals`).
    pub(super) fn reschedule_later(&mut self, job: &Job, group: &str, mut later: Vec<Later<'a>>) {
        if later.is_empty() {
            return;
        }
        later.sort_by(|a, b| (a.at, &a.alloc.id).cmp(&(b.at, &b.alloc.id)));
        let mut evals: Vec<Evaluation> = Vec::new();
        let mut batch_start = i64::MIN;
        for l in later {
            let new_batch =
                evals.is_empty() || l.at.saturating_sub(batch_start) >= FOLLOWUP_BATCH_WINDOW;
            if new_batch {
                batch_start = l.at;
                evals.push(self.followup_eval(
                    job,
                    l.at,
                    trigger::FAILED_FOLLOW_UP,
                    "created for delayed rescheduling",
                ));
            }
            let Some(ev) = evals.last() else { continue };
            let mut u = clone_without_job(l.alloc);
            u.followup_eval_id.clone_from(&ev.id);
            self.r.attribute_updates.insert(u.id.clone(), u);
        }
        self.r
            .desired_followup_evals
            .entry(group.to_string())
            .or_default()
            .extend(evals);
    }

    fn followup_eval(&mut self, job: &Job, at: i64, why: &str, desc: &str) -> Evaluation {
        Evaluation {
            id: (self.next_id)(),
            priority: self.eval_priority,
            eval_type: job.job_type.clone(),
            triggered_by: why.into(),
            namespace: job.namespace.clone(),
            job_id: job.id.clone(),
            job_modify_index: job.modify_index,
            status: eval_status::PENDING.into(),
            status_description: desc.into(),
            wait_until: Timestamp(at),
            create_time: self.now,
            modify_time: self.now,
            ..Evaluation::default()
        }
    }

    /// Stops lost allocations and whatever exceeds the count: first non-canaries that
    /// share a promoted canary's name, then migrating ones, then duplicates and the
    /// highest indexes (Nomad's `computeStop`). Returns the IDs stopped.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn compute_stop(
        &mut self,
        tg: &TaskGroup,
        names: &mut NameIndex,
        untainted: &[&'a Allocation],
        migrate: &mut Vec<&'a Allocation>,
        lost: &[&'a Allocation],
        canaries: &[&'a Allocation],
        is_canarying: bool,
    ) -> BTreeSet<&'a str> {
        let mut stopped: BTreeSet<&'a str> = BTreeSet::new();
        for &a in lost {
            self.stop(a, Some(client_status::LOST), describe::LOST);
            stopped.insert(a.id.as_str());
        }
        let canary_ids: BTreeSet<&str> = canaries.iter().map(|a| a.id.as_str()).collect();
        let mut candidates: Vec<&'a Allocation> = untainted
            .iter()
            .copied()
            .filter(|a| !(is_canarying && canary_ids.contains(a.id.as_str())))
            .collect();
        let known = candidates
            .iter()
            .filter(|a| a.client_status != client_status::UNKNOWN)
            .count();
        let mut remove = (known + migrate.len()).saturating_sub(tg.count as usize);
        if remove == 0 {
            return stopped;
        }
        candidates.retain(|a| !a.terminal());

        if !is_canarying && !canaries.is_empty() {
            let canary_names: BTreeSet<&str> = canaries.iter().map(|a| a.name.as_str()).collect();
            for &a in &candidates {
                if remove == 0 {
                    break;
                }
                if !canary_ids.contains(a.id.as_str()) && canary_names.contains(a.name.as_str()) {
                    self.stop(a, None, describe::NOT_NEEDED);
                    stopped.insert(a.id.as_str());
                    remove -= 1;
                }
            }
            candidates.retain(|a| !stopped.contains(a.id.as_str()));
        }

        if remove > 0 && !migrate.is_empty() {
            migrate.sort_by(|a, b| (b.index(), &b.id).cmp(&(a.index(), &a.id)));
            let take = remove.min(migrate.len());
            for a in migrate.drain(..take) {
                self.stop(a, None, describe::NOT_NEEDED);
                stopped.insert(a.id.as_str());
                if let Some(i) = a.index() {
                    names.unset(i);
                }
                remove -= 1;
            }
            migrate.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        }

        if remove > 0 {
            // Duplicated names first (keeping the oldest holder), then highest index.
            let mut first_of: BTreeMap<&str, (u64, &str)> = BTreeMap::new();
            for a in &candidates {
                let key = (a.create_index, a.id.as_str());
                first_of
                    .entry(a.name.as_str())
                    .and_modify(|k| {
                        if key < *k {
                            *k = key;
                        }
                    })
                    .or_insert(key);
            }
            let dup = |a: &Allocation| {
                first_of
                    .get(a.name.as_str())
                    .is_some_and(|k| *k != (a.create_index, a.id.as_str()))
            };
            candidates.sort_by(|a, b| {
                let ka = (dup(a), a.index().unwrap_or(u32::MAX), a.create_index, &a.id);
                let kb = (dup(b), b.index().unwrap_or(u32::MAX), b.create_index, &b.id);
                kb.cmp(&ka)
            });
            for &a in candidates.iter().take(remove) {
                self.stop(a, None, describe::NOT_NEEDED);
                stopped.insert(a.id.as_str());
                if let Some(i) = a.index() {
                    names.unset(i);
                }
            }
        }
        stopped
    }

    /// Splits allocations into unchanged, updated in place (recorded) and needing a
    /// destructive update. Returns `(ignored, in_place, destructive)`.
    pub(super) fn compute_updates(
        &mut self,
        job: &'a Job,
        tg: &TaskGroup,
        untainted: &[&'a Allocation],
    ) -> (u64, u64, Vec<&'a Allocation>) {
        let mut cache: BTreeMap<(u64, u64), bool> = BTreeMap::new();
        let (mut ignored, mut inplace) = (0, 0);
        let mut destructive = Vec::new();
        for &a in untainted {
            if self.is_current(job, a) {
                ignored += 1;
                continue;
            }
            let is_destructive = match self.spec_of(a) {
                None => true,
                Some(spec) => *cache
                    .entry((spec.version, spec.create_index))
                    .or_insert_with(|| tasks_updated(job, spec, &tg.name)),
            };
            if is_destructive {
                destructive.push(a);
            } else if a.terminal() {
                ignored += 1;
            } else {
                let mut u = clone_without_job(a);
                u.job_version = job.version;
                u.eval_id = self.eval_id.into();
                self.r.inplace_update.push(u);
                inplace += 1;
            }
        }
        (ignored, inplace, destructive)
    }

    /// Places the canaries still missing, named after the allocations they will replace
    /// (Nomad's `computeCanaries` and `NextCanaries`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn compute_canaries(
        &mut self,
        tg: &TaskGroup,
        u: &UpdateStrategy,
        dstate: &mut DeploymentState,
        destructive: &[&'a Allocation],
        canaries: &[&'a Allocation],
        du: &mut DesiredUpdates,
        names: &mut NameIndex,
    ) {
        dstate.desired_canaries = u.canary;
        if self.paused || self.failed {
            return;
        }
        let want = (u.canary as usize).saturating_sub(canaries.len());
        du.canary += want as u64;
        let taken: BTreeSet<&str> = canaries.iter().map(|a| a.name.as_str()).collect();
        let mut picked: Vec<u32> = Vec::with_capacity(want);
        let mut seen: BTreeSet<u32> = BTreeSet::new();
        for a in destructive {
            if picked.len() == want {
                break;
            }
            let free = a.index().filter(|_| !taken.contains(a.name.as_str()));
            if let Some(i) = free.filter(|&i| seen.insert(i)) {
                picked.push(i);
            }
        }
        if picked.len() < want {
            picked.extend(names.next(want - picked.len()));
        }
        for i in picked {
            self.r.place.push(Placement {
                task_group: tg.name.clone(),
                name: self.alloc_name(tg, i),
                index: i,
                canary: true,
                ..Placement::default()
            });
        }
    }

    fn alloc_name(&self, tg: &TaskGroup, i: u32) -> String {
        match self.job {
            Some(j) => j.alloc_name(&tg.name, i),
            None => format!("{}[{i}]", tg.name),
        }
    }

    /// How many more allocations may be created now under the update strategy
    /// (Nomad's `computeUnderProvisionedBy`).
    pub(super) fn under_provisioned_by(
        &self,
        tg: &TaskGroup,
        update: Option<&UpdateStrategy>,
        untainted: &[&'a Allocation],
        destructive: usize,
        migrate: usize,
        is_canarying: bool,
    ) -> usize {
        let Some(u) = update else {
            return tg.count as usize;
        };
        if destructive + migrate == 0 {
            return tg.count as usize;
        }
        let Some(d) = self.deployment else {
            return u.max_parallel as usize;
        };
        if self.paused || self.failed || is_canarying {
            return 0;
        }
        let mut budget = i64::from(u.max_parallel);
        for a in untainted.iter().filter(|a| a.deployment_id == d.id) {
            match a.deployment_status.as_ref().and_then(|s| s.healthy) {
                Some(false) => return 0,
                Some(true) => {}
                None => budget -= 1,
            }
        }
        usize::try_from(budget).unwrap_or(0)
    }

    fn replacement(
        &self,
        tg: &'a TaskGroup,
        a: &'a Allocation,
        kind: Kind,
        canarying: bool,
    ) -> Placement {
        let canary = is_canary(a);
        let mut p = Placement {
            task_group: tg.name.clone(),
            name: a.name.clone(),
            index: a.index().unwrap_or(0),
            previous_alloc: Some(a.id.clone()),
            reschedule: kind == Kind::Reschedule,
            canary,
            lost: kind == Kind::Lost,
            migrate: kind == Kind::Migrate,
            downgrade_non_canary: canarying && !canary,
            min_job_version: Some(a.job_version),
            ..Placement::default()
        };
        if kind == Kind::Reschedule {
            p.penalty_nodes = penalty_nodes(a);
            p.reschedule_tracker = Some(carried_tracker(a, self.policy_of(a, tg), self.now));
        }
        p
    }

    /// Replacements for rescheduled and lost allocations, then new allocations up to
    /// the count on the lowest free indexes (Nomad's `computePlacements`).
    pub(super) fn compute_placements(
        &self,
        tg: &'a TaskGroup,
        names: &mut NameIndex,
        existing_untainted: usize,
        reschedule: &[&'a Allocation],
        lost: &[&'a Allocation],
        canarying: bool,
    ) -> Vec<Placement> {
        let count = tg.count as usize;
        // Failed allocations beyond the count (the group scaled down) are not replaced.
        let room = count.saturating_sub(existing_untainted);
        let mut place: Vec<Placement> = reschedule
            .iter()
            .take(room)
            .map(|&a| self.replacement(tg, a, Kind::Reschedule, canarying))
            .collect();
        let mut existing = existing_untainted + place.len();
        for &a in lost {
            if existing >= count {
                break;
            }
            existing += 1;
            place.push(self.replacement(tg, a, Kind::Lost, canarying));
        }
        if existing < count {
            place.reserve(count - existing);
            for i in names.next(count - existing) {
                place.push(Placement {
                    task_group: tg.name.clone(),
                    name: self.alloc_name(tg, i),
                    index: i,
                    downgrade_non_canary: canarying,
                    ..Placement::default()
                });
            }
        }
        place
    }

    /// Commits placements: all of them when the deployment allows, otherwise only lost
    /// replacements and reschedules (Nomad's `computeReplacements`). Returns the budget
    /// left for destructive updates.
    pub(super) fn compute_replacements(
        &mut self,
        place_ready: bool,
        du: &mut DesiredUpdates,
        place: Vec<Placement>,
        reschedule_now: &[&'a Allocation],
        disconnecting: &BTreeSet<&str>,
        under: usize,
    ) -> usize {
        let by_id: BTreeMap<&str, &'a Allocation> =
            reschedule_now.iter().map(|a| (a.id.as_str(), *a)).collect();
        if place_ready {
            du.place += place.len() as u64;
            let used = place.len().min(under);
            for p in &place {
                let prev = p.previous_alloc.as_deref().and_then(|id| by_id.get(id));
                let prev = prev.filter(|a| p.reschedule && !disconnecting.contains(a.id.as_str()));
                if let Some(&a) = prev {
                    self.stop(a, None, describe::RESCHEDULED);
                    du.stop += 1;
                }
            }
            self.r.place.extend(place);
            return under - used;
        }
        for p in place {
            let prev = p
                .previous_alloc
                .as_deref()
                .and_then(|id| by_id.get(id))
                .copied();
            if p.lost {
                du.place += 1;
                self.r.place.push(p);
            } else if p.reschedule {
                let in_failed = self.failed
                    && prev
                        .is_some_and(|a| self.deployment.is_some_and(|d| d.id == a.deployment_id));
                if in_failed {
                    continue;
                }
                du.place += 1;
                self.r.place.push(p);
                if let Some(a) = prev.filter(|a| !disconnecting.contains(a.id.as_str())) {
                    self.stop(a, None, describe::RESCHEDULED);
                    du.stop += 1;
                }
            }
        }
        under
    }

    /// Stops and replaces up to `limit` outdated allocations, lowest names first.
    pub(super) fn destructive_updates(
        &mut self,
        tg: &'a TaskGroup,
        destructive: &[&'a Allocation],
        limit: usize,
        du: &mut DesiredUpdates,
    ) {
        let mut sorted = destructive.to_vec();
        sorted.sort_by(|a, b| (a.index(), &a.name, &a.id).cmp(&(b.index(), &b.name, &b.id)));
        let n = limit.min(sorted.len());
        du.destructive_update += n as u64;
        du.ignore += (sorted.len() - n) as u64;
        for &a in &sorted[..n] {
            let mut place = Placement {
                task_group: tg.name.clone(),
                name: a.name.clone(),
                index: a.index().unwrap_or(0),
                previous_alloc: Some(a.id.clone()),
                ..Placement::default()
            };
            if tg.ephemeral_disk.sticky {
                place.preferred_node = Some(a.node_id.to_string());
            }
            self.r.destructive_update.push(DestructiveUpdate {
                stop_alloc_id: a.id.clone(),
                stop_description: describe::UPDATING.into(),
                place,
            });
        }
    }

    /// Stops every allocation marked for migration and places its replacement; the
    /// drainer already limits how many are marked at once.
    pub(super) fn migrations(
        &mut self,
        tg: &'a TaskGroup,
        migrate: &[&'a Allocation],
        canarying: bool,
        du: &mut DesiredUpdates,
    ) {
        du.migrate += migrate.len() as u64;
        for &a in migrate {
            self.stop(a, None, describe::MIGRATING);
            let p = self.replacement(tg, a, Kind::Migrate, canarying);
            self.r.place.push(p);
        }
    }
}
