//! The ready nodes fullest first, kept by the node table between evaluations.
//!
//! Every best-fit evaluation visits the nodes fullest first (ties in node ID order).
//! Built per evaluation, that order cost a pass and a counting sort over the whole
//! cluster, which churn (hundreds of evaluations of a few placements each) paid
//! hundreds of times. The table keeps it instead: a node whose fullness step,
//! readiness or datacenter changes is marked, and [`FullestFirst::settle`] (called once
//! a commit is done) moves the marked nodes to their new places by one merge. An
//! evaluation then borrows the order and the position of every slot as they are.
//!
//! The order is an index derived from the nodes and their usage (never serialized,
//! left out of equality): the same nodes and usage give the same order, whatever the
//! order of the changes that led there.

use super::{Compact, Dense, Id};

/// Marks a slot outside the order (not ready), or not counted in a datacenter.
pub const NOT_IN_ORDER: u32 = u32::MAX;

/// Ready slots fullest first, with each slot's position and the ready nodes per
/// datacenter. See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct FullestFirst {
    slots: Vec<u32>,
    /// Per slot, its position in `slots` or [`NOT_IN_ORDER`].
    pos: Vec<u32>,
    /// Slots whose key changed since the last settle, each once.
    dirty: Vec<u32>,
    /// Per slot, whether it is in `dirty`.
    marked: Vec<bool>,
    /// Per slot, the fullness step it was placed in the order by (the order is
    /// sorted by these and node IDs until the next settle).
    placed: Vec<u16>,
    /// Per slot, the interned datacenter it is counted under, or [`NOT_IN_ORDER`].
    counted_dc: Vec<u32>,
    /// Ready slots per interned datacenter.
    per_dc: Vec<u64>,
    scratch: Vec<u32>,
}

impl FullestFirst {
    /// Makes room for a new slot (outside the order until settled).
    pub(super) fn grow(&mut self) {
        self.pos.push(NOT_IN_ORDER);
        self.marked.push(false);
        self.placed.push(0);
        self.counted_dc.push(NOT_IN_ORDER);
    }

    /// Marks a slot whose place may have changed.
    #[inline]
    pub(super) fn touch(&mut self, s: usize) {
        if let Some(m) = self.marked.get_mut(s)
            && !*m
        {
            *m = true;
            self.dirty.push(s as u32);
        }
    }

    /// Whether the order reflects every change (only then may it be read).
    pub fn is_settled(&self) -> bool {
        self.dirty.is_empty()
    }

    /// Ready slots, fullest first, ties in node ID order.
    pub fn slots(&self) -> &[u32] {
        &self.slots
    }

    /// Per slot, its position in [`Self::slots`], or [`NOT_IN_ORDER`].
    pub fn positions(&self) -> &[u32] {
        &self.pos
    }

    /// Ready nodes per interned datacenter (shorter than the interned names when the
    /// last ones have none).
    pub fn per_datacenter(&self) -> &[u64] {
        &self.per_dc
    }

    /// Moves the marked slots to their places: the others keep their relative order,
    /// the marked ready ones are sorted and merged in. Only the stretch of the order
    /// between the first and the last place that changes is rewritten (positions after
    /// it move only when a node entered or left the order), so a commit that moved a
    /// few nodes a few steps costs about that stretch, not the cluster.
    pub(super) fn settle(&mut self, compact: &[Compact], dense: &[Dense], ids: &[Id]) {
        if self.dirty.is_empty() {
            return;
        }
        let mut dirty = std::mem::take(&mut self.dirty);
        self.recount(&dirty, compact, dense);
        // The order is sorted by the key each slot had when it was placed.
        let placed = |s: u32| (self.placed[s as usize], &ids[s as usize]);
        let now = |s: u32| (compact[s as usize].emptiness, &ids[s as usize]);
        let (mut lo, mut hi) = (self.slots.len(), 0);
        for &s in &dirty {
            let p = self.pos[s as usize];
            if p != NOT_IN_ORDER {
                lo = lo.min(p as usize);
                hi = hi.max(p as usize + 1);
            }
        }
        dirty.sort_unstable_by(|a, b| now(*a).cmp(&now(*b)));
        let mut fresh = Vec::with_capacity(dirty.len());
        for &m in dirty.iter().filter(|s| compact[**s as usize].ready) {
            let km = now(m);
            let at = self.slots.partition_point(|k| placed(*k) < km);
            lo = lo.min(at);
            hi = hi.max(at);
            fresh.push(m);
        }
        // Nothing entered or left a place (a node outside the order stayed out).
        let lo = lo.min(hi);
        let mut middle = std::mem::take(&mut self.scratch);
        middle.clear();
        let mut from = lo;
        for &m in &fresh {
            let km = now(m);
            let stretch = &self.slots[from..hi];
            let at = from
                + stretch
                    .iter()
                    .position(|k| !self.marked[*k as usize] && now(*k) >= km)
                    .unwrap_or(stretch.len());
            let marked = &self.marked;
            middle.extend(
                self.slots[from..at]
                    .iter()
                    .filter(|k| !marked[**k as usize]),
            );
            middle.push(m);
            from = at;
        }
        let marked = &self.marked;
        middle.extend(
            self.slots[from..hi]
                .iter()
                .filter(|k| !marked[**k as usize]),
        );
        for &s in &dirty {
            self.marked[s as usize] = false;
            self.pos[s as usize] = NOT_IN_ORDER;
            self.placed[s as usize] = compact[s as usize].emptiness;
        }
        let resized = middle.len() != hi - lo;
        self.slots.splice(lo..hi, middle.iter().copied());
        let rewrite = if resized {
            lo..self.slots.len()
        } else {
            lo..lo + middle.len()
        };
        for i in rewrite {
            self.pos[self.slots[i] as usize] = i as u32;
        }
        self.scratch = middle;
        dirty.clear();
        self.dirty = dirty;
    }

    /// Moves the marked slots' datacenter counts to what they are now.
    fn recount(&mut self, dirty: &[u32], compact: &[Compact], dense: &[Dense]) {
        for &s in dirty {
            let s = s as usize;
            let was = self.counted_dc[s];
            if let Some(n) = self.per_dc.get_mut(was as usize) {
                *n -= 1;
            }
            self.counted_dc[s] = NOT_IN_ORDER;
            if compact[s].ready {
                let dc = dense[s].datacenter as usize;
                if self.per_dc.len() <= dc {
                    self.per_dc.resize(dc + 1, 0);
                }
                self.per_dc[dc] += 1;
                self.counted_dc[s] = dc as u32;
            }
        }
    }
}
