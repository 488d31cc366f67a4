//! Serde building blocks shared by the model: values that must look like Nomad's JSON on
//! the wire yet survive a round trip through postcard, which is not self-describing.
//!
//! Two rules keep every model type postcard-safe: no `skip_serializing_if`, and anything
//! dynamically typed goes through [`FreeForm`].

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// Nanoseconds, the unit of every duration in Nomad's JSON API (`"Delay": 15000000000`).
pub type Nanos = i64;

/// One second in [`Nanos`], for writing defaults readably.
pub const SECOND: Nanos = 1_000_000_000;

/// Serde default for booleans Nomad defaults to true when absent.
pub fn default_true() -> bool {
    true
}

/// Free-form configuration (a driver's `config`, a scaling `policy`): any JSON value.
///
/// In JSON it is the value itself; in binary formats (postcard snapshots) it is the value's
/// JSON text, because postcard cannot carry self-describing data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FreeForm(pub BTreeMap<String, serde_json::Value>);

impl FreeForm {
    /// True when no key is set, which Nomad treats the same as an absent block.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for FreeForm {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            self.0.serialize(s)
        } else {
            let text = serde_json::to_string(&self.0).map_err(serde::ser::Error::custom)?;
            s.serialize_str(&text)
        }
    }
}

impl<'de> Deserialize<'de> for FreeForm {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let map = Option::<BTreeMap<String, serde_json::Value>>::deserialize(d)?;
            Ok(FreeForm(map.unwrap_or_default()))
        } else {
            let text = String::deserialize(d)?;
            serde_json::from_str(&text)
                .map(FreeForm)
                .map_err(D::Error::custom)
        }
    }
}

/// A point in time as Unix nanoseconds. Nomad writes some times as RFC 3339 strings
/// (task states) and some as integers (`CreateTime`); this type is the string kind.
/// Zero is Go's zero time, written `"0001-01-01T00:00:00Z"` as Nomad does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() {
            return s.serialize_i64(self.0);
        }
        if self.0 == 0 {
            return s.serialize_str(GO_ZERO_TIME);
        }
        let t = jiff::Timestamp::from_nanosecond(i128::from(self.0))
            .map_err(serde::ser::Error::custom)?;
        // RFC 3339 in UTC with the fraction Go prints (none when whole seconds).
        s.serialize_str(&t.to_string())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if !d.is_human_readable() {
            return i64::deserialize(d).map(Timestamp);
        }
        let text = Option::<String>::deserialize(d)?.unwrap_or_default();
        if text.is_empty() || text == GO_ZERO_TIME {
            return Ok(Timestamp(0));
        }
        let t: jiff::Timestamp = text.parse().map_err(|e| {
            D::Error::custom(format!("expected an RFC 3339 time, got {text:?}: {e}"))
        })?;
        i64::try_from(t.as_nanosecond())
            .map(Timestamp)
            .map_err(|_| D::Error::custom(format!("time {text:?} is out of range")))
    }
}

/// Removes every `null` member of every object, recursively.
///
/// Nomad's own tools write unset pointer fields as `null` (`"Update": null`); after this
/// pass such fields are simply absent and serde's defaults apply, so one rule (absent
/// means default) covers both spellings.
pub fn strip_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// True for values that carry no information (`""`, `0`, `false`, `[]`, `{}`, `null`).
///
/// Used to tell a harmless unknown field written by a Nomad tool (`"Kind": ""`) from one
/// that asks for a feature orch does not have, which must be refused, not ignored.
pub fn is_empty_value(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => true,
        serde_json::Value::Bool(b) => !b,
        serde_json::Value::Number(n) => n.as_f64() == Some(0.0),
        serde_json::Value::String(s) => s.is_empty(),
        serde_json::Value::Array(a) => a.iter().all(is_empty_value),
        serde_json::Value::Object(o) => o.values().all(is_empty_value),
    }
}

#[cfg(test)]
mod tests;
