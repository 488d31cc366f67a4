//! String functions: case and trimming, substrings, `format`/`formatlist`,
//! `join`/`split`.

use serde_json::Value;

use super::super::format::format;
use super::{Builtin, R, arity, idx, list, n, s};

/// The string family, by HCL name.
pub(super) const FUNCTIONS: &[(&str, Builtin)] = &[
    ("upper", one_string),
    ("lower", one_string),
    ("trimspace", one_string),
    ("strrev", one_string),
    ("chomp", one_string),
    ("title", one_string),
    ("trim", trim),
    ("trimprefix", trim),
    ("trimsuffix", trim),
    ("replace", replace),
    ("substr", substr),
    ("indent", indent),
    ("format", format_fn),
    ("formatlist", formatlist),
    ("join", join),
    ("split", split),
];

/// `upper`, `lower`, `trimspace`, `strrev`, `chomp` and `title`: one string in, one out.
fn one_string(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    let x = s(name, &a[0])?;
    Ok(Value::String(match name {
        "upper" => x.to_uppercase(),
        "lower" => x.to_lowercase(),
        "trimspace" => x.trim().to_string(),
        "strrev" => x.chars().rev().collect(),
        "chomp" => x.trim_end_matches(['\n', '\r']).to_string(),
        _ => title(&x),
    }))
}

/// `trim` (a set of characters), `trimprefix` and `trimsuffix`.
fn trim(name: &str, a: &[Value]) -> R {
    arity(name, a, 2, 2)?;
    let x = s(name, &a[0])?;
    let y = s(name, &a[1])?;
    Ok(Value::String(match name {
        "trim" => x.trim_matches(|c| y.contains(c)).to_string(),
        "trimprefix" => x.strip_prefix(y.as_str()).unwrap_or(&x).to_string(),
        _ => x.strip_suffix(y.as_str()).unwrap_or(&x).to_string(),
    }))
}

/// `replace(s, from, to)`; an empty `from` leaves `s` as it is.
fn replace(name: &str, a: &[Value]) -> R {
    arity(name, a, 3, 3)?;
    let x = s(name, &a[0])?;
    let from = s(name, &a[1])?;
    let to = s(name, &a[2])?;
    if from.is_empty() {
        return Ok(Value::String(x));
    }
    Ok(Value::String(x.replace(&from, &to)))
}

/// `substr(s, offset, length)` in characters; a negative offset counts from the end and
/// a negative length means "to the end".
fn substr(name: &str, a: &[Value]) -> R {
    arity(name, a, 3, 3)?;
    let x: Vec<char> = s(name, &a[0])?.chars().collect();
    let off = n(name, &a[1])?;
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

/// `indent(n, s)`: every line but the first gets `n` spaces (at most 1000).
fn indent(name: &str, a: &[Value]) -> R {
    arity(name, a, 2, 2)?;
    let pad = " ".repeat(idx(name, &a[0])?.min(1000));
    let x = s(name, &a[1])?;
    Ok(Value::String(x.replace('\n', &format!("\n{pad}"))))
}

/// `format(spec, args...)`, printf-style (see `jobspec::format`).
fn format_fn(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, usize::MAX)?;
    format(&s(name, &a[0])?, &a[1..]).map(Value::String)
}

/// `formatlist(spec, args...)`: `format` once per element of the list arguments
/// (non-list arguments repeat; shorter lists give null).
fn formatlist(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, usize::MAX)?;
    let f = s(name, &a[0])?;
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

/// `join(sep, lists...)`: the strings of all lists, separated by `sep`.
fn join(name: &str, a: &[Value]) -> R {
    arity(name, a, 2, usize::MAX)?;
    let sep = s(name, &a[0])?;
    let mut parts = Vec::new();
    for l in &a[1..] {
        for item in list(name, l)? {
            parts.push(s(name, item)?);
        }
    }
    Ok(Value::String(parts.join(&sep)))
}

/// `split(sep, s)`; an empty separator splits into characters.
fn split(name: &str, a: &[Value]) -> R {
    arity(name, a, 2, 2)?;
    let sep = s(name, &a[0])?;
    let x = s(name, &a[1])?;
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

/// Upper-cases the first letter of every whitespace-separated word.
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
