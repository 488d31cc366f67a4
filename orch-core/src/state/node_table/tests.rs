use super::*;

fn node(id: &str, dc: &str) -> Node {
    let mut n = Node {
        id: id.into(),
        datacenter: dc.into(),
        computed_class: format!("v1:{dc}"),
        status: "ready".into(),
        scheduling_eligibility: "eligible".into(),
        ..Node::default()
    };
    n.node_resources.cpu.cpu_shares = 1000;
    n
}

#[test]
fn slots_are_stable_and_equality_ignores_them() {
    let mut a = NodeTable::default();
    a.insert(node("b", "dc1"));
    a.insert(node("a", "dc2"));
    let u = Usage {
        cpu_mhz: 10,
        ..Usage::default()
    };
    a.add_usage("a", &u);
    a.add_usage("gone", &u);
    assert_eq!(a.slot("b"), Some(0));
    assert_eq!(a.dense()[1].used, u);
    assert!(a.dense()[0].schedulable && a.dense()[0].capacity.cpu_mhz == 1000);
    let ids: Vec<_> = a.values().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    let in_id_order = [a.slot("a"), a.slot("b"), a.slot("gone")];
    assert_eq!(a.slots_by_id(), in_id_order.map(Option::unwrap_or_default));
    assert!(a.compact()[1].emptiness < FULLNESS_BUCKETS - 1 && a.compact()[1].ready);
    let mut b = NodeTable::default();
    b.add_usage("gone", &u);
    b.insert(node("a", "dc2"));
    b.add_usage("a", &u);
    b.insert(node("b", "dc1"));
    assert_eq!(a, b, "same nodes and usage, other slots");
    a.remove("b");
    assert!(a.get("b").is_none() && !a.dense()[0].present);
    a.insert(node("b", "dc1"));
    assert_eq!(a.slot("b"), Some(0), "a returning node keeps its slot");
    a.sub_usage("a", &u);
    assert_eq!(a.usage("a"), Usage::default());
    assert_ne!(a, b);
}

#[test]
fn free_codes_are_exact_below_sixteen_and_saturate() {
    for x in 0..16u64 {
        assert_eq!(free_code(x), x as u8);
    }
    assert_eq!(free_code(16), 16);
    assert_eq!(free_code(u64::MAX), u8::MAX);
}

proptest::proptest! {
    /// The code is monotone, so a larger code of an ask than of what is free means
    /// the ask does not fit: `codes_exceed` never rejects a node `Usage::fits` takes.
    #[test]
    fn a_code_rejection_is_a_fit_failure(
        a in 0u64..(1 << 40),
        b in 0u64..(1 << 40),
        cap in proptest::array::uniform3(0u64..40_000),
        used in proptest::array::uniform3(0u64..40_000),
        ask in proptest::array::uniform3(0u64..5_000),
    ) {
        if a <= b {
            proptest::prop_assert!(free_code(a) <= free_code(b));
        }
        let usage = |v: [u64; 3]| Usage { cpu_mhz: v[0], cores: 0, memory_mb: v[1], disk_mb: v[2] };
        let (cap, used, ask) = (usage(cap), usage(used), usage(ask));
        if codes_exceed(&ask_codes(&ask), &free_codes(&cap, &used)) {
            proptest::prop_assert!(cap.fits(&used, &ask).is_err());
        }
    }
}

/// The order `FullestFirst` must hold: ready slots by emptiness, ties in ID order, and
/// the ready nodes per datacenter.
fn reference_order(t: &NodeTable) -> (Vec<u32>, Vec<u64>) {
    let mut slots: Vec<u32> = t
        .slots_by_id()
        .iter()
        .copied()
        .filter(|s| t.compact()[*s as usize].ready)
        .collect();
    slots.sort_by_key(|s| t.compact()[*s as usize].emptiness);
    let mut per_dc = vec![0u64; t.datacenters().len()];
    for s in &slots {
        per_dc[t.dense()[*s as usize].datacenter as usize] += 1;
    }
    (slots, per_dc)
}

proptest::proptest! {
    /// Kept by marking and merging, the fullest-first order is the one a sort of the
    /// whole table gives, after any mix of registrations, removals, datacenter moves,
    /// and usage added and taken away, settled after each step or after a few.
    #[test]
    fn the_kept_order_is_the_sorted_order(
        ops in proptest::collection::vec((0u8..5, 0usize..12, 0u64..1_200, 0usize..3), 1..80),
        settle_every in 1usize..5,
    ) {
        let mut t = NodeTable::default();
        for (i, (op, n, amount, dc)) in ops.into_iter().enumerate() {
            let id = format!("node-{n:02}");
            let u = Usage { cpu_mhz: amount, ..Usage::default() };
            match op {
                0 => t.insert(node(&id, &format!("dc{dc}"))),
                1 => t.remove(&id),
                2 | 3 => t.add_usage(&id, &u),
                _ => {
                    let held = t.usage(&id);
                    t.sub_usage(&id, &Usage { cpu_mhz: amount.min(held.cpu_mhz), ..Usage::default() });
                }
            }
            if i % settle_every == 0 {
                t.settle();
                let ff = t.fullest_first();
                proptest::prop_assert!(ff.is_some());
                let Some(ff) = ff else { continue };
                let (want, per_dc) = reference_order(&t);
                proptest::prop_assert_eq!(ff.slots(), want.as_slice());
                let mut got_dc = ff.per_datacenter().to_vec();
                got_dc.resize(per_dc.len(), 0);
                proptest::prop_assert_eq!(got_dc, per_dc);
                for (p, s) in want.iter().enumerate() {
                    proptest::prop_assert_eq!(ff.positions()[*s as usize], p as u32);
                }
                let inside = ff.positions().iter().filter(|p| **p != NOT_IN_ORDER).count();
                proptest::prop_assert_eq!(inside, want.len());
            }
        }
    }
}

/// Every node of a block is within its block's bound: an ask of the node's own free
/// codes is never excluded (so no node that may take an ask is ever passed by it).
fn blocks_bound_their_nodes(t: &NodeTable) -> Result<(), proptest::test_runner::TestCaseError> {
    let Some(ff) = t.fullest_first() else {
        proptest::prop_assert!(false, "unsettled after settle");
        return Ok(());
    };
    proptest::prop_assert_eq!(ff.blocks().len(), ff.slots().len().div_ceil(BLOCK));
    for (p, s) in ff.slots().iter().enumerate() {
        let free = t.compact()[*s as usize].free;
        proptest::prop_assert!(
            !ff.blocks()[p / BLOCK].excludes(&free),
            "position {} (codes {:?}) excluded by its block",
            p,
            free
        );
    }
    Ok(())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// On tables of several blocks, after registrations, removals and usage of CPU and
    /// memory moving both ways, settled every step or every few: the kept order is
    /// the sorted one, and each block's bound of free codes bounds every node in it.
    #[test]
    fn block_bounds_hold_over_changes(
        nodes in 60usize..300,
        ops in proptest::collection::vec((0u8..6, 0usize..300, 0u64..1_200, 0u64..2_500), 1..120),
        settle_every in 1usize..4,
    ) {
        let mut t = NodeTable::default();
        for i in 0..nodes {
            let mut n = node(&format!("node-{i:03}"), &format!("dc{}", i % 3));
            n.node_resources.memory.memory_mb = 2048 << (i % 3);
            t.insert(n);
        }
        t.settle();
        blocks_bound_their_nodes(&t)?;
        for (i, (op, n, cpu, mem)) in ops.into_iter().enumerate() {
            let id = format!("node-{:03}", n % nodes);
            let u = Usage { cpu_mhz: cpu, memory_mb: mem, ..Usage::default() };
            match op {
                0 => {
                    let mut n = node(&id, "dc1");
                    n.node_resources.memory.memory_mb = 4096;
                    t.insert(n);
                }
                1 => t.remove(&id),
                2..=4 => t.add_usage(&id, &u),
                _ => {
                    let held = t.usage(&id);
                    let back = Usage {
                        cpu_mhz: cpu.min(held.cpu_mhz),
                        memory_mb: mem.min(held.memory_mb),
                        ..Usage::default()
                    };
                    t.sub_usage(&id, &back);
                }
            }
            if i % settle_every == 0 {
                t.settle();
                let (want, _) = reference_order(&t);
                proptest::prop_assert_eq!(t.fullest_first().map(|f| f.slots()), Some(want.as_slice()));
                blocks_bound_their_nodes(&t)?;
            }
        }
        // Blocks left stale by nodes entering or leaving the order are summarized
        // again a few per settle: once enough settles passed, every bound is exact.
        for _ in 0..=nodes.div_ceil(BLOCK) {
            t.settle();
        }
        let Some(ff) = t.fullest_first() else {
            proptest::prop_assert!(false, "unsettled after settle");
            return Ok(());
        };
        for (b, bound) in ff.blocks().iter().enumerate() {
            let end = ((b + 1) * BLOCK).min(ff.slots().len());
            let codes = ff.slots()[b * BLOCK..end].iter().map(|s| t.compact()[*s as usize].free);
            proptest::prop_assert_eq!(*bound, BlockFree::of(codes), "block {}", b);
        }
    }

    /// A block's bound excludes an ask only when every code in it is exceeded, and
    /// excludes it exactly so while the block holds at most `COVER` distinct triples
    /// (then its entries are never merged).
    #[test]
    fn a_block_bound_is_sound(
        codes in proptest::collection::vec(proptest::array::uniform3(0u8..6), 0..64),
        need in proptest::array::uniform3(0u8..7),
    ) {
        let b = BlockFree::of(codes.iter().copied());
        let every = codes.iter().all(|c| codes_exceed(&need, c));
        if b.excludes(&need) {
            proptest::prop_assert!(every);
        }
        let mut distinct = codes.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() <= fullest::COVER {
            proptest::prop_assert_eq!(b.excludes(&need), every);
        }
    }
}
