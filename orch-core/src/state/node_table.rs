//! Nodes by compact slot: the state's node table, and the dense per-node figures the
//! scheduler's hot path reads (capacity, usage, interned class, datacenter and pool).
//!
//! A node keeps its slot for the life of the store (a removed node leaves a hole that a
//! re-registration of the same ID fills), so the scheduler can address nodes by a `u32`
//! instead of comparing 36-byte IDs. Slots follow registration order and are rebuilt in
//! ID order on restore: they are an index, not state, so two tables are equal when their
//! nodes and usage are, whatever their slots.

use std::collections::BTreeMap;

use super::Id;
use crate::model::{Node, Str, Usage};

mod fullest;

pub use fullest::{BLOCK, BlockFree, FullestFirst, NOT_IN_ORDER};

/// Marks a node without a computed class: never cached by class.
pub const NO_CLASS: u32 = u32::MAX;

/// What the scheduler reads of one slot on every candidate, in one cache line or two.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dense {
    /// Schedulable capacity (resources minus reservations).
    pub capacity: Usage,
    /// Held by the node's non-terminal allocations.
    pub used: Usage,
    /// Interned computed class ([`NO_CLASS`] when the node has none).
    pub class: u32,
    /// Interned datacenter.
    pub datacenter: u32,
    /// Interned node pool.
    pub pool: u32,
    /// Ready, eligible and not draining ([`Node::is_schedulable`]).
    pub schedulable: bool,
    /// A node is registered in this slot (a slot may only hold usage of allocations on
    /// a node that is gone).
    pub present: bool,
}

/// Fullness steps of the best-fit order.
pub const FULLNESS_BUCKETS: u16 = 1024;

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

/// A byte that bounds an amount from above, monotone in it: exact below 16, then four
/// significant bits (an eighth relative step), saturating at `u8::MAX` (from about
/// 2^34). When `free_code(ask) > free_code(free)` the ask exceeds what is free, so the
/// placer's walk rejects a node that cannot take a group from this byte alone (and a
/// run of 64 nodes from their maximum) without reading the node's dense record.
pub fn free_code(x: u64) -> u8 {
    if x < 16 {
        return x as u8;
    }
    let shift = u64::from(60 - x.leading_zeros()); // significant bits - 4, at least 1
    let mantissa = x >> shift; // 8..=15
    u8::try_from(8 * shift + mantissa).unwrap_or(u8::MAX)
}

/// [`free_code`] of what is free on a node in each dimension the codes cover (CPU,
/// memory, disk).
pub fn free_codes(cap: &Usage, used: &Usage) -> [u8; 3] {
    [
        free_code(cap.cpu_mhz.saturating_sub(used.cpu_mhz)),
        free_code(cap.memory_mb.saturating_sub(used.memory_mb)),
        free_code(cap.disk_mb.saturating_sub(used.disk_mb)),
    ]
}

/// [`free_code`] of an ask in the dimensions of [`free_codes`].
pub fn ask_codes(ask: &Usage) -> [u8; 3] {
    [
        free_code(ask.cpu_mhz),
        free_code(ask.memory_mb),
        free_code(ask.disk_mb),
    ]
}

/// Whether an ask of codes `need` certainly exceeds what codes `free` bound.
#[inline]
pub fn codes_exceed(need: &[u8; 3], free: &[u8; 3]) -> bool {
    need[0] > free[0] || need[1] > free[1] || need[2] > free[2]
}

/// What the placer reads of every node once per evaluation to build its order, packed
/// in ten bytes so a scan of 100,000 nodes reads about a megabyte.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compact {
    /// Fullest-first key: `FULLNESS_BUCKETS - 1` for an empty node, 0 for a full one.
    pub emptiness: u16,
    /// Interned datacenter (saturates at `u16::MAX`).
    pub datacenter: u16,
    /// Interned pool (saturates at `u16::MAX`).
    pub pool: u16,
    /// Present and schedulable.
    pub ready: bool,
    /// [`free_codes`] of the node's capacity less its usage.
    pub free: [u8; 3],
}

/// A live allocation on a node, as preemption weighs it: kept per node so a preempting
/// placement reads a few hundred of these instead of whole allocations.
#[derive(Debug, Clone)]
pub struct LiveAlloc {
    /// The allocation, as an [`Id`]: preemption compares IDs inline (two integers for
    /// a UUID), not through a pointer to a boxed string per allocation weighed.
    pub id: Id,
    /// What it holds.
    pub usage: Usage,
    /// Its job version's priority (`None` when the spec is unknown).
    pub priority: Option<i32>,
}

/// Strings given small stable numbers, in first-seen order.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    ids: BTreeMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    /// The number of `s`, assigned on first sight.
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(s.to_string(), id);
        self.names.push(s.to_string());
        id
    }

    /// Every interned string, by number.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// The state's nodes, by ID and by slot.
#[derive(Debug, Clone, Default)]
pub struct NodeTable {
    /// Hashed by [`Id`] (`id_map`): one probe per look-up, where a B-tree of ten
    /// thousand nodes took fourteen comparisons; never iterated (`ordered` is).
    by_id: super::id_map::IdIndex<u32>,
    /// Slots in node ID order, kept as a vector so a scan of every node chases no
    /// pointers.
    ordered: Vec<u32>,
    ids: Vec<Id>,
    /// Each slot's node ID and name as shared strings: every allocation on the node
    /// refers to these instead of holding copies.
    names: Vec<(Str, Str)>,
    nodes: Vec<Option<Node>>,
    dense: Vec<Dense>,
    compact: Vec<Compact>,
    /// Live allocations per slot, in no particular order (insertion order differs
    /// between a live store and a restored one, so readers must not depend on it).
    live: Vec<Vec<LiveAlloc>>,
    classes: Interner,
    datacenters: Interner,
    pools: Interner,
    /// The ready slots fullest first, kept between evaluations.
    fullest: FullestFirst,
    /// Nodes with a drain strategy, so the drainer's pass over a cluster draining
    /// nothing visits no node.
    draining: usize,
}

impl PartialEq for NodeTable {
    fn eq(&self, other: &Self) -> bool {
        let live = |t: &NodeTable| {
            t.ordered
                .iter()
                .map(|s| {
                    (
                        t.ids[*s as usize].clone(),
                        t.nodes[*s as usize].clone(),
                        t.dense[*s as usize].used,
                    )
                })
                .filter(|(_, n, u)| n.is_some() || *u != Usage::default())
                .collect::<Vec<_>>()
        };
        live(self) == live(other)
    }
}

impl NodeTable {
    fn slot_for(&mut self, id: &str) -> usize {
        self.slot_for_key(id, Id::new(id))
    }

    /// [`Self::slot_for`] with the ID already parsed.
    fn slot_for_key(&mut self, id: &str, key: Id) -> usize {
        if let Some(s) = self.by_id.get(&key) {
            return *s as usize;
        }
        let s = self.nodes.len();
        self.by_id.insert(key.clone(), s as u32);
        let at = self
            .ordered
            .partition_point(|o| self.ids[*o as usize] < key);
        self.ordered.insert(at, s as u32);
        self.ids.push(key);
        self.names.push((Str::from(id), Str::default()));
        self.nodes.push(None);
        self.dense.push(Dense {
            class: NO_CLASS,
            ..Dense::default()
        });
        self.compact.push(Compact::default());
        self.live.push(Vec::new());
        self.fullest.grow();
        s
    }

    /// Recomputes the compact figures of a slot from its dense ones.
    fn refresh(&mut self, s: usize) {
        let d = &self.dense[s];
        let f = fullness(&d.capacity, &d.used);
        let step = (f * u64::from(FULLNESS_BUCKETS - 1) / 1_000_000) as u16;
        let new = Compact {
            emptiness: (FULLNESS_BUCKETS - 1).saturating_sub(step),
            datacenter: u16::try_from(d.datacenter).unwrap_or(u16::MAX),
            pool: u16::try_from(d.pool).unwrap_or(u16::MAX),
            ready: d.present && d.schedulable,
            free: free_codes(&d.capacity, &d.used),
        };
        let old = &self.compact[s];
        if old.emptiness != new.emptiness || old.ready != new.ready {
            self.fullest.touch(s);
        } else if old.free != new.free {
            self.fullest.codes_changed(s);
        }
        self.compact[s] = new;
    }

    /// Brings the fullest-first order up to date with every change so far (the store
    /// calls it once a commit or a restore is done).
    pub fn settle(&mut self) {
        self.fullest.settle(&self.compact, &self.dense, &self.ids);
    }

    /// The ready slots fullest first, if settled since the last change (else the
    /// placer builds its order itself).
    pub fn fullest_first(&self) -> Option<&FullestFirst> {
        Some(&self.fullest).filter(|f| f.is_settled())
    }

    /// Registers or replaces a node.
    pub fn insert(&mut self, node: Node) {
        let s = self.slot_for(&node.id);
        let d = &mut self.dense[s];
        d.capacity = node.capacity();
        d.class = if node.computed_class.is_empty() {
            NO_CLASS
        } else {
            self.classes.intern(&node.computed_class)
        };
        d.datacenter = self.datacenters.intern(&node.datacenter);
        d.pool = self.pools.intern(&node.node_pool);
        d.schedulable = node.is_schedulable();
        d.present = true;
        if self.names[s].1 != node.name {
            self.names[s].1 = Str::from(node.name.as_str());
        }
        self.draining += usize::from(node.drain_strategy.is_some());
        if let Some(old) = self.nodes[s].replace(node) {
            self.draining -= usize::from(old.drain_strategy.is_some());
        }
        // Its datacenter may have changed: counted again when settled.
        self.fullest.touch(s);
        self.refresh(s);
    }

    /// Removes a node; the usage of allocations still on it stays accounted.
    pub fn remove(&mut self, id: &str) {
        if let Some(s) = self.by_id.get(&Id::new(id)).map(|s| *s as usize) {
            if let Some(old) = self.nodes[s].take() {
                self.draining -= usize::from(old.drain_strategy.is_some());
            }
            self.dense[s].present = false;
            self.dense[s].schedulable = false;
            self.refresh(s);
        }
    }

    /// A node by ID.
    pub fn get(&self, id: &str) -> Option<&Node> {
        self.by_id
            .get(&Id::new(id))
            .and_then(|s| self.nodes[*s as usize].as_ref())
    }

    /// How many nodes have a drain strategy.
    pub fn draining(&self) -> usize {
        self.draining
    }

    /// Every node, ordered by ID.
    pub fn values(&self) -> impl Iterator<Item = &Node> {
        self.ordered
            .iter()
            .filter_map(|s| self.nodes[*s as usize].as_ref())
    }

    /// Every slot, in node ID order (slots of removed nodes included).
    pub fn slots_by_id(&self) -> &[u32] {
        &self.ordered
    }

    /// The compact figures of every slot, by slot.
    pub fn compact(&self) -> &[Compact] {
        &self.compact
    }

    /// The slot of a node ID (also of a removed node whose allocations hold usage).
    pub fn slot(&self, id: &str) -> Option<u32> {
        self.by_id.get(&Id::new(id)).copied()
    }

    /// [`Self::slot`] with the ID already parsed.
    pub(crate) fn slot_of_key(&self, id: &Id) -> Option<u32> {
        self.by_id.get(id).copied()
    }

    /// The shared ID and name of the node in `slot` ([`NodeTable::shared_names`]
    /// without the search by ID).
    pub fn shared_names_at(&self, slot: u32) -> Option<&(Str, Str)> {
        self.names.get(slot as usize)
    }

    /// A node's ID and name as the shared strings allocations on it hold.
    pub fn shared_names(&self, id: &str) -> Option<&(Str, Str)> {
        self.by_id
            .get(&Id::new(id))
            .and_then(|s| self.names.get(*s as usize))
    }

    /// The node in a slot.
    pub fn node_at(&self, slot: u32) -> Option<&Node> {
        self.nodes.get(slot as usize).and_then(Option::as_ref)
    }

    /// The dense figures of every slot, by slot.
    pub fn dense(&self) -> &[Dense] {
        &self.dense
    }

    /// Resources held on a node by its non-terminal allocations.
    pub fn usage(&self, id: &str) -> Usage {
        self.by_id
            .get(&Id::new(id))
            .map_or_else(Usage::default, |s| self.dense[*s as usize].used)
    }

    /// Adds an allocation's usage to its node's (the node need not exist).
    pub fn add_usage(&mut self, node_id: &str, u: &Usage) {
        let s = self.slot_for(node_id);
        self.dense[s].used.add(u);
        self.refresh(s);
    }

    /// Removes an allocation's usage from its node's.
    pub fn sub_usage(&mut self, node_id: &str, u: &Usage) {
        if let Some(s) = self.by_id.get(&Id::new(node_id)).map(|s| *s as usize) {
            self.dense[s].used.sub(u);
            self.refresh(s);
        }
    }

    /// Records a live allocation on its node (with its usage: see [`Self::add_usage`]);
    /// returns the node's slot.
    pub fn add_live(&mut self, node_id: &str, alloc: LiveAlloc) -> u32 {
        self.add_live_keyed(node_id, Id::new(node_id), alloc)
    }

    /// [`Self::add_live`] with the node's ID already parsed (the store parses it once
    /// for all its indexes).
    pub fn add_live_keyed(&mut self, node_id: &str, node_key: Id, alloc: LiveAlloc) -> u32 {
        let s = self.slot_for_key(node_id, node_key);
        self.dense[s].used.add(&alloc.usage);
        self.refresh(s);
        self.live[s].push(alloc);
        s as u32
    }

    /// Forgets a live allocation of a node, and its usage.
    pub fn remove_live(&mut self, node_id: &str, alloc_id: &str) {
        self.remove_live_keyed(&Id::new(node_id), &Id::new(alloc_id));
    }

    /// [`Self::remove_live`] with both IDs already parsed.
    pub fn remove_live_keyed(&mut self, node: &Id, alloc: &Id) {
        let Some(s) = self.by_id.get(node).map(|s| *s as usize) else {
            return;
        };
        if let Some(i) = self.live[s].iter().position(|l| l.id == *alloc) {
            let gone = self.live[s].swap_remove(i);
            self.dense[s].used.sub(&gone.usage);
            self.refresh(s);
        }
    }

    /// The live allocations of a slot.
    pub fn live(&self, slot: u32) -> &[LiveAlloc] {
        self.live.get(slot as usize).map_or(&[], Vec::as_slice)
    }

    /// Interned datacenter names, by number.
    pub fn datacenters(&self) -> &[String] {
        self.datacenters.names()
    }

    /// Interned node pool names, by number.
    pub fn pools(&self) -> &[String] {
        self.pools.names()
    }

    /// How many computed classes were ever seen (class numbers are below this).
    pub fn class_count(&self) -> usize {
        self.classes.names().len()
    }
}

#[cfg(test)]
mod tests;
