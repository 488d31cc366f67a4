//! The HCL function library available inside jobspecs.
//!
//! Mirrors the pure subset of Nomad's jobspec2 functions (which come from
//! go-cty's stdlib). Functions touching the filesystem or the clock/randomness
//! (`file`, `timestamp`, `uuidv4`, ...) are refused: orch-core is pure, and
//! the CLI is expected to inline file contents before calling the parser.

use serde_json::{Map, Value};

use super::eval::{num, to_bool, to_num, to_str, type_name, values_equal};
use super::format::format;

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

fn s(name: &str, v: &Value) -> Result<String, String> {
    to_str(v).ok_or_else(|| format!("function {name:?} expects a string, got {}", type_name(v)))
}

fn n(name: &str, v: &Value) -> Result<f64, String> {
    to_num(v).ok_or_else(|| format!("function {name:?} expects a number, got {}", type_name(v)))
}

fn list<'v>(name: &str, v: &'v Value) -> Result<&'v Vec<Value>, String> {
    match v {
        Value::Array(a) => Ok(a),
        other => Err(format!(
            "function {name:?} expects a list, got {}",
            type_name(other)
        )),
    }
}

fn obj<'v>(name: &str, v: &'v Value) -> Result<&'v Map<String, Value>, String> {
    match v {
        Value::Object(o) => Ok(o),
        other => Err(format!(
            "function {name:?} expects a map, got {}",
            type_name(other)
        )),
    }
}

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
    let a0 = a.first().cloned().unwrap_or(Value::Null);
    let a1 = a.get(1).cloned().unwrap_or(Value::Null);
    match name {
        "upper" | "lower" | "trimspace" | "strrev" | "chomp" | "title" => {
            arity(name, &a, 1, 1)?;
            let x = s(name, &a0)?;
            Ok(Value::String(match name {
                "upper" => x.to_uppercase(),
                "lower" => x.to_lowercase(),
                "trimspace" => x.trim().to_string(),
                "strrev" => x.chars().rev().collect(),
                "chomp" => x.trim_end_matches(['\n', '\r']).to_string(),
                _ => title(&x),
            }))
        }
        "trim" | "trimprefix" | "trimsuffix" => {
            arity(name, &a, 2, 2)?;
            let x = s(name, &a0)?;
            let y = s(name, &a1)?;
            Ok(Value::String(match name {
                "trim" => x.trim_matches(|c| y.contains(c)).to_string(),
                "trimprefix" => x.strip_prefix(y.as_str()).unwrap_or(&x).to_string(),
                _ => x.strip_suffix(y.as_str()).unwrap_or(&x).to_string(),
            }))
        }
        "replace" => {
            arity(name, &a, 3, 3)?;
            let x = s(name, &a0)?;
            let from = s(name, &a1)?;
            let to = s(name, &a[2])?;
            if from.is_empty() {
                return Ok(Value::String(x));
            }
            Ok(Value::String(x.replace(&from, &to)))
        }
        "substr" => {
            arity(name, &a, 3, 3)?;
            let x: Vec<char> = s(name, &a0)?.chars().collect();
            let off = n(name, &a1)?;
            let len = n(name, &a[2])?;
            let start = if off < 0.0 {
                (x.len() as f64 + off).max(0.0) as usize
            } else {
                (off as usize).min(x.len())
            };
            let end = if len < 0.0 {
                x.len()
            } else {
                start.saturating_add(len as usize).min(x.len())
            };
            Ok(Value::String(x[start..end].iter().collect()))
        }
        "indent" => {
            arity(name, &a, 2, 2)?;
            let pad = " ".repeat(idx(name, &a0)?.min(1000));
            let x = s(name, &a1)?;
            Ok(Value::String(x.replace('\n', &format!("\n{pad}"))))
        }
        "format" => {
            arity(name, &a, 1, usize::MAX)?;
            format(&s(name, &a0)?, &a[1..]).map(Value::String)
        }
        "join" => {
            arity(name, &a, 2, usize::MAX)?;
            let sep = s(name, &a0)?;
            let mut parts = Vec::new();
            for l in &a[1..] {
                for item in list(name, l)? {
                    parts.push(s(name, item)?);
                }
            }
            Ok(Value::String(parts.join(&sep)))
        }
        "split" => {
            arity(name, &a, 2, 2)?;
            let sep = s(name, &a0)?;
            let x = s(name, &a1)?;
            if sep.is_empty() {
                return Ok(Value::Array(
                    x.chars().map(|c| Value::String(c.into())).collect(),
                ));
            }
            Ok(Value::Array(
                x.split(sep.as_str())
                    .map(|p| Value::String(p.into()))
                    .collect(),
            ))
        }
        "concat" => {
            let mut out = Vec::new();
            for l in &a {
                out.extend(list(name, l)?.iter().cloned());
            }
            Ok(Value::Array(out))
        }
        "length" => {
            arity(name, &a, 1, 1)?;
            Ok(Value::from(match &a0 {
                Value::Array(x) => x.len(),
                Value::Object(o) => o.len(),
                Value::String(x) => x.chars().count(),
                other => {
                    return Err(format!(
                        "function \"length\" cannot take a {}",
                        type_name(other)
                    ));
                }
            }))
        }
        "lookup" => {
            arity(name, &a, 2, 3)?;
            let m = obj(name, &a0)?;
            let k = s(name, &a1)?;
            match (m.get(&k), a.get(2)) {
                (Some(v), _) => Ok(v.clone()),
                (None, Some(d)) => Ok(d.clone()),
                (None, None) => Err(format!("lookup: key {k:?} not found and no default given")),
            }
        }
        "merge" => {
            let mut out = Map::new();
            for m in &a {
                if m.is_null() {
                    continue;
                }
                for (k, v) in obj(name, m)? {
                    out.insert(k.clone(), v.clone());
                }
            }
            Ok(Value::Object(out))
        }
        "coalesce" => a
            .iter()
            .find(|v| !v.is_null() && v.as_str() != Some(""))
            .cloned()
            .ok_or_else(|| "coalesce: no non-null, non-empty argument".to_string()),
        "coalescelist" => a
            .iter()
            .find(|v| v.as_array().is_some_and(|l| !l.is_empty()))
            .cloned()
            .ok_or_else(|| "coalescelist: no non-empty list argument".to_string()),
        "min" | "max" => {
            arity(name, &a, 1, usize::MAX)?;
            let mut best = n(name, &a0)?;
            for v in &a[1..] {
                let x = n(name, v)?;
                best = if name == "min" {
                    best.min(x)
                } else {
                    best.max(x)
                };
            }
            Ok(num(best))
        }
        "abs" | "ceil" | "floor" | "signum" => {
            arity(name, &a, 1, 1)?;
            let x = n(name, &a0)?;
            Ok(num(match name {
                "abs" => x.abs(),
                "ceil" => x.ceil(),
                "floor" => x.floor(),
                _ => x.signum() * f64::from(u8::from(x != 0.0)),
            }))
        }
        "pow" => {
            arity(name, &a, 2, 2)?;
            Ok(num(n(name, &a0)?.powf(n(name, &a1)?)))
        }
        "parseint" => {
            arity(name, &a, 2, 2)?;
            let x = s(name, &a0)?;
            let base = idx(name, &a1)?;
            if !(2..=36).contains(&base) {
                return Err("parseint: base must be between 2 and 36".into());
            }
            i64::from_str_radix(&x, base as u32)
                .map(Value::from)
                .map_err(|e| format!("parseint: cannot parse {x:?}: {e}"))
        }
        "tostring" => {
            arity(name, &a, 1, 1)?;
            if a0.is_null() {
                return Ok(Value::Null);
            }
            s(name, &a0).map(Value::String)
        }
        "tonumber" => {
            arity(name, &a, 1, 1)?;
            if a0.is_null() {
                return Ok(Value::Null);
            }
            n(name, &a0).map(num)
        }
        "tobool" => {
            arity(name, &a, 1, 1)?;
            if a0.is_null() {
                return Ok(Value::Null);
            }
            to_bool(&a0)
                .map(Value::Bool)
                .ok_or_else(|| format!("tobool: cannot convert {} to bool", type_name(&a0)))
        }
        "tolist" | "toset" => {
            arity(name, &a, 1, 1)?;
            let l = list(name, &a0)?;
            if name == "toset" {
                return Ok(Value::Array(distinct(l)));
            }
            Ok(Value::Array(l.clone()))
        }
        "tomap" => {
            arity(name, &a, 1, 1)?;
            obj(name, &a0).map(|o| Value::Object(o.clone()))
        }
        "jsonencode" => {
            arity(name, &a, 1, 1)?;
            serde_json::to_string(&a0)
                .map(Value::String)
                .map_err(|e| e.to_string())
        }
        "jsondecode" => {
            arity(name, &a, 1, 1)?;
            serde_json::from_str::<Value>(&s(name, &a0)?)
                .map_err(|e| format!("jsondecode: invalid JSON: {e}"))
        }
        "keys" => {
            arity(name, &a, 1, 1)?;
            Ok(Value::Array(
                obj(name, &a0)?
                    .keys()
                    .map(|k| Value::String(k.clone()))
                    .collect(),
            ))
        }
        "values" => {
            arity(name, &a, 1, 1)?;
            Ok(Value::Array(obj(name, &a0)?.values().cloned().collect()))
        }
        "contains" => {
            arity(name, &a, 2, 2)?;
            Ok(Value::Bool(
                list(name, &a0)?.iter().any(|v| values_equal(v, &a1)),
            ))
        }
        "index" => {
            arity(name, &a, 2, 2)?;
            list(name, &a0)?
                .iter()
                .position(|v| values_equal(v, &a1))
                .map(Value::from)
                .ok_or_else(|| "index: item not found in list".to_string())
        }
        "element" => {
            arity(name, &a, 2, 2)?;
            let l = list(name, &a0)?;
            if l.is_empty() {
                return Err("element: cannot use element on an empty list".into());
            }
            let i = idx(name, &a1)?;
            Ok(l[i % l.len()].clone())
        }
        "range" => range(&a),
        "reverse" => {
            arity(name, &a, 1, 1)?;
            Ok(Value::Array(
                list(name, &a0)?.iter().rev().cloned().collect(),
            ))
        }
        "distinct" => {
            arity(name, &a, 1, 1)?;
            Ok(Value::Array(distinct(list(name, &a0)?)))
        }
        "compact" => {
            arity(name, &a, 1, 1)?;
            let l = list(name, &a0)?;
            Ok(Value::Array(
                l.iter()
                    .filter(|v| !v.is_null() && v.as_str() != Some(""))
                    .cloned()
                    .collect(),
            ))
        }
        "flatten" => {
            arity(name, &a, 1, 1)?;
            let mut out = Vec::new();
            flatten(list(name, &a0)?, &mut out, 0)?;
            Ok(Value::Array(out))
        }
        "slice" => {
            arity(name, &a, 3, 3)?;
            let l = list(name, &a0)?;
            let (from, to) = (idx(name, &a1)?, idx(name, &a[2])?);
            if from > to || to > l.len() {
                return Err("slice: index out of range".into());
            }
            Ok(Value::Array(l[from..to].to_vec()))
        }
        "sort" => {
            arity(name, &a, 1, 1)?;
            let mut items = Vec::new();
            for v in list(name, &a0)? {
                items.push(s(name, v)?);
            }
            items.sort();
            Ok(Value::Array(items.into_iter().map(Value::String).collect()))
        }
        "zipmap" => {
            arity(name, &a, 2, 2)?;
            let (ks, vs) = (list(name, &a0)?, list(name, &a1)?);
            if ks.len() != vs.len() {
                return Err("zipmap: lists must have the same length".into());
            }
            let mut out = Map::new();
            for (k, v) in ks.iter().zip(vs) {
                out.insert(s(name, k)?, v.clone());
            }
            Ok(Value::Object(out))
        }
        "formatlist" => {
            arity(name, &a, 1, usize::MAX)?;
            let f = s(name, &a0)?;
            let len = a[1..]
                .iter()
                .filter_map(|v| v.as_array().map(Vec::len))
                .max();
            let Some(len) = len else {
                return format(&f, &a[1..]).map(|x| Value::Array(vec![Value::String(x)]));
            };
            let mut out = Vec::new();
            for i in 0..len {
                let row: Vec<Value> = a[1..]
                    .iter()
                    .map(|v| match v {
                        Value::Array(l) => l.get(i).cloned().unwrap_or(Value::Null),
                        other => other.clone(),
                    })
                    .collect();
                out.push(Value::String(format(&f, &row)?));
            }
            Ok(Value::Array(out))
        }
        "urlencode" => {
            arity(name, &a, 1, 1)?;
            let x = s(name, &a0)?;
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
        _ => Err(format!("call to unknown function {name:?}")),
    }
}

fn title(x: &str) -> String {
    let mut out = String::new();
    let mut prev_space = true;
    for c in x.chars() {
        if prev_space {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_space = c.is_whitespace();
    }
    out
}

fn distinct(l: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in l {
        if !out.iter().any(|o| values_equal(o, v)) {
            out.push(v.clone());
        }
    }
    out
}

fn flatten(l: &[Value], out: &mut Vec<Value>, depth: usize) -> Result<(), String> {
    if depth > 64 {
        return Err("flatten: lists nested too deeply".into());
    }
    for v in l {
        match v {
            Value::Array(inner) => flatten(inner, out, depth + 1)?,
            other => out.push(other.clone()),
        }
    }
    Ok(())
}

fn range(a: &[Value]) -> R {
    arity("range", a, 1, 3)?;
    let nums: Vec<f64> = a.iter().map(|v| n("range", v)).collect::<Result<_, _>>()?;
    let (start, end, step) = match nums.as_slice() {
        [e] => (0.0, *e, 1.0),
        [s, e] => (*s, *e, if e >= s { 1.0 } else { -1.0 }),
        [s, e, st] => (*s, *e, *st),
        _ => return Err("range: bad arguments".into()),
    };
    if step == 0.0 || (step > 0.0 && start > end) || (step < 0.0 && start < end) {
        return Err("range: step must move start towards end".into());
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0.0 && x < end) || (step < 0.0 && x > end) {
        if out.len() >= 1024 {
            return Err("range: more than 1024 elements".into());
        }
        out.push(num(x));
        x += step;
    }
    Ok(Value::Array(out))
}
