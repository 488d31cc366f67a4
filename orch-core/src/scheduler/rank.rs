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
        if let Some(k) = cap.saturating_sub(u).checked_div(a) {
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
    let min_nodes = desired_count.min(desired_count.isqrt().max(3));
    let allowed = desired_count.div_ceil(min_nodes.max(1));
    if collisions < allowed {
        return None;
    }
    job_anti_affinity(collisions - allowed + 1, desired_count)
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

fn even_spread_boost(counts: &BTreeMap<String, u64>, used: f64) -> f64 {
    let (Some(min), Some(max)) = (counts.values().min(), counts.values().max()) else {
        return 0.0; // Nothing placed yet: every value is as good as another.
    };
    let (min, max) = (*min as f64, *max as f64);
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
mod tests {
    use super::*;

    fn cap() -> Usage {
        Usage {
            cpu_mhz: 1000,
            memory_mb: 1000,
            ..Usage::default()
        }
    }

    #[test]
    fn binpack_prefers_fuller_nodes_and_spread_emptier_ones() {
        let half = Usage {
            cpu_mhz: 500,
            memory_mb: 500,
            ..Usage::default()
        };
        let full = Usage {
            cpu_mhz: 1000,
            memory_mb: 1000,
            ..Usage::default()
        };
        assert!(
            fit_score(Algorithm::Binpack, &cap(), &full)
                > fit_score(Algorithm::Binpack, &cap(), &half)
        );
        assert!(
            fit_score(Algorithm::Spread, &cap(), &half)
                > fit_score(Algorithm::Spread, &cap(), &full)
        );
        assert!((fit_score(Algorithm::Binpack, &cap(), &full) - 1.0).abs() < 1e-9);
        assert_eq!(
            fit_score(Algorithm::Binpack, &cap(), &Usage::default()),
            0.0
        );
    }

    #[test]
    fn waste_score_sends_work_where_its_shape_fits() {
        let cap = Usage {
            cpu_mhz: 1000,
            memory_mb: 1000,
            disk_mb: 1000,
            ..Usage::default()
        };
        let cpu_heavy = Usage {
            cpu_mhz: 100,
            memory_mb: 10,
            disk_mb: 10,
            ..Usage::default()
        };
        // Memory nearly full, CPU free: the CPU-heavy ask fills what is left.
        let mem_full = Usage {
            cpu_mhz: 0,
            memory_mb: 900,
            ..Usage::default()
        };
        let cpu_full = Usage {
            cpu_mhz: 800,
            memory_mb: 100,
            ..Usage::default()
        };
        assert!(
            fit_score_waste(&cap, &mem_full, &cpu_heavy)
                > fit_score_waste(&cap, &cpu_full, &cpu_heavy)
        );
        // Disk counts: a node whose disk is nearly gone strands its CPU and memory.
        let disk_full = Usage {
            disk_mb: 990,
            ..Usage::default()
        };
        assert!(fit_score_waste(&cap, &disk_full, &cpu_heavy) < 0.1);
        assert!((fit_score_waste(&cap, &cap, &Usage::default()) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn balanced_anti_affinity_allows_a_fair_share_per_node() {
        // Three replicas still go to three nodes.
        assert_eq!(job_anti_affinity_balanced(1, 3), job_anti_affinity(1, 3));
        // 100 replicas may share a node ten at a time.
        assert_eq!(job_anti_affinity_balanced(9, 100), None);
        assert!(job_anti_affinity_balanced(10, 100).is_some_and(|s| s < 0.0));
        assert_eq!(job_anti_affinity_balanced(0, 0), None);
    }

    #[test]
    fn anti_affinity_affinity_and_penalty() {
        assert_eq!(job_anti_affinity(0, 3), None);
        assert_eq!(job_anti_affinity(1, 4), Some(-0.5));
        assert_eq!(reschedule_penalty(true), Some(-1.0));
        assert_eq!(affinity_score([(50, true), (50, false)]), Some(0.5));
        assert_eq!(affinity_score([(-100, true)]), Some(-1.0));
        assert_eq!(affinity_score([(50, false)]), None);
    }

    #[test]
    fn spread_with_targets_prefers_values_under_target() {
        let targets: BTreeMap<String, u8> =
            [("dc1".to_string(), 70), ("dc2".to_string(), 30)].into();
        let counts: BTreeMap<String, u64> = [("dc1".to_string(), 7), ("dc2".to_string(), 0)].into();
        let s = [SpreadState {
            weight: 50.0,
            targets: &targets,
            counts: &counts,
            desired_count: 10,
        }];
        let dc1 = spread_score(s.iter().cloned(), |_| Some("dc1")).unwrap_or(0.0);
        let dc2 = spread_score(s.iter().cloned(), |_| Some("dc2")).unwrap_or(0.0);
        assert!(dc2 > dc1, "{dc2} > {dc1}");
        assert_eq!(spread_score(s.iter().cloned(), |_| None), Some(-1.0));
    }

    #[test]
    fn even_spread_boosts_the_least_used_value() {
        let none = BTreeMap::new();
        let counts: BTreeMap<String, u64> = [("a".to_string(), 2), ("b".to_string(), 1)].into();
        let s = [SpreadState {
            weight: 50.0,
            targets: &none,
            counts: &counts,
            desired_count: 6,
        }];
        let a = spread_score(s.iter().cloned(), |_| Some("a")).unwrap_or(0.0);
        let b = spread_score(s.iter().cloned(), |_| Some("b")).unwrap_or(0.0);
        let c = spread_score(s.iter().cloned(), |_| Some("c")).unwrap_or(0.0);
        assert!(c >= b && b > a, "c={c} b={b} a={a}");
    }
}
