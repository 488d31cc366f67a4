use super::*;

const S: i64 = 1_000_000_000;

#[test]
fn parses_what_go_parses() {
    assert_eq!(parse_go_duration("0"), Ok(0));
    assert_eq!(parse_go_duration("300ms"), Ok(300_000_000));
    assert_eq!(parse_go_duration("1.5s"), Ok(1_500_000_000));
    assert_eq!(parse_go_duration("-2m"), Ok(-120 * S));
    assert_eq!(parse_go_duration("+1h2m3s"), Ok(3723 * S));
    assert_eq!(parse_go_duration(".5s"), Ok(S / 2));
    assert_eq!(parse_go_duration("1µs"), Ok(1_000));
    assert_eq!(parse_go_duration("1.000000001s"), Ok(S + 1));
    assert_eq!(parse_go_duration("2562047h"), Ok(2_562_047 * 3600 * S));
}

#[test]
fn refuses_what_go_refuses() {
    assert_eq!(
        parse_go_duration("10"),
        Err(DurationError::MissingUnit("10".into()))
    );
    assert_eq!(parse_go_duration(""), Err(DurationError::Empty));
    assert_eq!(
        parse_go_duration("5d"),
        Err(DurationError::UnknownUnit("d".into()))
    );
    assert_eq!(
        parse_go_duration("s"),
        Err(DurationError::MissingNumber("s".into()))
    );
    assert_eq!(
        parse_go_duration("."),
        Err(DurationError::MissingNumber(".".into()))
    );
    assert!(matches!(
        parse_go_duration("9999999999h"),
        Err(DurationError::OutOfRange(_))
    ));
    assert!(parse_go_duration("1 s").is_err());
}

#[test]
fn formats_as_go_prints() {
    assert_eq!(format_go_duration(0), "0s");
    assert_eq!(format_go_duration(15 * S), "15s");
    assert_eq!(format_go_duration(90 * S), "1m30s");
    assert_eq!(format_go_duration(30 * 60 * S), "30m0s");
    assert_eq!(format_go_duration(24 * 3600 * S), "24h0m0s");
    assert_eq!(format_go_duration(1_500_000_000), "1.5s");
    assert_eq!(format_go_duration(250_000_000), "250ms");
    assert_eq!(format_go_duration(1_500), "1.5µs");
    assert_eq!(format_go_duration(-3 * S), "-3s");
}

#[test]
fn what_it_prints_it_parses_back() {
    for n in [1, 999, 1_500, 250_000_000, 15 * S, 3723 * S + 5, 86_400 * S] {
        assert_eq!(parse_go_duration(&format_go_duration(n)), Ok(n), "{n}");
    }
}
