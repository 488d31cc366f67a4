//! The order in which waiting work gets capacity (an orch extension: Nomad releases every
//! blocked evaluation at once and the first plan committed wins).
//!
//! When capacity frees up, the leader wakes the blocked evaluations it may help
//! ([`BlockedEvals::wake`](super::BlockedEvals::wake)) and lets them out one at a time,
//! best ranked first ([`BlockedEvals::next_ranked`](super::BlockedEvals::next_ranked)),
//! each seeing what the one before it placed. The ranking ([`compare`]):
//!
//! 1. **Job priority**, higher first.
//! 2. **Fair share across namespaces**, lower first: a namespace's *dominant share* is
//!    the larger of the fractions of the cluster's CPU and memory its live allocations
//!    hold (dominant-resource fairness), divided by the namespace's `Weight` (default 1,
//!    so namespaces that set none share equally). Two namespaces with weights 3 and 1
//!    and endless waiting work end up holding about 3:1 of the cluster.
//! 3. **Age**: the job waiting since the lower Raft index first ([`waiting_since`]).
//! 4. The evaluation ID, so the order is total and the same on every run.
//!
//! Shares compare exactly (integer cross-multiplication, no floats), so the order is
//! deterministic; [`FairShare::share`] gives the float for display only.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::model::Evaluation;
use crate::state::StateStore;

/// The weight of a namespace that sets none: every namespace counts the same.
pub const DEFAULT_WEIGHT: u32 = 1;
/// The largest weight a namespace may have (bounds the share arithmetic and keeps the
/// ratio between two namespaces meaningful).
pub const MAX_WEIGHT: u32 = 1000;

/// What one namespace's live allocations hold, and its weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamespaceShare {
    /// CPU in MHz held by its non-terminal allocations.
    pub cpu_mhz: u64,
    /// Memory in MB held by its non-terminal allocations.
    pub memory_mb: u64,
    /// Its `Weight` (at least 1).
    pub weight: u32,
}

impl Default for NamespaceShare {
    fn default() -> Self {
        NamespaceShare {
            cpu_mhz: 0,
            memory_mb: 0,
            weight: DEFAULT_WEIGHT,
        }
    }
}

/// The cluster's capacity and each namespace's use: the input of the fair-share step.
/// A namespace it does not list holds nothing and has weight 1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FairShare {
    /// CPU in MHz the cluster's ready nodes offer.
    pub cpu_mhz: u64,
    /// Memory in MB the cluster's ready nodes offer.
    pub memory_mb: u64,
    /// Use and weight by namespace.
    pub namespaces: BTreeMap<String, NamespaceShare>,
}

impl FairShare {
    /// The shares of `namespaces` in the state as it is: capacity of the ready nodes,
    /// use of each namespace's live allocations (a scan of that namespace's allocations)
    /// and the namespace's weight.
    pub fn from_state<'a>(s: &StateStore, namespaces: impl IntoIterator<Item = &'a str>) -> Self {
        let mut share = FairShare::default();
        for n in s
            .nodes()
            .filter(|n| n.status == crate::model::node_status::READY)
        {
            let cap = n.capacity();
            share.cpu_mhz = share.cpu_mhz.saturating_add(cap.cpu_mhz);
            share.memory_mb = share.memory_mb.saturating_add(cap.memory_mb);
        }
        for ns in namespaces {
            if share.namespaces.contains_key(ns) {
                continue;
            }
            let used = s.namespace_used(ns);
            let weight = s.namespace(ns).map_or(DEFAULT_WEIGHT, |n| n.weight);
            share.namespaces.insert(
                ns.to_owned(),
                NamespaceShare {
                    cpu_mhz: used.cpu_mhz,
                    memory_mb: used.memory_mb,
                    weight: weight.clamp(1, MAX_WEIGHT),
                },
            );
        }
        share
    }

    fn of(&self, ns: &str) -> NamespaceShare {
        self.namespaces.get(ns).copied().unwrap_or_default()
    }

    /// The dominant share's numerator over the common denominator `cpu × memory`:
    /// `max(cpu_used × memory, memory_used × cpu)`. A capacity of zero counts as one,
    /// so an empty cluster still orders namespaces by what they hold.
    fn dominant(&self, ns: &NamespaceShare) -> u128 {
        let cpu = u128::from(self.cpu_mhz.max(1));
        let mem = u128::from(self.memory_mb.max(1));
        (u128::from(ns.cpu_mhz) * mem).max(u128::from(ns.memory_mb) * cpu)
    }

    /// Orders two namespaces by weighted dominant share, lower (more owed) first.
    /// Exact: `dominant_a / weight_a` against `dominant_b / weight_b` by
    /// cross-multiplication; the numerators are capped at `u128::MAX / MAX_WEIGHT` first
    /// so the products cannot overflow (reached only past 2^118 MHz × MB).
    pub fn cmp_namespaces(&self, a: &str, b: &str) -> Ordering {
        if a == b {
            return Ordering::Equal;
        }
        let (sa, sb) = (self.of(a), self.of(b));
        let cap = u128::MAX / u128::from(MAX_WEIGHT);
        let da = self.dominant(&sa).min(cap);
        let db = self.dominant(&sb).min(cap);
        (da * u128::from(sb.weight.max(1))).cmp(&(db * u128::from(sa.weight.max(1))))
    }

    /// A namespace's dominant share (0 to 1: the larger of its CPU and memory fractions),
    /// for display.
    pub fn dominant_share(&self, ns: &str) -> f64 {
        let s = self.of(ns);
        let cpu = s.cpu_mhz as f64 / self.cpu_mhz.max(1) as f64;
        let mem = s.memory_mb as f64 / self.memory_mb.max(1) as f64;
        cpu.max(mem)
    }

    /// A namespace's dominant share divided by its weight: what the queue orders by,
    /// for display.
    pub fn share(&self, ns: &str) -> f64 {
        self.dominant_share(ns) / f64::from(self.of(ns).weight.max(1))
    }

    /// A namespace's weight (1 when unknown).
    pub fn weight(&self, ns: &str) -> u32 {
        self.of(ns).weight
    }
}

/// A waiting evaluation with the Raft index its job started waiting at.
#[derive(Debug, Clone, Copy)]
pub struct Waiting<'a> {
    /// The blocked evaluation.
    pub eval: &'a Evaluation,
    /// When its job's wait began (see [`waiting_since`]): the age the queue orders by.
    pub since: u64,
}

/// Most `PreviousEval` links [`waiting_since`] follows (bounds the walk; a job retried
/// more often than this still counts as waiting since the oldest one it reached).
pub const MAX_CHAIN: usize = 64;

/// The Raft index at which the wait of `eval`'s job began: when the work was asked for.
/// Each time a released blocked evaluation still cannot place everything the scheduler
/// creates a new one (`PreviousEval` = the released one), so a job's age is the
/// `CreateIndex` of the evaluation that started the chain (the registration's, say)
/// as far back as the state still holds it, not of the newest blocked one.
pub fn waiting_since(s: &StateStore, eval: &Evaluation) -> u64 {
    let mut since = eval.create_index;
    let mut prev = eval.previous_eval.as_str();
    for _ in 0..MAX_CHAIN {
        let Some(p) = s.eval(prev) else { break };
        if p.job_id != eval.job_id || p.namespace != eval.namespace {
            break;
        }
        since = since.min(p.create_index);
        if p.triggered_by != crate::model::trigger::QUEUED_ALLOCS {
            break;
        }
        prev = p.previous_eval.as_str();
    }
    since
}

/// The queue's order: `Less` when `a` gets capacity before `b`. Priority (higher
/// first), then weighted dominant share of the namespace (lower first), then age (lower
/// `since` first), then ID. A total order for a fixed `share`.
pub fn compare(a: &Waiting<'_>, b: &Waiting<'_>, share: &FairShare) -> Ordering {
    b.eval
        .priority
        .cmp(&a.eval.priority)
        .then_with(|| share.cmp_namespaces(&a.eval.namespace, &b.eval.namespace))
        .then_with(|| a.since.cmp(&b.since))
        .then_with(|| a.eval.id.cmp(&b.eval.id))
}

/// `waiting` in queue order (see [`compare`]); the input order does not matter.
pub fn rank<'a>(
    waiting: impl IntoIterator<Item = Waiting<'a>>,
    share: &FairShare,
) -> Vec<Waiting<'a>> {
    let mut out: Vec<Waiting<'a>> = waiting.into_iter().collect();
    out.sort_by(|a, b| compare(a, b, share));
    out
}

/// Why a blocked evaluation waits, in a line: per group, what its last placement attempt
/// ran into (the dimensions exhausted, the quota, the constraints that filtered every
/// node), from its `FailedTGAllocs`.
pub fn wait_reason(eval: &Evaluation) -> String {
    if eval.triggered_by == crate::workflow::JOB_DEPENDENCY {
        return "waiting for the jobs it depends on".into();
    }
    let mut parts = Vec::new();
    for (group, m) in &eval.failed_tg_allocs {
        let mut why = Vec::new();
        if !m.quota_exhausted.is_empty() {
            why.push(format!(
                "quota exhausted ({})",
                m.quota_exhausted.join(", ")
            ));
        }
        if !m.dimension_exhausted.is_empty() {
            let dims: Vec<String> = m
                .dimension_exhausted
                .iter()
                .map(|(d, n)| format!("{d} on {n} node{}", if *n == 1 { "" } else { "s" }))
                .collect();
            why.push(format!("resources exhausted: {}", dims.join(", ")));
        } else if m.nodes_exhausted > 0 {
            why.push(format!("{} nodes exhausted", m.nodes_exhausted));
        }
        if !m.constraint_filtered.is_empty() {
            let cons: Vec<String> = m
                .constraint_filtered
                .iter()
                .map(|(c, n)| format!("{c} filtered {n}"))
                .collect();
            why.push(format!("constraints: {}", cons.join(", ")));
        }
        if m.nodes_evaluated == 0 && why.is_empty() {
            why.push("no nodes were eligible".into());
        }
        if why.is_empty() {
            why.push("no room".into());
        }
        parts.push(format!("group {group:?}: {}", why.join("; ")));
    }
    if parts.is_empty() {
        if eval.triggered_by == crate::model::trigger::MAX_PLAN_ATTEMPTS {
            return "plan rejected too often; retried periodically".into();
        }
        return "waiting for capacity".into();
    }
    parts.join(" | ")
}

mod room;
pub use room::Room;

#[cfg(test)]
mod tests;
