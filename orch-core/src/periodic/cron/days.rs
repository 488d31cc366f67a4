//! The two day fields of a cron expression, including the entries whose days depend on
//! the month (cronexpr's `L`, `W` and `#` specifiers).
//!
//! Day of month: plain entries, `L` (the month's last day), `LW` (its last weekday) and
//! `15W` (the weekday nearest the 15th: a Saturday moves back to Friday, a Sunday on to
//! Monday, but never across the month's edges, so `1W` on a Saturday is Monday the 3rd
//! and a Sunday on the last day is Friday two days before). A `W` day past the month's
//! end (`31W` in April) does not fire that month, like a plain `31`.
//!
//! Day of week: plain entries, `5L` (the month's last Friday) and `5#3` (its third
//! Friday; `#` takes 1 to 5, and a fifth weekday the month does not have does not fire).
//! Weekday names work in both (`FRIL`, `fri#3`). Each specifier is one comma-separated
//! entry and may be listed with others (`1,15W,L`), as in cronexpr.
//!
//! Matching is by date arithmetic on the day, its weekday and the month's length, so it
//! needs no calendar of its own and stays pure.

use super::{Bits, CronError, DOM, DOW, field_err, parse_entry, parse_value};

/// The day-of-month field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct MonthDays {
    /// Plain days, 1..=31.
    days: Bits,
    /// `L`.
    last: bool,
    /// `LW`.
    last_weekday: bool,
    /// `nW`: the days whose nearest weekday fires.
    nearest_weekday: Bits,
}

/// The day-of-week field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct WeekDays {
    /// Plain weekdays, 0 (Sunday) ..= 6.
    days: Bits,
    /// `dL`: weekdays whose last occurrence in the month fires.
    last: Bits,
    /// `d#n`: stored as `(n - 1) * 7 + d`.
    nth: Bits,
}

/// The day being matched: its day of month, weekday (0 = Sunday) and the number of days
/// in its month.
#[derive(Debug, Clone, Copy)]
pub(super) struct Day {
    pub(super) day: u32,
    pub(super) weekday: u32,
    pub(super) month_len: u32,
}

impl Day {
    /// The weekday of another day `d` of the same month.
    fn weekday_of(&self, d: u32) -> u32 {
        (self.weekday + 35 + d - self.day) % 7
    }

    /// The weekday nearest day `d` of this month, without leaving the month.
    fn nearest_weekday(&self, d: u32) -> u32 {
        match self.weekday_of(d) {
            6 if d > 1 => d - 1,
            6 => d + 2,
            0 if d < self.month_len => d + 1,
            0 => d - 2,
            _ => d,
        }
    }
}

impl MonthDays {
    /// Parses the day-of-month field text.
    pub(super) fn parse(text: &str) -> Result<MonthDays, CronError> {
        let mut out = MonthDays::default();
        for entry in text.split(',') {
            let upper = entry.to_ascii_uppercase();
            if upper == "L" {
                out.last = true;
            } else if upper == "LW" {
                out.last_weekday = true;
            } else if let Some(day) = upper.strip_suffix('W') {
                if day.contains(['-', '/', '*', ',', 'L']) {
                    return Err(field_err(
                        &DOM,
                        format!("{entry:?}: W takes one day (15W), or LW for the last weekday"),
                    ));
                }
                out.nearest_weekday.set(parse_value(&DOM, day)?);
            } else if upper.contains(['L', 'W', '#']) {
                return Err(field_err(
                    &DOM,
                    format!(
                        "{entry:?} is not a day-of-month entry: use L (last day), LW (last weekday) or 15W (weekday nearest the 15th); # is for the day-of-week field"
                    ),
                ));
            } else {
                parse_entry(&DOM, entry, text, &mut out.days)?;
            }
        }
        Ok(out)
    }

    /// Whether `d` matches the field.
    pub(super) fn matches(&self, d: Day) -> bool {
        self.days.has(d.day)
            || (self.last && d.day == d.month_len)
            || (self.last_weekday && d.nearest_weekday(d.month_len) == d.day)
            || (1..=d.month_len)
                .filter(|&w| self.nearest_weekday.has(w))
                .any(|w| d.nearest_weekday(w) == d.day)
    }
}

impl WeekDays {
    /// Parses the day-of-week field text (7 is Sunday, as 0).
    pub(super) fn parse(text: &str) -> Result<WeekDays, CronError> {
        let mut out = WeekDays::default();
        for entry in text.split(',') {
            let upper = entry.to_ascii_uppercase();
            if let Some((day, week)) = upper.split_once('#') {
                let week: u32 = week.parse().ok().filter(|n| (1..=5).contains(n)).ok_or_else(|| {
                    field_err(
                        &DOW,
                        format!("{entry:?}: the week after # must be 1 to 5 (5#3 is the third Friday)"),
                    )
                })?;
                out.nth.set((week - 1) * 7 + weekday(entry, day)?);
            } else if let Some(day) = upper.strip_suffix('L') {
                if day.is_empty() {
                    return Err(field_err(
                        &DOW,
                        "\"L\" alone is not a weekday: write 5L for the last Friday of the month, or L in the day-of-month field for its last day".to_string(),
                    ));
                }
                out.last.set(weekday(entry, day)?);
            } else {
                // Anything else with a W (but `WED`) is refused by `parse_value`.
                parse_entry(&DOW, entry, text, &mut out.days)?;
            }
        }
        if out.days.has(7) {
            out.days.set(0);
        }
        Ok(out)
    }

    /// Whether `d` matches the field.
    pub(super) fn matches(&self, d: Day) -> bool {
        self.days.has(d.weekday)
            || (self.last.has(d.weekday) && d.day + 7 > d.month_len)
            || self.nth.has((d.day - 1) / 7 * 7 + d.weekday)
    }
}

/// One weekday (number or name) before `L` or `#`; 7 is Sunday.
fn weekday(entry: &str, day: &str) -> Result<u32, CronError> {
    if day.contains(['-', '/', '*', ',']) {
        return Err(field_err(
            &DOW,
            format!("{entry:?}: L and # take one weekday (5L, 5#3), not a range or list"),
        ));
    }
    Ok(parse_value(&DOW, day)? % 7)
}
