//! Go durations, read and written exactly as Go's `time.ParseDuration` and
//! `time.Duration.String()` do, because Nomad's jobspecs, agent config, query parameters
//! and messages all use them. The one place in orch that parses or prints one.
//!
//! Written here rather than taken from a crate: the crates that parse "human" durations
//! accept other syntaxes (bare numbers, `1 day`), and Nomad refuses those.

use crate::model::Nanos;

/// Why a duration was refused; the message says what Go expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing to parse.
    #[error("empty duration (expected e.g. \"10s\", \"5m\" or \"1h30m\")")]
    Empty,
    /// A number without a unit (`"10"`): Go and Nomad refuse it.
    #[error("missing unit after {0:?} (use ns, us, ms, s, m or h, e.g. \"10s\")")]
    MissingUnit(String),
    /// A unit Go does not know.
    #[error("unknown unit {0:?} (use ns, us, ms, s, m or h)")]
    UnknownUnit(String),
    /// A unit without a number, or a malformed number.
    #[error("missing number before unit in {0:?}")]
    MissingNumber(String),
    /// More than about 292 years.
    #[error("duration {0:?} is out of range")]
    OutOfRange(String),
}

const UNITS: [(&str, u64); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a Go duration (`300ms`, `1.5s`, `-2m`, `1h2m3s`; `0` alone is allowed) into
/// nanoseconds, with Go's integer arithmetic (no rounding surprises).
pub fn parse_go_duration(s: &str) -> Result<Nanos, DurationError> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(DurationError::Empty);
    }
    let out_of_range = || DurationError::OutOfRange(s.to_string());
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let (nanos, next) = parse_term(rest, s)?;
        total = total.checked_add(nanos).ok_or_else(out_of_range)?;
        rest = next;
    }
    let total = i64::try_from(total).map_err(|_| out_of_range())?;
    Ok(if neg { -total } else { total })
}

/// One `<number><unit>` term at the start of `rest`: its nanoseconds and what follows.
fn parse_term<'a>(rest: &'a str, whole: &str) -> Result<(u64, &'a str), DurationError> {
    let int_len = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (int_txt, after) = rest.split_at(int_len);
    let (frac_txt, after) = match after.strip_prefix('.') {
        Some(f) => f.split_at(f.find(|c: char| !c.is_ascii_digit()).unwrap_or(f.len())),
        None => ("", after),
    };
    if int_txt.is_empty() && frac_txt.is_empty() {
        return Err(DurationError::MissingNumber(whole.to_string()));
    }
    let unit_len = after
        .find(|c: char| c.is_ascii_digit() || c == '.')
        .unwrap_or(after.len());
    let (unit, next) = after.split_at(unit_len);
    if unit.is_empty() {
        return Err(DurationError::MissingUnit(whole.to_string()));
    }
    let scale = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, scale)| *scale)
        .ok_or_else(|| DurationError::UnknownUnit(unit.to_string()))?;
    let out_of_range = || DurationError::OutOfRange(whole.to_string());
    let int: u64 = if int_txt.is_empty() {
        0
    } else {
        int_txt.parse().map_err(|_| out_of_range())?
    };
    let mut nanos = int.checked_mul(scale).ok_or_else(out_of_range)?;
    // The fraction, digit by digit, as Go does: exact down to the nanosecond.
    let mut place = scale;
    for d in frac_txt.bytes().take(30) {
        place /= 10;
        if place == 0 {
            break;
        }
        nanos = nanos
            .checked_add(u64::from(d - b'0') * place)
            .ok_or_else(out_of_range)?;
    }
    Ok((nanos, next))
}

/// Formats nanoseconds as Go's `time.Duration.String()` (`15s`, `30m0s`, `1h0m0s`,
/// `1.5s`, `250ms`, `0s`), so messages read like Nomad's.
pub fn format_go_duration(n: Nanos) -> String {
    if n == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    if n < 0 {
        out.push('-');
    }
    let u = n.unsigned_abs();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&decimal(u, div));
        out.push_str(unit);
        return out;
    }
    let secs_total = u / 1_000_000_000;
    let (h, m) = (secs_total / 3600, (secs_total % 3600) / 60);
    if h > 0 {
        out.push_str(&format!("{h}h{m}m"));
    } else if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&decimal(u % 60_000_000_000, 1_000_000_000));
    out.push('s');
    out
}

/// `v / div` with the fraction's trailing zeros removed.
fn decimal(v: u64, div: u64) -> String {
    let (whole, rem) = (v / div, v % div);
    if rem == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{rem:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests;
