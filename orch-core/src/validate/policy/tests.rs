use super::*;

#[test]
fn rules() {
    assert!(check_rule("=", "${attr.kernel.name}", "linux", true).is_ok());
    assert!(check_rule("=", "${attr.kernel.name}", "", true).is_err());
    assert!(check_rule("regexp", "a", "(", true).is_err());
    assert!(check_rule("distinct_hosts", "", "", true).is_ok());
    assert!(check_rule("distinct_property", "${meta.rack}", "0", true).is_err());
    assert!(check_rule("bogus", "a", "b", true).is_err());
    assert!(check_rule("is_set", "a", "b", true).is_err());
}

#[test]
fn exponential_reschedule_budget() {
    let r = ReschedulePolicy {
        attempts: 3,
        interval: 60 * SECOND,
        delay: 10 * SECOND,
        delay_function: "exponential".into(),
        max_delay: 100 * SECOND,
        unlimited: false,
    };
    // 10 + 20 + 40 = 70s > 60s
    let mut e = Errors::new();
    reschedule(&mut e, "P", &r);
    assert_eq!(e.list.len(), 1, "{:?}", e.list);
}
