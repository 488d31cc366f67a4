#[test]
fn go_time_formats_utc() {
    assert_eq!(super::go_time(0), "1970-01-01 00:00:00 +0000 UTC");
    assert_eq!(
        super::go_time(1_700_000_000_000_000_000),
        "2023-11-14 22:13:20 +0000 UTC"
    );
}
