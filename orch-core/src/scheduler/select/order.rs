//! The eligible nodes of one evaluation, by position: the order the placer visits them
//! in, with their capacity and usage read from the state's node table.
//!
//! Built once per evaluation without a string comparison or a pointer chase: the table
//! keeps its slots in node ID order (so the order does not depend on slot numbers,
//! which differ between a live store and one restored from a snapshot) and an 8-byte
//! compact record per node (fullness step, datacenter, pool, readiness). Nodes are
//! filtered on interned datacenter and pool, then either shuffled (Nomad's sampling) or
//! counting-sorted by fullness (orch's best fit; ties keep ID order). Nothing per node is
//! copied: usage the plan changed lives in a small overlay, found through a dense index
//! by position (one `u32` per eligible node, like `pos_of`), so reading a candidate's
//! usage is two array reads, never a tree search.

use std::borrow::Cow;

use super::posmap::PosMap;
use crate::model::{Job, Node, Usage};
use crate::scheduler::feasible::NodeReadyChecker;
use crate::scheduler::rng::SchedRng;
use crate::state::{
    BLOCK, BlockFree, Compact, Dense, FULLNESS_BUCKETS, FullestFirst, NodeTable, StateStore,
    codes_exceed,
};

pub use crate::state::fullness;

/// Marks a slot that is not among the eligible nodes.
pub const NOT_ELIGIBLE: u32 = u32::MAX;

/// Eligible nodes by position.
pub struct NodeOrder<'a> {
    /// The state's node table (slots by ID, dense figures).
    pub table: &'a NodeTable,
    /// Slots, in visiting order (borrowed from the table's fullest-first order when
    /// the job admits every ready node).
    pub slots: Cow<'a, [u32]>,
    /// Position of each slot of the table, or [`NOT_ELIGIBLE`].
    pos_of: Cow<'a, [u32]>,
    /// Per position the plan changed, the index in `overlay` of its usage as the
    /// plan in progress leaves it (sparse: an evaluation changes a few dozen).
    overlay_at: PosMap,
    /// Usage as the plan in progress leaves it, for the positions it changed.
    overlay: Vec<Usage>,
    /// Whether the order is fullest first (the walk may then pass nodes by their
    /// compact free codes).
    best_fit: bool,
    /// Eligible nodes per interned datacenter, counted while admitting them.
    per_dc: Vec<u64>,
    /// The table's bounds of free codes per block of positions, when the order is
    /// the table's own (borrowed), else empty.
    blocks: &'a [BlockFree],
    /// Blocks (one bit each) holding a position the plan changed: their bounds
    /// say nothing of the plan's usage.
    touched_blocks: Vec<u64>,
}

impl<'a> NodeOrder<'a> {
    /// The job's eligible nodes (ready, in its pool and datacenters), fullest first
    /// when `best_fit`, else in a seeded random order.
    pub fn build(state: &'a StateStore, job: &Job, best_fit: bool, rng: &mut SchedRng) -> Self {
        Self::build_with(state, job, best_fit, rng, true)
    }

    /// [`Self::build`] computing the order from the table's records, never from the
    /// order the table keeps: the reference the kept order is tested against.
    #[cfg(test)]
    pub fn build_from_scratch(state: &'a StateStore, job: &Job, best_fit: bool) -> Self {
        Self::build_with(state, job, best_fit, &mut SchedRng::new(0), false)
    }

    fn build_with(
        state: &'a StateStore,
        job: &Job,
        best_fit: bool,
        rng: &mut SchedRng,
        kept: bool,
    ) -> Self {
        let table = state.node_table();
        let ready = NodeReadyChecker::new(job);
        let dc_ok: Vec<bool> = table
            .datacenters()
            .iter()
            .map(|dc| ready.datacenter_matches(dc))
            .collect();
        let pool_ok: Vec<bool> = table
            .pools()
            .iter()
            .map(|p| ready.pool_matches(p))
            .collect();
        let (compact, dense) = (table.compact(), table.dense());
        // The dense record is read only when the compact one's number saturated.
        let interned = |small: u16, full: &dyn Fn(&Dense) -> u32, s: u32| {
            if small == u16::MAX {
                dense
                    .get(s as usize)
                    .map_or(usize::MAX, |d| full(d) as usize)
            } else {
                usize::from(small)
            }
        };
        let ndc = table.datacenters().len();
        let ready_order = table.fullest_first().filter(|_| best_fit && kept);
        if let Some(ff) = ready_order
            && dc_ok.iter().all(|ok| *ok)
            && pool_ok.iter().all(|ok| *ok)
        {
            return Self::borrowed(table, ff, ndc);
        }
        let mut per_dc = vec![0u64; ndc];
        let mut admits = |s: u32| {
            let c: &Compact = &compact[s as usize];
            let dc = interned(c.datacenter, &|d| d.datacenter, s);
            let ok = c.ready
                && dc_ok.get(dc) == Some(&true)
                && pool_ok.get(interned(c.pool, &|d| d.pool, s)) == Some(&true);
            if ok && let Some(n) = per_dc.get_mut(dc) {
                *n += 1;
            }
            ok
        };
        let slots = if let Some(ff) = ready_order {
            // Already fullest first: admission keeps the relative order.
            ff.slots().iter().copied().filter(|s| admits(*s)).collect()
        } else if best_fit {
            fullest_first(table.slots_by_id(), compact, admits)
        } else {
            let mut slots: Vec<u32> = table
                .slots_by_id()
                .iter()
                .copied()
                .filter(|s| admits(*s))
                .collect();
            rng.shuffle(&mut slots);
            slots
        };
        let mut pos_of = vec![NOT_ELIGIBLE; dense.len()];
        for (pos, s) in slots.iter().enumerate() {
            pos_of[*s as usize] = pos as u32;
        }
        let overlay_at = PosMap::new(slots.len());
        NodeOrder {
            table,
            slots: Cow::Owned(slots),
            pos_of: Cow::Owned(pos_of),
            overlay_at,
            overlay: Vec::new(),
            best_fit,
            per_dc,
            blocks: &[],
            touched_blocks: Vec::new(),
        }
    }

    /// The table's own fullest-first order of the ready nodes, borrowed as it is: what
    /// [`Self::build`] would compute for a job that admits every datacenter and pool,
    /// without a pass over the cluster.
    fn borrowed(table: &'a NodeTable, ff: &'a FullestFirst, ndc: usize) -> Self {
        let mut per_dc = ff.per_datacenter().to_vec();
        per_dc.resize(ndc.max(per_dc.len()), 0);
        NodeOrder {
            table,
            slots: Cow::Borrowed(ff.slots()),
            pos_of: Cow::Borrowed(ff.positions()),
            overlay_at: PosMap::new(ff.slots().len()),
            overlay: Vec::new(),
            best_fit: true,
            per_dc,
            blocks: ff.blocks(),
            touched_blocks: vec![0; ff.slots().len().div_ceil(BLOCK * 64)],
        }
    }

    /// How many nodes are eligible.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// The position of a slot, if eligible.
    pub fn position(&self, slot: u32) -> Option<usize> {
        match self.pos_of.get(slot as usize) {
            Some(&p) if p != NOT_ELIGIBLE => Some(p as usize),
            _ => None,
        }
    }

    fn dense(&self, pos: usize) -> &'a Dense {
        &self.table.dense()[self.slots[pos] as usize]
    }

    /// The dense record of the node at `pos`.
    pub fn dense_at(&self, pos: usize) -> &'a Dense {
        self.dense(pos)
    }

    /// The node at `pos` (eligible nodes are registered, so always `Some`).
    pub fn node(&self, pos: usize) -> Option<&'a Node> {
        self.table.node_at(self.slots[pos])
    }

    /// Its schedulable capacity.
    pub fn capacity(&self, pos: usize) -> &'a Usage {
        &self.dense(pos).capacity
    }

    /// Its usage with the plan so far.
    #[inline]
    pub fn used(&self, pos: usize) -> Usage {
        match self.overlay_at.get(pos) {
            Some(i) => self.overlay[i as usize],
            None => self.dense(pos).used,
        }
    }

    /// Records the usage the plan leaves on the node at `pos`.
    pub fn set_used(&mut self, pos: usize, used: Usage) {
        let next = self.overlay.len() as u32;
        let Some(&mut at) = self.overlay_at.entry(pos, next) else {
            return;
        };
        if at == next {
            self.overlay.push(used);
            let b = pos / BLOCK;
            if let Some(w) = self.touched_blocks.get_mut(b / 64) {
                *w |= 1 << (b % 64);
            }
        } else if let Some(u) = self.overlay.get_mut(at as usize) {
            *u = used;
        }
    }

    /// Its interned datacenter.
    #[inline]
    pub fn datacenter(&self, pos: usize) -> u32 {
        self.dense(pos).datacenter
    }

    /// Its interned computed class.
    pub fn class(&self, pos: usize) -> u32 {
        self.dense(pos).class
    }

    /// Calls `f(position, dense record, usage as the plan leaves it)` for every
    /// eligible node whose position `marked` holds (one bit per position), in slot
    /// order: the table's records read front to back instead of in the order's
    /// scattered sequence (a failed placement's pass over every full node).
    pub fn for_each_marked_by_slot(&self, marked: &[u64], mut f: impl FnMut(usize, &Dense, Usage)) {
        for (d, &p) in self.table.dense().iter().zip(self.pos_of.iter()) {
            if p == NOT_ELIGIBLE {
                continue;
            }
            let pos = p as usize;
            if marked
                .get(pos / 64)
                .is_none_or(|w| w & (1 << (pos % 64)) == 0)
            {
                continue;
            }
            let used = match self.overlay_at.get(pos) {
                Some(i) => self.overlay[i as usize],
                None => d.used,
            };
            f(pos, d, used);
        }
    }

    /// Eligible nodes per interned datacenter (counted while building the order).
    pub fn per_datacenter(&self) -> &[u64] {
        &self.per_dc
    }

    /// The first position of `from..to` whose node may take an ask of codes `need`
    /// ([`crate::state::ask_codes`]), or `to`: every node before it certainly cannot.
    /// A tight pass over the table's compact free codes (nodes the plan changed are
    /// left to the exact check), a block of positions at a time where the table's
    /// bound of the block's codes excludes the ask, so the walk passes the full nodes at the front of the
    /// fullest-first order, which every evaluation visits, without a step of its own
    /// loop or a read of the dense record per node. Outside best fit it answers `from`.
    pub fn first_maybe_fitting(&self, from: usize, to: usize, need: &[u8; 3]) -> usize {
        if !self.best_fit {
            return from;
        }
        let compact = self.table.compact();
        let to = to.min(self.slots.len());
        let mut pos = from;
        while pos < to {
            if pos.is_multiple_of(BLOCK)
                && pos + BLOCK <= to
                && self.block_excludes(pos / BLOCK, need)
            {
                pos += BLOCK;
                continue;
            }
            let untouched = !self.overlay_at.contains(pos);
            let full = compact
                .get(self.slots[pos] as usize)
                .is_some_and(|c| codes_exceed(need, &c.free));
            if !(untouched && full) {
                break;
            }
            pos += 1;
        }
        pos
    }
}

impl NodeOrder<'_> {
    /// Whether the table's bound says no node of block `b` can take an ask of codes
    /// `need`, and the plan changed none of them.
    #[inline]
    fn block_excludes(&self, b: usize, need: &[u8; 3]) -> bool {
        let touched = self
            .touched_blocks
            .get(b / 64)
            .is_none_or(|w| w & (1 << (b % 64)) != 0);
        !touched && self.blocks.get(b).is_some_and(|f| f.excludes(need))
    }
}

/// The admitted slots of `by_id`, counting-sorted by fullness step, fullest first;
/// stable, so ties keep ID order. The admission test and the count share one pass
/// (an evaluation of a few placements pays this pass over the whole cluster).
fn fullest_first(
    by_id: &[u32],
    compact: &[Compact],
    mut admits: impl FnMut(u32) -> bool,
) -> Vec<u32> {
    let buckets = usize::from(FULLNESS_BUCKETS);
    let key = |s: u32| usize::from(compact[s as usize].emptiness).min(buckets - 1);
    let mut starts = vec![0usize; buckets + 1];
    let mut admitted = Vec::with_capacity(by_id.len());
    for &s in by_id {
        if admits(s) {
            starts[key(s) + 1] += 1;
            admitted.push(s);
        }
    }
    for i in 1..=buckets {
        starts[i] += starts[i - 1];
    }
    let mut out = vec![0u32; admitted.len()];
    for &s in &admitted {
        let b = key(s);
        out[starts[b]] = s;
        starts[b] += 1;
    }
    out
}
