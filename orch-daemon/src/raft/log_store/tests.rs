use super::ByteBudget;

#[test]
fn a_budget_admits_the_crossing_entry_and_always_a_first_one() {
    let mut b = ByteBudget::new(10);
    assert!(b.admit(4));
    assert!(b.admit(4));
    assert!(
        b.admit(4),
        "8 used is within 10: the entry that crosses goes"
    );
    assert!(!b.admit(1), "12 used is over 10");
    let mut big = ByteBudget::new(10);
    assert!(big.admit(1000), "a first entry goes whatever its size");
    assert!(!big.admit(0));
}
