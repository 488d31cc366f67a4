//! The `format` function's verb handling (cty/Go `fmt` subset), kept apart
//! from the rest of the function library for readability.

use serde_json::Value;

use super::eval::{to_bool, to_num, to_str, type_name};

fn s(v: &Value) -> Result<String, String> {
    to_str(v).ok_or_else(|| format!("function \"format\" expects a string, got {}", type_name(v)))
}

fn n(v: &Value) -> Result<f64, String> {
    to_num(v).ok_or_else(|| format!("function \"format\" expects a number, got {}", type_name(v)))
}

/// A small implementation of cty's `format` verbs: %s %d %f %v %q %t %%,
/// with the `-` and `0` flags, a width and a `.N` precision.
pub(crate) fn format(f: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut it = f.chars().peekable();
    let mut next = 0usize;
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut left, mut zero) = (false, false);
        while let Some(&p) = it.peek() {
            match p {
                '-' => left = true,
                '0' => zero = true,
                '+' | ' ' | '#' => {}
                _ => break,
            }
            it.next();
        }
        let mut width = String::new();
        let mut prec: Option<String> = None;
        while let Some(&p) = it.peek() {
            if p.is_ascii_digit() {
                match prec.as_mut() {
                    Some(pr) => pr.push(p),
                    None => width.push(p),
                }
            } else if p == '.' && prec.is_none() {
                prec = Some(String::new());
            } else {
                break;
            }
            it.next();
        }
        let Some(verb) = it.next() else {
            return Err("format: trailing \"%\" in format string".into());
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let arg = args
            .get(next)
            .ok_or_else(|| format!("format: not enough arguments for %{verb}"))?;
        next += 1;
        let text = match verb {
            's' | 'v' => match arg {
                Value::Array(_) | Value::Object(_) => arg.to_string(),
                Value::Null => "null".into(),
                other => to_str(other).unwrap_or_default(),
            },
            'q' => Value::String(s(arg)?).to_string(),
            'd' => format!("{}", n(arg)?.trunc() as i64),
            'f' => {
                let x = n(arg)?;
                let p = prec
                    .as_deref()
                    .and_then(|d| d.parse::<usize>().ok())
                    .unwrap_or(6)
                    .min(32);
                format!("{x:.p$}")
            }
            't' => to_bool(arg)
                .ok_or_else(|| "format: %t needs a bool".to_string())?
                .to_string(),
            other => return Err(format!("format: unsupported verb %{other}")),
        };
        let w = width.parse::<usize>().unwrap_or(0).min(1000);
        let len = text.chars().count();
        if len >= w {
            out.push_str(&text);
        } else if left {
            out.push_str(&text);
            out.push_str(&" ".repeat(w - len));
        } else if zero && matches!(verb, 'd' | 'f') {
            let (sign, digits) = match text.strip_prefix('-') {
                Some(d) => ("-", d),
                None => ("", text.as_str()),
            };
            out.push_str(sign);
            out.push_str(&"0".repeat(w - len));
            out.push_str(digits);
        } else {
            out.push_str(&" ".repeat(w - len));
            out.push_str(&text);
        }
    }
    Ok(out)
}
