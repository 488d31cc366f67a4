//! Cron expressions as Nomad reads them (its `cronexpr` library), evaluated in UTC.
//!
//! Field layouts, by count (Nomad's, which differ from Quartz and croner):
//! - 5 fields: `minute hour day-of-month month day-of-week` (second 0, any year);
//! - 6 fields: the same plus `year` (still second 0);
//! - 7 fields: `second minute hour day-of-month month day-of-week year`.
//!
//! Entries are `*`, `?` (day fields), numbers, `a-b` ranges, `/step` after `*`, a range
//! or a start, comma lists, month names `JAN`-`DEC` and weekday names `SUN`-`SAT` (0 or 7
//! is Sunday). Predefined `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
//! `@midnight` and `@hourly`. When both day fields are restricted a day matching either
//! one matches (Vixie cron).
//!
//! The day fields also take cronexpr's month-dependent specifiers (see `cron_days`):
//! `L` (last day of the month), `LW` (its last weekday) and `15W` (the weekday nearest
//! the 15th, never crossing into another month) in day-of-month; `5L` (the last Friday)
//! and `5#3` (the third Friday) in day-of-week.
//!
//! Own parser rather than the `croner` crate: croner reads six fields as
//! seconds-first and has no year field, so Nomad jobspecs would silently change meaning;
//! it would also bring `chrono`, `derive_builder` and `strum` for ~300 lines of logic.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

mod days;

use days::{Day, MonthDays, WeekDays};

/// The first and last year a cron expression can name (cronexpr's bounds).
const FIRST_YEAR: i32 = 1970;
const LAST_YEAR: i32 = 2099;

/// Why a cron expression was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    /// Wrong number of fields.
    #[error(
        "expected 5 to 7 fields (minute hour day-of-month month day-of-week [year], or second first with 7), got {0}"
    )]
    FieldCount(usize),
    /// An unknown `@` shorthand.
    #[error(
        "unknown predefined expression {0:?}; use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"
    )]
    Predefined(String),
    /// A field entry that does not parse or is out of range.
    #[error("{field} field: {message}")]
    Field {
        /// `second`, `minute`, ... `year`.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// A set of small integers (values 0..192) as a bitset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Bits([u64; 3]);

impl Bits {
    fn set(&mut self, v: u32) {
        self.0[(v / 64) as usize] |= 1 << (v % 64);
    }
    fn has(&self, v: u32) -> bool {
        v < 192 && self.0[(v / 64) as usize] & (1 << (v % 64)) != 0
    }
}

/// One field's bounds and names.
struct Spec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// Offset subtracted before storing (years are stored from 1970).
    offset: u32,
}

impl Spec {
    /// A field of plain numbers from `min` to `max`, no names.
    const fn numeric(name: &'static str, min: u32, max: u32) -> Spec {
        Spec {
            name,
            min,
            max,
            names: &[],
            offset: 0,
        }
    }
}

const SECOND: Spec = Spec::numeric("second", 0, 59);
const MINUTE: Spec = Spec::numeric("minute", 0, 59);
const HOUR: Spec = Spec::numeric("hour", 0, 23);
const DOM: Spec = Spec::numeric("day-of-month", 1, 31);
const MONTH: Spec = Spec {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
    offset: 0,
};
const DOW: Spec = Spec {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    offset: 0,
};
const YEAR: Spec = Spec {
    name: "year",
    min: FIRST_YEAR as u32,
    max: LAST_YEAR as u32,
    names: &[],
    offset: FIRST_YEAR as u32,
};

/// A parsed cron expression. [`Cron::next_after`] finds launches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    seconds: Bits,
    minutes: Bits,
    hours: Bits,
    dom: MonthDays,
    months: Bits,
    dow: WeekDays,
    years: Bits,
    dom_any: bool,
    dow_any: bool,
}

impl std::str::FromStr for Cron {
    type Err = CronError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cron::parse(s)
    }
}

impl Cron {
    /// Parses an expression (see the module documentation for the accepted syntax).
    pub fn parse(expr: &str) -> Result<Cron, CronError> {
        let expr = expr.trim();
        let expanded = if let Some(name) = expr.strip_prefix('@') {
            match name.to_ascii_lowercase().as_str() {
                "yearly" | "annually" => "0 0 0 1 1 * *",
                "monthly" => "0 0 0 1 * * *",
                "weekly" => "0 0 0 * * 0 *",
                "daily" | "midnight" => "0 0 0 * * * *",
                "hourly" => "0 0 * * * * *",
                _ => return Err(CronError::Predefined(expr.to_string())),
            }
        } else {
            expr
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let (second, rest) = match fields.len() {
            5 | 6 => ("0", &fields[..]),
            7 => (fields[0], &fields[1..]),
            n => return Err(CronError::FieldCount(n)),
        };
        let year = rest.get(5).copied().unwrap_or("*");
        Ok(Cron {
            seconds: parse_field(&SECOND, second)?,
            minutes: parse_field(&MINUTE, rest[0])?,
            hours: parse_field(&HOUR, rest[1])?,
            dom: MonthDays::parse(rest[2])?,
            months: parse_field(&MONTH, rest[3])?,
            dow: WeekDays::parse(rest[4])?,
            years: parse_field(&YEAR, year)?,
            dom_any: matches!(rest[2], "*" | "?"),
            dow_any: matches!(rest[4], "*" | "?"),
        })
    }

    /// The first matching second strictly after `after` (Unix seconds, UTC), or `None`
    /// when the expression never matches again before the end of 2099.
    pub fn next_after(&self, after: i64) -> Option<i64> {
        let mut t = after.checked_add(1)?.max(year_start(FIRST_YEAR)?);
        loop {
            let dt = utc_datetime(t)?;
            let (year, month) = (i32::from(dt.year()), dt.month() as u8);
            if year > LAST_YEAR {
                return None;
            }
            if !self.years.has((year - FIRST_YEAR) as u32) {
                t = year_start(year + 1)?;
            } else if !self.months.has(u32::from(month)) {
                t = next_month_start(year, month)?;
            } else if !self.day_matches(&dt) {
                t = t - t.rem_euclid(86_400) + 86_400;
            } else if !self.hours.has(dt.hour() as u32) {
                t = t - t.rem_euclid(3_600) + 3_600;
            } else if !self.minutes.has(dt.minute() as u32) {
                t = t - t.rem_euclid(60) + 60;
            } else if !self.seconds.has(dt.second() as u32) {
                t += 1;
            } else {
                return Some(t);
            }
        }
    }

    /// The first matching instant strictly after `after` (Unix seconds) when the
    /// expression is read in a time zone whose UTC offset at an instant is `offset`.
    /// Local times skipped by a DST gap do not fire; a local time that occurs twice
    /// (DST fall-back) fires once, at its first occurrence.
    pub fn next_in_zone(&self, after: i64, offset: &dyn Fn(i64) -> i64) -> Option<i64> {
        // Work on the local clock as if it were UTC, then map back to instants.
        let mut local = after.checked_add(offset(after))?;
        for _ in 0..10_000 {
            let l = self.next_after(local)?;
            // Offsets in force within a day of `l` cover any transition near it.
            let first = [l - 86_400, l, l + 86_400]
                .into_iter()
                .map(|probe| l - offset(probe))
                .filter(|u| *u > after && u + offset(*u) == l)
                .min();
            if first.is_some() {
                return first;
            }
            local = l; // `l` does not exist locally (DST gap): look further.
        }
        None
    }

    fn day_matches(&self, dt: &DateTime) -> bool {
        let day = Day {
            day: dt.day() as u32,
            weekday: dt.weekday().to_sunday_zero_offset() as u32,
            month_len: dt.days_in_month() as u32,
        };
        let dom = self.dom.matches(day);
        let dow = self.dow.matches(day);
        match (self.dom_any, self.dow_any) {
            (true, true) => true,
            (true, false) => dow,
            (false, true) => dom,
            (false, false) => dom || dow,
        }
    }
}

/// The UTC calendar date and clock time of Unix second `t`.
fn utc_datetime(t: i64) -> Option<DateTime> {
    let ts = jiff::Timestamp::from_second(t).ok()?;
    Some(TimeZone::UTC.to_datetime(ts))
}

/// Unix seconds of midnight UTC at the start of `date`.
fn midnight_utc(date: Date) -> Option<i64> {
    let midnight = date.to_datetime(jiff::civil::Time::midnight());
    Some(TimeZone::UTC.to_timestamp(midnight).ok()?.as_second())
}

fn year_start(year: i32) -> Option<i64> {
    midnight_utc(Date::new(i16::try_from(year).ok()?, 1, 1).ok()?)
}

/// Midnight of the first day of the month after `year`-`month`.
fn next_month_start(year: i32, month: u8) -> Option<i64> {
    let total = i32::from(month);
    let (y, m) = (year + total.div_euclid(12), total.rem_euclid(12) + 1);
    midnight_utc(Date::new(i16::try_from(y).ok()?, i8::try_from(m).ok()?, 1).ok()?)
}

fn field_err(spec: &Spec, message: String) -> CronError {
    CronError::Field {
        field: spec.name,
        message,
    }
}

fn parse_value(spec: &Spec, s: &str) -> Result<u32, CronError> {
    let upper = s.to_ascii_uppercase();
    if let Some(i) = spec.names.iter().position(|n| *n == upper) {
        // Month names count from 1, weekday names from 0.
        return Ok(i as u32 + spec.min);
    }
    if upper.contains(['L', 'W', '#']) {
        return Err(field_err(
            spec,
            format!(
                "{s:?}: the L, W and # specifiers are only for single days: L, LW or 15W in day-of-month, 5L or 5#3 in day-of-week"
            ),
        ));
    }
    let v: u32 = s.parse().map_err(|_| {
        field_err(
            spec,
            format!(
                "{s:?} is not a number{}",
                if spec.names.is_empty() {
                    String::new()
                } else {
                    format!(" or one of {}", spec.names.join(", "))
                }
            ),
        )
    })?;
    if v < spec.min || v > spec.max {
        return Err(field_err(
            spec,
            format!("{v} is out of range {}-{}", spec.min, spec.max),
        ));
    }
    Ok(v)
}

fn parse_field(spec: &Spec, text: &str) -> Result<Bits, CronError> {
    let mut bits = Bits::default();
    for entry in text.split(',') {
        parse_entry(spec, entry, text, &mut bits)?;
    }
    Ok(bits)
}

/// Adds one comma-separated entry of `text` (a value, range, `*` or stepped form) to
/// `bits`.
fn parse_entry(spec: &Spec, entry: &str, text: &str, bits: &mut Bits) -> Result<(), CronError> {
    let (range, step) = match entry.split_once('/') {
        Some((r, s)) => {
            let step: u32 =
                s.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                    field_err(spec, format!("step {s:?} must be a positive number"))
                })?;
            (r, Some(step))
        }
        None => (entry, None),
    };
    let (lo, hi) = if range == "*" || (range == "?" && spec.name.starts_with("day")) {
        (spec.min, spec.max)
    } else if let Some((a, b)) = range.split_once('-') {
        (parse_value(spec, a)?, parse_value(spec, b)?)
    } else if range.is_empty() {
        return Err(field_err(spec, format!("empty entry in {text:?}")));
    } else {
        let v = parse_value(spec, range)?;
        // `5/10` means from 5 to the end in steps of 10.
        (v, if step.is_some() { spec.max } else { v })
    };
    if lo > hi {
        return Err(field_err(
            spec,
            format!("range {range:?} starts after it ends"),
        ));
    }
    let mut v = lo;
    while v <= hi {
        bits.set(v - spec.offset);
        v += step.unwrap_or(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
