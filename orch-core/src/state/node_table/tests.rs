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
    let ordered: Vec<u32> = a.by_id.values().copied().collect();
    assert_eq!(a.slots_by_id(), ordered.as_slice());
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
