//! Splitting a group's allocations into the sets the reconciler acts on (Nomad's
//! `filterByTainted` and `filterByRescheduleable`), and choosing allocation names
//! (Nomad's `allocNameIndex`).

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    Allocation, Deployment, Node, ReschedulePolicy, TaskGroup, client_status, desired_status,
    node_status,
};

use super::reschedule::{RESCHEDULE_WINDOW, next_reschedule_time};

/// How a group treats allocations of nodes that lose contact, resolved from
/// `disconnect`, `max_client_disconnect` and `prevent_reschedule_on_lost`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct DisconnectCfg {
    /// Allocations of a disconnected node become `unknown` instead of lost.
    pub supports: bool,
    /// How long they may stay unknown.
    pub lost_after: i64,
    /// Do not place replacements for allocations of disconnected/down nodes.
    pub prevent_replace: bool,
}

impl DisconnectCfg {
    /// Resolves the group's settings; `disconnect` wins over the deprecated fields.
    pub fn of(tg: &TaskGroup) -> Self {
        let lost_after = tg.disconnect_lost_after();
        let replace_off = tg.disconnect.as_ref().and_then(|d| d.replace) == Some(false);
        DisconnectCfg {
            supports: lost_after > 0,
            lost_after,
            prevent_replace: tg.prevent_reschedule_on_lost || replace_off,
        }
    }
}

/// Where a group's allocations stand with respect to their nodes.
#[derive(Debug, Default)]
pub(super) struct Tainted<'a> {
    /// On healthy (or merely draining/ineligible) nodes, or terminal.
    pub untainted: Vec<&'a Allocation>,
    /// Marked for migration by the drainer or a user.
    pub migrate: Vec<&'a Allocation>,
    /// On down or vanished nodes (or unknown for too long): stop as lost, replace.
    pub lost: Vec<&'a Allocation>,
    /// Running on a node that just disconnected: mark unknown, maybe replace.
    pub disconnecting: Vec<&'a Allocation>,
    /// Unknown allocations whose node is healthy again.
    pub reconnecting: Vec<&'a Allocation>,
    /// Needing nothing (server-terminal leftovers of disconnect handling).
    pub ignore: usize,
}

/// A node is healthy when it is not tainted, or tainted but ready again.
fn node_state<'n>(
    tainted: &'n BTreeMap<String, Node>,
    missing: &BTreeSet<String>,
    id: &str,
) -> (bool, Option<&'n Node>) {
    if missing.contains(id) {
        return (false, None);
    }
    match tainted.get(id) {
        None => (true, None),
        Some(n) => (n.status == node_status::READY, Some(n)),
    }
}

/// Nomad's `filterByTainted`, without allocation state history: an `unknown` allocation
/// on a healthy node counts as reconnecting, and the time it became unknown is its
/// modify time.
pub(super) fn filter_by_tainted<'a>(
    allocs: &[&'a Allocation],
    tainted: &BTreeMap<String, Node>,
    missing: &BTreeSet<String>,
    cfg: DisconnectCfg,
    now: i64,
) -> Tainted<'a> {
    let mut out = Tainted::default();
    for &a in allocs {
        let (healthy, node) = node_state(tainted, missing, &a.node_id);
        let unknown = a.client_status == client_status::UNKNOWN;
        let reconnect = cfg.supports && unknown && healthy;
        if node.is_some_and(|n| n.status == node_status::DISCONNECTED) {
            if cfg.supports {
                if a.client_status == client_status::RUNNING {
                    out.disconnecting.push(a);
                    continue;
                }
                if a.client_status == client_status::PENDING {
                    out.lost.push(a);
                    continue;
                }
            } else if cfg.prevent_replace {
                if a.client_status == client_status::RUNNING {
                    out.disconnecting.push(a);
                } else {
                    out.untainted.push(a);
                }
                continue;
            } else if !a.terminal() {
                out.lost.push(a);
                continue;
            }
        }
        if a.terminal() && !reconnect {
            if cfg.supports && a.server_terminal() {
                out.ignore += 1;
            } else if is_canary(a) && a.desired_transition.migrate == Some(true) {
                out.migrate.push(a);
            } else {
                out.untainted.push(a);
            }
            continue;
        }
        if a.desired_transition.migrate == Some(true) {
            out.migrate.push(a);
            continue;
        }
        if cfg.supports && unknown && now > a.modify_time.saturating_add(cfg.lost_after) {
            out.lost.push(a);
            continue;
        }
        if reconnect {
            out.reconnecting.push(a);
            continue;
        }
        if cfg.supports && unknown && a.desired_status == desired_status::RUN {
            out.untainted.push(a);
            continue;
        }
        if healthy {
            out.untainted.push(a);
            continue;
        }
        match node {
            None => out.lost.push(a),
            Some(n) if n.status == node_status::DOWN => {
                if cfg.prevent_replace && unknown {
                    out.untainted.push(a);
                } else if cfg.prevent_replace && a.client_status == client_status::RUNNING {
                    out.disconnecting.push(a);
                } else {
                    out.lost.push(a);
                }
            }
            Some(_) => out.untainted.push(a),
        }
    }
    out
}

/// True for an allocation placed as a canary of a deployment.
pub(super) fn is_canary(a: &Allocation) -> bool {
    a.deployment_status.as_ref().is_some_and(|s| s.canary)
}

/// A failed allocation to replace once its reschedule delay has passed.
#[derive(Debug, Clone)]
pub(super) struct Later<'a> {
    /// The failed allocation.
    pub alloc: &'a Allocation,
    /// When it becomes eligible (unix nanos).
    pub at: i64,
}

/// Result of [`filter_by_reschedulable`].
#[derive(Debug, Default)]
pub(super) struct Reschedulable<'a> {
    /// Count toward the group and need no replacement now.
    pub untainted: Vec<&'a Allocation>,
    /// Failed allocations to replace in this evaluation.
    pub now: Vec<&'a Allocation>,
    /// Failed allocations to replace through a follow-up evaluation.
    pub later: Vec<Later<'a>>,
}

/// Nomad's `filterByRescheduleable` for allocations on healthy nodes. Batch allocations
/// that finished (or were stopped after running successfully) stay untainted so they are
/// never re-run; service allocations that completed or were stopped are dropped so their
/// slot is refilled.
pub(super) fn filter_by_reschedulable<'a>(
    allocs: &[&'a Allocation],
    batch: bool,
    now: i64,
    eval_id: &str,
    deployment: Option<&Deployment>,
    policy_of: &dyn Fn(&'a Allocation) -> Option<&'a ReschedulePolicy>,
) -> Reschedulable<'a> {
    let mut out = Reschedulable::default();
    for &a in allocs {
        if !a.next_allocation.is_empty() && a.terminal() {
            continue;
        }
        let (untainted, ignore) = should_filter(a, batch);
        if untainted {
            out.untainted.push(a);
            continue;
        }
        if ignore {
            continue;
        }
        let in_active_deployment = deployment
            .is_some_and(|d| a.deployment_id == d.id && d.active())
            && a.desired_transition.reschedule != Some(true);
        if in_active_deployment {
            out.untainted.push(a);
            continue;
        }
        let forced = a.desired_transition.force_reschedule == Some(true);
        let next = next_reschedule_time(a, policy_of(a));
        match next {
            _ if forced => out.now.push(a),
            Some((at, true))
                if a.followup_eval_id == eval_id || at.saturating_sub(now) <= RESCHEDULE_WINDOW =>
            {
                out.now.push(a)
            }
            Some((at, true)) => {
                out.untainted.push(a);
                if a.followup_eval_id.is_empty() {
                    out.later.push(Later { alloc: a, at });
                }
            }
            _ => out.untainted.push(a),
        }
    }
    out
}

/// Nomad's `shouldFilter`: `(untainted, ignore)`.
fn should_filter(a: &Allocation, batch: bool) -> (bool, bool) {
    if batch {
        if a.desired_status == desired_status::STOP {
            return (ran_successfully(a), !ran_successfully(a));
        }
        if a.desired_status == desired_status::EVICT {
            return (false, true);
        }
        return (a.client_status != client_status::FAILED, false);
    }
    if a.server_terminal() {
        return (false, true);
    }
    match a.client_status.as_str() {
        client_status::COMPLETE | client_status::LOST => (false, true),
        _ => (false, false),
    }
}

/// Every task finished without failing (Nomad's `RanSuccessfully`).
fn ran_successfully(a: &Allocation) -> bool {
    if a.client_status == client_status::COMPLETE {
        return true;
    }
    !a.task_states.is_empty()
        && a.task_states
            .values()
            .all(|s| s.state == "dead" && !s.failed)
}

/// Which `[index]` suffixes of a group are taken, with multiplicity (two live allocations
/// can share a name after a reconnect). New placements take the lowest free indexes,
/// which keeps names dense and unique. Indexes below [`DENSE_INDEXES`] are counted in
/// a vector (every evaluation seeds one with each of the group's allocations: a tree
/// insert each cost more than the rest of their classification), larger ones in a map.
#[derive(Debug, Default)]
pub(super) struct NameIndex {
    dense: Vec<u32>,
    sparse: BTreeMap<u32, u32>,
}

/// Indexes counted densely: groups run up to a few thousand allocations.
const DENSE_INDEXES: u32 = 1 << 16;

impl NameIndex {
    /// Seeds the index with the names of `allocs`.
    pub fn new<'a>(allocs: impl IntoIterator<Item = &'a Allocation>) -> Self {
        let mut idx = NameIndex::default();
        for a in allocs {
            if let Some(i) = a.index() {
                idx.set(i);
            }
        }
        idx
    }

    /// How many allocations hold index `i`.
    fn holders(&self, i: u32) -> u32 {
        if i < DENSE_INDEXES {
            self.dense.get(i as usize).copied().unwrap_or(0)
        } else {
            self.sparse.get(&i).copied().unwrap_or(0)
        }
    }

    /// Marks `i` as taken once more.
    pub fn set(&mut self, i: u32) {
        if i < DENSE_INDEXES {
            let at = i as usize;
            if self.dense.len() <= at {
                self.dense.resize(at + 1, 0);
            }
            self.dense[at] += 1;
        } else {
            *self.sparse.entry(i).or_insert(0) += 1;
        }
    }

    /// Releases one holder of `i`.
    pub fn unset(&mut self, i: u32) {
        if i < DENSE_INDEXES {
            if let Some(n) = self.dense.get_mut(i as usize) {
                *n = n.saturating_sub(1);
            }
        } else if let Some(n) = self.sparse.get_mut(&i) {
            *n -= 1;
            if *n == 0 {
                self.sparse.remove(&i);
            }
        }
    }

    /// Takes the `n` lowest free indexes.
    pub fn next(&mut self, n: usize) -> Vec<u32> {
        let mut out = Vec::with_capacity(n);
        let mut candidate: u32 = 0;
        while out.len() < n {
            if self.holders(candidate) == 0 {
                out.push(candidate);
            }
            match candidate.checked_add(1) {
                Some(c) => candidate = c,
                None => break,
            }
        }
        for &i in &out {
            self.set(i);
        }
        out
    }
}

#[cfg(test)]
mod tests;
