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
        fit_score(Algorithm::Binpack, &cap(), &full) > fit_score(Algorithm::Binpack, &cap(), &half)
    );
    assert!(
        fit_score(Algorithm::Spread, &cap(), &half) > fit_score(Algorithm::Spread, &cap(), &full)
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
        fit_score_waste(&cap, &mem_full, &cpu_heavy) > fit_score_waste(&cap, &cpu_full, &cpu_heavy)
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
    let targets: BTreeMap<String, u8> = [("dc1".to_string(), 70), ("dc2".to_string(), 30)].into();
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

proptest::proptest! {
    /// The dense even spread scores every value exactly as the map form does (the
    /// map lists only values with allocations).
    #[test]
    fn dense_even_spread_matches_the_map_form(
        blocks in proptest::collection::vec(
            (1u8..=100, proptest::collection::vec(0u64..6, 1..6)),
            1..3,
        ),
        value in 0usize..6,
    ) {
        let maps: Vec<BTreeMap<String, u64>> = blocks
            .iter()
            .map(|(_, counts)| {
                counts
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c > 0)
                    .map(|(i, c)| (format!("dc{i}"), *c))
                    .collect()
            })
            .collect();
        let empty = BTreeMap::new();
        let states = blocks.iter().zip(&maps).map(|((w, _), counts)| SpreadState {
            weight: f64::from(*w),
            targets: &empty,
            counts,
            desired_count: 10,
        });
        let name = format!("dc{value}");
        let map_form = spread_score(states, |_| Some(name.as_str()));
        let dense = blocks.iter().map(|(w, c)| (f64::from(*w), c.as_slice()));
        proptest::prop_assert_eq!(even_spread_dense(dense, value), map_form);
    }
}
