//! Type conversion (`tostring`, `tonumber`, `tobool`, `tolist`, `toset`, `tomap`) and
//! encoding (`jsonencode`, `jsondecode`, `urlencode`) functions.

use serde_json::Value;

use super::super::eval::{num, to_bool, type_name};
use super::collections::distinct;
use super::{Builtin, R, arity, list, n, obj, s};

/// The conversion and encoding families, by HCL name.
pub(super) const FUNCTIONS: &[(&str, Builtin)] = &[
    ("tostring", tostring),
    ("tonumber", tonumber),
    ("tobool", tobool),
    ("tolist", tolist),
    ("toset", tolist),
    ("tomap", tomap),
    ("jsonencode", jsonencode),
    ("jsondecode", jsondecode),
    ("urlencode", urlencode),
];

/// `tostring(v)`; null stays null.
fn tostring(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    s(name, &a[0]).map(Value::String)
}

/// `tonumber(v)`; null stays null.
fn tonumber(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    n(name, &a[0]).map(num)
}

/// `tobool(v)`; null stays null.
fn tobool(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    to_bool(&a[0])
        .map(Value::Bool)
        .ok_or_else(|| format!("tobool: cannot convert {} to bool", type_name(&a[0])))
}

/// `tolist(list)` as it is, and `toset(list)` without repeats.
fn tolist(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    let l = list(name, &a[0])?;
    if name == "toset" {
        return Ok(Value::Array(distinct(l)));
    }
    Ok(Value::Array(l.clone()))
}

/// `tomap(map)`.
fn tomap(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    obj(name, &a[0]).map(|o| Value::Object(o.clone()))
}

/// `jsonencode(v)`.
fn jsonencode(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    serde_json::to_string(&a[0])
        .map(Value::String)
        .map_err(|e| e.to_string())
}

/// `jsondecode(string)`.
fn jsondecode(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    serde_json::from_str::<Value>(&s(name, &a[0])?)
        .map_err(|e| format!("jsondecode: invalid JSON: {e}"))
}

/// `urlencode(string)`: every byte but `A-Za-z0-9-_.~` as `%XX`.
fn urlencode(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    let x = s(name, &a[0])?;
    let mut out = String::new();
    for b in x.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(Value::String(out))
}
