use super::*;

#[test]
fn times_print_as_rfc_3339_seconds_in_utc() {
    assert_eq!(rfc3339_seconds(0), "1970-01-01T00:00:00Z");
    assert_eq!(
        rfc3339_seconds(1_700_000_000_999_999_999),
        "2023-11-14T22:13:20Z"
    );
    assert_eq!(rfc3339_seconds(-1), "1969-12-31T23:59:59Z");
}
