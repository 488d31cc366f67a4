use super::*;

#[test]
fn limits_follow_nomad() {
    assert_eq!(candidate_limit(true, 10_000), 2);
    assert_eq!(candidate_limit(false, 1), 2);
    assert_eq!(candidate_limit(false, 10_000), 14);
    assert_eq!(candidate_limit(false, 1024), 10);
}
