//! The HCL function library available inside jobspecs.
//!
//! Mirrors the pure subset of Nomad's jobspec2 functions (which come from
//! go-cty's stdlib). Functions touching the filesystem or the clock/randomness
//! (`file`, `timestamp`, `uuidv4`, ...) are refused: orch-core is pure, and
//! the CLI is expected to inline file contents before calling the parser.
//!
//! [`call`] looks the name up in one table per family: `strings` (case, trimming,
//! `format`, `join`/`split`), `collections` (lists and maps), `numeric`, and
//! `convert` (type conversion and JSON/URL encoding). The argument helpers
//! (`arity`, `s`, `n`, `list`, `obj`, `idx`) are shared by all of them.

use serde_json::{Map, Value};

use super::eval::{to_num, to_str, type_name};

mod collections;
mod convert;
mod numeric;
mod strings;

/// `file(path)` and `fileexists(path)` through the caller's [`super::FileSource`]
/// (only the CLI gives one: it reads beside the jobspec).
pub(crate) fn call_file(files: &dyn super::FileSource, name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    let path = s(name, &a[0])?;
    match name {
        "fileexists" => Ok(Value::Bool(files.exists(&path))),
        _ => files.read(&path).map(Value::String),
    }
}

/// Functions that need I/O, a clock or randomness and are therefore refused.
const IMPURE: &[&str] = &[
    "file",
    "fileexists",
    "fileset",
    "filebase64",
    "templatefile",
    "timestamp",
    "uuidv4",
    "uuidv5",
    "bcrypt",
    "plantimestamp",
];

type R = Result<Value, String>;

/// One library function: called with its own name (several names share an
/// implementation) and its evaluated arguments.
type Builtin = fn(&str, &[Value]) -> R;

/// Every family's table of functions, searched in turn by [`call`].
const FAMILIES: &[&[(&str, Builtin)]] = &[
    strings::FUNCTIONS,
    collections::FUNCTIONS,
    numeric::FUNCTIONS,
    convert::FUNCTIONS,
];

/// Checks that `args` has between `min` and `max` elements (`usize::MAX`: no upper bound).
fn arity(name: &str, args: &[Value], min: usize, max: usize) -> Result<(), String> {
    if args.len() < min || args.len() > max {
        let want = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(format!(
            "function {name:?} takes {want} argument(s), got {}",
            args.len()
        ));
    }
    Ok(())
}

/// `v` as a string (numbers and bools convert, as in HCL).
fn s(name: &str, v: &Value) -> Result<String, String> {
    to_str(v).ok_or_else(|| format!("function {name:?} expects a string, got {}", type_name(v)))
}

/// `v` as a number (numeric strings convert, as in HCL).
fn n(name: &str, v: &Value) -> Result<f64, String> {
    to_num(v).ok_or_else(|| format!("function {name:?} expects a number, got {}", type_name(v)))
}

/// `v` as a list.
fn list<'v>(name: &str, v: &'v Value) -> Result<&'v Vec<Value>, String> {
    match v {
        Value::Array(a) => Ok(a),
        other => Err(format!(
            "function {name:?} expects a list, got {}",
            type_name(other)
        )),
    }
}

/// `v` as a map.
fn obj<'v>(name: &str, v: &'v Value) -> Result<&'v Map<String, Value>, String> {
    match v {
        Value::Object(o) => Ok(o),
        other => Err(format!(
            "function {name:?} expects a map, got {}",
            type_name(other)
        )),
    }
}

/// `v` as a non-negative whole number, for indexes and counts.
fn idx(name: &str, v: &Value) -> Result<usize, String> {
    let f = n(name, v)?;
    if f < 0.0 || f.fract() != 0.0 || f > 1.0e9 {
        return Err(format!(
            "function {name:?} expects a non-negative whole number"
        ));
    }
    Ok(f as usize)
}

/// Calls the function `name` with already-evaluated arguments.
pub(crate) fn call(name: &str, a: Vec<Value>) -> R {
    if IMPURE.contains(&name) {
        return Err(format!(
            "function {name:?} is not supported: jobspec parsing is pure (no file system, clock or randomness); inline the value or pass it as a variable"
        ));
    }
    let found = FAMILIES
        .iter()
        .flat_map(|family| family.iter())
        .find(|(n, _)| *n == name);
    match found {
        Some((_, f)) => f(name, &a),
        None => Err(format!("call to unknown function {name:?}")),
    }
}
