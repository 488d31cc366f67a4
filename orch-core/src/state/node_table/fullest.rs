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

use super::{Compact, Dense, Id, codes_exceed};

/// Marks a slot outside the order (not ready), or not counted in a datacenter.
pub const NOT_IN_ORDER: u32 = u32::MAX;

/// Positions of the order per [`BlockFree`] summary.
pub const BLOCK: usize = 16;

/// Free-code triples a summary keeps before merging them into one.
pub const COVER: usize = 6;

/// Stale block bounds summarized again per settle (see [`FullestFirst::settle`]);
/// two in unit tests, so their tables of a few blocks keep stale ones for a while.
const CATCH_UP_BLOCKS: usize = if cfg!(test) { 2 } else { 64 };

/// A bound on the free codes ([`super::free_codes`]) of the nodes of one block of
/// [`BLOCK`] positions of the order: every node's codes are at most those of one of
/// the entries, dimension by dimension. An ask whose codes exceed every entry fits on
/// no node of the block, so the walk passes the block without reading its nodes
/// (the ~5,000 full nodes at the front of the order are passed a block at a time). The
/// entries are maximal triples of the block as long as no more than [`COVER`] were
/// maximal at once while it was summarized, else their maximum dimension by
/// dimension (a looser bound, still one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockFree {
    len: u8,
    cover: [[u8; 3]; COVER],
}

impl BlockFree {
    /// The bound that excludes nothing: a block's until it is summarized again.
    const TOP: BlockFree = BlockFree {
        len: 1,
        cover: [[u8::MAX; 3]; COVER],
    };

    /// The bound of the given codes.
    pub fn of(codes: impl Iterator<Item = [u8; 3]>) -> Self {
        let mut b = BlockFree::default();
        for c in codes {
            b.add(c);
        }
        b
    }

    /// Widens the bound to cover a node of codes `t`.
    fn add(&mut self, t: [u8; 3]) {
        let covers = |a: &[u8; 3], b: &[u8; 3]| a[0] >= b[0] && a[1] >= b[1] && a[2] >= b[2];
        let n = usize::from(self.len);
        if self.cover[..n].iter().any(|c| covers(c, &t)) {
            return;
        }
        let mut k = 0;
        for i in 0..n {
            if !covers(&t, &self.cover[i]) {
                self.cover[k] = self.cover[i];
                k += 1;
            }
        }
        if k < COVER {
            self.cover[k] = t;
            self.len = (k + 1) as u8;
            return;
        }
        let mut max = t;
        for c in &self.cover[..k] {
            for d in 0..3 {
                max[d] = max[d].max(c[d]);
            }
        }
        self.cover[0] = max;
        self.len = 1;
    }

    /// Whether an ask of codes `need` certainly fits on no node of the block.
    #[inline]
    pub fn excludes(&self, need: &[u8; 3]) -> bool {
        self.cover[..usize::from(self.len)]
            .iter()
            .all(|c| codes_exceed(need, c))
    }
}

/// Ready slots fullest first, with each slot's position and the ready nodes per
/// datacenter. See the module documentation.
#[derive(Debug, Clone)]
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
    /// Per block of [`BLOCK`] positions, the bound of its nodes' free codes.
    blocks: Vec<BlockFree>,
    /// Slots whose free codes changed without a change of place since the last
    /// settle (their blocks are summarized again; repeats allowed).
    codes_dirty: Vec<u32>,
    /// Blocks from this one on may hold [`BlockFree::TOP`] since a node entered or
    /// left the order (`usize::MAX`: none).
    stale_from: usize,
}

impl Default for FullestFirst {
    fn default() -> Self {
        FullestFirst {
            slots: Vec::new(),
            pos: Vec::new(),
            dirty: Vec::new(),
            marked: Vec::new(),
            placed: Vec::new(),
            counted_dc: Vec::new(),
            per_dc: Vec::new(),
            scratch: Vec::new(),
            blocks: Vec::new(),
            codes_dirty: Vec::new(),
            stale_from: usize::MAX,
        }
    }
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

    /// Marks a slot whose free codes changed (its place may not have).
    #[inline]
    pub(super) fn codes_changed(&mut self, s: usize) {
        if self.marked.get(s) == Some(&false) {
            self.codes_dirty.push(s as u32);
        }
    }

    /// Whether the order reflects every change (only then may it be read).
    pub fn is_settled(&self) -> bool {
        self.dirty.is_empty() && self.codes_dirty.is_empty()
    }

    /// Per block of [`BLOCK`] positions of [`Self::slots`], the bound of its nodes'
    /// free codes.
    pub fn blocks(&self) -> &[BlockFree] {
        &self.blocks
    }

    /// Summarizes again the blocks of positions `from..to` and of the slots whose
    /// codes changed in place.
    fn summarize(&mut self, compact: &[Compact], from: usize, to: usize) {
        let n = self.slots.len();
        // (Only a resized order changes the count, and it marks its blocks stale
        // first: a new block never keeps the empty bound, which excludes every ask.)
        self.blocks.resize(n.div_ceil(BLOCK), BlockFree::TOP);
        let mut todo: Vec<usize> = Vec::new();
        if from < to {
            todo.extend(from / BLOCK..=(to - 1) / BLOCK);
        }
        for s in self.codes_dirty.drain(..) {
            let p = self.pos[s as usize];
            if p != NOT_IN_ORDER {
                todo.push(p as usize / BLOCK);
            }
        }
        todo.sort_unstable();
        todo.dedup();
        for b in todo {
            self.summarize_block(compact, b);
        }
    }

    /// Summarizes block `b` of the order as it stands.
    fn summarize_block(&mut self, compact: &[Compact], b: usize) {
        let end = ((b + 1) * BLOCK).min(self.slots.len());
        let codes = self.slots[b * BLOCK..end]
            .iter()
            .map(|s| compact[*s as usize].free);
        self.blocks[b] = BlockFree::of(codes);
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
            if !self.codes_dirty.is_empty() {
                self.summarize(compact, 0, 0);
            }
            self.catch_up(compact);
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
        for i in rewrite.clone() {
            self.pos[self.slots[i] as usize] = i as u32;
        }
        // When a node entered or left, every block from `lo` on shifted (and the
        // last one may have lost its end): they take the bound that excludes nothing
        // and are summarized again a few at a time, front first, by this and the
        // next settles. (Summarized at once, a hundred node failures in a row cost a
        // pass over the tail each.) A looser bound only makes the walk read a
        // block's nodes instead of passing it, never changes what it finds.
        if resized {
            self.mark_stale(lo / BLOCK);
            self.summarize(compact, 0, 0);
        } else {
            self.summarize(compact, rewrite.start, rewrite.end);
        }
        self.catch_up(compact);
        self.scratch = middle;
        dirty.clear();
        self.dirty = dirty;
    }

    /// Gives the blocks from `first` on the bound that excludes nothing.
    fn mark_stale(&mut self, first: usize) {
        let n = self.slots.len().div_ceil(BLOCK);
        self.blocks.truncate(n);
        for b in &mut self.blocks[first.min(n)..] {
            *b = BlockFree::TOP;
        }
        self.blocks.resize(n, BlockFree::TOP);
        self.stale_from = self.stale_from.min(first);
    }

    /// Summarizes the next [`CATCH_UP_BLOCKS`] stale blocks again.
    fn catch_up(&mut self, compact: &[Compact]) {
        let n = self.blocks.len();
        if self.stale_from >= n {
            self.stale_from = usize::MAX;
            return;
        }
        let to = (self.stale_from + CATCH_UP_BLOCKS).min(n);
        for b in self.stale_from..to {
            self.summarize_block(compact, b);
        }
        self.stale_from = if to == n { usize::MAX } else { to };
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
