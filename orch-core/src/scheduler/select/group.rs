//! What the placer keeps per task group during one evaluation: the ask, compiled
//! affinities and spreads, the group's allocations per node, the nodes found
//! infeasible or full, and the feasibility answer per computed class.

use std::cell::Cell;
use std::collections::BTreeMap;

use super::order::NodeOrder;
use super::posmap::PosMap;
use crate::model::{Constraint, Job, TaskGroup, Usage};
use crate::scheduler::context::PlanContext;
use crate::scheduler::feasible::{CompiledConstraint, Target};

/// Candidates scored when spreads or affinities apply.
const SCORED_CANDIDATES: usize = 100;

/// One spread block with the group's allocations per attribute value.
pub struct SpreadView {
    pub attribute: Target,
    pub weight: f64,
    pub targets: BTreeMap<String, u8>,
    pub counts: BTreeMap<String, u64>,
    /// For an even spread over `${node.datacenter}` (the common one): the same counts
    /// by the node table's interned datacenter, so scoring a candidate reads its
    /// dense record instead of the node and searches no map by string.
    pub by_dc: Option<Vec<u64>>,
}

impl SpreadView {
    /// Counts one more of the group's allocations on `node`, whose interned
    /// datacenter is `dc`.
    pub fn add(&mut self, node: &crate::model::Node, dc: u32) {
        if let Some(v) = self.attribute.resolve(node) {
            match self.counts.get_mut(v) {
                Some(c) => *c += 1,
                None => {
                    self.counts.insert(v.to_string(), 1);
                }
            }
        }
        if let Some(c) = self.by_dc.as_mut().and_then(|d| d.get_mut(dc as usize)) {
            *c += 1;
        }
    }
}

/// Feasibility of a computed class for the group, once known.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ClassAnswer {
    Unknown,
    Feasible,
    Infeasible,
}

/// Per-group placement state.
pub struct GroupView {
    pub ask: Usage,
    /// [`crate::state::ask_codes`] of `ask`, for the walk's reject without a read of
    /// the node's dense record.
    pub need: [u8; 3],
    pub count: u32,
    /// Candidates to score: Nomad scores `max(count, 100)` nodes when spreads or
    /// affinities apply (enough for them to be right); orch's best fit 100.
    pub limit: usize,
    /// The group's live allocations, by node position (sparse: the job's
    /// allocations sit on a few hundred of the eligible nodes; read on every
    /// candidate).
    per_node: PosMap,
    /// Collisions on one node below which balanced job anti-affinity gives no
    /// penalty (computed once, not per candidate).
    pub free_collisions: u32,
    /// Nodes (by position, one bit each) found infeasible or full for this group in
    /// this evaluation.
    dead: Vec<u64>,
    /// Nodes (one bit each) where even evicting every eligible allocation would not
    /// make room.
    unpreemptable: Vec<u64>,
    /// Every position before this one is dead.
    pub first_live: usize,
    /// Positions skipped as too full before anything else was tried on them: counted
    /// as exhausted in the metrics of a failed placement only.
    pub prefull: Prefull,
    /// Per computed class, when every check of the group is class-stable.
    pub classes: Vec<ClassAnswer>,
    pub class_stable: bool,
    /// The group asks for ports or devices (checked beyond plain arithmetic).
    pub extras: bool,
    pub spreads: Vec<SpreadView>,
    /// When every spread is an even one over datacenters: their score per interned
    /// datacenter, once computed, until the next placement of the group moves the
    /// counts (empty otherwise). Every candidate of a datacenter scores the same.
    pub dc_spread: Vec<Cell<Option<Option<f64>>>>,
    pub affinities: Vec<(CompiledConstraint, i8)>,
    /// Device requests with affinities (`scheduler::devices::affinity_score`).
    pub device_affinities: Vec<crate::scheduler::feasible::DeviceReq>,
}

impl GroupView {
    /// Builds the view of group `tg`: the job's allocations already on each node, and
    /// the nodes too full for one more allocation as the plan stands.
    pub fn new(
        ctx: &PlanContext<'_>,
        job: &Job,
        tg: &TaskGroup,
        order: &NodeOrder<'_>,
        limits: (usize, bool),
        class_stable: bool,
        class_count: usize,
    ) -> Self {
        let (base_limit, best_fit) = limits;
        let device_affinities = crate::scheduler::devices::affinity_requests(tg);
        let scored = !device_affinities.is_empty()
            || !job.affinities.is_empty()
            || !job.spreads.is_empty()
            || !tg.affinities.is_empty()
            || !tg.spreads.is_empty()
            || tg.tasks.iter().any(|t| !t.affinities.is_empty());
        let n = order.len();
        let ask = tg.ask();
        let mut view = GroupView {
            need: crate::state::ask_codes(&ask),
            ask,
            count: tg.count,
            limit: match (scored, best_fit) {
                (false, _) => base_limit,
                // Best fit visits nodes fullest first across every attribute value, so
                // a hundred candidates cover the values a spread or affinity weighs;
                // scoring `count` of them (up to a thousand) per placement bought
                // nothing but time.
                (true, true) => base_limit.max(SCORED_CANDIDATES),
                (true, false) => base_limit.max(tg.count as usize).max(SCORED_CANDIDATES),
            },
            per_node: PosMap::new(n),
            free_collisions: crate::scheduler::rank::balanced_free_collisions(tg.count),
            dead: vec![0; n.div_ceil(64)],
            unpreemptable: vec![0; n.div_ceil(64)],
            first_live: 0,
            prefull: Prefull::default(),
            classes: vec![ClassAnswer::Unknown; class_count],
            class_stable,
            extras: tg
                .networks
                .iter()
                .any(|nw| !nw.reserved_ports.is_empty() || !nw.dynamic_ports.is_empty())
                || tg.tasks.iter().any(|t| !t.resources.devices.is_empty()),
            spreads: spreads(job, tg),
            dc_spread: Vec::new(),
            affinities: affinities(job, tg),
            device_affinities,
        };
        let table = ctx.state.node_table();
        let datacenters = table.datacenters().len();
        for s in &mut view.spreads {
            if s.attribute == Target::Datacenter && s.targets.is_empty() {
                s.by_dc = Some(vec![0; datacenters]);
            }
        }
        if !view.spreads.is_empty() && view.spreads.iter().all(|s| s.by_dc.is_some()) {
            view.dc_spread = vec![Cell::new(None); datacenters];
        }
        let slots = ctx.group_slots(&tg.name);
        let mut positions = Vec::with_capacity(slots.len());
        for slot in slots {
            if let Some(pos) = slot.and_then(|s| order.position(s)) {
                positions.push(pos as u32);
            }
            if !view.spreads.is_empty()
                && let Some(s) = slot
                && let Some(node) = table.node_at(s)
            {
                let dc = table
                    .dense()
                    .get(s as usize)
                    .map_or(u32::MAX, |d| d.datacenter);
                for sp in &mut view.spreads {
                    sp.add(node, dc);
                }
            }
        }
        view.per_node = PosMap::counting(n, &positions);
        view
    }

    /// The group's spread counts moved (a placement): scores per datacenter are
    /// computed afresh.
    pub fn spreads_moved(&mut self) {
        for memo in &self.dc_spread {
            memo.set(None);
        }
    }

    /// Whether a candidate's score can be brought up to date after a placement of
    /// the group from its parts alone: no spreads, or only even datacenter spreads.
    pub fn rescorable(&self) -> bool {
        self.spreads.is_empty() || !self.dc_spread.is_empty()
    }

    /// Collisions: the group's allocations on the node at `pos`.
    #[inline]
    pub fn collisions(&self, pos: usize) -> u32 {
        self.per_node.get(pos).unwrap_or(0)
    }

    /// Counts one more of the group's allocations on the node at `pos`.
    pub fn add_collision(&mut self, pos: usize) {
        if let Some(c) = self.per_node.entry(pos, 0) {
            *c += 1;
        }
    }

    /// Marks a node dead for the group for the rest of the evaluation.
    pub fn mark_dead(&mut self, pos: usize) {
        if let Some(w) = self.dead.get_mut(pos / 64) {
            *w |= 1 << (pos % 64);
        }
        self.pass_dead();
    }

    /// Moves `first_live` past the dead positions from it on, a word at a time.
    fn pass_dead(&mut self) {
        let cap = self.dead.len() * 64;
        if self.first_live < cap {
            self.first_live = next_live_in(&self.dead, self.first_live, cap).unwrap_or(cap);
        }
    }

    /// Marks a node dead because it lacked room before anything else was checked.
    pub fn mark_full(&mut self, pos: usize) {
        self.mark_dead(pos);
        self.prefull.push_run(pos as u32, pos as u32 + 1);
    }

    /// [`Self::mark_full`] for every position of `from..to` not dead already, in
    /// order: what visiting each of them would do when none has room. A word of the
    /// bitset at a time.
    pub fn mark_full_run(&mut self, from: usize, to: usize) {
        let mut pos = from;
        while pos < to {
            let w = pos / 64;
            let hi = (to - w * 64).min(64);
            let lo = pos % 64;
            let mask = (u64::MAX >> (64 - (hi - lo))) << lo;
            let Some(word) = self.dead.get_mut(w) else {
                break;
            };
            let mut fresh = mask & !*word;
            *word |= mask;
            while fresh != 0 {
                let start = fresh.trailing_zeros();
                let ones = (fresh >> start).trailing_ones();
                let base = (w * 64) as u32 + start;
                self.prefull.push_run(base, base + ones);
                fresh &= !(u64::MAX >> (64 - ones) << start);
            }
            pos = w * 64 + hi;
        }
        self.pass_dead();
    }

    /// Brings a node back (the plan freed room on it).
    pub fn revive(&mut self, pos: usize) {
        if let Some(w) = self.dead.get_mut(pos / 64) {
            *w &= !(1 << (pos % 64));
            self.first_live = self.first_live.min(pos);
        }
        if let Some(w) = self.unpreemptable.get_mut(pos / 64) {
            *w &= !(1 << (pos % 64));
        }
        self.prefull.remove(pos as u32);
    }

    /// Marks a node where preemption cannot make room for the group.
    pub fn mark_unpreemptable(&mut self, pos: usize) {
        if let Some(w) = self.unpreemptable.get_mut(pos / 64) {
            *w |= 1 << (pos % 64);
        }
    }

    /// Whether preemption was found unable to make room on the node at `pos`.
    pub fn is_unpreemptable(&self, pos: usize) -> bool {
        self.unpreemptable
            .get(pos / 64)
            .is_some_and(|w| w & (1 << (pos % 64)) != 0)
    }

    /// The first position at or after `from` that is not dead (below `n`), skipping
    /// dead nodes 64 at a time: after a stop or eviction revives one node of a full
    /// cluster, the walk would otherwise test every dead node behind it bit by bit.
    pub fn next_live(&self, from: usize, n: usize) -> Option<usize> {
        next_live_in(&self.dead, from, n)
    }

    /// Sizes the per-position state for `n` nodes (tests of the bitset operations
    /// without a cluster of that size).
    #[cfg(test)]
    pub fn resize_for_test(&mut self, n: usize) {
        self.per_node = PosMap::new(n);
        self.dead = vec![0; n.div_ceil(64)];
        self.unpreemptable = vec![0; n.div_ceil(64)];
    }

    /// A copy of the bitset state (the view holds compiled constraints that do not
    /// clone).
    #[cfg(test)]
    pub fn clone_for_test(&self) -> Self {
        GroupView {
            ask: self.ask,
            need: self.need,
            count: self.count,
            limit: self.limit,
            per_node: self.per_node.clone(),
            free_collisions: self.free_collisions,
            dead: self.dead.clone(),
            unpreemptable: self.unpreemptable.clone(),
            first_live: self.first_live,
            prefull: self.prefull.clone(),
            classes: self.classes.clone(),
            class_stable: self.class_stable,
            extras: self.extras,
            spreads: Vec::new(),
            dc_spread: self.dc_spread.clone(),
            affinities: Vec::new(),
            device_affinities: Vec::new(),
        }
    }

    /// Whether the node at `pos` is dead for the group.
    pub fn is_dead(&self, pos: usize) -> bool {
        self.dead
            .get(pos / 64)
            .is_some_and(|w| w & (1 << (pos % 64)) != 0)
    }
}

/// Positions, in the order they were recorded, kept as runs of consecutive ones: the
/// walk passes thousands of full nodes at once.
#[derive(Clone, Debug, Default)]
pub struct Prefull {
    /// Half-open runs `(from, to)`; consecutive runs are merged.
    runs: Vec<(u32, u32)>,
}

impl Prefull {
    /// Records positions `from..to`.
    pub fn push_run(&mut self, from: u32, to: u32) {
        if from >= to {
            return;
        }
        match self.runs.last_mut() {
            Some(last) if last.1 == from => last.1 = to,
            _ => self.runs.push((from, to)),
        }
    }

    /// Forgets every record of `pos`.
    pub fn remove(&mut self, pos: u32) {
        let mut i = 0;
        while i < self.runs.len() {
            let (a, b) = self.runs[i];
            if !(a <= pos && pos < b) {
                i += 1;
                continue;
            }
            match (a < pos, pos + 1 < b) {
                (true, true) => {
                    self.runs[i].1 = pos;
                    self.runs.insert(i + 1, (pos + 1, b));
                    i += 2;
                }
                (true, false) => {
                    self.runs[i].1 = pos;
                    i += 1;
                }
                (false, true) => {
                    self.runs[i].0 = pos + 1;
                    i += 1;
                }
                (false, false) => {
                    self.runs.remove(i);
                }
            }
        }
    }

    /// The positions as a bitset over `n` positions, with how many were recorded
    /// (more than the bits set when a position was recorded twice).
    pub fn bits(&self, n: usize) -> (Vec<u64>, usize) {
        let mut bits = vec![0u64; n.div_ceil(64)];
        let mut recorded = 0;
        for &(a, b) in &self.runs {
            recorded += (b - a) as usize;
            let mut pos = a as usize;
            let to = (b as usize).min(n);
            while pos < to {
                let w = pos / 64;
                let hi = (to - w * 64).min(64);
                let lo = pos % 64;
                let mask = (u64::MAX >> (64 - (hi - lo))) << lo;
                bits[w] |= mask;
                pos = w * 64 + hi;
            }
        }
        (bits, recorded)
    }

    /// The positions, in the order recorded.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.runs.iter().flat_map(|&(a, b)| a..b)
    }
}

/// [`GroupView::next_live`] over a bitset of dead positions.
pub(super) fn next_live_in(dead: &[u64], from: usize, n: usize) -> Option<usize> {
    let mut pos = from;
    while pos < n {
        let Some(&word) = dead.get(pos / 64) else {
            return Some(pos);
        };
        let live = !word >> (pos % 64);
        if live != 0 {
            let at = pos + live.trailing_zeros() as usize;
            return (at < n).then_some(at);
        }
        pos = (pos / 64 + 1) * 64;
    }
    None
}

fn spreads(job: &Job, tg: &TaskGroup) -> Vec<SpreadView> {
    job.spreads
        .iter()
        .chain(&tg.spreads)
        .map(|s| SpreadView {
            attribute: Target::parse(&s.attribute),
            weight: f64::from(s.weight),
            targets: s
                .targets
                .iter()
                .map(|t| (t.value.clone(), t.percent))
                .collect(),
            counts: BTreeMap::new(),
            by_dc: None,
        })
        .collect()
}

fn affinities(job: &Job, tg: &TaskGroup) -> Vec<(CompiledConstraint, i8)> {
    job.affinities
        .iter()
        .chain(&tg.affinities)
        .chain(tg.tasks.iter().flat_map(|t| &t.affinities))
        .map(|a| {
            let c = Constraint::new(a.ltarget.clone(), a.operand.clone(), a.rtarget.clone());
            (CompiledConstraint::new(&c), a.weight)
        })
        .collect()
}
