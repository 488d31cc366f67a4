use super::*;

/// Unix seconds of a UTC date-time.
fn at(y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> i64 {
    let date = Date::from_calendar_date(y, Month::try_from(mo).unwrap(), d).unwrap();
    date.with_hms(h, mi, s)
        .unwrap()
        .assume_utc()
        .unix_timestamp()
}

fn next(expr: &str, after: i64) -> Option<i64> {
    Cron::parse(expr).unwrap().next_after(after)
}

#[test]
fn five_fields_are_minute_granular() {
    let t = at(2024, 3, 10, 12, 7, 30);
    assert_eq!(next("*/15 * * * *", t), Some(at(2024, 3, 10, 12, 15, 0)));
    assert_eq!(next("0 0 * * *", t), Some(at(2024, 3, 11, 0, 0, 0)));
    assert_eq!(next("30 2 1 * *", t), Some(at(2024, 4, 1, 2, 30, 0)));
    // Strictly after: a matching instant is not its own next.
    let on = at(2024, 3, 10, 12, 15, 0);
    assert_eq!(next("*/15 * * * *", on), Some(at(2024, 3, 10, 12, 30, 0)));
}

#[test]
fn seven_fields_start_with_seconds_and_six_end_with_a_year() {
    let t = at(2024, 3, 10, 12, 7, 31);
    assert_eq!(next("*/2 * * * * * *", t), Some(t + 1));
    assert_eq!(next("*/2 * * * * * *", t + 1), Some(t + 3));
    assert_eq!(next("10 * * * * * *", t), Some(at(2024, 3, 10, 12, 8, 10)));
    // Nomad's cronexpr: six fields are minute..weekday plus year, not seconds first.
    assert_eq!(next("0 0 1 1 * 2030", t), Some(at(2030, 1, 1, 0, 0, 0)));
    assert_eq!(next("0 0 1 1 * 2020", t), None, "a past year never matches");
}

#[test]
fn names_ranges_lists_and_weekdays() {
    let sunday = at(2024, 3, 10, 0, 0, 0); // 2024-03-10 was a Sunday.
    assert_eq!(
        next("0 9 * * MON-FRI", sunday),
        Some(at(2024, 3, 11, 9, 0, 0))
    );
    assert_eq!(next("0 9 * * 7", sunday), Some(at(2024, 3, 10, 9, 0, 0)));
    assert_eq!(next("0 9 * * sat", sunday), Some(at(2024, 3, 16, 9, 0, 0)));
    assert_eq!(
        next("0 0 1 jan,jul *", sunday),
        Some(at(2024, 7, 1, 0, 0, 0))
    );
    assert_eq!(
        next("5-10/5 * * * *", sunday),
        Some(at(2024, 3, 10, 0, 5, 0))
    );
    assert_eq!(
        next("50/5 * * * *", at(2024, 3, 10, 0, 56, 0)),
        Some(at(2024, 3, 10, 1, 50, 0))
    );
    // Both day fields restricted: either matches (the 13th, or a Friday).
    assert_eq!(next("0 0 13 * FRI", sunday), Some(at(2024, 3, 13, 0, 0, 0)));
    assert_eq!(
        next("0 0 13 * FRI", at(2024, 3, 13, 0, 0, 0)),
        Some(at(2024, 3, 15, 0, 0, 0))
    );
    assert_eq!(next("0 0 ? * FRI", sunday), Some(at(2024, 3, 15, 0, 0, 0)));
}

#[test]
fn calendar_edges() {
    assert_eq!(
        next("0 0 29 2 *", at(2024, 3, 1, 0, 0, 0)),
        Some(at(2028, 2, 29, 0, 0, 0))
    );
    assert_eq!(
        next("0 0 31 * *", at(2024, 4, 1, 0, 0, 0)),
        Some(at(2024, 5, 31, 0, 0, 0))
    );
    assert_eq!(
        next("59 59 23 31 12 * *", at(2024, 12, 31, 23, 59, 58)),
        Some(at(2024, 12, 31, 23, 59, 59))
    );
    assert_eq!(
        next("0 0 1 1 *", at(2024, 12, 31, 23, 59, 59)),
        Some(at(2025, 1, 1, 0, 0, 0))
    );
    assert_eq!(next("0 0 30 2 *", 0), None, "February 30th never comes");
    assert_eq!(
        next("* * * * *", at(2099, 12, 31, 23, 59, 0)),
        None,
        "cronexpr stops at 2099"
    );
}

#[test]
fn predefined_expressions() {
    let t = at(2024, 3, 10, 12, 7, 31);
    assert_eq!(next("@hourly", t), Some(at(2024, 3, 10, 13, 0, 0)));
    assert_eq!(next("@daily", t), Some(at(2024, 3, 11, 0, 0, 0)));
    assert_eq!(next("@midnight", t), Some(at(2024, 3, 11, 0, 0, 0)));
    assert_eq!(next("@weekly", t), Some(at(2024, 3, 17, 0, 0, 0)));
    assert_eq!(next("@monthly", t), Some(at(2024, 4, 1, 0, 0, 0)));
    assert_eq!(next("@yearly", t), Some(at(2025, 1, 1, 0, 0, 0)));
    assert_eq!(next("@annually", t), Some(at(2025, 1, 1, 0, 0, 0)));
}

#[test]
fn bad_expressions_say_what_is_wrong() {
    let err = |e: &str| Cron::parse(e).unwrap_err().to_string();
    assert!(
        err("* * *").contains("expected 5 to 7 fields"),
        "{}",
        err("* * *")
    );
    assert!(err("@often").contains("@often"));
    assert!(err("60 * * * *").contains("minute field: 60 is out of range 0-59"));
    assert!(err("* 24 * * *").contains("hour field"));
    assert!(err("* * 0 * *").contains("day-of-month field"));
    assert!(err("* * * 13 *").contains("month field"));
    assert!(err("* * * FOO *").contains("JAN"));
    assert!(err("*/0 * * * *").contains("step"));
    assert!(err("10-5 * * * *").contains("starts after it ends"));
    assert!(err("* * L * *").contains("L, W or #"));
    assert!(err("* * * * 5#2").contains("L, W or #"));
    assert!(err("1,,2 * * * *").contains("empty entry"));
    assert!(err("* * * * * 1969").contains("year field"));
}
