//! Numeric functions: `min`/`max`, rounding and sign, `pow`, `parseint`.

use serde_json::Value;

use super::super::eval::num;
use super::{Builtin, R, arity, idx, n, s};

/// The numeric family, by HCL name.
pub(super) const FUNCTIONS: &[(&str, Builtin)] = &[
    ("min", min_max),
    ("max", min_max),
    ("abs", one_number),
    ("ceil", one_number),
    ("floor", one_number),
    ("signum", one_number),
    ("pow", pow),
    ("parseint", parseint),
];

/// `min(numbers...)` and `max(numbers...)`, at least one number.
fn min_max(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, usize::MAX)?;
    let mut best = n(name, &a[0])?;
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

/// `abs`, `ceil`, `floor` and `signum` (0 for 0): one number in, one out.
fn one_number(name: &str, a: &[Value]) -> R {
    arity(name, a, 1, 1)?;
    let x = n(name, &a[0])?;
    Ok(num(match name {
        "abs" => x.abs(),
        "ceil" => x.ceil(),
        "floor" => x.floor(),
        _ => x.signum() * f64::from(u8::from(x != 0.0)),
    }))
}

/// `pow(base, exponent)`.
fn pow(name: &str, a: &[Value]) -> R {
    arity(name, a, 2, 2)?;
    Ok(num(n(name, &a[0])?.powf(n(name, &a[1])?)))
}

/// `parseint(string, base)` for bases 2 to 36.
fn parseint(name: &str, a: &[Value]) -> R {
    arity(name, a, 2, 2)?;
    let x = s(name, &a[0])?;
    let base = idx(name, &a[1])?;
    if !(2..=36).contains(&base) {
        return Err("parseint: base must be between 2 and 36".into());
    }
    i64::from_str_radix(&x, base as u32)
        .map(Value::from)
        .map_err(|e| format!("parseint: cannot parse {x:?}: {e}"))
}
