//! The first half of a group's reconciliation: which of its allocations are canaries,
//! untainted, to migrate, lost, disconnecting, or to reschedule now or later.

use std::collections::BTreeSet;

use crate::model::{Allocation, Job, TaskGroup};

use super::DesiredUpdates;
use super::group::Reconciler;
use super::sets::{DisconnectCfg, Later, filter_by_reschedulable, filter_by_tainted};

/// A group's allocations sorted by what happens to them next.
pub(super) struct GroupSets<'a> {
    /// Every allocation still considered (old terminal batch work dropped).
    pub all: Vec<&'a Allocation>,
    /// Canaries of the current deployment.
    pub canaries: Vec<&'a Allocation>,
    /// Healthy and in place (disconnecting ones included).
    pub untainted: Vec<&'a Allocation>,
    /// On draining nodes.
    pub migrate: Vec<&'a Allocation>,
    /// On down nodes.
    pub lost: Vec<&'a Allocation>,
    /// Failed (or disconnecting) and to be replaced now.
    pub reschedule_now: Vec<&'a Allocation>,
    /// Failed and to be replaced after their reschedule delay.
    pub later: Vec<Later<'a>>,
    /// IDs of allocations on disconnected nodes.
    pub disconnecting: BTreeSet<&'a str>,
    /// The group's disconnect settings.
    pub cfg: DisconnectCfg,
}

impl<'a> Reconciler<'a> {
    /// Sorts group `name`'s allocations (Nomad's `filterByTainted`, reconnects and
    /// `filterByRescheduleable`), counting what it ignores or stops in `du`.
    pub(super) fn classify_group(
        &mut self,
        job: &'a Job,
        tg: &'a TaskGroup,
        name: &str,
        mut all: Vec<&'a Allocation>,
        du: &mut DesiredUpdates,
    ) -> GroupSets<'a> {
        if self.batch {
            let before = all.len();
            all.retain(|a| !(a.terminal() && self.is_older(job, a)));
            du.ignore += (before - all.len()) as u64;
        }
        let (canaries, all) = self.cancel_unneeded_canaries(all, du);

        let cfg = DisconnectCfg::of(tg);
        let t = filter_by_tainted(&all, self.tainted, self.missing, cfg, self.now);
        du.ignore += t.ignore as u64;
        let mut untainted = t.untainted;
        let mut migrate = t.migrate;
        let mut lost = t.lost;
        if !t.reconnecting.is_empty() {
            let (keep, stopped) = self.reconcile_reconnecting(job, &t.reconnecting, &all);
            du.stop += stopped.len() as u64;
            let gone = |a: &&Allocation| !stopped.contains(a.id.as_str());
            untainted.retain(gone);
            migrate.retain(gone);
            lost.retain(gone);
            untainted.extend(keep);
        }

        let policy_of = |a: &'a Allocation| self.policy_of(a, tg);
        let rs = filter_by_reschedulable(
            &untainted,
            self.batch,
            self.now,
            self.eval_id,
            self.deployment,
            &policy_of,
        );
        let mut untainted = rs.untainted;
        let mut reschedule_now = rs.now;
        let disconnecting: BTreeSet<&str> = t.disconnecting.iter().map(|a| a.id.as_str()).collect();
        if !t.disconnecting.is_empty() {
            self.mark_disconnecting(job, name, &t.disconnecting, cfg);
            untainted.extend(t.disconnecting.iter().copied());
            if !cfg.prevent_replace {
                reschedule_now.extend(t.disconnecting.iter().copied());
            }
        }
        let later = rs.later;
        GroupSets {
            all,
            canaries,
            untainted,
            migrate,
            lost,
            reschedule_now,
            later,
            disconnecting,
            cfg,
        }
    }
}
