use super::*;

#[test]
fn same_seed_same_sequence() {
    let (mut a, mut b) = (SchedRng::new(42), SchedRng::new(42));
    let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
    let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
    assert_eq!(xs, ys);
    // Pinned: a change here breaks the cross-release determinism promise.
    assert_eq!(SchedRng::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
}

#[test]
fn shuffle_is_a_permutation() {
    let mut v: Vec<u32> = (0..100).collect();
    SchedRng::new(7).shuffle(&mut v);
    let mut sorted = v.clone();
    sorted.sort();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    assert_ne!(v, sorted);
    assert!((0..1000).all(|_| SchedRng::new(3).below(10) < 10));
}
