//! Renders a task's `template` blocks: the consul-template subset that needs only
//! Nomad-native data, in Go `text/template` syntax.
//!
//! Syntax: text; actions between the template's delimiters (`{{ }}` by default); trim
//! markers `{{- ` and ` -}}`; comments `{{/* */}}`; string (`"..."`, `` `...` ``),
//! integer and boolean literals; `.`, `.Field.Sub`, `$`, `$x`, `$x.Field`; pipelines
//! `a | b "x"` (the left value becomes the last argument); parenthesized pipelines;
//! `{{ $x := ... }}` and `{{ $x = ... }}`; `if`/`else if`/`else`/`end`, `range` (with
//! `$i, $e :=` and `else`) and `with`.
//!
//! Functions: `env "KEY"` (the task's environment plus `node.*`, `attr.*`, `meta.*`, as
//! in Nomad), `nomadService "name"` (entries with `.ID .Name .Address .Port .Tags
//! .Namespace .Datacenter .AllocID .NodeID .JobID`), `eq ne lt le gt ge and or not`,
//! `len`, `print`, `printf` (`%s %d %v %q %x %%`), `toUpper toLower toTitle trimSpace`,
//! `trim "cut" s`, `replaceAll "old" "new" s`, `split "sep" s`, `join "sep" list`,
//! `contains "needle" s`, `parseInt s`, `parseBool s`, `default "fallback" v`.
//!
//! Consul, Vault and Nomad-variable functions (`key`, `secret`, `service`,
//! `nomadVar`, ...) are refused with an error that names them; so are unknown functions.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use orch_core::model::Template;

/// One instance of a Nomad service, as `nomadService` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceEntry {
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub datacenter: String,
    pub address: String,
    pub port: u16,
    pub tags: Vec<String>,
    pub alloc_id: String,
    pub node_id: String,
    pub job_id: String,
}

/// Where a template's data comes from.
pub trait TemplateContext {
    /// The `env` function: the task's environment plus `node.*`, `attr.*`, `meta.*`.
    fn env(&self, key: &str) -> Option<String>;
    /// Healthy instances of a Nomad service; `None` while the client has no service
    /// catalog (then `nomadService` is an error).
    fn services(&self, name: &str) -> Option<Vec<ServiceEntry>>;
}

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template: line {line}: {message}")]
    Parse { line: usize, message: String },
    #[error("template: line {line}: {message}")]
    Exec { line: usize, message: String },
    #[error(
        "template: line {line}: function {function:?} is not supported: orch templates support only Nomad-native sources (env, nomadService), not Consul, Vault or Nomad variables"
    )]
    Unsupported { line: usize, function: String },
    #[error("template: line {line}: function {function:?} not defined")]
    UnknownFunction { line: usize, function: String },
    #[error("template: {0}")]
    Source(String),
}

/// consul-template/Nomad functions orch knows of but cannot serve.
const UNSUPPORTED: &[&str] = &[
    "key",
    "keyExists",
    "keyOrDefault",
    "ls",
    "safeLs",
    "tree",
    "safeTree",
    "secret",
    "secrets",
    "service",
    "services",
    "connect",
    "caLeaf",
    "caRoots",
    "datacenters",
    "node",
    "nodes",
    "nomadServices",
    "nomadVar",
    "nomadVarList",
    "nomadVarListSafe",
    "nomadVarExists",
    "pkiCert",
    "file",
    "plugin",
    "executeTemplate",
    "writeToFile",
    "exec",
];

const FUNCTIONS: &[&str] = &[
    "env",
    "nomadService",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "and",
    "or",
    "not",
    "len",
    "print",
    "printf",
    "toUpper",
    "toLower",
    "toTitle",
    "trimSpace",
    "trim",
    "replaceAll",
    "split",
    "join",
    "contains",
    "parseInt",
    "parseBool",
    "default",
];

/// Renders `tmpl` with delimiters `left`/`right` (empty = `{{`/`}}`).
pub fn render(
    tmpl: &str,
    left: &str,
    right: &str,
    ctx: &dyn TemplateContext,
) -> Result<String, TemplateError> {
    let left = if left.is_empty() { "{{" } else { left };
    let right = if right.is_empty() { "}}" } else { right };
    let pieces = lex(tmpl, left, right)?;
    let mut parser = Parser { pieces, pos: 0 };
    let (nodes, end) = parser.list()?;
    if let Some((kw, line)) = end {
        return Err(TemplateError::Parse {
            line,
            message: format!("unexpected {{{{{kw}}}}}"),
        });
    }
    let mut exec = Exec {
        ctx,
        vars: vec![("$".into(), Val::Nil)],
        out: String::new(),
    };
    exec.nodes(&nodes, &Val::Nil)?;
    Ok(exec.out)
}

/// The template's text: its `data`, or the file `source` names, relative to the task
/// directory and not outside it.
pub fn template_source(t: &Template, task_dir: &Path) -> Result<String, TemplateError> {
    if !t.embedded_tmpl.is_empty() {
        if !t.source_path.is_empty() {
            return Err(TemplateError::Source(
                "both source and data are set; use one".into(),
            ));
        }
        return Ok(t.embedded_tmpl.clone());
    }
    if t.source_path.is_empty() {
        return Err(TemplateError::Source(
            "neither source nor data is set".into(),
        ));
    }
    let path = inside(task_dir, &t.source_path).ok_or_else(|| {
        TemplateError::Source(format!(
            "source {:?} is outside the task directory",
            t.source_path
        ))
    })?;
    std::fs::read_to_string(&path)
        .map_err(|e| TemplateError::Source(format!("source {:?}: {e}", t.source_path)))
}

/// Where a template is written: `destination` relative to the task directory, allowed
/// to reach the allocation's shared directories (`../alloc/...`) as in Nomad, but never
/// outside `alloc_root` (the allocation's directory, the task directory's parent).
pub fn template_destination(
    t: &Template,
    task_dir: &Path,
    alloc_root: &Path,
) -> Result<PathBuf, TemplateError> {
    if t.dest_path.is_empty() {
        return Err(TemplateError::Source("destination is empty".into()));
    }
    let rel = Path::new(&t.dest_path);
    let joined = if rel.is_absolute() {
        rel.to_path_buf()
    } else {
        task_dir.join(rel)
    };
    let norm = normalize(&joined);
    if !norm.starts_with(normalize(alloc_root)) || norm == normalize(alloc_root) {
        return Err(TemplateError::Source(format!(
            "destination {:?} escapes the allocation directory",
            t.dest_path
        )));
    }
    Ok(norm)
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `rel` under `dir`, refusing absolute paths, `..` out, and symlinks out.
fn inside(dir: &Path, rel: &str) -> Option<PathBuf> {
    let rel = Path::new(rel);
    if rel.is_absolute() {
        return None;
    }
    let joined = normalize(&dir.join(rel));
    if !joined.starts_with(normalize(dir)) {
        return None;
    }
    match (joined.canonicalize(), dir.canonicalize()) {
        (Ok(real), Ok(base)) if !real.starts_with(&base) => None,
        _ => Some(joined),
    }
}

// ---------------------------------------------------------------------------------
// Lexing: text and actions.

#[derive(Debug)]
enum Piece {
    Text(String),
    Action { body: String, line: usize },
}

fn lex(src: &str, left: &str, right: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = src;
    let mut line = 1;
    let mut trim_next = false;
    while !rest.is_empty() {
        let Some(start) = rest.find(left) else {
            push_text(&mut pieces, rest, trim_next);
            break;
        };
        let mut text = &rest[..start];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[start + left.len()..];
        let trim_left = after.starts_with("- ")
            || after.starts_with("-\t")
            || after.starts_with("-\n")
            || after.starts_with("-\r");
        if trim_left {
            text = text.trim_end();
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text.to_string()));
        }
        line += rest[..start].matches('\n').count();
        let inner_start = if trim_left { 1 } else { 0 };
        let inner = &after[inner_start..];
        // Comments may contain the right delimiter's characters only at their end.
        let close = if inner.trim_start().starts_with("/*") {
            inner.find("*/").and_then(|i| {
                let tail = &inner[i + 2..];
                let t = tail.trim_start_matches([' ', '\t', '\r', '\n']);
                let t = t
                    .strip_prefix('-')
                    .map_or(t, |x| x.trim_start_matches([' ', '\t', '\r', '\n']));
                tail.len()
                    .checked_sub(t.len())
                    .and_then(|skip| t.starts_with(right).then_some(i + 2 + skip))
            })
        } else {
            find_close(inner, right)
        };
        let Some(close) = close else {
            return Err(TemplateError::Parse {
                line,
                message: format!("unclosed action (missing {right:?})"),
            });
        };
        let mut body = &inner[..close];
        trim_next = false;
        if let Some(b) = body.strip_suffix('-')
            && b.ends_with([' ', '\t', '\r', '\n'])
        {
            trim_next = true;
            body = b;
        }
        let body_line = line;
        line += inner[..close].matches('\n').count();
        let b = body.trim();
        if !(b.starts_with("/*") && b.ends_with("*/")) {
            pieces.push(Piece::Action {
                body: body.to_string(),
                line: body_line,
            });
        }
        rest = &inner[close + right.len()..];
        if rest.is_empty() {
            break;
        }
    }
    Ok(pieces)
}

fn push_text(pieces: &mut Vec<Piece>, text: &str, trim: bool) {
    let text = if trim { text.trim_start() } else { text };
    if !text.is_empty() {
        pieces.push(Piece::Text(text.to_string()));
    }
}

/// The right delimiter's position, skipping string literals.
fn find_close(s: &str, right: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    i += 1;
                }
            }
            _ if s[i..].starts_with(right) => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

// ---------------------------------------------------------------------------------
// Parsing.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Int(i64),
    Bool(bool),
    Nil,
    /// `.`, `.A.B` (fields after the dot).
    Dot(Vec<String>),
    /// `$`, `$x`, `$x.A`.
    Var(String, Vec<String>),
    Ident(String),
    /// `(pipeline).A` is not supported; plain parentheses are.
    Open,
    Close,
    Pipe,
    Declare,
    Assign,
    Comma,
}

fn tokenize(s: &str, line: usize) -> Result<Vec<Tok>, TemplateError> {
    let err = |message: String| TemplateError::Parse { line, message };
    let chars: Vec<char> = s.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let fields = |chars: &[char], i: &mut usize| -> Vec<String> {
        let mut out = Vec::new();
        while *i < chars.len() && chars[*i] == '.' {
            let start = *i + 1;
            let mut j = start;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            if j == start {
                break;
            }
            out.push(chars[start..j].iter().collect());
            *i = j;
        }
        out
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                toks.push(Tok::Open);
                i += 1;
            }
            ')' => {
                toks.push(Tok::Close);
                i += 1;
            }
            '|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            ',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            ':' if chars.get(i + 1) == Some(&'=') => {
                toks.push(Tok::Declare);
                i += 2;
            }
            '=' => {
                toks.push(Tok::Assign);
                i += 1;
            }
            '"' => {
                let mut out = String::new();
                i += 1;
                loop {
                    let Some(&c) = chars.get(i) else {
                        return Err(err("unterminated string".into()));
                    };
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => {
                            let e = chars.get(i).copied().unwrap_or('\\');
                            i += 1;
                            out.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                '0' => '\0',
                                other => other,
                            });
                        }
                        c => out.push(c),
                    }
                }
                toks.push(Tok::Str(out));
            }
            '`' => {
                let start = i + 1;
                let Some(len) = chars[start..].iter().position(|&c| c == '`') else {
                    return Err(err("unterminated raw string".into()));
                };
                toks.push(Tok::Str(chars[start..start + len].iter().collect()));
                i = start + len + 1;
            }
            '.' => {
                let f = fields(&chars, &mut i);
                if f.is_empty() {
                    i += 1;
                }
                toks.push(Tok::Dot(f));
            }
            '$' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                let name: String = std::iter::once('$')
                    .chain(chars[start..j].iter().copied())
                    .collect();
                i = j;
                let f = fields(&chars, &mut i);
                toks.push(Tok::Var(name, f));
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = text
                    .parse()
                    .map_err(|_| err(format!("bad number {text:?}")))?;
                toks.push(Tok::Int(n));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                toks.push(match word.as_str() {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "nil" => Tok::Nil,
                    _ => Tok::Ident(word),
                });
            }
            other => return Err(err(format!("unexpected {other:?} in action"))),
        }
    }
    Ok(toks)
}

#[derive(Debug, Clone)]
enum Arg {
    Lit(Val),
    Dot(Vec<String>),
    Var(String, Vec<String>),
    Func(String),
    Sub(Box<Pipeline>),
}

#[derive(Debug, Clone)]
struct Pipeline {
    decl: Vec<String>,
    /// `=` rather than `:=`.
    assign: bool,
    cmds: Vec<Vec<Arg>>,
    line: usize,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipeline),
    If(Pipeline, Vec<Node>, Vec<Node>),
    Range(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
}

struct Parser {
    pieces: Vec<Piece>,
    pos: usize,
}

/// How a list ended: `end`, `else`, or `else <rest>` (for `else if`), with its line.
type ListEnd = Option<(String, usize)>;

impl Parser {
    /// Nodes until `end`/`else ...` (returned) or the end of input (`None`).
    fn list(&mut self) -> Result<(Vec<Node>, ListEnd), TemplateError> {
        let mut nodes = Vec::new();
        while self.pos < self.pieces.len() {
            let piece = &self.pieces[self.pos];
            self.pos += 1;
            let (body, line) = match piece {
                Piece::Text(t) => {
                    nodes.push(Node::Text(t.clone()));
                    continue;
                }
                Piece::Action { body, line } => (body.trim().to_string(), *line),
            };
            let (kw, rest) = match body.split_once(|c: char| c.is_whitespace()) {
                Some((k, r)) => (k, r.trim()),
                None => (body.as_str(), ""),
            };
            match kw {
                "end" | "else" => return Ok((nodes, Some((body.clone(), line)))),
                "if" | "range" | "with" => {
                    let pipe = self.pipeline(rest, line)?;
                    let node = self.control(kw, pipe, line)?;
                    nodes.push(node);
                }
                "define" | "template" | "block" | "break" | "continue" => {
                    return Err(TemplateError::Parse {
                        line,
                        message: format!("{{{{{kw}}}}} is not supported"),
                    });
                }
                _ => nodes.push(Node::Action(self.pipeline(&body, line)?)),
            }
        }
        Ok((nodes, None))
    }

    /// The body (and `else`) of an `if`/`range`/`with` whose pipeline is parsed.
    fn control(&mut self, kw: &str, pipe: Pipeline, line: usize) -> Result<Node, TemplateError> {
        let (body, end) = self.list()?;
        let unclosed = || TemplateError::Parse {
            line,
            message: format!("unexpected end of template in {{{{{kw}}}}}"),
        };
        let (end, end_line) = end.ok_or_else(unclosed)?;
        let els = if end == "end" {
            Vec::new()
        } else {
            let rest = end.strip_prefix("else").unwrap_or("").trim();
            if rest.is_empty() {
                let (els, end2) = self.list()?;
                match end2 {
                    Some((e, _)) if e == "end" => els,
                    Some((e, l)) => {
                        return Err(TemplateError::Parse {
                            line: l,
                            message: format!("unexpected {{{{{e}}}}} after else"),
                        });
                    }
                    None => return Err(unclosed()),
                }
            } else if let Some(cond) = rest.strip_prefix("if ") {
                // `else if` shares the outer `end`.
                let p = self.pipeline(cond.trim(), end_line)?;
                vec![self.control("if", p, end_line)?]
            } else if let Some(cond) = rest.strip_prefix("with ") {
                let p = self.pipeline(cond.trim(), end_line)?;
                vec![self.control("with", p, end_line)?]
            } else {
                return Err(TemplateError::Parse {
                    line: end_line,
                    message: format!("unexpected {{{{{end}}}}}"),
                });
            }
        };
        Ok(match kw {
            "if" => Node::If(pipe, body, els),
            "range" => Node::Range(pipe, body, els),
            _ => Node::With(pipe, body, els),
        })
    }

    fn pipeline(&self, src: &str, line: usize) -> Result<Pipeline, TemplateError> {
        let toks = tokenize(src, line)?;
        let mut pos = 0;
        let p = parse_pipeline(&toks, &mut pos, line, true)?;
        if pos != toks.len() {
            return Err(TemplateError::Parse {
                line,
                message: format!("unexpected {:?} in action", toks[pos]),
            });
        }
        Ok(p)
    }
}

fn parse_pipeline(
    toks: &[Tok],
    pos: &mut usize,
    line: usize,
    top: bool,
) -> Result<Pipeline, TemplateError> {
    let err = |message: String| TemplateError::Parse { line, message };
    let mut decl = Vec::new();
    let mut assign = false;
    // `$x :=`, `$i, $e :=`, `$x =`
    if top {
        let mut look = *pos;
        let mut names = Vec::new();
        while let Some(Tok::Var(name, f)) = toks.get(look) {
            if !f.is_empty() {
                break;
            }
            names.push(name.clone());
            look += 1;
            if toks.get(look) == Some(&Tok::Comma) {
                look += 1;
                continue;
            }
            break;
        }
        match toks.get(look) {
            Some(Tok::Declare) if !names.is_empty() => {
                decl = names;
                *pos = look + 1;
            }
            Some(Tok::Assign) if names.len() == 1 => {
                decl = names;
                assign = true;
                *pos = look + 1;
            }
            _ => {}
        }
    }
    let mut cmds = Vec::new();
    let mut cmd = Vec::new();
    while let Some(t) = toks.get(*pos) {
        match t {
            Tok::Close if !top => break,
            Tok::Pipe => {
                if cmd.is_empty() {
                    return Err(err("missing command before |".into()));
                }
                cmds.push(std::mem::take(&mut cmd));
                *pos += 1;
                continue;
            }
            Tok::Open => {
                *pos += 1;
                let sub = parse_pipeline(toks, pos, line, false)?;
                if toks.get(*pos) != Some(&Tok::Close) {
                    return Err(err("unclosed (".into()));
                }
                cmd.push(Arg::Sub(Box::new(sub)));
            }
            Tok::Str(s) => cmd.push(Arg::Lit(Val::Str(s.clone()))),
            Tok::Int(n) => cmd.push(Arg::Lit(Val::Int(*n))),
            Tok::Bool(b) => cmd.push(Arg::Lit(Val::Bool(*b))),
            Tok::Nil => cmd.push(Arg::Lit(Val::Nil)),
            Tok::Dot(f) => cmd.push(Arg::Dot(f.clone())),
            Tok::Var(n, f) => cmd.push(Arg::Var(n.clone(), f.clone())),
            Tok::Ident(n) => cmd.push(Arg::Func(n.clone())),
            other => return Err(err(format!("unexpected {other:?} in action"))),
        }
        *pos += 1;
    }
    if cmd.is_empty() && !cmds.is_empty() {
        return Err(err("missing command after |".into()));
    }
    if !cmd.is_empty() {
        cmds.push(cmd);
    }
    if cmds.is_empty() {
        return Err(err("missing value for command".into()));
    }
    // Functions are checked at parse time, as Go does.
    for cmd in &cmds {
        for a in cmd {
            if let Arg::Func(name) = a {
                check_function(name, line)?;
            }
        }
    }
    Ok(Pipeline {
        decl,
        assign,
        cmds,
        line,
    })
}

fn check_function(name: &str, line: usize) -> Result<(), TemplateError> {
    if FUNCTIONS.contains(&name) {
        Ok(())
    } else if UNSUPPORTED.contains(&name) {
        Err(TemplateError::Unsupported {
            line,
            function: name.to_string(),
        })
    } else {
        Err(TemplateError::UnknownFunction {
            line,
            function: name.to_string(),
        })
    }
}

// ---------------------------------------------------------------------------------
// Values and execution.

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Nil,
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<Val>),
    Map(BTreeMap<String, Val>),
}

impl Val {
    fn truthy(&self) -> bool {
        match self {
            Val::Nil => false,
            Val::Str(s) => !s.is_empty(),
            Val::Int(n) => *n != 0,
            Val::Bool(b) => *b,
            Val::List(l) => !l.is_empty(),
            Val::Map(m) => !m.is_empty(),
        }
    }

    fn type_name(&self) -> &'static str {
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

fn service_val(s: ServiceEntry) -> Val {
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

struct Exec<'a> {
    ctx: &'a dyn TemplateContext,
    vars: Vec<(String, Val)>,
    out: String,
}

impl Exec<'_> {
    fn nodes(&mut self, nodes: &[Node], dot: &Val) -> Result<(), TemplateError> {
        for n in nodes {
            self.node(n, dot)?;
        }
        Ok(())
    }

    /// Runs `nodes` in a new variable scope.
    fn scoped(&mut self, nodes: &[Node], dot: &Val) -> Result<(), TemplateError> {
        let mark = self.vars.len();
        let r = self.nodes(nodes, dot);
        self.vars.truncate(mark);
        r
    }

    fn node(&mut self, node: &Node, dot: &Val) -> Result<(), TemplateError> {
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

    fn pipeline(&mut self, p: &Pipeline, dot: &Val) -> Result<Val, TemplateError> {
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

    fn command(
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

    fn arg(&mut self, a: &Arg, dot: &Val, line: usize) -> Result<Val, TemplateError> {
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

    fn call(&mut self, name: &str, args: Vec<Val>, line: usize) -> Result<Val, TemplateError> {
        let err = |message: String| TemplateError::Exec { line, message };
        let arity = |n: usize| -> Result<(), TemplateError> {
            if args.len() == n {
                Ok(())
            } else {
                Err(err(format!(
                    "wrong number of args for {name}: want {n} got {}",
                    args.len()
                )))
            }
        };
        let text = |v: &Val| v.to_string();
        Ok(match name {
            "env" => {
                arity(1)?;
                Val::Str(self.ctx.env(&text(&args[0])).unwrap_or_default())
            }
            "nomadService" => {
                arity(1)?;
                let svc = text(&args[0]);
                let Some(entries) = self.ctx.services(&svc) else {
                    return Err(err(format!(
                        "nomadService {svc:?}: this client has no service catalog yet"
                    )));
                };
                Val::List(entries.into_iter().map(service_val).collect())
            }
            "eq" | "ne" => {
                if args.len() < 2 {
                    return Err(err(format!("missing argument for {name}")));
                }
                let mut any = false;
                for other in &args[1..] {
                    any |= equal(&args[0], other).map_err(&err)?;
                }
                if name == "eq" && args.len() > 2 {
                    Val::Bool(any)
                } else {
                    arity(2)?;
                    Val::Bool(if name == "eq" { any } else { !any })
                }
            }
            "lt" | "le" | "gt" | "ge" => {
                arity(2)?;
                let ord = match (&args[0], &args[1]) {
                    (Val::Int(a), Val::Int(b)) => a.cmp(b),
                    (Val::Str(a), Val::Str(b)) => a.cmp(b),
                    (a, b) => {
                        return Err(err(format!(
                            "incompatible types for comparison: {} and {}",
                            a.type_name(),
                            b.type_name()
                        )));
                    }
                };
                Val::Bool(match name {
                    "lt" => ord.is_lt(),
                    "le" => ord.is_le(),
                    "gt" => ord.is_gt(),
                    _ => ord.is_ge(),
                })
            }
            "and" | "or" => {
                if args.is_empty() {
                    return Err(err(format!("missing argument for {name}")));
                }
                let want = name == "or";
                args.iter()
                    .find(|v| v.truthy() == want)
                    .cloned()
                    .unwrap_or_else(|| args.last().cloned().unwrap_or(Val::Nil))
            }
            "not" => {
                arity(1)?;
                Val::Bool(!args[0].truthy())
            }
            "len" => {
                arity(1)?;
                Val::Int(match &args[0] {
                    Val::Str(s) => s.len() as i64,
                    Val::List(l) => l.len() as i64,
                    Val::Map(m) => m.len() as i64,
                    other => return Err(err(format!("len of {}", other.type_name()))),
                })
            }
            "print" => Val::Str(args.iter().map(text).collect::<Vec<_>>().join("")),
            "printf" => {
                if args.is_empty() {
                    return Err(err("missing format for printf".into()));
                }
                Val::Str(printf(&text(&args[0]), &args[1..]))
            }
            "toUpper" | "toLower" | "toTitle" | "trimSpace" => {
                arity(1)?;
                let s = text(&args[0]);
                Val::Str(match name {
                    "toUpper" => s.to_uppercase(),
                    "toLower" => s.to_lowercase(),
                    "toTitle" => title(&s),
                    _ => s.trim().to_string(),
                })
            }
            "trim" => {
                arity(2)?;
                let cut: Vec<char> = text(&args[0]).chars().collect();
                Val::Str(text(&args[1]).trim_matches(cut.as_slice()).to_string())
            }
            "replaceAll" => {
                arity(3)?;
                Val::Str(text(&args[2]).replace(&text(&args[0]), &text(&args[1])))
            }
            "split" => {
                arity(2)?;
                let s = text(&args[1]);
                if s.is_empty() {
                    Val::List(Vec::new())
                } else {
                    Val::List(
                        s.split(&text(&args[0]))
                            .map(|p| Val::Str(p.into()))
                            .collect(),
                    )
                }
            }
            "join" => {
                arity(2)?;
                let Val::List(items) = &args[1] else {
                    return Err(err(format!(
                        "join needs a list, got {}",
                        args[1].type_name()
                    )));
                };
                Val::Str(
                    items
                        .iter()
                        .map(text)
                        .collect::<Vec<_>>()
                        .join(&text(&args[0])),
                )
            }
            "contains" => {
                arity(2)?;
                Val::Bool(match &args[1] {
                    Val::List(l) => l.contains(&args[0]),
                    other => text(other).contains(&text(&args[0])),
                })
            }
            "parseInt" => {
                arity(1)?;
                let s = text(&args[0]);
                Val::Int(
                    s.trim()
                        .parse()
                        .map_err(|_| err(format!("parseInt: {s:?} is not an integer")))?,
                )
            }
            "parseBool" => {
                arity(1)?;
                let s = text(&args[0]);
                Val::Bool(match s.trim() {
                    "1" | "t" | "T" | "true" | "TRUE" | "True" => true,
                    "0" | "f" | "F" | "false" | "FALSE" | "False" => false,
                    _ => return Err(err(format!("parseBool: {s:?} is not a boolean"))),
                })
            }
            "default" => {
                arity(2)?;
                if args[1].truthy() {
                    args[1].clone()
                } else {
                    args[0].clone()
                }
            }
            other => {
                return Err(TemplateError::UnknownFunction {
                    line,
                    function: other.to_string(),
                });
            }
        })
    }
}

fn fields(mut v: Val, names: &[String], line: usize) -> Result<Val, TemplateError> {
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

fn equal(a: &Val, b: &Val) -> Result<bool, String> {
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

fn title(s: &str) -> String {
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
fn printf(format: &str, args: &[Val]) -> String {
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

#[cfg(test)]
mod tests;
