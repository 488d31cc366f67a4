//! Nomad HCL2 jobspec parsing.
//!
//! [`parse_hcl_to_json`] turns a Nomad jobspec (HCL2, as accepted by
//! `nomad job run`) into the JSON shape of Nomad's API `Job` object — exactly
//! what `POST /v1/jobs/parse` returns — so the typed job model can be
//! deserialized from it with serde, and so orch stays a drop-in replacement
//! for Nomad's CLI and HTTP API.
//!
//! What this layer does (and only this): syntax, schema validation with
//! positions, variable/local evaluation, HCL functions, duration conversion,
//! and the handful of normalisations Nomad's own parser applies (job
//! `ID`/`Name` from the label, constraint operand shortcuts, static ports
//! → `ReservedPorts`, template and vault parse-time defaults, vault
//! inheritance). Everything else is left absent for canonicalisation on the
//! typed model. Runtime interpolations such as `${attr.kernel.name}` or
//! `${NOMAD_ALLOC_INDEX}` are kept as literal text, as Nomad does.
//!
//! The parser is pure (no I/O, clock or randomness): functions like
//! `file()` are refused, and variable files must be read by the caller.
//!
//! [`parse_jobspec`] is the one entry point for a whole jobspec, HCL2 or JSON: it ends in
//! [`from_json`], so every door accepts and refuses the same jobs.
//!
//! Layout, in the order a jobspec passes through:
//! - `guard`: refuses pathologically nested expressions before parsing.
//! - `variables`: `variable`, `variables` and `locals` blocks.
//! - `eval`: the expression evaluator over hcl-edit's AST (every error keeps its span).
//! - `functions`: the HCL function library; `format`: the verbs of its `format`.
//! - `decode`: the one schema-driven walker from HCL bodies to API JSON, over the tables
//!   in `schema_job` (job, group and shared scheduling blocks) and `schema_task` (task
//!   blocks).
//! - `special`: block rules the tables cannot express (operand shortcuts, ports, vault).
//! - `convert`: evaluated values into Nomad's JSON types (durations, string maps, ...).
//! - `error`: diagnostics with file, line and column.
//! - [`from_json`]: Nomad API JSON into a canonical, validated job, or every problem
//!   with its field path.
//! - `locate`: a JSON field path back to its HCL `line:column`.
//! - `tests`: unit tests.

pub(crate) mod convert;
mod decode;
mod error;
mod eval;
mod format;
pub mod from_json;
mod functions;
mod guard;
mod locate;
mod schema_job;
mod schema_task;
mod special;
mod variables;
pub mod volume_spec;

use std::collections::BTreeMap;

use hcl::edit::Span;
use hcl::edit::structure::{Block, Structure};
use serde_json::Value;

pub use error::{Diagnostic, JobspecError};

use decode::{Decoder, block_span};
use error::SourceMap;

/// Values for a jobspec's `variable` blocks, as given by `-var` / `-var-file`.
///
/// Keys are variable names. A `Value::String` given for a variable declared
/// with a non-string type is parsed according to that type (e.g. `"3"` for a
/// `number`, `"[\"a\",\"b\"]"` for a `list(string)`), matching how Nomad
/// treats `-var name=value`. Non-string JSON values are converted directly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Variables(pub BTreeMap<String, Value>);

impl Variables {
    /// Borrows the underlying map, for passing to [`parse_hcl_to_json`].
    pub fn as_map(&self) -> &BTreeMap<String, Value> {
        &self.0
    }
}

/// Parses a Nomad HCL2 jobspec into the Nomad API JSON representation of the
/// job (the object Nomad returns from `POST /v1/jobs/parse`).
///
/// `filename` is only used in diagnostics. `vars` supplies values for the
/// jobspec's `variable` blocks (see [`Variables`]).
///
/// # Errors
///
/// Returns a [`JobspecError`] with every diagnostic found (syntax errors,
/// unknown or duplicate attributes/blocks, wrong types, bad durations,
/// undefined variables, unsupported features, ...), each with a 1-based
/// line and column. Never panics, whatever the input.
pub fn parse_hcl_to_json(
    src: &str,
    filename: &str,
    vars: &BTreeMap<String, Value>,
) -> Result<Value, JobspecError> {
    parse_hcl_with_files(src, filename, vars, None)
}

/// Where a jobspec's `file()` and `fileexists()` read. orch-core does no I/O: the CLI
/// implements it over the jobspec's directory, as Nomad's CLI resolves those paths;
/// the HTTP API gives none, so there `file()` stays refused.
pub trait FileSource {
    /// The text of the file at `path` (as written in the jobspec), or why not.
    fn read(&self, path: &str) -> Result<String, String>;
    /// Whether a regular file exists at `path`.
    fn exists(&self, path: &str) -> bool;
}

/// [`parse_hcl_to_json`] with `file()` reading through `files`.
pub fn parse_hcl_with_files(
    src: &str,
    filename: &str,
    vars: &BTreeMap<String, Value>,
    files: Option<&dyn FileSource>,
) -> Result<Value, JobspecError> {
    let sm = SourceMap::new(src, filename);
    if let Some(offset) = guard::too_deep(src) {
        let (line, column) = sm.position(offset);
        return Err(JobspecError {
            diagnostics: vec![Diagnostic {
                filename: filename.to_string(),
                line,
                column,
                message: format!(
                    "expressions nest more than {} levels deep here; flatten the expression (orch refuses deeper nesting to keep parsing fast)",
                    guard::MAX_EXPRESSION_DEPTH
                ),
            }],
        });
    }
    let body = match hcl::edit::parser::parse_body(src) {
        Ok(b) => b,
        Err(e) => {
            let (line, column) = sm.position(e.location().offset());
            return Err(JobspecError {
                diagnostics: vec![Diagnostic {
                    filename: filename.to_string(),
                    line,
                    column,
                    message: format!("syntax error: {}", e.message().replace('\n', "; ")),
                }],
            });
        }
    };
    let mut d = Decoder::with_files(&sm, files);

    let mut variable_blocks: Vec<&Block> = Vec::new();
    let mut variables_blocks: Vec<&Block> = Vec::new();
    let mut locals_blocks: Vec<&Block> = Vec::new();
    let mut jobs: Vec<&Block> = Vec::new();
    for st in body.iter() {
        match st {
            Structure::Attribute(a) => d.err(
                a.key.span(),
                format!(
                    "unexpected attribute {:?} at top level; expected a job, variable, variables or locals block",
                    a.key.value().as_str()
                ),
            ),
            Structure::Block(b) => match b.ident.value().as_str() {
                "variable" => variable_blocks.push(b),
                "variables" => variables_blocks.push(b),
                "locals" => locals_blocks.push(b),
                "job" => jobs.push(b),
                other => d.err(
                    block_span(b),
                    format!("unknown block {other:?} at top level; expected one of: job, variable, variables, locals"),
                ),
            },
        }
    }

    variables::resolve(&mut d, &variable_blocks, &variables_blocks, vars);
    variables::evaluate_locals(&mut d, &locals_blocks);

    let mut job = serde_json::Map::new();
    match jobs.as_slice() {
        [] => d.err(
            None,
            "missing job block: a jobspec needs exactly one job \"<name>\" { ... } block",
        ),
        [first, rest @ ..] => {
            let first_line = block_span(first).map_or(1, |s| sm.position(s.start).0);
            for extra in rest {
                d.err(
                    block_span(extra),
                    format!("duplicate job block: only one job is allowed per file (first defined at line {first_line})"),
                );
            }
            if d.expect_labels(first, 1, "job name") {
                job = decode_job(&mut d, first);
            }
        }
    }

    if d.diags.is_empty() {
        Ok(Value::Object(job))
    } else {
        let mut diagnostics = d.diags;
        diagnostics.sort_by_key(|x| (x.line, x.column));
        diagnostics.dedup();
        Err(JobspecError { diagnostics })
    }
}

/// Decodes the `job` block and applies Nomad's `normalizeJob` rules.
fn decode_job(d: &mut Decoder<'_>, b: &Block) -> serde_json::Map<String, Value> {
    let label = b
        .labels
        .first()
        .map(|l| l.as_str().to_string())
        .unwrap_or_default();
    let mut job = d.decode_body(&b.body, &schema_job::JOB);
    job.entry("ID")
        .or_insert_with(|| Value::String(label.clone()));
    job.entry("Name").or_insert_with(|| Value::String(label));
    if let Some(vault) = job.remove("Vault")
        && let Some(Value::Array(groups)) = job.get_mut("TaskGroups")
    {
        for g in groups.iter_mut().filter_map(Value::as_object_mut) {
            special::inherit_vault(g, &vault);
        }
    }
    job
}

/// Any reason a jobspec is refused: HCL problems carry `file:line:column`, JSON and
/// semantic problems carry the field path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseJobError {
    /// Syntax, schema or evaluation errors in an HCL jobspec.
    #[error(transparent)]
    Hcl(#[from] JobspecError),
    /// Malformed JSON, wrong field types, unsupported fields, or failed validation.
    #[error(transparent)]
    Job(#[from] from_json::JsonJobError),
}

/// Parses a jobspec, HCL2 or JSON (told apart by content: JSON starts with `{`), into a
/// canonical, validated [`crate::model::Job`]: the single entry point the CLI, the HTTP
/// API and embedding users share, so all of them accept and refuse exactly the same jobs.
pub fn parse_jobspec(
    filename: &str,
    text: &str,
    vars: &BTreeMap<String, Value>,
) -> Result<crate::model::Job, ParseJobError> {
    parse_jobspec_with_files(filename, text, vars, None)
}

/// [`parse_jobspec`] with `file()` reading through `files` (the CLI's jobspec dir).
pub fn parse_jobspec_with_files(
    filename: &str,
    text: &str,
    vars: &BTreeMap<String, Value>,
    files: Option<&dyn FileSource>,
) -> Result<crate::model::Job, ParseJobError> {
    if text.trim_start().starts_with('{') {
        return Ok(from_json::parse_job_json(text)?);
    }
    let value = parse_hcl_with_files(text, filename, vars, files)?;
    match from_json::job_from_json_value(value) {
        Ok(job) => Ok(job),
        Err(from_json::JsonJobError::Fields(errors)) => {
            Err(locate_field_errors(filename, text, errors).into())
        }
        Err(other) => Err(other.into()),
    }
}

/// Points each field error of an HCL jobspec at the block or attribute it came from.
fn locate_field_errors(
    filename: &str,
    text: &str,
    errors: crate::validate::ValidationErrors,
) -> JobspecError {
    let sm = SourceMap::new(text, filename);
    let body = hcl::edit::parser::parse_body(text).ok();
    let diagnostics = errors
        .0
        .into_iter()
        .map(|e| {
            let span = body.as_ref().and_then(|b| locate::locate(b, &e.path));
            sm.diag(span, e.to_string())
        })
        .collect();
    JobspecError { diagnostics }
}

/// Parses a variable file (`-var-file`): HCL `name = value` lines, or a JSON object.
pub fn parse_var_file(filename: &str, text: &str) -> Result<BTreeMap<String, Value>, JobspecError> {
    let fail = |line: usize, column: usize, message: String| JobspecError {
        diagnostics: vec![Diagnostic {
            filename: filename.to_string(),
            line,
            column,
            message,
        }],
    };
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| {
            fail(
                e.line(),
                e.column(),
                format!("variable file is not a JSON object of values: {e}"),
            )
        });
    }
    let sm = SourceMap::new(text, filename);
    if let Some(offset) = guard::too_deep(text) {
        let (line, column) = sm.position(offset);
        return Err(fail(
            line,
            column,
            format!(
                "values nest more than {} levels deep",
                guard::MAX_EXPRESSION_DEPTH
            ),
        ));
    }
    let body = hcl::edit::parser::parse_body(text).map_err(|e| {
        let (line, column) = sm.position(e.location().offset());
        fail(
            line,
            column,
            format!("syntax error: {}", e.message().replace('\n', "; ")),
        )
    })?;
    let mut out = BTreeMap::new();
    for st in body.iter() {
        let Structure::Attribute(a) = st else {
            let (line, column) = st.span().map_or((1, 1), |s| sm.position(s.start));
            return Err(fail(
                line,
                column,
                "variable files hold only `name = value` attributes, not blocks".into(),
            ));
        };
        let expr: hcl::Expression = a.value.clone().into();
        let value =
            hcl::eval::Evaluate::evaluate(&expr, &hcl::eval::Context::new()).map_err(|e| {
                let (line, column) = a.value.span().map_or((1, 1), |s| sm.position(s.start));
                fail(
                    line,
                    column,
                    format!("variable {:?}: {e}", a.key.value().as_str()),
                )
            })?;
        let json = serde_json::to_value(&value)
            .map_err(|e| fail(1, 1, format!("variable {:?}: {e}", a.key.value().as_str())))?;
        out.insert(a.key.value().to_string(), json);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
