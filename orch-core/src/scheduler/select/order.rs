//! The eligible nodes of one evaluation, as dense arrays by position: the order the
//! placer visits them in, and the capacity, usage and class it scores them on.
//!
//! Built once per evaluation from the state's node table without a string comparison:
//! nodes come in ID order (so the order does not depend on slot numbers, which differ
//! between a live store and one restored from a snapshot), are filtered on interned
//! datacenter and pool, then either shuffled (Nomad's sampling) or counting-sorted by
//! fullness (orch's best fit; ties keep ID order).

use crate::model::{Job, Node, Usage};
use crate::scheduler::feasible::NodeReadyChecker;
use crate::scheduler::rng::SchedRng;
use crate::state::{Dense, NodeTable, StateStore};

/// Marks a slot that is not among the eligible nodes.
pub const NOT_ELIGIBLE: u32 = u32::MAX;

/// Fullness buckets of the best-fit order.
const BUCKETS: usize = 1024;

/// How full a node is, in millionths of its fullest dimension (CPU, memory or disk).
pub fn fullness(cap: &Usage, used: &Usage) -> u64 {
    let share = |u: u64, c: u64| {
        if c == 0 {
            0
        } else {
            (u.min(c) as u128 * 1_000_000 / c as u128) as u64
        }
    };
    share(used.cpu_mhz, cap.cpu_mhz)
        .max(share(used.memory_mb, cap.memory_mb))
        .max(share(used.disk_mb, cap.disk_mb))
}

/// Eligible nodes by position, with their dense figures.
pub struct NodeOrder<'a> {
    /// The state's node table (slots by ID).
    pub table: &'a NodeTable,
    /// The nodes.
    pub nodes: Vec<&'a Node>,
    /// Their slots in the state's node table.
    pub slots: Vec<u32>,
    /// Capacity and usage (usage as the plan in progress leaves it).
    pub capacity: Vec<Usage>,
    /// See `capacity`.
    pub used: Vec<Usage>,
    /// Interned computed classes.
    pub classes: Vec<u32>,
    /// Position of each slot of the table, or [`NOT_ELIGIBLE`].
    pub pos_of: Vec<u32>,
}

impl<'a> NodeOrder<'a> {
    /// The job's eligible nodes (ready, in its pool and datacenters), fullest first
    /// when `best_fit`, else in a seeded random order.
    pub fn build(state: &'a StateStore, job: &Job, best_fit: bool, rng: &mut SchedRng) -> Self {
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
        let dense = table.dense();
        let admits = |d: &Dense| {
            d.present
                && d.schedulable
                && dc_ok.get(d.datacenter as usize) == Some(&true)
                && pool_ok.get(d.pool as usize) == Some(&true)
        };
        let mut slots: Vec<u32> = table
            .slots_by_id()
            .filter(|s| admits(&dense[*s as usize]))
            .collect();
        if best_fit {
            slots = fullest_first(slots, dense);
        } else {
            rng.shuffle(&mut slots);
        }
        let mut pos_of = vec![NOT_ELIGIBLE; dense.len()];
        let mut order = NodeOrder {
            table,
            nodes: Vec::with_capacity(slots.len()),
            capacity: Vec::with_capacity(slots.len()),
            used: Vec::with_capacity(slots.len()),
            classes: Vec::with_capacity(slots.len()),
            slots: Vec::with_capacity(slots.len()),
            pos_of: Vec::new(),
        };
        for s in slots {
            let Some(node) = table.node_at(s) else {
                continue;
            };
            let d = &dense[s as usize];
            pos_of[s as usize] = order.nodes.len() as u32;
            order.nodes.push(node);
            order.slots.push(s);
            order.capacity.push(d.capacity);
            order.used.push(d.used);
            order.classes.push(d.class);
        }
        order.pos_of = pos_of;
        order
    }

    /// The position of a slot, if eligible.
    pub fn position(&self, slot: u32) -> Option<usize> {
        match self.pos_of.get(slot as usize) {
            Some(&p) if p != NOT_ELIGIBLE => Some(p as usize),
            _ => None,
        }
    }
}

/// Counting sort by fullness bucket, fullest first; stable, so ties keep ID order.
fn fullest_first(slots: Vec<u32>, dense: &[Dense]) -> Vec<u32> {
    let bucket = |s: u32| {
        let d = &dense[s as usize];
        let f = fullness(&d.capacity, &d.used) as usize;
        (BUCKETS - 1) - f * (BUCKETS - 1) / 1_000_000
    };
    let mut starts = vec![0usize; BUCKETS + 1];
    for &s in &slots {
        starts[bucket(s) + 1] += 1;
    }
    for i in 1..=BUCKETS {
        starts[i] += starts[i - 1];
    }
    let mut out = vec![0u32; slots.len()];
    for &s in &slots {
        let b = bucket(s);
        out[starts[b]] = s;
        starts[b] += 1;
    }
    out
}
