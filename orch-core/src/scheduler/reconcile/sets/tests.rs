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
