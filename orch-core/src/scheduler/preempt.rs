//! Preemption: when a placement fits nowhere, evict lower-priority allocations from a node
//! to make room, choosing the set that frees enough with the least disruption.
//!
//! Rules (Nomad's): only allocations whose job priority is at least
//! [`PRIORITY_DELTA`] below the placing job's are candidates; the lowest priorities go
//! first; within a priority, the allocation whose resources are closest to what is still
//! missing is taken; finally allocations that turned out not to be needed are put back.

use crate::model::{Allocation, Usage};

/// How much lower a job's priority must be for its allocations to be preempted.
pub const PRIORITY_DELTA: i32 = 10;

/// One allocation that might be evicted.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The allocation.
    pub alloc: &'a Allocation,
    /// Priority of its job.
    pub priority: i32,
}

/// What a live allocation holds on its node, as preemption weighs it (the node table
/// keeps these per node, so preemption need not read whole allocations).
#[derive(Debug)]
pub struct Holding<'a, K: ?Sized = str> {
    /// The allocation's ID (a string, or the store's [`crate::state::Id`], which
    /// orders as its string does).
    pub id: &'a K,
    /// What it holds.
    pub usage: Usage,
    /// Priority of its job.
    pub priority: i32,
}

// By hand: derived, they would ask `K: Copy`, which `str` is not.
impl<K: ?Sized> Clone for Holding<'_, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K: ?Sized> Copy for Holding<'_, K> {}

/// Picks allocations to evict from a node so that `ask` fits; `None` when even evicting
/// every eligible allocation would not make room. Deterministic: ties break on alloc ID.
pub fn select_preemptions<'a>(
    capacity: &Usage,
    used: &Usage,
    ask: &Usage,
    job_priority: i32,
    candidates: impl IntoIterator<Item = Candidate<'a>>,
) -> Option<Vec<&'a Allocation>> {
    let live: Vec<Candidate<'a>> = candidates
        .into_iter()
        .filter(|c| !c.alloc.terminal())
        .collect();
    let holdings = live.iter().map(|c| Holding {
        id: c.alloc.id.as_str(),
        usage: c.alloc.usage(),
        priority: c.priority,
    });
    let chosen = select_holdings(capacity, used, ask, job_priority, holdings)?;
    Some(
        chosen
            .iter()
            .filter_map(|h| live.iter().find(|c| c.alloc.id == h.id).map(|c| c.alloc))
            .collect(),
    )
}

/// [`select_preemptions`] over holdings: the IDs to evict.
pub fn select_holdings<'a, K: Ord + ?Sized>(
    capacity: &Usage,
    used: &Usage,
    ask: &Usage,
    job_priority: i32,
    holdings: impl IntoIterator<Item = Holding<'a, K>>,
) -> Option<Vec<Holding<'a, K>>> {
    if capacity.fits(used, ask).is_ok() {
        return Some(Vec::new());
    }
    let mut pool: Vec<(Holding<'a, K>, Usage)> = holdings
        .into_iter()
        .filter(|c| job_priority - c.priority >= PRIORITY_DELTA)
        .map(|c| (c, c.usage))
        .collect();
    // No sort: each step takes, among the lowest priority left, the holding closest to
    // what is missing, ties broken on ID; that choice does not depend on the pool's
    // order, so a scan per step (few steps, a few hundred holdings) replaces sorting
    // the whole pool by ID on every node weighed.
    let mut freed_used = *used;
    let mut chosen: Vec<(Holding<'a, K>, Usage)> = Vec::new();
    while capacity.fits(&freed_used, ask).is_err() {
        let missing = shortfall(capacity, &freed_used, ask);
        // One pass: the lowest priority first, then the closest, then the ID.
        let best = pool
            .iter()
            .enumerate()
            .map(|(i, (c, u))| (i, c.priority, distance(&missing, u), c.id))
            .min_by(|a, b| {
                a.1.cmp(&b.1)
                    .then_with(|| a.2.total_cmp(&b.2))
                    .then_with(|| a.3.cmp(b.3))
            })
            .map(|(i, _, _, _)| i)?;
        let (c, u) = pool.swap_remove(best);
        freed_used.sub(&u);
        chosen.push((c, u));
    }
    // Put back what was not needed, most recently chosen first.
    let mut i = chosen.len();
    while i > 0 {
        i -= 1;
        let mut without = freed_used;
        without.add(&chosen[i].1);
        if capacity.fits(&without, ask).is_ok() {
            freed_used = without;
            chosen.remove(i);
        }
    }
    Some(chosen.into_iter().map(|(c, _)| c).collect())
}

/// Holdings of one priority and one usage, IDs ascending: interchangeable to the
/// selection but for the ID tie-break, so it weighs the class once per step instead
/// of every holding (a node holds hundreds of allocations of a few dozen jobs, and
/// a job's allocations hold the same).
#[derive(Debug, Clone)]
pub struct HoldingClass<'a, K: ?Sized = str> {
    /// Priority of their jobs.
    pub priority: i32,
    /// What each holds.
    pub usage: Usage,
    /// Their IDs, ascending.
    pub ids: Vec<&'a K>,
}

/// Groups holdings into [`HoldingClass`]es (in no meaningful order).
pub fn group_holdings<'a, K: Ord + ?Sized>(
    holdings: impl IntoIterator<Item = Holding<'a, K>>,
) -> Vec<HoldingClass<'a, K>> {
    let key = |h: &Holding<'a, K>| {
        let u = &h.usage;
        (h.priority, u.cpu_mhz, u.memory_mb, u.disk_mb, u.cores)
    };
    let mut all: Vec<Holding<'a, K>> = holdings.into_iter().collect();
    all.sort_unstable_by(|a, b| key(a).cmp(&key(b)).then_with(|| a.id.cmp(b.id)));
    let mut out: Vec<HoldingClass<'a, K>> = Vec::new();
    for h in all {
        match out.last_mut() {
            Some(c) if c.priority == h.priority && c.usage == h.usage => c.ids.push(h.id),
            _ => out.push(HoldingClass {
                priority: h.priority,
                usage: h.usage,
                ids: vec![h.id],
            }),
        }
    }
    out
}

/// [`select_holdings`] over grouped holdings: the same choice, weighing each class
/// once per step (its lowest remaining ID stands for it; the taken ones are always a
/// prefix of its IDs, since each step takes the lowest).
pub fn select_grouped<'a, K: Ord + ?Sized>(
    capacity: &Usage,
    used: &Usage,
    ask: &Usage,
    job_priority: i32,
    classes: &[HoldingClass<'a, K>],
) -> Option<Vec<Holding<'a, K>>> {
    if capacity.fits(used, ask).is_ok() {
        return Some(Vec::new());
    }
    let mut taken = vec![0usize; classes.len()];
    let mut freed_used = *used;
    let mut chosen: Vec<Holding<'a, K>> = Vec::new();
    while capacity.fits(&freed_used, ask).is_err() {
        let missing = shortfall(capacity, &freed_used, ask);
        let best = classes
            .iter()
            .zip(&taken)
            .enumerate()
            .filter(|(_, (c, t))| job_priority - c.priority >= PRIORITY_DELTA && **t < c.ids.len())
            .map(|(i, (c, t))| (i, c.priority, distance(&missing, &c.usage), c.ids[*t]))
            .min_by(|a, b| {
                a.1.cmp(&b.1)
                    .then_with(|| a.2.total_cmp(&b.2))
                    .then_with(|| a.3.cmp(b.3))
            })
            .map(|(i, _, _, _)| i)?;
        let c = classes.get(best)?;
        let id = c.ids.get(taken[best]).copied()?;
        taken[best] += 1;
        freed_used.sub(&c.usage);
        chosen.push(Holding {
            id,
            usage: c.usage,
            priority: c.priority,
        });
    }
    // Put back what was not needed, most recently chosen first.
    let mut i = chosen.len();
    while i > 0 {
        i -= 1;
        let mut without = freed_used;
        without.add(&chosen[i].usage);
        if capacity.fits(&without, ask).is_ok() {
            freed_used = without;
            chosen.remove(i);
        }
    }
    Some(chosen)
}

/// What is still missing per dimension for `ask` to fit.
fn shortfall(capacity: &Usage, used: &Usage, ask: &Usage) -> Usage {
    let miss = |cap: u64, used: u64, ask: u64| used.saturating_add(ask).saturating_sub(cap);
    Usage {
        cpu_mhz: miss(capacity.cpu_mhz, used.cpu_mhz, ask.cpu_mhz),
        cores: miss(capacity.cores, used.cores, ask.cores),
        memory_mb: miss(capacity.memory_mb, used.memory_mb, ask.memory_mb),
        disk_mb: miss(capacity.disk_mb, used.disk_mb, ask.disk_mb),
    }
}

/// Nomad's basic resource distance: how far an allocation's resources are from what is
/// missing, relative per dimension (0 is a perfect match).
fn distance(missing: &Usage, held: &Usage) -> f64 {
    let d = |need: u64, have: u64| {
        if need == 0 {
            0.0
        } else {
            (need as f64 - have as f64) / need as f64
        }
    };
    let (c, m, k, s) = (
        d(missing.cpu_mhz, held.cpu_mhz),
        d(missing.memory_mb, held.memory_mb),
        d(missing.disk_mb, held.disk_mb),
        d(missing.cores, held.cores),
    );
    (c * c + m * m + k * k + s * s).sqrt()
}

#[cfg(test)]
mod tests;
