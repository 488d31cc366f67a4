//! The Sprig functions operators reach for in `-t` output templates and in task
//! templates: string helpers, arithmetic, list helpers and JSON encoding, with Sprig's
//! argument order (the piped value last), under consul-template's `sprig_` names
//! (`sprig_upper`) and the bare ones. A name outside this set is still refused as
//! unknown, never silently ignored.

use super::funcs::Call;
use super::*;

/// Names this module answers.
pub(super) const NAMES: &[&str] = &[
    "upper",
    "lower",
    "title",
    "trimPrefix",
    "trimSuffix",
    "hasPrefix",
    "hasSuffix",
    "repeat",
    "quote",
    "squote",
    "substr",
    "add",
    "sub",
    "mul",
    "div",
    "mod",
    "max",
    "min",
    "list",
    "first",
    "last",
    "toJson",
    "toPrettyJson",
    "ternary",
];

/// Longest string `repeat` may build: a template must not exhaust memory.
const MAX_REPEAT_BYTES: usize = 1 << 20;

/// Whether `name` (bare or `sprig_`-prefixed) is one of [`NAMES`].
pub(super) fn knows(name: &str) -> bool {
    NAMES.contains(&name.strip_prefix("sprig_").unwrap_or(name))
}

/// Runs a Sprig function [`knows`] names.
pub(super) fn call(c: &Call<'_>) -> Result<Val, TemplateError> {
    let bare = Call {
        name: c.name.strip_prefix("sprig_").unwrap_or(c.name),
        args: c.args.clone(),
        line: c.line,
    };
    let c = &bare;
    match c.name {
        "upper" | "lower" | "title" | "quote" | "squote" => one_string(c),
        "trimPrefix" | "trimSuffix" | "hasPrefix" | "hasSuffix" => affix(c),
        "repeat" => repeat(c),
        "substr" => substr(c),
        "add" | "sub" | "mul" | "div" | "mod" | "max" | "min" => arithmetic(c),
        "list" => Ok(Val::List(c.args.clone())),
        "first" | "last" => end_of_list(c),
        "toJson" | "toPrettyJson" => to_json(c),
        _ => ternary(c),
    }
}

fn one_string(c: &Call<'_>) -> Result<Val, TemplateError> {
    c.arity(1)?;
    let s = c.text(0);
    Ok(Val::Str(match c.name {
        "upper" => s.to_uppercase(),
        "lower" => s.to_lowercase(),
        "title" => title(&s),
        "quote" => format!("{s:?}"),
        _ => format!("'{s}'"),
    }))
}

/// `trimPrefix p s`, `hasPrefix p s` and their suffix twins.
fn affix(c: &Call<'_>) -> Result<Val, TemplateError> {
    c.arity(2)?;
    let (a, s) = (c.text(0), c.text(1));
    Ok(match c.name {
        "trimPrefix" => Val::Str(s.strip_prefix(a.as_str()).unwrap_or(&s).to_string()),
        "trimSuffix" => Val::Str(s.strip_suffix(a.as_str()).unwrap_or(&s).to_string()),
        "hasPrefix" => Val::Bool(s.starts_with(a.as_str())),
        _ => Val::Bool(s.ends_with(a.as_str())),
    })
}

fn int(c: &Call<'_>, i: usize) -> Result<i64, TemplateError> {
    match &c.args[i] {
        Val::Int(n) => Ok(*n),
        other => other.to_string().trim().parse().map_err(|_| {
            c.err(format!(
                "{}: argument {} is {}, not a number",
                c.name,
                i + 1,
                other.type_name()
            ))
        }),
    }
}

/// `repeat n s`, bounded.
fn repeat(c: &Call<'_>) -> Result<Val, TemplateError> {
    c.arity(2)?;
    let n = usize::try_from(int(c, 0)?).unwrap_or(0);
    let s = c.text(1);
    if s.len().saturating_mul(n) > MAX_REPEAT_BYTES {
        return Err(c.err(format!(
            "repeat: {n} copies of {} bytes exceed the {MAX_REPEAT_BYTES} bytes a template may build",
            s.len()
        )));
    }
    Ok(Val::Str(s.repeat(n)))
}

/// `substr start end s` by characters; an out-of-range end means the rest.
fn substr(c: &Call<'_>) -> Result<Val, TemplateError> {
    c.arity(3)?;
    let chars: Vec<char> = c.text(2).chars().collect();
    let start = usize::try_from(int(c, 0)?).unwrap_or(0).min(chars.len());
    let end = usize::try_from(int(c, 1)?)
        .unwrap_or(chars.len())
        .clamp(start, chars.len());
    Ok(Val::Str(chars[start..end].iter().collect()))
}

/// Integer arithmetic; division and modulo by zero are errors, overflow saturates.
fn arithmetic(c: &Call<'_>) -> Result<Val, TemplateError> {
    if c.args.len() < 2 {
        return Err(c.err(format!("{} needs at least two numbers", c.name)));
    }
    let mut acc = int(c, 0)?;
    for i in 1..c.args.len() {
        let n = int(c, i)?;
        acc = match c.name {
            "add" => acc.saturating_add(n),
            "sub" => acc.saturating_sub(n),
            "mul" => acc.saturating_mul(n),
            "max" => acc.max(n),
            "min" => acc.min(n),
            _ if n == 0 => return Err(c.err(format!("{}: division by zero", c.name))),
            "div" => acc.checked_div(n).unwrap_or(i64::MAX),
            _ => acc.checked_rem(n).unwrap_or(0),
        };
    }
    Ok(Val::Int(acc))
}

fn end_of_list(c: &Call<'_>) -> Result<Val, TemplateError> {
    c.arity(1)?;
    let Val::List(l) = &c.args[0] else {
        return Err(c.err(format!(
            "{} needs a list, got {}",
            c.name,
            c.args[0].type_name()
        )));
    };
    let v = if c.name == "first" {
        l.first()
    } else {
        l.last()
    };
    Ok(v.cloned().unwrap_or(Val::Nil))
}

fn json_of(v: &Val) -> serde_json::Value {
    match v {
        Val::Nil => serde_json::Value::Null,
        Val::Str(s) => s.clone().into(),
        Val::Int(n) => (*n).into(),
        Val::Bool(b) => (*b).into(),
        Val::List(l) => l.iter().map(json_of).collect(),
        Val::Map(m) => m.iter().map(|(k, v)| (k.clone(), json_of(v))).collect(),
    }
}

fn to_json(c: &Call<'_>) -> Result<Val, TemplateError> {
    c.arity(1)?;
    let v = json_of(&c.args[0]);
    let text = if c.name == "toJson" {
        serde_json::to_string(&v)
    } else {
        serde_json::to_string_pretty(&v)
    };
    text.map(Val::Str)
        .map_err(|e| c.err(format!("{}: {e}", c.name)))
}

/// `ternary a b cond`: `a` when `cond` holds, else `b`.
fn ternary(c: &Call<'_>) -> Result<Val, TemplateError> {
    c.arity(3)?;
    Ok(if c.args[2].truthy() {
        c.args[0].clone()
    } else {
        c.args[1].clone()
    })
}
