use super::*;

/// Unix seconds of a UTC date-time.
fn at(y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> i64 {
    let dt = jiff::civil::datetime(y as i16, mo as i8, d as i8, h as i8, mi as i8, s as i8, 0);
    TimeZone::UTC.to_timestamp(dt).unwrap().as_second()
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
    // Specifiers in the wrong field or form.
    assert!(
        err("* * * L *").contains("month field"),
        "{}",
        err("* * * L *")
    );
    assert!(err("L * * * *").contains("only for single days"));
    assert!(err("* * 5L * *").contains("day-of-month field"));
    assert!(err("* * 5#2 * *").contains("# is for the day-of-week field"));
    assert!(err("* * L-3 * *").contains("day-of-month field"));
    assert!(err("* * 1-5W * *").contains("W takes one day"));
    assert!(err("* * 32W * *").contains("out of range"));
    assert!(err("* * * * L").contains("5L for the last Friday"));
    assert!(err("* * * * 5W").contains("day-of-week field"));
    assert!(err("* * * * LW").contains("day-of-week field"));
    assert!(err("* * * * 5#6").contains("1 to 5"));
    assert!(err("* * * * 5#0").contains("1 to 5"));
    assert!(err("* * * * 1-5#2").contains("not a range or list"));
    assert!(err("* * * * 8L").contains("out of range"));
    assert!(err("1,,2 * * * *").contains("empty entry"));
    assert!(err("* * * * * 1969").contains("year field"));
}

/// Midnight UTC of a date.
fn day(y: i32, mo: u8, d: u8) -> i64 {
    at(y, mo, d, 0, 0, 0)
}

/// The next `n` midnights after `after` that `expr` fires on.
fn next_days(expr: &str, after: i64, n: usize) -> Vec<i64> {
    let cron = Cron::parse(expr).unwrap();
    let mut out = Vec::new();
    let mut t = after;
    for _ in 0..n {
        t = cron.next_after(t).unwrap();
        out.push(t);
    }
    out
}

#[test]
fn l_in_day_of_month_is_the_last_day_leap_february_included() {
    assert_eq!(
        next_days("0 0 L * *", day(2024, 1, 31), 4),
        [
            day(2024, 2, 29), // leap year
            day(2024, 3, 31),
            day(2024, 4, 30),
            day(2024, 5, 31),
        ]
    );
    assert_eq!(
        next_days("0 0 L 2 *", day(2024, 3, 1), 4),
        [
            day(2025, 2, 28),
            day(2026, 2, 28),
            day(2027, 2, 28),
            day(2028, 2, 29),
        ]
    );
    // Listed with plain days, and lower case.
    assert_eq!(
        next_days("0 0 1,l * *", day(2024, 2, 2), 3),
        [day(2024, 2, 29), day(2024, 3, 1), day(2024, 3, 31)]
    );
}

#[test]
fn l_after_a_weekday_is_its_last_occurrence_in_the_month() {
    // Fridays of February 2024: 2, 9, 16, 23 (the 29th is a Thursday);
    // of March 2024: 1, 8, 15, 22, 29; of April 2024: 5, 12, 19, 26.
    let last_fridays = [day(2024, 2, 23), day(2024, 3, 29), day(2024, 4, 26)];
    assert_eq!(next_days("0 0 * * 5L", day(2024, 2, 1), 3), last_fridays);
    assert_eq!(next_days("0 0 * * friL", day(2024, 2, 1), 3), last_fridays);
    // Sunday as 0 or 7: the last Sundays of February and March 2024 are the 25th and 31st.
    for expr in ["0 0 * * 0L", "0 0 * * 7L", "0 0 ? * SUNL"] {
        assert_eq!(
            next_days(expr, day(2024, 2, 1), 2),
            [day(2024, 2, 25), day(2024, 3, 31)],
            "{expr}"
        );
    }
    // Last Monday and last Friday together, with a time of day.
    assert_eq!(
        next_days("30 9 * * 1L,5L", day(2024, 3, 1), 3),
        [
            at(2024, 3, 25, 9, 30, 0),
            at(2024, 3, 29, 9, 30, 0),
            at(2024, 4, 26, 9, 30, 0),
        ]
    );
}

#[test]
fn w_is_the_nearest_weekday_without_leaving_the_month() {
    // 15th a Saturday (June 2024) -> Friday 14th; a Sunday (September 2024) -> Monday
    // 16th; a Thursday (February 2024) -> itself.
    assert_eq!(next("0 0 15W * *", day(2024, 6, 1)), Some(day(2024, 6, 14)));
    assert_eq!(next("0 0 15W * *", day(2024, 9, 1)), Some(day(2024, 9, 16)));
    assert_eq!(next("0 0 15W * *", day(2024, 2, 1)), Some(day(2024, 2, 15)));
    // 1st a Saturday (June 2024, February 2025): Monday the 3rd, not Friday of the
    // month before. 1st a Sunday (September 2024): Monday the 2nd.
    assert_eq!(next("0 0 1W * *", day(2024, 5, 15)), Some(day(2024, 6, 3)));
    assert_eq!(next("0 0 1W 2 *", day(2024, 3, 1)), Some(day(2025, 2, 3)));
    assert_eq!(next("0 0 1W * *", day(2024, 8, 15)), Some(day(2024, 9, 2)));
    // 31st a Sunday (March 2024): Friday 29th, not Monday April 1st. Months without a
    // 31st do not fire (April 2024); May 31st 2024 is a Friday.
    assert_eq!(
        next_days("0 0 31W * *", day(2024, 3, 1), 2),
        [day(2024, 3, 29), day(2024, 5, 31)]
    );
    // 30th a Saturday (November 2024) -> Friday 29th.
    assert_eq!(
        next("0 0 30W * *", day(2024, 11, 1)),
        Some(day(2024, 11, 29))
    );
}

#[test]
fn lw_is_the_last_weekday_of_the_month() {
    assert_eq!(
        next_days("0 0 LW * *", day(2025, 4, 30), 7),
        [
            day(2025, 5, 30),  // 31st a Saturday
            day(2025, 6, 30),  // Monday
            day(2025, 7, 31),  // Thursday
            day(2025, 8, 29),  // 31st a Sunday
            day(2025, 9, 30),  // Tuesday
            day(2025, 10, 31), // Friday
            day(2025, 11, 28), // 30th a Sunday
        ]
    );
    assert_eq!(
        next("0 0 lw 2 *", day(2024, 1, 1)),
        Some(day(2024, 2, 29)),
        "leap February ends on a Thursday"
    );
}

#[test]
fn hash_is_the_nth_weekday_of_the_month() {
    // Third Fridays: February 16th, March 15th, April 19th 2024.
    let third_fridays = [day(2024, 2, 16), day(2024, 3, 15), day(2024, 4, 19)];
    assert_eq!(next_days("0 0 * * 5#3", day(2024, 2, 1), 3), third_fridays);
    assert_eq!(
        next_days("0 0 ? * FRI#3", day(2024, 2, 1), 3),
        third_fridays
    );
    // First Monday: April 1st 2024 is one.
    assert_eq!(next("0 0 * * 1#1", day(2024, 3, 5)), Some(day(2024, 4, 1)));
    // Fifth Fridays exist only in some months: not in February or April 2024.
    assert_eq!(
        next_days("0 0 * * 5#5", day(2024, 2, 1), 3),
        [day(2024, 3, 29), day(2024, 5, 31), day(2024, 8, 30)]
    );
    // A fifth Thursday in February only in leap years starting on a Thursday.
    assert_eq!(next("0 0 * 2 4#5", day(2024, 3, 1)), Some(day(2052, 2, 29)));
    // Wednesday's name holds a W and is still a weekday: second and last Wednesdays
    // of October 2024 are the 9th and 30th.
    assert_eq!(
        next_days("0 0 * * WED#2,wedL", day(2024, 10, 1), 2),
        [day(2024, 10, 9), day(2024, 10, 30)]
    );
    assert_eq!(
        next("0 0 * * MON-WED", day(2024, 10, 1)),
        Some(day(2024, 10, 2))
    );
    // Sunday as 7; first and third Sunday together.
    assert_eq!(
        next_days("0 0 * * 7#1,0#3", day(2024, 9, 1), 3),
        [day(2024, 9, 15), day(2024, 10, 6), day(2024, 10, 20)]
    );
}

#[test]
fn month_dependent_days_follow_the_either_field_rule() {
    // Both day fields restricted: the last day of the month or its last Friday.
    assert_eq!(
        next_days("0 0 L * 5L", day(2024, 2, 1), 4),
        [
            day(2024, 2, 23),
            day(2024, 2, 29),
            day(2024, 3, 29),
            day(2024, 3, 31),
        ]
    );
    // In a time zone, the local calendar decides: New York's last day of February 2024
    // begins at 05:00 UTC.
    let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let offset = |t: i64| {
        let ts = jiff::Timestamp::from_second(t).unwrap();
        i64::from(ny.to_offset(ts).seconds())
    };
    let cron = Cron::parse("0 0 L * *").unwrap();
    assert_eq!(
        cron.next_in_zone(day(2024, 2, 1), &offset),
        Some(at(2024, 2, 29, 5, 0, 0))
    );
}

/// A date as (year, month, day).
type Ymd = (i32, u8, u8);

#[test]
fn cronexprs_own_cases_for_the_specifiers() {
    // The expected dates of hashicorp/cronexpr's test table, as (from, next).
    let cases: &[(&str, &[(Ymd, Ymd)])] = &[
        (
            "0 0 * * 6#5",
            &[
                ((2013, 9, 2), (2013, 11, 30)),
                ((2013, 11, 30), (2014, 3, 29)),
                ((2014, 3, 29), (2014, 5, 31)),
                ((2014, 5, 31), (2014, 8, 30)),
                ((2014, 8, 30), (2014, 11, 29)),
            ],
        ),
        (
            "0 0 14W * *",
            &[
                ((2013, 3, 31), (2013, 4, 15)),
                ((2013, 8, 31), (2013, 9, 13)),
            ],
        ),
        (
            "0 0 30W * *",
            &[
                ((2013, 3, 2), (2013, 3, 29)),
                ((2013, 6, 2), (2013, 6, 28)),
                ((2013, 9, 2), (2013, 9, 30)),
                ((2013, 11, 2), (2013, 11, 29)),
            ],
        ),
        (
            "0 0 L * *",
            &[
                ((2013, 9, 2), (2013, 9, 30)),
                ((2014, 1, 1), (2014, 1, 31)),
                ((2014, 2, 1), (2014, 2, 28)),
                ((2016, 2, 15), (2016, 2, 29)),
            ],
        ),
        (
            "0 0 LW * *",
            &[
                ((2013, 9, 2), (2013, 9, 30)),
                ((2013, 11, 2), (2013, 11, 29)),
                ((2014, 8, 15), (2014, 8, 29)),
            ],
        ),
    ];
    for (expr, times) in cases {
        for &((y, m, d), (ny, nm, nd)) in *times {
            assert_eq!(
                next(expr, day(y, m, d)),
                Some(day(ny, nm, nd)),
                "{expr} after {y}-{m}-{d}"
            );
        }
    }
}
