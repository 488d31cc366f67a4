//! Conversion of evaluated HCL values into the typed JSON shapes Nomad's API
//! expects (strings, integers, nanosecond durations, string maps, ...).
//!
//! Nomad decodes with go-cty conversions, which are lenient between
//! primitives (`"3"` → 3, `3` → `"3"`, `"true"` → true); we mirror that so
//! jobspecs accepted by Nomad are accepted here.

use serde_json::{Map, Value};

use super::eval::{to_bool, to_num, to_str, type_name};

/// The JSON type an attribute decodes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A string (numbers and bools are converted).
    Str,
    /// A whole number.
    Int,
    /// A number, fractions allowed (a device `share`).
    Num,
    /// A boolean.
    Bool,
    /// A Go duration string (or a number of nanoseconds) → integer nanoseconds.
    Dur,
    /// A list of strings.
    StrList,
    /// A map of strings (also accepted in block form, e.g. `meta { ... }`).
    StrMap,
    /// A map of string lists (also accepted in block form, e.g. check `header`).
    StrListMap,
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        let cut: String = s.chars().take(40).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn scalar_str(v: &Value) -> Result<String, String> {
    to_str(v).ok_or_else(|| format!("expected a string, got {}", type_name(v)))
}

/// Converts `v` to the JSON shape of `kind`, or explains why it can't.
pub(crate) fn convert(kind: Kind, v: &Value) -> Result<Value, String> {
    match kind {
        Kind::Str => scalar_str(v).map(Value::String),
        Kind::Int => {
            let f = to_num(v)
                .ok_or_else(|| format!("expected a number, got {} {}", type_name(v), short(v)))?;
            if f.fract() != 0.0 || !f.is_finite() || f.abs() > 9.0e18 {
                return Err(format!("expected a whole number, got {}", short(v)));
            }
            if let Value::Number(n) = v
                && (n.as_i64().is_some() || n.as_u64().is_some())
            {
                return Ok(v.clone());
            }
            Ok(Value::from(f as i64))
        }
        Kind::Num => {
            let f = to_num(v)
                .ok_or_else(|| format!("expected a number, got {} {}", type_name(v), short(v)))?;
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| format!("expected a finite number, got {}", short(v)))
        }
        Kind::Bool => to_bool(v)
            .map(Value::Bool)
            .ok_or_else(|| format!("expected a bool, got {} {}", type_name(v), short(v))),
        Kind::Dur => match v {
            Value::String(s) => crate::duration::parse_go_duration(s)
                .map(Value::from)
                .map_err(|e| format!("invalid duration {s:?}: {e}")),
            Value::Number(n) => n
                .as_i64()
                .map(Value::from)
                .ok_or_else(|| format!("expected a duration, got {n}")),
            other => Err(format!(
                "expected a duration string like \"30s\", got {}",
                type_name(other)
            )),
        },
        Kind::StrList => match v {
            Value::Array(a) => a
                .iter()
                .map(|x| scalar_str(x).map(Value::String))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Err(format!(
                "expected a list of strings, got {} {}",
                type_name(other),
                short(other)
            )),
        },
        Kind::StrMap => match v {
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, x) in o {
                    let s = scalar_str(x).map_err(|e| format!("key {k:?}: {e}"))?;
                    out.insert(k.clone(), Value::String(s));
                }
                Ok(Value::Object(out))
            }
            other => Err(format!(
                "expected a map of strings, got {}",
                type_name(other)
            )),
        },
        Kind::StrListMap => match v {
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, x) in o {
                    let l = convert(Kind::StrList, x).map_err(|e| format!("key {k:?}: {e}"))?;
                    out.insert(k.clone(), l);
                }
                Ok(Value::Object(out))
            }
            other => Err(format!(
                "expected a map of string lists, got {}",
                type_name(other)
            )),
        },
    }
}

#[cfg(test)]
mod tests;
