//! Expression evaluator over the hcl-edit AST.
//!
//! We evaluate hcl-edit expressions ourselves (rather than via `hcl::eval`)
//! for two reasons: every error must carry a source span, and Nomad keeps any
//! reference that is not `var.*` / `local.*` (e.g. `${attr.kernel.name}`,
//! `${NOMAD_ALLOC_INDEX}`) as the literal text `"${...}"` so the client can
//! interpolate it at runtime. Values are plain `serde_json::Value`s.

use std::ops::Range;

use hcl::edit::Span;
use hcl::edit::expr::{BinaryOperator, Expression, ForExpr, TraversalOperator, UnaryOperator};
use hcl::edit::template::{Directive, Element, Template};
use serde_json::{Map, Number, Value};

use super::error::SourceMap;
use super::functions;

/// Maximum nesting depth of expressions, to keep hostile input from
/// overflowing the stack.
const MAX_DEPTH: usize = 128;

/// An evaluation failure with the span of the offending expression.
#[derive(Debug, Clone)]
pub(crate) struct EvalError {
    /// Byte span in the source, if known.
    pub span: Option<Range<usize>>,
    /// Human readable message.
    pub message: String,
}

impl EvalError {
    pub(crate) fn new(span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        EvalError {
            span,
            message: message.into(),
        }
    }
}

/// The most work one jobspec's evaluation may do: each expression evaluated, each
/// element a function returns and each kilobyte of text it returns costs one. Real
/// jobspecs stay in the thousands; nested `for`s over `range(1024)` would otherwise build
/// billions of values from a request of a few hundred bytes.
pub(crate) const MAX_EVAL_WORK: usize = 2_000_000;

/// Evaluation context: variables, locals and for-expression bindings.
pub(crate) struct Evaluator<'a> {
    sm: &'a SourceMap<'a>,
    /// Values of `var.*`.
    pub vars: Map<String, Value>,
    /// Values of `local.*`.
    pub locals: Map<String, Value>,
    bound: Vec<(String, Value)>,
    depth: usize,
    /// Work done so far, against [`MAX_EVAL_WORK`].
    work: usize,
    /// Where `file()` and `fileexists()` read (the CLI's jobspec directory); `None`:
    /// they are refused, as every pure caller (the HTTP parse endpoint) must.
    pub files: Option<&'a dyn super::FileSource>,
}

/// What a function's result costs: its elements, or its text in kilobytes.
fn result_size(v: &Value) -> usize {
    match v {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        Value::String(s) => s.len() / 1024,
        _ => 0,
    }
}

/// Builds a JSON number from an `f64`, preferring an integer representation
/// when the value is integral (HCL has a single number type).
pub(crate) fn num(f: f64) -> Value {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::Number(Number::from(f as i64))
    } else {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

/// Renders a primitive as a string the way HCL string conversion does.
pub(crate) fn to_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Converts a value to a number, parsing strings like HCL does.
pub(crate) fn to_num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// Converts a value to a bool, parsing `"true"`/`"false"` like HCL does.
pub(crate) fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// Short type name for error messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// Equality with numeric comparison by value (1 == 1.0).
pub(crate) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| values_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

impl<'a> Evaluator<'a> {
    /// Creates an evaluator with no variables or locals.
    pub(crate) fn new(sm: &'a SourceMap<'a>) -> Self {
        Evaluator {
            sm,
            vars: Map::new(),
            locals: Map::new(),
            bound: Vec::new(),
            depth: 0,
            work: 0,
            files: None,
        }
    }

    /// Evaluates an expression to a JSON value.
    pub(crate) fn eval(&mut self, e: &Expression) -> Result<Value, EvalError> {
        if self.depth >= MAX_DEPTH {
            return Err(EvalError::new(e.span(), "expression nested too deeply"));
        }
        self.charge(e.span(), 1)?;
        self.depth += 1;
        let r = self.eval_inner(e);
        self.depth -= 1;
        r
    }

    /// Counts `units` of work, refusing the jobspec once it passes [`MAX_EVAL_WORK`].
    fn charge(
        &mut self,
        span: Option<std::ops::Range<usize>>,
        units: usize,
    ) -> Result<(), EvalError> {
        self.work = self.work.saturating_add(units);
        if self.work > MAX_EVAL_WORK {
            return Err(EvalError::new(
                span,
                format!(
                    "the jobspec's expressions do more than {MAX_EVAL_WORK} steps of work (nested for expressions or large ranges?); simplify them"
                ),
            ));
        }
        Ok(())
    }

    fn literal_ref(&self, e: &Expression) -> Value {
        let text = e
            .span()
            .and_then(|s| self.sm.slice(&s))
            .map(str::trim)
            .unwrap_or("");
        Value::String(format!("${{{text}}}"))
    }

    fn lookup_bound(&self, name: &str) -> Option<&Value> {
        self.bound
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    fn eval_inner(&mut self, e: &Expression) -> Result<Value, EvalError> {
        match e {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => {
                let n = n.value();
                if let Some(i) = n.as_i64() {
                    Ok(Value::Number(i.into()))
                } else if let Some(u) = n.as_u64() {
                    Ok(Value::Number(u.into()))
                } else {
                    Ok(num(n.as_f64().unwrap_or(0.0)))
                }
            }
            Expression::String(s) => Ok(Value::String(s.value().clone())),
            Expression::Array(a) => {
                let mut out = Vec::new();
                for item in a.iter() {
                    out.push(self.eval(item)?);
                }
                Ok(Value::Array(out))
            }
            Expression::Object(o) => {
                let mut out = Map::new();
                for (k, v) in o.iter() {
                    let key = match k {
                        hcl::edit::expr::ObjectKey::Ident(id) => id.value().as_str().to_string(),
                        hcl::edit::expr::ObjectKey::Expression(ke) => {
                            let kv = match ke {
                                // `(foo) = 1` or `"foo" = 1`
                                Expression::Variable(id) => Value::String(id.value().to_string()),
                                other => self.eval(other)?,
                            };
                            to_str(&kv).ok_or_else(|| {
                                EvalError::new(ke.span(), "object key must be a string")
                            })?
                        }
                    };
                    let val = self.eval(v.expr())?;
                    out.insert(key, val);
                }
                Ok(Value::Object(out))
            }
            Expression::StringTemplate(t) => {
                let mut out = String::new();
                for el in t.iter() {
                    self.eval_element(el, &mut out)?;
                }
                Ok(Value::String(out))
            }
            Expression::HeredocTemplate(h) => Ok(Value::String(self.eval_template(&h.template)?)),
            Expression::Parenthesis(p) => self.eval(p.inner()),
            Expression::Variable(id) => {
                let name = id.value().as_str();
                if let Some(v) = self.lookup_bound(name) {
                    return Ok(v.clone());
                }
                match name {
                    "var" => Ok(Value::Object(self.vars.clone())),
                    "local" => Ok(Value::Object(self.locals.clone())),
                    _ => Ok(self.literal_ref(e)),
                }
            }
            Expression::Conditional(c) => {
                let cond = self.eval(&c.cond_expr)?;
                match to_bool(&cond) {
                    Some(true) => self.eval(&c.true_expr),
                    Some(false) => self.eval(&c.false_expr),
                    None => Err(EvalError::new(
                        c.cond_expr.span(),
                        format!("condition must be a bool, got {}", type_name(&cond)),
                    )),
                }
            }
            Expression::FuncCall(f) => {
                let name = f.name.name.value().as_str();
                let mut args = Vec::new();
                let n = f.args.len();
                for (i, a) in f.args.iter().enumerate() {
                    let v = self.eval(a)?;
                    if i + 1 == n && f.args.expand_final() {
                        match v {
                            Value::Array(items) => args.extend(items),
                            other => {
                                return Err(EvalError::new(
                                    a.span(),
                                    format!("cannot expand {} with \"...\"", type_name(&other)),
                                ));
                            }
                        }
                    } else {
                        args.push(v);
                    }
                }
                let span = f.name.name.span();
                let out = match (self.files, name) {
                    (Some(files), "file" | "fileexists") => {
                        functions::call_file(files, name, &args)
                    }
                    _ => functions::call(name, args),
                }
                .map_err(|m| EvalError::new(span.clone(), m))?;
                self.charge(span, result_size(&out))?;
                Ok(out)
            }
            Expression::Traversal(t) => self.eval_traversal(e, t),
            Expression::UnaryOp(u) => {
                let v = self.eval(&u.expr)?;
                match u.operator.value() {
                    UnaryOperator::Neg => to_num(&v)
                        .map(|f| num(-f))
                        .ok_or_else(|| EvalError::new(u.expr.span(), "unary \"-\" needs a number")),
                    UnaryOperator::Not => to_bool(&v)
                        .map(|b| Value::Bool(!b))
                        .ok_or_else(|| EvalError::new(u.expr.span(), "unary \"!\" needs a bool")),
                }
            }
            Expression::BinaryOp(b) => {
                let op = *b.operator.value();
                let l = self.eval(&b.lhs_expr)?;
                // Short-circuit logical operators.
                if matches!(op, BinaryOperator::And | BinaryOperator::Or) {
                    let lb = to_bool(&l).ok_or_else(|| {
                        EvalError::new(b.lhs_expr.span(), "logical operator needs a bool")
                    })?;
                    if (op == BinaryOperator::And && !lb) || (op == BinaryOperator::Or && lb) {
                        return Ok(Value::Bool(lb));
                    }
                    let r = self.eval(&b.rhs_expr)?;
                    return to_bool(&r).map(Value::Bool).ok_or_else(|| {
                        EvalError::new(b.rhs_expr.span(), "logical operator needs a bool")
                    });
                }
                let r = self.eval(&b.rhs_expr)?;
                binary(op, &l, &r).map_err(|m| EvalError::new(b.operator.span(), m))
            }
            Expression::ForExpr(f) => self.eval_for(f),
        }
    }

    fn eval_traversal(
        &mut self,
        whole: &Expression,
        t: &hcl::edit::expr::Traversal,
    ) -> Result<Value, EvalError> {
        // Runtime references (attr.*, node.*, meta.*, NOMAD_*, env[...]) stay literal.
        let root_name = match &t.expr {
            Expression::Variable(id) => Some(id.value().as_str()),
            _ => None,
        };
        let (mut cur, kind) = match root_name {
            Some(n) if self.lookup_bound(n).is_some() => (self.eval(&t.expr)?, ""),
            Some("var") => (Value::Object(self.vars.clone()), "variable"),
            Some("local") => (Value::Object(self.locals.clone()), "local value"),
            Some(_) => return Ok(self.literal_ref(whole)),
            None => (self.eval(&t.expr)?, ""),
        };
        let ops: Vec<&TraversalOperator> = t.operators.iter().map(|o| o.value()).collect();
        for (i, op) in ops.iter().enumerate() {
            let span = t.operators.get(i).and_then(|o| o.span());
            match op {
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                    let items = match cur {
                        Value::Array(a) => a,
                        Value::Null => Vec::new(),
                        other => vec![other],
                    };
                    let mut out = Vec::new();
                    for item in items {
                        let mut v = item;
                        for rest in &ops[i + 1..] {
                            v = apply_op(self, rest, v, span.clone(), "")?;
                        }
                        out.push(v);
                    }
                    return Ok(Value::Array(out));
                }
                _ => {
                    let k = if i == 0 { kind } else { "" };
                    cur = apply_op(self, op, cur, span, k)?;
                }
            }
        }
        Ok(cur)
    }

    fn eval_for(&mut self, f: &ForExpr) -> Result<Value, EvalError> {
        let coll = self.eval(&f.intro.collection_expr)?;
        let pairs: Vec<(Value, Value)> = match coll {
            Value::Array(a) => a
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::Number(i.into()), v))
                .collect(),
            Value::Object(o) => o.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
            other => {
                return Err(EvalError::new(
                    f.intro.collection_expr.span(),
                    format!("cannot iterate over {}", type_name(&other)),
                ));
            }
        };
        let mut list = Vec::new();
        let mut obj = Map::new();
        for (k, v) in pairs {
            let mark = self.bound.len();
            if let Some(kv) = &f.intro.key_var {
                self.bound.push((kv.value().to_string(), k));
            }
            self.bound.push((f.intro.value_var.value().to_string(), v));
            let res = self.for_item(f, &mut list, &mut obj);
            self.bound.truncate(mark);
            res?;
        }
        Ok(if f.key_expr.is_some() {
            Value::Object(obj)
        } else {
            Value::Array(list)
        })
    }

    fn for_item(
        &mut self,
        f: &ForExpr,
        list: &mut Vec<Value>,
        obj: &mut Map<String, Value>,
    ) -> Result<(), EvalError> {
        if let Some(c) = &f.cond {
            let cv = self.eval(&c.expr)?;
            if !to_bool(&cv)
                .ok_or_else(|| EvalError::new(c.expr.span(), "for condition must be a bool"))?
            {
                return Ok(());
            }
        }
        let val = self.eval(&f.value_expr)?;
        match &f.key_expr {
            Some(ke) => {
                let kv = self.eval(ke)?;
                let key = to_str(&kv)
                    .ok_or_else(|| EvalError::new(ke.span(), "for key must be a string"))?;
                if f.grouping {
                    if let Value::Array(a) =
                        obj.entry(key).or_insert_with(|| Value::Array(Vec::new()))
                    {
                        a.push(val);
                    }
                } else if obj.contains_key(&key) {
                    return Err(EvalError::new(
                        ke.span(),
                        format!("duplicate key {key:?} in for expression (use \"...\" to group)"),
                    ));
                } else {
                    obj.insert(key, val);
                }
            }
            None => list.push(val),
        }
        Ok(())
    }

    /// Evaluates a template (string or heredoc) to a string.
    pub(crate) fn eval_template(&mut self, t: &Template) -> Result<String, EvalError> {
        let mut out = String::new();
        for el in t.iter() {
            self.eval_element(el, &mut out)?;
        }
        Ok(out)
    }

    fn eval_element(&mut self, el: &Element, out: &mut String) -> Result<(), EvalError> {
        match el {
            Element::Literal(s) => out.push_str(s.value()),
            Element::Interpolation(i) => {
                if i.strip.strip_start() {
                    let trimmed = out.trim_end().len();
                    out.truncate(trimmed);
                }
                let v = self.eval(&i.expr)?;
                match to_str(&v) {
                    Some(s) => out.push_str(&s),
                    None => {
                        return Err(EvalError::new(
                            i.expr.span(),
                            format!("cannot interpolate a {} into a string", type_name(&v)),
                        ));
                    }
                }
            }
            Element::Directive(d) => match d.as_ref() {
                Directive::If(ifd) => {
                    let c = self.eval(&ifd.if_expr.cond_expr)?;
                    let b = to_bool(&c).ok_or_else(|| {
                        EvalError::new(ifd.if_expr.cond_expr.span(), "if condition must be a bool")
                    })?;
                    if b {
                        let s = self.eval_template(&ifd.if_expr.template)?;
                        out.push_str(&s);
                    } else if let Some(e) = &ifd.else_expr {
                        let s = self.eval_template(&e.template)?;
                        out.push_str(&s);
                    }
                }
                Directive::For(fd) => {
                    let fe = &fd.for_expr;
                    let coll = self.eval(&fe.collection_expr)?;
                    let pairs: Vec<(Value, Value)> = match coll {
                        Value::Array(a) => a
                            .into_iter()
                            .enumerate()
                            .map(|(i, v)| (Value::Number(i.into()), v))
                            .collect(),
                        Value::Object(o) => {
                            o.into_iter().map(|(k, v)| (Value::String(k), v)).collect()
                        }
                        other => {
                            return Err(EvalError::new(
                                fe.collection_expr.span(),
                                format!("cannot iterate over {}", type_name(&other)),
                            ));
                        }
                    };
                    for (k, v) in pairs {
                        let mark = self.bound.len();
                        if let Some(kv) = &fe.key_var {
                            self.bound.push((kv.value().to_string(), k));
                        }
                        self.bound.push((fe.value_var.value().to_string(), v));
                        let r = self.eval_template(&fe.template);
                        self.bound.truncate(mark);
                        out.push_str(&r?);
                    }
                }
            },
        }
        Ok(())
    }
}

fn apply_op(
    ev: &mut Evaluator<'_>,
    op: &TraversalOperator,
    cur: Value,
    span: Option<Range<usize>>,
    kind: &str,
) -> Result<Value, EvalError> {
    let key: Value = match op {
        TraversalOperator::GetAttr(id) => Value::String(id.value().to_string()),
        TraversalOperator::Index(e) => ev.eval(e)?,
        TraversalOperator::LegacyIndex(n) => Value::Number((*n.value()).into()),
        TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => return Ok(cur),
    };
    match (&cur, &key) {
        (Value::Object(o), k) => {
            let ks = to_str(k).unwrap_or_default();
            match o.get(&ks) {
                Some(v) => Ok(v.clone()),
                None if !kind.is_empty() => {
                    Err(EvalError::new(span, format!("undefined {kind} {ks:?}")))
                }
                None => Err(EvalError::new(
                    span,
                    format!("object has no attribute {ks:?}"),
                )),
            }
        }
        (Value::Array(a), k) => {
            let idx = to_num(k).filter(|f| *f >= 0.0 && f.fract() == 0.0);
            match idx.and_then(|i| a.get(i as usize)) {
                Some(v) => Ok(v.clone()),
                None => Err(EvalError::new(span, format!("invalid list index {k}"))),
            }
        }
        (other, _) => Err(EvalError::new(
            span,
            format!("cannot index into a {}", type_name(other)),
        )),
    }
}

fn cmp_nums(l: &Value, r: &Value) -> Result<(f64, f64), String> {
    match (to_num(l), to_num(r)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(format!(
            "operator needs numbers, got {} and {}",
            type_name(l),
            type_name(r)
        )),
    }
}

fn binary(op: BinaryOperator, l: &Value, r: &Value) -> Result<Value, String> {
    use BinaryOperator as B;
    Ok(match op {
        B::Eq => Value::Bool(values_equal(l, r)),
        B::NotEq => Value::Bool(!values_equal(l, r)),
        B::Less => cmp_nums(l, r).map(|(a, b)| Value::Bool(a < b))?,
        B::LessEq => cmp_nums(l, r).map(|(a, b)| Value::Bool(a <= b))?,
        B::Greater => cmp_nums(l, r).map(|(a, b)| Value::Bool(a > b))?,
        B::GreaterEq => cmp_nums(l, r).map(|(a, b)| Value::Bool(a >= b))?,
        B::Plus => cmp_nums(l, r).map(|(a, b)| num(a + b))?,
        B::Minus => cmp_nums(l, r).map(|(a, b)| num(a - b))?,
        B::Mul => cmp_nums(l, r).map(|(a, b)| num(a * b))?,
        B::Div => {
            let (a, b) = cmp_nums(l, r)?;
            if b == 0.0 {
                return Err("division by zero".into());
            }
            num(a / b)
        }
        B::Mod => {
            let (a, b) = cmp_nums(l, r)?;
            if b == 0.0 {
                return Err("modulo by zero".into());
            }
            num(a % b)
        }
        B::And | B::Or => match (to_bool(l), to_bool(r)) {
            (Some(a), Some(b)) => Value::Bool(if op == B::And { a && b } else { a || b }),
            _ => return Err("logical operator needs bools".into()),
        },
    })
}
