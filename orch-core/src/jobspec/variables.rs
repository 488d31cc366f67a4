//! `variable`, `variables` and `locals` blocks.
//!
//! Input variables are declared in the jobspec and given values by the
//! caller (`-var` / `-var-file`, already read by the CLI). Like Nomad, a
//! value passed as a string is parsed according to the declared type, a
//! variable without default or value is an error, and so is a value for an
//! undeclared variable. Locals may reference variables and each other and
//! are evaluated in dependency order.

use std::collections::BTreeMap;

use hcl::edit::Span;
use hcl::edit::expr::Expression;
use hcl::edit::structure::{Block, Structure};
use serde_json::{Map, Value};

use super::decode::{Decoder, block_span};
use super::eval::{to_bool, to_num, to_str, type_name};

/// A variable type constraint (`string`, `list(number)`, `object({...})`, ...).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ty {
    Any,
    Str,
    Num,
    Bool,
    List(Box<Ty>),
    Map(Box<Ty>),
    Object(Vec<(String, Ty)>),
    Tuple(Vec<Ty>),
}

/// Parses a type expression (it is syntax, not a value).
pub(crate) fn parse_type(e: &Expression) -> Result<Ty, String> {
    match e {
        Expression::Variable(id) => match id.value().as_str() {
            "string" => Ok(Ty::Str),
            "number" => Ok(Ty::Num),
            "bool" => Ok(Ty::Bool),
            "any" => Ok(Ty::Any),
            "list" | "set" => Ok(Ty::List(Box::new(Ty::Any))),
            "map" => Ok(Ty::Map(Box::new(Ty::Any))),
            other => Err(format!("unknown type {other:?}")),
        },
        Expression::FuncCall(f) => {
            let name = f.name.name.value().as_str();
            let arg = match (f.args.len(), f.args.iter().next()) {
                (1, Some(a)) => a,
                _ => return Err(format!("type constructor {name:?} takes one argument")),
            };
            match name {
                "list" | "set" => Ok(Ty::List(Box::new(parse_type(arg)?))),
                "map" => Ok(Ty::Map(Box::new(parse_type(arg)?))),
                "object" => match arg {
                    Expression::Object(o) => {
                        let mut fields = Vec::new();
                        for (k, v) in o.iter() {
                            let key = match k {
                                hcl::edit::expr::ObjectKey::Ident(id) => id.value().to_string(),
                                hcl::edit::expr::ObjectKey::Expression(Expression::String(s)) => {
                                    s.value().clone()
                                }
                                _ => return Err("object type keys must be names".into()),
                            };
                            fields.push((key, parse_type(v.expr())?));
                        }
                        Ok(Ty::Object(fields))
                    }
                    _ => Err("object(...) takes an object of attribute types".into()),
                },
                "tuple" => match arg {
                    Expression::Array(a) => Ok(Ty::Tuple(
                        a.iter().map(parse_type).collect::<Result<_, _>>()?,
                    )),
                    _ => Err("tuple(...) takes a list of element types".into()),
                },
                other => Err(format!("unknown type constructor {other:?}")),
            }
        }
        _ => Err("invalid type expression".into()),
    }
}

/// Converts `v` to type `ty` (HCL's lenient primitive conversions apply).
pub(crate) fn conform(v: Value, ty: &Ty) -> Result<Value, String> {
    if v.is_null() {
        return Ok(v);
    }
    match ty {
        Ty::Any => Ok(v),
        Ty::Str => to_str(&v)
            .map(Value::String)
            .ok_or_else(|| format!("expected string, got {}", type_name(&v))),
        Ty::Num => to_num(&v)
            .map(super::eval::num)
            .ok_or_else(|| format!("expected number, got {} {v}", type_name(&v))),
        Ty::Bool => to_bool(&v)
            .map(Value::Bool)
            .ok_or_else(|| format!("expected bool, got {} {v}", type_name(&v))),
        Ty::List(et) => match v {
            Value::Array(a) => a
                .into_iter()
                .map(|x| conform(x, et))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Err(format!("expected list, got {}", type_name(&other))),
        },
        Ty::Tuple(ets) => match v {
            Value::Array(a) if a.len() == ets.len() => a
                .into_iter()
                .zip(ets)
                .map(|(x, t)| conform(x, t))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Err(format!(
                "expected tuple of {} elements, got {}",
                ets.len(),
                type_name(&other)
            )),
        },
        Ty::Map(et) => match v {
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, x) in o {
                    out.insert(
                        k.clone(),
                        conform(x, et).map_err(|e| format!("key {k:?}: {e}"))?,
                    );
                }
                Ok(Value::Object(out))
            }
            other => Err(format!("expected map, got {}", type_name(&other))),
        },
        Ty::Object(fields) => match v {
            Value::Object(mut o) => {
                let mut out = Map::new();
                for (k, t) in fields {
                    let x = o
                        .remove(k)
                        .ok_or_else(|| format!("missing attribute {k:?}"))?;
                    out.insert(
                        k.clone(),
                        conform(x, t).map_err(|e| format!("attribute {k:?}: {e}"))?,
                    );
                }
                Ok(Value::Object(out))
            }
            other => Err(format!("expected object, got {}", type_name(&other))),
        },
    }
}

/// Interprets a caller-supplied value for a variable of type `ty`. Strings
/// for non-string complex types are parsed as HCL expressions, as Nomad does
/// for `-var 'x=["a","b"]'`.
fn from_input(v: &Value, ty: &Ty) -> Result<Value, String> {
    match (v, ty) {
        (Value::String(s), Ty::List(_) | Ty::Map(_) | Ty::Object(_) | Ty::Tuple(_)) => {
            let expr = hcl::edit::parser::parse_expr(s)
                .map_err(|e| format!("cannot parse value {s:?}: {}", e.message()))?;
            let sm = super::error::SourceMap::new(s, "<var>");
            let mut ev = super::eval::Evaluator::new(&sm);
            let parsed = ev.eval(&expr).map_err(|e| e.message)?;
            conform(parsed, ty)
        }
        _ => conform(v.clone(), ty),
    }
}

struct Declared<'b> {
    block: &'b Block,
    ty: Ty,
    default: Option<Value>,
    validations: Vec<&'b Block>,
}

fn declare<'b>(d: &mut Decoder<'_>, b: &'b Block) -> Option<Declared<'b>> {
    let mut decl = Declared {
        block: b,
        ty: Ty::Any,
        default: None,
        validations: Vec::new(),
    };
    for st in b.body.iter() {
        match st {
            Structure::Attribute(a) => match a.key.value().as_str() {
                "type" => match parse_type(&a.value) {
                    Ok(t) => decl.ty = t,
                    Err(m) => d.err(a.value.span(), format!("invalid type for variable: {m}")),
                },
                "default" => decl.default = d.eval(&a.value),
                "description" | "sensitive" | "nullable" => {}
                other => d.err(
                    a.key.span(),
                    format!("unknown attribute {other:?} in block \"variable\"; expected one of: type, default, description, sensitive, nullable"),
                ),
            },
            Structure::Block(vb) if vb.ident.value().as_str() == "validation" => decl.validations.push(vb),
            Structure::Block(vb) => d.err(
                block_span(vb),
                format!("unknown block {:?} in block \"variable\"; expected one of: validation", vb.ident.value().as_str()),
            ),
        }
    }
    Some(decl)
}

/// Declares all variables found in `variable`/`variables` blocks, applies
/// `passed` values, checks validations, and installs them in the evaluator.
pub(crate) fn resolve(
    d: &mut Decoder<'_>,
    variable_blocks: &[&Block],
    variables_blocks: &[&Block],
    passed: &BTreeMap<String, Value>,
) {
    let mut decls: BTreeMap<String, Declared<'_>> = BTreeMap::new();
    for b in variable_blocks {
        if !d.expect_labels(b, 1, "variable name") {
            continue;
        }
        let name = b
            .labels
            .first()
            .map(|l| l.as_str().to_string())
            .unwrap_or_default();
        if decls.contains_key(&name) {
            d.err(block_span(b), format!("duplicate variable {name:?}"));
            continue;
        }
        if let Some(decl) = declare(d, b) {
            decls.insert(name, decl);
        }
    }
    let mut shorthand: BTreeMap<String, Value> = BTreeMap::new();
    for b in variables_blocks {
        d.expect_labels(b, 0, "");
        for st in b.body.iter() {
            match st {
                Structure::Attribute(a) => {
                    let name = a.key.value().to_string();
                    if decls.contains_key(&name) || shorthand.contains_key(&name) {
                        d.err(a.key.span(), format!("duplicate variable {name:?}"));
                    } else if let Some(v) = d.eval(&a.value) {
                        shorthand.insert(name, v);
                    }
                }
                Structure::Block(nb) => d.err(
                    block_span(nb),
                    "only attributes are allowed in a \"variables\" block",
                ),
            }
        }
    }
    for name in passed.keys() {
        if !decls.contains_key(name) && !shorthand.contains_key(name) {
            d.err(
                None,
                format!("a value was passed for variable {name:?}, but the jobspec declares no variable {name:?}"),
            );
        }
    }
    let mut values = Map::new();
    for (name, v) in shorthand {
        let v = match passed.get(&name) {
            Some(p) => p.clone(),
            None => v,
        };
        values.insert(name, v);
    }
    for (name, decl) in &decls {
        let value = match (passed.get(name), &decl.default) {
            (Some(p), _) => from_input(p, &decl.ty)
                .map_err(|m| format!("invalid value for variable {name:?}: {m}")),
            (None, Some(def)) => conform(def.clone(), &decl.ty)
                .map_err(|m| format!("invalid default for variable {name:?}: {m}")),
            (None, None) => Err(format!(
                "variable {name:?} has no default and no value was given (pass it with -var or -var-file)"
            )),
        };
        match value {
            Ok(v) => {
                values.insert(name.clone(), v);
            }
            Err(m) => {
                d.err(block_span(decl.block), m);
                // Null stops follow-on "undefined variable" noise.
                values.insert(name.clone(), Value::Null);
            }
        }
    }
    d.ev.vars = values;
    for decl in decls.values() {
        for vb in &decl.validations {
            check_validation(d, vb);
        }
    }
}

fn check_validation(d: &mut Decoder<'_>, vb: &Block) {
    let cond = vb.body.get_attribute("condition");
    let msg = vb
        .body
        .get_attribute("error_message")
        .and_then(|a| d.eval(&a.value))
        .and_then(|v| to_str(&v))
        .unwrap_or_else(|| "variable validation failed".into());
    let Some(cond) = cond else {
        d.err(
            block_span(vb),
            "missing required attribute \"condition\" in block \"validation\"",
        );
        return;
    };
    match d.eval(&cond.value).as_ref().and_then(to_bool) {
        Some(true) | None => {}
        Some(false) => d.err(
            cond.value.span(),
            format!("invalid value for variable: {msg}"),
        ),
    }
}

/// Evaluates all `locals` blocks, in dependency order (retrying entries that
/// reference not-yet-evaluated locals, like Nomad does).
pub(crate) fn evaluate_locals(d: &mut Decoder<'_>, locals_blocks: &[&Block]) {
    let mut pending: Vec<(String, &Expression, Option<std::ops::Range<usize>>)> = Vec::new();
    for b in locals_blocks {
        d.expect_labels(b, 0, "");
        for st in b.body.iter() {
            match st {
                Structure::Attribute(a) => {
                    let name = a.key.value().to_string();
                    if pending.iter().any(|(n, _, _)| *n == name) {
                        d.err(a.key.span(), format!("duplicate local value {name:?}"));
                    } else {
                        pending.push((name, &a.value, a.key.span()));
                    }
                }
                Structure::Block(nb) => d.err(
                    block_span(nb),
                    "only attributes are allowed in a \"locals\" block",
                ),
            }
        }
    }
    while !pending.is_empty() {
        let mut progress = false;
        let mut failed = Vec::new();
        let mut errors = Vec::new();
        for (name, expr, span) in pending {
            match d.ev.eval(expr) {
                Ok(v) => {
                    d.ev.locals.insert(name, v);
                    progress = true;
                }
                Err(e) => {
                    errors.push(e.clone());
                    failed.push((name, expr, span));
                }
            }
        }
        if !progress {
            for e in errors {
                d.err(e.span, e.message);
            }
            return;
        }
        pending = failed;
    }
}
