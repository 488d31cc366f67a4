//! Scoring a feasible node for one placement. Each scorer gives a value in `[-1, 1]` or
//! nothing; a node's final score is the mean of the values given (Nomad's
//! `ScoreNormalizationIterator`), so scorers that do not apply do not dilute the others.

use std::collections::BTreeMap;

use crate::model::Usage;

/// How nodes are filled: cluster-wide scheduler setting, as in Nomad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// Prefer the fullest node that fits: fewer nodes used, room kept for big asks.
    #[default]
    Binpack,
    /// Prefer the emptiest node: load spread evenly.
    Spread,
}

/// Nomad's maximum raw fit score (`20 - 10^0 - 10^0`).
const MAX_FIT: f64 = 18.0;

/// Fit of a node after placing the ask, in `[0, 1]`. Nomad's formula: with free shares
/// `f_cpu` and `f_mem` after placement, binpack scores `20 - (10^f_cpu + 10^f_mem)` and
/// spread scores its complement, both divided by 18.
pub fn fit_score(algorithm: Algorithm, capacity: &Usage, used_after: &Usage) -> f64 {
    let free = |cap: u64, used: u64| {
        if cap == 0 {
            0.0
        } else {
            1.0 - (used as f64 / cap as f64).min(1.0)
        }
    };
    let total = 10f64.powf(free(capacity.cpu_mhz, used_after.cpu_mhz))
        + 10f64.powf(free(capacity.memory_mb, used_after.memory_mb));
    let raw = match algorithm {
        Algorithm::Binpack => 20.0 - total,
        Algorithm::Spread => total - 2.0,
    };
    raw.clamp(0.0, MAX_FIT) / MAX_FIT
}

/// orch's best-fit score, in `[0, 1]`: one minus the share of the node's CPU and memory
/// that would be stranded if the node were filled with allocations like this one.
///
/// Every dimension a node has left counts (CPU, memory and disk): the number of such
/// allocations that still fit is set by the tightest one, and what that leaves unused of
/// CPU and memory is waste. Full nodes waste little, and a node whose free shape matches
/// the ask wastes least, so CPU-heavy work lands where memory is nearly full and the
/// reverse; nodes then fill in every dimension at once instead of stranding one.
pub fn fit_score_waste(capacity: &Usage, used: &Usage, ask: &Usage) -> f64 {
    let dims = [
        (capacity.cpu_mhz, used.cpu_mhz, ask.cpu_mhz),
        (capacity.memory_mb, used.memory_mb, ask.memory_mb),
        (capacity.disk_mb, used.disk_mb, ask.disk_mb),
    ];
    let mut fit = u64::MAX;
    for &(cap, u, a) in &dims {
        if let Some(k) = quotient(cap.saturating_sub(u), a) {
            fit = fit.min(k);
        }
    }
    if fit == u64::MAX {
        fit = 0;
    }
    let mut waste = 0.0;
    for &(cap, u, a) in &dims[..2] {
        if cap > 0 {
            let left = cap.saturating_sub(u).saturating_sub(a.saturating_mul(fit));
            waste += left as f64 / cap as f64;
        }
    }
    (1.0 - waste / 2.0).clamp(0.0, 1.0)
}

/// `x / d` (`None` for `d == 0`), in 32 bits when both fit: the same quotient, and a
/// 32-bit division costs a fraction of a 64-bit one on many CPUs (this runs three
/// times per candidate).
#[inline]
fn quotient(x: u64, d: u64) -> Option<u64> {
    match (u32::try_from(x), u32::try_from(d)) {
        (Ok(x), Ok(d)) => x.checked_div(d).map(u64::from),
        _ => x.checked_div(d),
    }
}

/// Penalty for placing next to allocations of the same job and group:
/// `-(collisions + 1) / count`, nothing when there are none.
pub fn job_anti_affinity(collisions: u32, desired_count: u32) -> Option<f64> {
    (collisions > 0 && desired_count > 0)
        .then(|| -(f64::from(collisions) + 1.0) / f64::from(desired_count))
        .map(|s| s.max(-1.0))
}

/// orch's default job anti-affinity: a group must spread over at least
/// `min(count, max(3, √count))` nodes; below that share per node there is no penalty, above
/// it Nomad's penalty applies to the excess. Nomad penalizes every collision, which spreads
/// a 500-allocation job over 500 nodes and defeats bin-packing; strict one-per-node
/// placement is what `distinct_hosts` and `spread` are for.
pub fn job_anti_affinity_balanced(collisions: u32, desired_count: u32) -> Option<f64> {
    if desired_count == 0 {
        return None;
    }
    let allowed = balanced_free_collisions(desired_count);
    if collisions < allowed {
        return None;
    }
    job_anti_affinity(collisions - allowed + 1, desired_count)
}

/// The collisions on one node that [`job_anti_affinity_balanced`] allows without a
/// penalty for a group of `desired_count`: `ceil(count / min(count, max(3, √count)))`.
/// The placer computes it once per group instead of once per candidate.
pub fn balanced_free_collisions(desired_count: u32) -> u32 {
    let min_nodes = desired_count.min(desired_count.isqrt().max(3));
    desired_count.div_ceil(min_nodes.max(1))
}

/// Full penalty on the node a rescheduled allocation failed on.
pub fn reschedule_penalty(is_penalty_node: bool) -> Option<f64> {
    is_penalty_node.then_some(-1.0)
}

/// Affinity score: matched weights over the sum of absolute weights; nothing when no
/// affinity applies or none matched.
pub fn affinity_score(weights_matched: impl IntoIterator<Item = (i8, bool)>) -> Option<f64> {
    let (mut total, mut matched) = (0.0, 0.0);
    for (w, m) in weights_matched {
        total += f64::from(w).abs();
        if m {
            matched += f64::from(w);
        }
    }
    (total > 0.0 && matched != 0.0).then(|| matched / total)
}

/// One spread block, with the counts of the group's allocations per attribute value
/// (existing ones and those already proposed in this plan).
#[derive(Clone)]
pub struct SpreadState<'a> {
    /// Weight of this block relative to the group's other spread blocks.
    pub weight: f64,
    /// Target percentages per value; empty means spread evenly.
    pub targets: &'a BTreeMap<String, u8>,
    /// Allocations per value.
    pub counts: &'a BTreeMap<String, u64>,
    /// The group's desired count.
    pub desired_count: u32,
}

/// Spread score of a node whose attribute value is `value` (`None`: attribute missing,
/// the worst case). Follows Nomad's `spread.go`: with targets, the boost is the relative
/// shortfall of the value against its target share (values without a target share what
/// the targets leave); without targets, values below the minimum count are boosted and
/// the most used ones penalized.
pub fn spread_score<'a, 'v>(
    spreads: impl Iterator<Item = SpreadState<'a>> + Clone,
    value_of: impl Fn(usize) -> Option<&'v str>,
) -> Option<f64> {
    let sum_weights: f64 = spreads.clone().map(|s| s.weight).sum();
    if spreads.clone().next().is_none() || sum_weights <= 0.0 {
        return None;
    }
    let mut total = 0.0;
    for (i, s) in spreads.enumerate() {
        let weight = s.weight / sum_weights;
        let Some(value) = value_of(i) else {
            total -= weight;
            continue;
        };
        let used = s.counts.get(value).copied().unwrap_or(0) as f64;
        if s.targets.is_empty() {
            total += even_spread_boost(s.counts, used) * weight;
            continue;
        }
        let desired = match s.targets.get(value) {
            Some(pct) => f64::from(*pct) / 100.0 * f64::from(s.desired_count),
            None => {
                let rest = 100u32.saturating_sub(s.targets.values().map(|p| u32::from(*p)).sum());
                f64::from(rest) / 100.0 * f64::from(s.desired_count)
            }
        };
        if desired <= 0.0 {
            total -= weight;
        } else {
            total += ((desired - used) / desired).clamp(-1.0, 1.0) * weight;
        }
    }
    (total != 0.0).then_some(total.clamp(-1.0, 1.0))
}

/// [`spread_score`] for spreads without targets whose counts are kept densely by an
/// index of the attribute's values (`counts[i]`: allocations on nodes with value `i`;
/// zero for a value none is placed on yet, which the map form does not list), for a
/// node whose value is `value`: the same arithmetic, without a search by string.
pub fn even_spread_dense<'a>(
    spreads: impl Iterator<Item = (f64, &'a [u64])> + Clone,
    value: usize,
) -> Option<f64> {
    let sum_weights: f64 = spreads.clone().map(|s| s.0).sum();
    if spreads.clone().next().is_none() || sum_weights <= 0.0 {
        return None;
    }
    let mut total = 0.0;
    for (w, counts) in spreads {
        let weight = w / sum_weights;
        let used = counts.get(value).copied().unwrap_or(0) as f64;
        let placed = counts.iter().copied().filter(|c| *c > 0);
        total += boost(placed.clone().min(), placed.max(), used) * weight;
    }
    (total != 0.0).then_some(total.clamp(-1.0, 1.0))
}

fn even_spread_boost(counts: &BTreeMap<String, u64>, used: f64) -> f64 {
    boost(
        counts.values().min().copied(),
        counts.values().max().copied(),
        used,
    )
}

/// Nomad's even-spread boost from the fewest and most allocations on any value so far.
fn boost(min: Option<u64>, max: Option<u64>, used: f64) -> f64 {
    let (Some(min), Some(max)) = (min, max) else {
        return 0.0; // Nothing placed yet: every value is as good as another.
    };
    let (min, max) = (min as f64, max as f64);
    if used < min {
        return 1.0;
    }
    if used > min {
        return if min == 0.0 {
            -1.0
        } else {
            ((min - used) / min).max(-1.0)
        };
    }
    if min == max {
        -1.0
    } else if min == 0.0 {
        1.0
    } else {
        ((max - min) / min).min(1.0)
    }
}

/// Mean of the scores given; nodes compare on this.
pub fn normalize(scores: &[f64]) -> f64 {
    if scores.is_empty() {
        0.0
    } else {
        scores.iter().sum::<f64>() / scores.len() as f64
    }
}

#[cfg(test)]
mod tests;
