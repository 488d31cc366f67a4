//! The exhaustion counts of a failed placement, gathered per computed class and
//! dimension, then written into the metric once per (class, dimension).
//!
//! A placement that finds no room reports every node it skipped as too full: on a
//! full cluster that is every eligible node, and each one counted in the metric
//! directly searched two string-keyed maps (and made their shared vectors unique)
//! per node: most of the time of an evaluation that places nothing, and the
//! follow-up evaluations of preemption (`TriggeredBy: preemption`, and the blocked
//! evaluations every eviction's freed capacity releases) place nothing by the
//! hundred thousand. The tally reads only the dense figures per node; the node itself
//! is read once per computed class, for its node class (part of the computed class,
//! as the feasibility cache per class already relies on). The metric ends exactly as
//! counting node by node leaves it: its maps are sorted, so the order of the
//! additions does not show.

use crate::model::{AllocationMetric, Node, Usage, dimension};
use crate::state::NO_CLASS;

/// The dimensions [`Usage::fits`] reports, in the order it checks them.
pub(super) const DIMENSIONS: [&str; 4] = [
    dimension::CPU,
    dimension::CORES,
    dimension::MEMORY,
    dimension::DISK,
];

/// The index in [`DIMENSIONS`] of the dimension [`Usage::fits`] would report, `None`
/// when the ask fits.
#[inline]
pub(super) fn first_exceeded(cap: &Usage, used: &Usage, ask: &Usage) -> Option<usize> {
    let over = |cap: u64, used: u64, ask: u64| used.saturating_add(ask) > cap;
    if over(cap.cpu_mhz, used.cpu_mhz, ask.cpu_mhz) {
        Some(0)
    } else if over(cap.cores, used.cores, ask.cores) {
        Some(1)
    } else if over(cap.memory_mb, used.memory_mb, ask.memory_mb) {
        Some(2)
    } else if over(cap.disk_mb, used.disk_mb, ask.disk_mb) {
        Some(3)
    } else {
        None
    }
}

/// Exhausted nodes counted per computed class (by the node table's number) and
/// dimension; nodes without a class are counted into the metric as they come.
pub(super) struct ExhaustTally {
    /// Per class number: the position of its first node, and counts per dimension.
    by_class: Vec<Option<(usize, [u64; 4])>>,
}

impl ExhaustTally {
    /// A tally for class numbers below `class_count`.
    pub fn new(class_count: usize) -> Self {
        ExhaustTally {
            by_class: vec![None; class_count],
        }
    }

    /// Counts the node at `pos`, of class number `class`, exhausted in dimension
    /// `dim` (an index in [`DIMENSIONS`]). Returns false when the class has no number
    /// here: the caller counts that node itself.
    #[inline]
    pub fn add(&mut self, pos: usize, class: u32, dim: usize) -> bool {
        if class == NO_CLASS {
            return false;
        }
        let Some(entry) = self.by_class.get_mut(class as usize) else {
            return false;
        };
        let (_, counts) = entry.get_or_insert((pos, [0; 4]));
        if let Some(c) = counts.get_mut(dim) {
            *c += 1;
        }
        true
    }

    /// Writes the counts into `metrics`, reading each class's first node (`node_at`)
    /// for its node class.
    pub fn flush<'n>(
        self,
        metrics: &mut AllocationMetric,
        node_at: impl Fn(usize) -> Option<&'n Node>,
    ) {
        for (pos, counts) in self.by_class.into_iter().flatten() {
            let Some(node) = node_at(pos) else {
                continue;
            };
            for (dim, &n) in DIMENSIONS.iter().zip(&counts) {
                if n > 0 {
                    exhausted_times(metrics, node, dim, n);
                }
            }
        }
    }
}

/// Counts `n` feasible nodes of `node`'s class that lacked room in `dim`.
pub(super) fn exhausted_times(metrics: &mut AllocationMetric, node: &Node, dim: &str, n: u64) {
    metrics.nodes_exhausted += n;
    match metrics.dimension_exhausted.get_mut(dim) {
        Some(c) => *c += n,
        None => {
            metrics.dimension_exhausted.insert(dim.to_string(), n);
        }
    }
    if !node.node_class.is_empty() {
        match metrics.class_exhausted.get_mut(&node.node_class) {
            Some(c) => *c += n,
            None => {
                metrics.class_exhausted.insert(node.node_class.clone(), n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usage() -> impl Strategy<Value = Usage> {
        (0u64..40, 0u64..4, 0u64..40, 0u64..40).prop_map(|(c, k, m, d)| Usage {
            cpu_mhz: c,
            cores: k,
            memory_mb: m,
            disk_mb: d,
        })
    }

    proptest! {
        /// The dimension by index is the one `Usage::fits` names.
        #[test]
        fn first_exceeded_is_fits(cap in usage(), used in usage(), ask in usage()) {
            let by_index = first_exceeded(&cap, &used, &ask).map(|i| DIMENSIONS[i]);
            prop_assert_eq!(by_index, cap.fits(&used, &ask).err());
        }

        /// Tallied and flushed, any sequence of exhausted nodes leaves the metric as
        /// counting each node as it comes does.
        #[test]
        fn tally_is_node_by_node(
            nodes in proptest::collection::vec((0u32..5, 0usize..4), 0..60),
        ) {
            // Class number `c` holds nodes of node class `k{c % 3}` (two numbers
            // share a node class, as two computed classes may); 4 has no number.
            let node_of = |c: u32| Node {
                node_class: if c == 4 { String::new() } else { format!("k{}", c % 3) },
                ..Node::default()
            };
            let fleet: Vec<Node> = nodes.iter().map(|(c, _)| node_of(*c)).collect();
            let mut reference = AllocationMetric::default();
            for ((_, dim), node) in nodes.iter().zip(&fleet) {
                super::super::exhausted(&mut reference, node, DIMENSIONS[*dim]);
            }
            let mut tallied = AllocationMetric::default();
            let mut tally = ExhaustTally::new(4);
            for (pos, (c, dim)) in nodes.iter().enumerate() {
                let class = if *c == 4 { NO_CLASS } else { *c };
                if !tally.add(pos, class, *dim) {
                    exhausted_times(&mut tallied, &fleet[pos], DIMENSIONS[*dim], 1);
                }
            }
            tally.flush(&mut tallied, |pos| fleet.get(pos));
            prop_assert_eq!(tallied, reference);
        }
    }
}
