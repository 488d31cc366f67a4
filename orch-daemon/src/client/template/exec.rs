//! Template execution: values, functions, field access and Go's `printf`.

use super::*;

// ---------------------------------------------------------------------------------
// Values and execution.

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Val {
    Nil,
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<Val>),
    Map(BTreeMap<String, Val>),
}

impl Val {
    pub(super) fn truthy(&self) -> bool {
        match self {
            Val::Nil => false,
            Val::Str(s) => !s.is_empty(),
            Val::Int(n) => *n != 0,
            Val::Bool(b) => *b,
            Val::List(l) => !l.is_empty(),
            Val::Map(m) => !m.is_empty(),
        }
    }

    pub(super) fn type_name(&self) -> &'static str {
        match self {
            Val::Nil => "nil",
            Val::Str(_) => "string",
            Val::Int(_) => "int",
            Val::Bool(_) => "bool",
            Val::List(_) => "list",
            Val::Map(_) => "map",
        }
    }
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::Nil => f.write_str("<no value>"),
            Val::Str(s) => f.write_str(s),
            Val::Int(n) => write!(f, "{n}"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Val::Map(m) => {
                f.write_str("map[")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{k}:{v}")?;
                }
                f.write_str("]")
            }
        }
    }
}

pub(super) fn service_val(s: ServiceEntry) -> Val {
    let mut m = BTreeMap::new();
    m.insert("ID".into(), Val::Str(s.id));
    m.insert("Name".into(), Val::Str(s.name));
    m.insert("Namespace".into(), Val::Str(s.namespace));
    m.insert("Datacenter".into(), Val::Str(s.datacenter));
    m.insert("Address".into(), Val::Str(s.address));
    m.insert("Port".into(), Val::Int(i64::from(s.port)));
    m.insert(
        "Tags".into(),
        Val::List(s.tags.into_iter().map(Val::Str).collect()),
    );
    m.insert("AllocID".into(), Val::Str(s.alloc_id));
    m.insert("NodeID".into(), Val::Str(s.node_id));
    m.insert("JobID".into(), Val::Str(s.job_id));
    Val::Map(m)
}

pub(super) struct Exec<'a> {
    pub(super) ctx: &'a dyn TemplateContext,
    pub(super) vars: Vec<(String, Val)>,
    pub(super) out: String,
    /// Nodes executed so far, at most [`super::MAX_WORK`].
    pub(super) work: usize,
}

impl Exec<'_> {
    pub(super) fn nodes(&mut self, nodes: &[Node], dot: &Val) -> Result<(), TemplateError> {
        for n in nodes {
            self.node(n, dot)?;
        }
        Ok(())
    }

    /// Runs `nodes` in a new variable scope.
    pub(super) fn scoped(&mut self, nodes: &[Node], dot: &Val) -> Result<(), TemplateError> {
        let mark = self.vars.len();
        let r = self.nodes(nodes, dot);
        self.vars.truncate(mark);
        r
    }

    pub(super) fn node(&mut self, node: &Node, dot: &Val) -> Result<(), TemplateError> {
        self.work += 1;
        if self.work > super::MAX_WORK {
            return Err(TemplateError::Exec {
                line: node_line(node),
                message: format!(
                    "rendering takes more than {} steps (nested range?); simplify the template",
                    super::MAX_WORK
                ),
            });
        }
        self.node_inner(node, dot)?;
        if self.out.len() > super::MAX_RENDERED_BYTES {
            return Err(TemplateError::Exec {
                line: node_line(node),
                message: format!(
                    "the rendered template is larger than {} MiB",
                    super::MAX_RENDERED_BYTES >> 20
                ),
            });
        }
        Ok(())
    }

    fn node_inner(&mut self, node: &Node, dot: &Val) -> Result<(), TemplateError> {
        match node {
            Node::Text(t) => self.out.push_str(t),
            Node::Action(p) => {
                let v = self.pipeline(p, dot)?;
                if p.decl.is_empty() {
                    let _ = write!(self.out, "{v}");
                }
            }
            Node::If(p, then, els) => {
                let mark = self.vars.len();
                let v = self.pipeline(p, dot)?;
                let r = if v.truthy() {
                    self.nodes(then, dot)
                } else {
                    self.nodes(els, dot)
                };
                self.vars.truncate(mark);
                r?;
            }
            Node::With(p, body, els) => {
                let mark = self.vars.len();
                let v = self.pipeline(p, dot)?;
                let r = if v.truthy() {
                    self.nodes(body, &v)
                } else {
                    self.nodes(els, dot)
                };
                self.vars.truncate(mark);
                r?;
            }
            Node::Range(p, body, els) => {
                // The declared variables are set per element, not to the whole value.
                let plain = Pipeline {
                    decl: Vec::new(),
                    assign: false,
                    ..p.clone()
                };
                let v = self.pipeline(&plain, dot)?;
                let items: Vec<(Val, Val)> = match v {
                    Val::List(l) => l
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (Val::Int(i as i64), v))
                        .collect(),
                    Val::Map(m) => m.into_iter().map(|(k, v)| (Val::Str(k), v)).collect(),
                    Val::Nil => Vec::new(),
                    Val::Int(n) if n > super::MAX_RANGE_COUNT => {
                        return Err(TemplateError::Exec {
                            line: p.line,
                            message: format!(
                                "range {n}: counts above {} are refused",
                                super::MAX_RANGE_COUNT
                            ),
                        });
                    }
                    Val::Int(n) => (0..n.max(0)).map(|i| (Val::Int(i), Val::Int(i))).collect(),
                    other => {
                        return Err(TemplateError::Exec {
                            line: p.line,
                            message: format!("range can't iterate over {other}"),
                        });
                    }
                };
                if items.is_empty() {
                    return self.scoped(els, dot);
                }
                for (k, v) in items {
                    let mark = self.vars.len();
                    match p.decl.as_slice() {
                        [] => {}
                        [e] => self.vars.push((e.clone(), v.clone())),
                        [i, e, ..] => {
                            self.vars.push((i.clone(), k));
                            self.vars.push((e.clone(), v.clone()));
                        }
                    }
                    let r = self.nodes(body, &v);
                    self.vars.truncate(mark);
                    r?;
                }
            }
        }
        Ok(())
    }

    pub(super) fn pipeline(&mut self, p: &Pipeline, dot: &Val) -> Result<Val, TemplateError> {
        let mut prev: Option<Val> = None;
        for cmd in &p.cmds {
            prev = Some(self.command(cmd, dot, prev, p.line)?);
        }
        let v = prev.unwrap_or(Val::Nil);
        if p.assign {
            let name = &p.decl[0];
            match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = v.clone(),
                None => {
                    return Err(TemplateError::Exec {
                        line: p.line,
                        message: format!("undefined variable: {name}"),
                    });
                }
            }
        } else if let Some(name) = p.decl.first() {
            self.vars.push((name.clone(), v.clone()));
        }
        Ok(v)
    }

    pub(super) fn command(
        &mut self,
        cmd: &[Arg],
        dot: &Val,
        prev: Option<Val>,
        line: usize,
    ) -> Result<Val, TemplateError> {
        match &cmd[0] {
            Arg::Func(name) => {
                let mut args = Vec::with_capacity(cmd.len());
                for a in &cmd[1..] {
                    args.push(self.arg(a, dot, line)?);
                }
                if let Some(v) = prev {
                    args.push(v);
                }
                self.call(name, args, line)
            }
            first => {
                if cmd.len() > 1 || prev.is_some() {
                    return Err(TemplateError::Exec {
                        line,
                        message: "can't give arguments to a non-function".into(),
                    });
                }
                self.arg(first, dot, line)
            }
        }
    }

    pub(super) fn arg(&mut self, a: &Arg, dot: &Val, line: usize) -> Result<Val, TemplateError> {
        match a {
            Arg::Lit(v) => Ok(v.clone()),
            Arg::Dot(f) => fields(dot.clone(), f, line),
            Arg::Var(name, f) => {
                let v = self
                    .vars
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| TemplateError::Exec {
                        line,
                        message: format!("undefined variable: {name}"),
                    })?;
                fields(v, f, line)
            }
            Arg::Func(name) => self.call(name, Vec::new(), line),
            Arg::Sub(p) => self.pipeline(p, dot),
        }
    }

    /// Runs the template function `name`: the data sources here, the rest in
    /// `funcs` by family.
    pub(super) fn call(
        &mut self,
        name: &str,
        args: Vec<Val>,
        line: usize,
    ) -> Result<Val, TemplateError> {
        let c = Call { name, args, line };
        match name {
            "env" => {
                c.arity(1)?;
                Ok(Val::Str(self.ctx.env(&c.text(0)).unwrap_or_default()))
            }
            "nomadService" => {
                c.arity(1)?;
                let svc = c.text(0);
                let Some(entries) = self.ctx.services(&svc) else {
                    return Err(c.err(format!(
                        "nomadService {svc:?}: this client has no service catalog yet"
                    )));
                };
                Ok(Val::List(entries.into_iter().map(service_val).collect()))
            }
            "nomadVar" | "nomadVarExists" => {
                c.arity(1)?;
                let path = c.text(0);
                let found = self
                    .ctx
                    .variable(&path)
                    .map_err(|e| c.err(format!("{name} {path:?}: {e}")))?;
                match (name, found) {
                    ("nomadVarExists", v) => Ok(Val::Bool(v.is_some())),
                    (_, Some(items)) => Ok(Val::Map(
                        items.into_iter().map(|(k, v)| (k, Val::Str(v))).collect(),
                    )),
                    (_, None) => Err(c.err(format!("nomadVar {path:?}: variable not found"))),
                }
            }
            "nomadVarList" | "nomadVarListSafe" => {
                let prefix = if c.args.is_empty() {
                    String::new()
                } else {
                    c.text(0)
                };
                let paths = match self.ctx.variable_list(&prefix) {
                    Ok(p) => p,
                    Err(_) if name == "nomadVarListSafe" => Vec::new(),
                    Err(e) => return Err(c.err(format!("{name} {prefix:?}: {e}"))),
                };
                Ok(Val::List(paths.into_iter().map(var_meta_val).collect()))
            }
            _ => funcs::call(c),
        }
    }
}

/// A `nomadVarList` entry: `.Path` (and `.Namespace` left to the caller's namespace).
fn var_meta_val(path: String) -> Val {
    let mut m = BTreeMap::new();
    m.insert("Path".into(), Val::Str(path));
    Val::Map(m)
}

/// The line a node starts on, for errors (text has none of its own: 0).
fn node_line(node: &Node) -> usize {
    match node {
        Node::Text(_) => 0,
        Node::Action(p) | Node::If(p, ..) | Node::With(p, ..) | Node::Range(p, ..) => p.line,
    }
}

pub(super) fn fields(mut v: Val, names: &[String], line: usize) -> Result<Val, TemplateError> {
    for n in names {
        v = match v {
            Val::Map(mut m) => match m.remove(n) {
                Some(x) => x,
                None => {
                    return Err(TemplateError::Exec {
                        line,
                        message: format!("can't evaluate field {n}"),
                    });
                }
            },
            other => {
                return Err(TemplateError::Exec {
                    line,
                    message: format!("can't evaluate field {n} in type {}", other.type_name()),
                });
            }
        };
    }
    Ok(v)
}

pub(super) fn equal(a: &Val, b: &Val) -> Result<bool, String> {
    match (a, b) {
        (Val::Str(_), Val::Str(_))
        | (Val::Int(_), Val::Int(_))
        | (Val::Bool(_), Val::Bool(_))
        | (Val::Nil, Val::Nil) => Ok(a == b),
        _ => Err(format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        )),
    }
}

pub(super) fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

/// Go's `fmt.Sprintf` for `%s %d %v %q %x %%` (no widths); extra or missing operands are
/// written the way Go writes them.
pub(super) fn printf(format: &str, args: &[Val]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.next() else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        match (verb, arg) {
            ('s' | 'v', v) => {
                let _ = write!(out, "{v}");
            }
            ('d', Val::Int(n)) => {
                let _ = write!(out, "{n}");
            }
            ('q', v) => {
                let _ = write!(out, "{:?}", v.to_string());
            }
            ('x', Val::Int(n)) => {
                let _ = write!(out, "{n:x}");
            }
            ('x', v) => {
                for b in v.to_string().bytes() {
                    let _ = write!(out, "{b:02x}");
                }
            }
            (verb, v) => {
                let _ = write!(out, "%!{verb}({}={v})", v.type_name());
            }
        }
    }
    let extra: Vec<String> = args.map(|v| format!("{}={v}", v.type_name())).collect();
    if !extra.is_empty() {
        let _ = write!(out, "%!(EXTRA {})", extra.join(", "));
    }
    out
}
