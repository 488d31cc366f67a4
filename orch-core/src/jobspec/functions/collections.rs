//! Collection functions over lists and maps: `length`, `lookup`, `merge`, `concat`,
//! `slice`, `flatten`, `range`, `zipmap`, ...

use serde_json::{Map, Value};

use super::super::eval::{num, type_name, values_equal};
use super::{Builtin, R, arity, idx, list, n, obj, s};

/// The collection family, by HCL name.
pub(super) const FUNCTIONS: &[(&str, Builtin)] = &[
    ("length", length),
    ("concat", concat),
    ("lookup", lookup),
    ("merge", merge),
    ("keys", keys),
    ("values", values),
    ("zipmap", zipmap),
    ("coalesce", coalesce),
    ("coalescelist", coalescelist),
    ("contains", contains),
    ("index", index),
    ("element", element),
    ("slice", slice),
    ("range", range),
    ("reverse", reverse),
    ("distinct", distinct_fn),
    ("compact", compact),
    ("flatten", flatten_fn),
    ("sort", sort),
];

/// `length` of a list, a map, or a string (in characters).
fn length(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    Ok(Value::from(match &a[0] {
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

/// `concat(lists...)`: the lists end to end.
fn concat(name: &str, a: &[Value]) -> R {
    let mut out = Vec::new();
    for l in a {
        out.extend(list(name, l)?.iter().cloned());
    }
    Ok(Value::Array(out))
}

/// `lookup(map, key[, default])`; a missing key without a default is an error.
fn lookup(name: &str, a: &[Value]) -> R {
    arity(name, a, 2, 3)?;
    let m = obj(name, &a[0])?;
    let k = s(name, &a[1])?;
    match (m.get(&k), a.get(2)) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(d)) => Ok(d.clone()),
        (None, None) => Err(format!("lookup: key {k:?} not found and no default given")),
    }
}

/// `merge(maps...)`: later maps win; null arguments are skipped.
fn merge(name: &str, a: &[Value]) -> R {
    let mut out = Map::new();
    for m in a {
        if m.is_null() {
            continue;
        }
        for (k, v) in obj(name, m)? {
            out.insert(k.clone(), v.clone());
        }
    }
    Ok(Value::Object(out))
}

/// `keys(map)`, in key order.
fn keys(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    Ok(Value::Array(
        obj(name, &a[0])?
            .keys()
            .map(|k| Value::String(k.clone()))
            .collect(),
    ))
}

/// `values(map)`, in key order.
fn values(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    Ok(Value::Array(obj(name, &a[0])?.values().cloned().collect()))
}

/// `zipmap(keys, values)`: a map from two lists of the same length.
fn zipmap(name: &str, a: &[Value]) -> R {
    arity(name, a, 2, 2)?;
    let (ks, vs) = (list(name, &a[0])?, list(name, &a[1])?);
    if ks.len() != vs.len() {
        return Err("zipmap: lists must have the same length".into());
    }
    let mut out = Map::new();
    for (k, v) in ks.iter().zip(vs) {
        out.insert(s(name, k)?, v.clone());
    }
    Ok(Value::Object(out))
}

/// `coalesce(values...)`: the first argument that is neither null nor `""`.
fn coalesce(_name: &str, a: &[Value]) -> R {
    a.iter()
        .find(|v| !v.is_null() && v.as_str() != Some(""))
        .cloned()
        .ok_or_else(|| "coalesce: no non-null, non-empty argument".to_string())
}

/// `coalescelist(lists...)`: the first non-empty list.
fn coalescelist(_name: &str, a: &[Value]) -> R {
    a.iter()
        .find(|v| v.as_array().is_some_and(|l| !l.is_empty()))
        .cloned()
        .ok_or_else(|| "coalescelist: no non-empty list argument".to_string())
}

/// `contains(list, value)`.
fn contains(name: &str, a: &[Value]) -> R {
    arity(name, a, 2, 2)?;
    Ok(Value::Bool(
        list(name, &a[0])?.iter().any(|v| values_equal(v, &a[1])),
    ))
}

/// `index(list, value)`: the position of the first equal element.
fn index(name: &str, a: &[Value]) -> R {
    arity(name, a, 2, 2)?;
    list(name, &a[0])?
        .iter()
        .position(|v| values_equal(v, &a[1]))
        .map(Value::from)
        .ok_or_else(|| "index: item not found in list".to_string())
}

/// `element(list, i)`, wrapping around the end of the list.
fn element(name: &str, a: &[Value]) -> R {
    arity(name, a, 2, 2)?;
    let l = list(name, &a[0])?;
    if l.is_empty() {
        return Err("element: cannot use element on an empty list".into());
    }
    let i = idx(name, &a[1])?;
    Ok(l[i % l.len()].clone())
}

/// `slice(list, from, to)`, `to` exclusive.
fn slice(name: &str, a: &[Value]) -> R {
    arity(name, a, 3, 3)?;
    let l = list(name, &a[0])?;
    let (from, to) = (idx(name, &a[1])?, idx(name, &a[2])?);
    if from > to || to > l.len() {
        return Err("slice: index out of range".into());
    }
    Ok(Value::Array(l[from..to].to_vec()))
}

/// `range([start,] end[, step])`, at most 1024 numbers.
fn range(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 3)?;
    let nums: Vec<f64> = a.iter().map(|v| n(name, v)).collect::<Result<_, _>>()?;
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

/// `reverse(list)`.
fn reverse(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    Ok(Value::Array(
        list(name, &a[0])?.iter().rev().cloned().collect(),
    ))
}

/// `distinct(list)`: first occurrences only, in order.
fn distinct_fn(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    Ok(Value::Array(distinct(list(name, &a[0])?)))
}

/// `compact(list)`: without nulls and empty strings.
fn compact(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    let l = list(name, &a[0])?;
    Ok(Value::Array(
        l.iter()
            .filter(|v| !v.is_null() && v.as_str() != Some(""))
            .cloned()
            .collect(),
    ))
}

/// `flatten(list)`: nested lists spliced in, at most 64 levels deep.
fn flatten_fn(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    let mut out = Vec::new();
    flatten(list(name, &a[0])?, &mut out, 0)?;
    Ok(Value::Array(out))
}

/// `sort(list)` of strings, lexicographically.
fn sort(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    let mut items = Vec::new();
    for v in list(name, &a[0])? {
        items.push(s(name, v)?);
    }
    items.sort();
    Ok(Value::Array(items.into_iter().map(Value::String).collect()))
}

/// The elements of `l` without repeats (by HCL equality), first occurrences kept.
pub(super) fn distinct(l: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in l {
        if !out.iter().any(|o| values_equal(o, v)) {
            out.push(v.clone());
        }
    }
    out
}

/// Appends the leaves of `l` to `out`, refusing nesting deeper than 64.
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
