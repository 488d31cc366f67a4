use super::*;

fn named(i: u32) -> Allocation {
    Allocation {
        name: format!("j.g[{i}]"),
        ..Allocation::default()
    }
}

#[test]
fn name_index_reuses_lowest_free() {
    let allocs = [named(0), named(2), named(5)];
    let mut idx = NameIndex::new(allocs.iter());
    assert_eq!(idx.next(4), vec![1, 3, 4, 6]);
    idx.unset(2);
    assert_eq!(idx.next(1), vec![2]);
}

/// The index as a map of holders, the way it was kept before the dense counts.
#[derive(Default)]
struct MapIndex(std::collections::BTreeMap<u32, u32>);

impl MapIndex {
    fn set(&mut self, i: u32) {
        *self.0.entry(i).or_insert(0) += 1;
    }
    fn unset(&mut self, i: u32) {
        if let Some(n) = self.0.get_mut(&i) {
            *n -= 1;
            if *n == 0 {
                self.0.remove(&i);
            }
        }
    }
    fn next(&mut self, n: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let mut c = 0u32;
        while out.len() < n {
            if !self.0.contains_key(&c) {
                out.push(c);
            }
            c += 1;
        }
        for &i in &out {
            self.set(i);
        }
        out
    }
}

proptest::proptest! {
    /// Any sequence of takes, releases and requests, with indexes on both sides of
    /// the dense bound, answers as the map of holders does.
    #[test]
    fn name_index_matches_a_map(
        ops in proptest::collection::vec(
            (0u8..3, proptest::prop_oneof![0u32..40, (DENSE_INDEXES - 3)..(DENSE_INDEXES + 3)], 0usize..4),
            0..60,
        ),
    ) {
        let (mut fast, mut slow) = (NameIndex::default(), MapIndex::default());
        for (op, i, n) in ops {
            match op {
                0 => {
                    fast.set(i);
                    slow.set(i);
                }
                1 => {
                    fast.unset(i);
                    slow.unset(i);
                }
                _ => proptest::prop_assert_eq!(fast.next(n), slow.next(n)),
            }
            proptest::prop_assert_eq!(fast.holders(i), slow.0.get(&i).copied().unwrap_or(0));
        }
    }
}
