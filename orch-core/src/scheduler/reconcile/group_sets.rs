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

/// Sorts a group's allocations as `(name, ID)` compare, the order the reconciler
/// works in. Names of one group share their `job.group[` prefix, so each is keyed
/// first by the eight bytes after the prefix all of them share (zero-padded,
/// big-endian: where two keys differ they order as the names do), and the names and
/// IDs are compared in full only on equal keys. An evaluation of a job of a thousand
/// allocations sorted them with ten thousand string comparisons.
pub(super) fn sort_by_name_and_id(allocs: &mut [&Allocation]) {
    let Some(first) = allocs.first() else {
        return;
    };
    let first = first.name.as_bytes();
    let shared = allocs.iter().fold(first.len(), |n, a| {
        let name = a.name.as_bytes();
        first[..n]
            .iter()
            .zip(name)
            .take_while(|(x, y)| x == y)
            .count()
    });
    let key = |a: &Allocation| {
        let rest = a.name.as_bytes().get(shared..).unwrap_or_default();
        let mut bytes = [0u8; 8];
        for (b, r) in bytes.iter_mut().zip(rest) {
            *b = *r;
        }
        u64::from_be_bytes(bytes)
    };
    let mut keyed: Vec<(u64, &Allocation)> = allocs.iter().map(|a| (key(a), *a)).collect();
    keyed.sort_by(|x, y| {
        x.0.cmp(&y.0)
            .then_with(|| (&x.1.name, &x.1.id).cmp(&(&y.1.name, &y.1.id)))
    });
    for (slot, (_, a)) in allocs.iter_mut().zip(keyed) {
        *slot = a;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The keyed sort orders as comparing `(name, ID)` does, whatever the names
        /// share (bytes chosen so prefixes, zero bytes and long tails all occur).
        #[test]
        fn keyed_sort_is_name_then_id(
            names in proptest::collection::vec(
                (proptest::collection::vec(proptest::sample::select(vec![0u8, b'1', b'9', b'[', b']', b'a']), 0..12), 0u8..3),
                0..40,
            ),
            prefix in "[a-c]{0,3}",
        ) {
            let allocs: Vec<Allocation> = names
                .iter()
                .enumerate()
                .map(|(i, (tail, id))| Allocation {
                    name: format!("{prefix}{}", String::from_utf8_lossy(tail)),
                    id: format!("{id}-{i}"),
                    ..Allocation::default()
                })
                .collect();
            let mut fast: Vec<&Allocation> = allocs.iter().collect();
            sort_by_name_and_id(&mut fast);
            let mut slow: Vec<&Allocation> = allocs.iter().collect();
            slow.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
            let ids = |v: &[&Allocation]| v.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
            prop_assert_eq!(ids(&fast), ids(&slow));
        }
    }
}
