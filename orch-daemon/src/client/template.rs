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
//! `len`, `index`, `print`, `println`, `printf` (`%s %d %v %q %x %%`), `toUpper toLower toTitle trimSpace`,
//! `trim "cut" s`, `replaceAll "old" "new" s`, `split "sep" s`, `join "sep" list`,
//! `contains "needle" s`, `parseInt s`, `parseBool s`, `default "fallback" v`.
//!
//! Consul, Vault and Nomad-variable functions (`key`, `secret`, `service`,
//! `nomadVar`, ...) are refused with an error that names them; so are unknown functions.
//! A template past the `MAX_*` limits (nesting, steps, `range` count, output size) is an
//! error, never a crash.
//!
//! Modules: `lexer` (text and actions), `parser` (the node tree), `exec` (rendering and
//! the data sources), `funcs` (the computing functions by family), `tests`.

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
    /// A Nomad variable's items read with the task's workload identity: `Ok(None)` when
    /// it does not exist, `Err` when it cannot be read (no identity, no access).
    fn variable(&self, _path: &str) -> Result<Option<BTreeMap<String, String>>, String> {
        Err("this template has no access to Nomad variables".into())
    }
    /// The paths of the variables under `prefix` the task's identity may list.
    fn variable_list(&self, _prefix: &str) -> Result<Vec<String>, String> {
        Err("this template has no access to Nomad variables".into())
    }
}

/// `if`/`range`/`with` blocks (and `else if`s) nested inside each other, at most: the
/// parser and the executor recurse once per level.
pub const MAX_NESTING: usize = 100;

/// Template nodes executed in one rendering, at most (nested `range`s multiply).
pub const MAX_WORK: usize = 1_000_000;

/// The largest rendered template, in bytes.
pub const MAX_RENDERED_BYTES: usize = 16 << 20;

/// The largest integer `range` counts to.
pub const MAX_RANGE_COUNT: i64 = 100_000;

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template: line {line}: {message}")]
    Parse { line: usize, message: String },
    #[error("template: line {line}: {message}")]
    Exec { line: usize, message: String },
    #[error(
        "template: line {line}: function {function:?} is not supported: orch templates support only Nomad-native sources (env, nomadService), not Consul or Vault"
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
    "nomadVar",
    "nomadVarList",
    "nomadVarListSafe",
    "nomadVarExists",
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
    "index",
    "print",
    "printf",
    "println",
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
    render_over(left, right, tmpl, ctx, Val::Nil)
}

/// Renders `tmpl` with `dot` as `.` and `$`.
fn render_over(
    left: &str,
    right: &str,
    tmpl: &str,
    ctx: &dyn TemplateContext,
    dot: Val,
) -> Result<String, TemplateError> {
    let pieces = lex(tmpl, left, right)?;
    let mut parser = Parser {
        pieces,
        pos: 0,
        depth: 0,
    };
    let (nodes, end) = parser.list()?;
    if let Some((kw, line)) = end {
        return Err(TemplateError::Parse {
            line,
            message: format!("unexpected {{{{{kw}}}}}"),
        });
    }
    let mut exec = Exec {
        ctx,
        vars: vec![("$".into(), dot.clone())],
        out: String::new(),
        work: 0,
    };
    exec.nodes(&nodes, &dot)?;
    Ok(exec.out)
}

/// Renders `tmpl` over JSON data (`.` and `$` are `data`): the CLI's `-t`, which Nomad
/// runs over the object its `-json` prints. No data sources: `env` is empty and
/// `nomadService` an error.
pub fn render_json(tmpl: &str, data: &serde_json::Value) -> Result<String, TemplateError> {
    struct NoSources;
    impl TemplateContext for NoSources {
        fn env(&self, _: &str) -> Option<String> {
            None
        }
        fn services(&self, _: &str) -> Option<Vec<ServiceEntry>> {
            None
        }
    }
    render_over("{{", "}}", tmpl, &NoSources, json_val(data))
}

/// A JSON value as a template value; a number that is no integer prints as Go's `%v`
/// of a float64 would, as text.
fn json_val(v: &serde_json::Value) -> Val {
    use serde_json::Value as J;
    match v {
        J::Null => Val::Nil,
        J::Bool(b) => Val::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Val::Int(i),
            None => Val::Str(n.to_string()),
        },
        J::String(s) => Val::Str(s.clone()),
        J::Array(a) => Val::List(a.iter().map(json_val).collect()),
        J::Object(o) => Val::Map(o.iter().map(|(k, v)| (k.clone(), json_val(v))).collect()),
    }
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
    read_source(task_dir, &path)
        .map_err(|e| TemplateError::Source(format!("source {:?}: {e}", t.source_path)))
}

/// Reads a template's source file beneath the task directory without following links
/// (a task could otherwise point its `local/` source at a root-only file for the agent
/// to render into a readable destination).
fn read_source(task_dir: &Path, path: &Path) -> std::io::Result<String> {
    let rel = path
        .strip_prefix(normalize(task_dir))
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    let mut f = super::safe_path::Dir::open(task_dir)?.open_read(rel)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut f, &mut text)?;
    Ok(text)
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

mod exec;
mod funcs;
mod lexer;
mod parser;
mod sprig;

use exec::*;
use funcs::Call;
use lexer::*;
use parser::*;

#[cfg(test)]
mod tests;
