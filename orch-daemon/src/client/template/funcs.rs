//! The template functions that compute rather than look up: comparisons and logic,
//! strings, conversions (Go's `text/template` builtins and consul-template's helpers
//! that Nomad templates use).

use super::*;

/// One function call: its name, evaluated arguments and line (for errors).
pub(super) struct Call<'a> {
    pub(super) name: &'a str,
    pub(super) args: Vec<Val>,
    pub(super) line: usize,
}

impl Call<'_> {
    pub(super) fn err(&self, message: String) -> TemplateError {
        TemplateError::Exec {
            line: self.line,
            message,
        }
    }

    /// Exactly `n` arguments, as Go's template engine insists.
    pub(super) fn arity(&self, n: usize) -> Result<(), TemplateError> {
        if self.args.len() == n {
            Ok(())
        } else {
            Err(self.err(format!(
                "wrong number of args for {}: want {n} got {}",
                self.name,
                self.args.len()
            )))
        }
    }

    /// Argument `i` as text.
    pub(super) fn text(&self, i: usize) -> String {
        self.args[i].to_string()
    }

    /// At least one argument, for the variadic functions.
    fn some_args(&self) -> Result<(), TemplateError> {
        if self.args.is_empty() {
            return Err(self.err(format!("missing argument for {}", self.name)));
        }
        Ok(())
    }
}

/// Dispatches a computing function by family; unknown names are an error.
pub(super) fn call(c: Call<'_>) -> Result<Val, TemplateError> {
    match c.name {
        "eq" | "ne" => equality(&c),
        "lt" | "le" | "gt" | "ge" => ordering(&c),
        "and" | "or" | "not" => logic(&c),
        "len" | "print" | "printf" | "println" | "default" => general(&c),
        "index" => index(&c),
        "toUpper" | "toLower" | "toTitle" | "trimSpace" | "trim" | "replaceAll" => strings(&c),
        "split" | "join" | "contains" => lists(&c),
        "parseInt" | "parseBool" => parse(&c),
        name if super::sprig::knows(name) => super::sprig::call(&c),
        other => Err(TemplateError::UnknownFunction {
            line: c.line,
            function: other.to_string(),
        }),
    }
}

/// `eq a b [c...]` (true when `a` equals any of the others) and `ne a b`.
fn equality(c: &Call<'_>) -> Result<Val, TemplateError> {
    if c.args.len() < 2 {
        return Err(c.err(format!("missing argument for {}", c.name)));
    }
    let mut any = false;
    for other in &c.args[1..] {
        any |= equal(&c.args[0], other).map_err(|m| c.err(m))?;
    }
    if c.name == "eq" && c.args.len() > 2 {
        return Ok(Val::Bool(any));
    }
    c.arity(2)?;
    Ok(Val::Bool(if c.name == "eq" { any } else { !any }))
}

/// `lt`, `le`, `gt`, `ge` on two integers or two strings.
fn ordering(c: &Call<'_>) -> Result<Val, TemplateError> {
    c.arity(2)?;
    let ord = match (&c.args[0], &c.args[1]) {
        (Val::Int(a), Val::Int(b)) => a.cmp(b),
        (Val::Str(a), Val::Str(b)) => a.cmp(b),
        (a, b) => {
            return Err(c.err(format!(
                "incompatible types for comparison: {} and {}",
                a.type_name(),
                b.type_name()
            )));
        }
    };
    Ok(Val::Bool(match c.name {
        "lt" => ord.is_lt(),
        "le" => ord.is_le(),
        "gt" => ord.is_gt(),
        _ => ord.is_ge(),
    }))
}

/// `and`/`or` (the first falsy/truthy argument, else the last) and `not`.
fn logic(c: &Call<'_>) -> Result<Val, TemplateError> {
    if c.name == "not" {
        c.arity(1)?;
        return Ok(Val::Bool(!c.args[0].truthy()));
    }
    c.some_args()?;
    let want = c.name == "or";
    Ok(c.args
        .iter()
        .find(|v| v.truthy() == want)
        .cloned()
        .unwrap_or_else(|| c.args.last().cloned().unwrap_or(Val::Nil)))
}

/// `len`, `print`, `printf` and `default`.
fn general(c: &Call<'_>) -> Result<Val, TemplateError> {
    match c.name {
        "len" => {
            c.arity(1)?;
            Ok(Val::Int(match &c.args[0] {
                Val::Str(s) => s.len() as i64,
                Val::List(l) => l.len() as i64,
                Val::Map(m) => m.len() as i64,
                other => return Err(c.err(format!("len of {}", other.type_name()))),
            }))
        }
        "println" => Ok(Val::Str(format!(
            "{}\n",
            c.args
                .iter()
                .map(Val::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        ))),
        "print" => Ok(Val::Str(
            c.args
                .iter()
                .map(Val::to_string)
                .collect::<Vec<_>>()
                .join(""),
        )),
        "printf" => {
            if c.args.is_empty() {
                return Err(c.err("missing format for printf".into()));
            }
            Ok(Val::Str(printf(&c.text(0), &c.args[1..])))
        }
        _ => {
            c.arity(2)?;
            Ok(if c.args[1].truthy() {
                c.args[1].clone()
            } else {
                c.args[0].clone()
            })
        }
    }
}

/// Go's `index x k...`: a map's value by string key, a list's element by integer
/// position; a missing map key is nil, as Go's zero value.
fn index(c: &Call<'_>) -> Result<Val, TemplateError> {
    let Some((first, keys)) = c.args.split_first() else {
        return Err(c.err("missing argument for index".into()));
    };
    let mut v = first.clone();
    for k in keys {
        v = match (v, k) {
            (Val::Map(mut m), key) => m.remove(&key.to_string()).unwrap_or(Val::Nil),
            (Val::List(l), Val::Int(i)) => usize::try_from(*i)
                .ok()
                .and_then(|i| l.get(i).cloned())
                .ok_or_else(|| c.err(format!("index out of range: {i}")))?,
            (other, key) => {
                return Err(c.err(format!(
                    "can't index item of type {} with {}",
                    other.type_name(),
                    key.type_name()
                )));
            }
        };
    }
    Ok(v)
}

/// Case, trimming and replacing.
fn strings(c: &Call<'_>) -> Result<Val, TemplateError> {
    match c.name {
        "trim" => {
            c.arity(2)?;
            let cut: Vec<char> = c.text(0).chars().collect();
            Ok(Val::Str(c.text(1).trim_matches(cut.as_slice()).to_string()))
        }
        "replaceAll" => {
            c.arity(3)?;
            Ok(Val::Str(c.text(2).replace(&c.text(0), &c.text(1))))
        }
        name => {
            c.arity(1)?;
            let s = c.text(0);
            Ok(Val::Str(match name {
                "toUpper" => s.to_uppercase(),
                "toLower" => s.to_lowercase(),
                "toTitle" => title(&s),
                _ => s.trim().to_string(),
            }))
        }
    }
}

/// `split`, `join` and `contains` (list membership or substring).
fn lists(c: &Call<'_>) -> Result<Val, TemplateError> {
    c.arity(2)?;
    match c.name {
        "split" => {
            let s = c.text(1);
            if s.is_empty() {
                return Ok(Val::List(Vec::new()));
            }
            Ok(Val::List(
                s.split(&c.text(0)).map(|p| Val::Str(p.into())).collect(),
            ))
        }
        "join" => {
            let Val::List(items) = &c.args[1] else {
                return Err(c.err(format!("join needs a list, got {}", c.args[1].type_name())));
            };
            Ok(Val::Str(
                items
                    .iter()
                    .map(Val::to_string)
                    .collect::<Vec<_>>()
                    .join(&c.text(0)),
            ))
        }
        _ => Ok(Val::Bool(match &c.args[1] {
            Val::List(l) => l.contains(&c.args[0]),
            other => other.to_string().contains(&c.text(0)),
        })),
    }
}

/// `parseInt` and `parseBool`, as Go's strconv reads them.
fn parse(c: &Call<'_>) -> Result<Val, TemplateError> {
    c.arity(1)?;
    let s = c.text(0);
    if c.name == "parseInt" {
        return Ok(Val::Int(s.trim().parse().map_err(|_| {
            c.err(format!("parseInt: {s:?} is not an integer"))
        })?));
    }
    match orch_core::strconv::parse_bool(s.trim()) {
        Some(b) => Ok(Val::Bool(b)),
        None => Err(c.err(format!("parseBool: {s:?} is not a boolean"))),
    }
}
