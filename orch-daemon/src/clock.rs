//! The wall clock and fresh IDs, for every layer of the daemon (server, HTTP, client and
//! CLI alike): orch-core takes time and IDs as arguments, so the daemon makes them here,
//! in one place.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix nanoseconds now (0 if the clock reads before 1970).
pub fn now_nanos() -> i64 {
    unix_nanos(SystemTime::now())
}

/// Unix nanoseconds of `t` (0 before 1970, `i64::MAX` past 2262).
pub fn unix_nanos(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Unix nanoseconds as RFC 3339 UTC to the second (`2024-01-02T03:04:05Z`), as Nomad's
/// CLI and file listings show times; empty when out of range.
pub fn rfc3339_seconds(nanos: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(nanos))
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Unix nanoseconds as RFC 3339 UTC with Go's fraction (none for whole seconds), as
/// Nomad's API writes times such as a token's `ExpirationTime`.
pub fn rfc3339_nanos(nanos: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(nanos))
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// An RFC 3339 time as Unix nanoseconds; `None` when it does not parse or is out of range.
pub fn parse_rfc3339_nanos(text: &str) -> Option<i64> {
    let t: jiff::Timestamp = text.parse().ok()?;
    i64::try_from(t.as_nanosecond()).ok()
}

/// A random UUID v4 string: the daemon's IDs (orch-core never makes its own).
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests;
