//! Schema-driven decoding of HCL bodies into Nomad API JSON objects.
//!
//! Each block type is described by a static [`Schema`] (attribute names →
//! JSON field names and [`Kind`]s, nested block rules). One generic walker
//! validates every body against its schema, so unknown attributes/blocks,
//! duplicate singleton blocks, missing labels and type errors are reported
//! uniformly with positions, while the data tables stay easy to audit
//! against Nomad's `hcl:"..."` struct tags.

use std::collections::BTreeSet;
use std::ops::Range;

use hcl::edit::Span;
use hcl::edit::expr::Expression;
use hcl::edit::structure::{Block, Body, Structure};
use serde_json::{Map, Value};

use super::convert::{Kind, convert};
use super::error::{Diagnostic, SourceMap};
use super::eval::Evaluator;

/// One attribute a block accepts.
pub(crate) struct Attr {
    /// Name in HCL.
    pub hcl: &'static str,
    /// Field name in the Nomad API JSON.
    pub json: &'static str,
    /// Value type.
    pub kind: Kind,
}

/// Custom decoder for a nested block: gets the block and the parent object.
pub(crate) type CustomFn = fn(&mut Decoder<'_>, &Block, &mut Map<String, Value>);

/// Post-processing applied to a decoded block object before it is placed.
pub(crate) type PostFn = fn(&mut Decoder<'_>, &Block, &mut Map<String, Value>);

/// How a nested block is placed in its parent's JSON.
#[derive(Clone, Copy)]
pub(crate) enum Mode {
    /// At most one, no label; stored as an object.
    Single,
    /// Any number, no label; stored as an array of objects.
    Repeated,
    /// Any number, exactly one label stored in the named field; array.
    Labeled(&'static str),
    /// Any number, one label; object keyed by label, label also stored in the field.
    LabeledMap(&'static str),
    /// At most one, no label; arbitrary content (driver `config`, scaling `policy`).
    FreeForm,
    /// Fully custom handling.
    Custom(CustomFn),
    /// Recognised but not supported by orch; the message says why.
    Refused(&'static str),
}

/// One nested block a block accepts.
pub(crate) struct Blk {
    /// Name in HCL.
    pub hcl: &'static str,
    /// Field name in the Nomad API JSON.
    pub json: &'static str,
    /// Placement rule.
    pub mode: Mode,
    /// Schema of the block body (ignored for free-form/custom/refused).
    pub schema: &'static Schema,
    /// Optional post-processing of the decoded object.
    pub post: Option<PostFn>,
}

/// The schema of one block type.
pub(crate) struct Schema {
    /// Block type name, for messages.
    pub name: &'static str,
    /// Accepted attributes.
    pub attrs: &'static [Attr],
    /// Accepted nested blocks.
    pub blocks: &'static [Blk],
}

/// An empty schema, for blocks whose body is handled elsewhere.
pub(crate) static EMPTY: Schema = Schema {
    name: "",
    attrs: &[],
    blocks: &[],
};

/// Maximum block nesting, to bound recursion on hostile input.
const MAX_BLOCK_DEPTH: usize = 64;

/// Walks HCL bodies, evaluating expressions and collecting diagnostics.
pub(crate) struct Decoder<'a> {
    /// Source positions.
    pub sm: &'a SourceMap<'a>,
    /// Expression evaluator (holds `var.*` and `local.*`).
    pub ev: Evaluator<'a>,
    /// Everything that went wrong so far.
    pub diags: Vec<Diagnostic>,
    depth: usize,
}

/// Span of a block's type identifier (where we point block errors).
pub(crate) fn block_span(b: &Block) -> Option<Range<usize>> {
    b.ident.span()
}

fn names<I: Iterator<Item = &'static str>>(it: I) -> String {
    let v: Vec<&str> = it.collect();
    if v.is_empty() {
        "(none)".to_string()
    } else {
        v.join(", ")
    }
}

impl<'a> Decoder<'a> {
    /// Creates a decoder over the given source.
    pub(crate) fn new(sm: &'a SourceMap<'a>) -> Self {
        Decoder {
            sm,
            ev: Evaluator::new(sm),
            diags: Vec::new(),
            depth: 0,
        }
    }

    /// A decoder whose `file()` reads through `files`.
    pub(crate) fn with_files(
        sm: &'a SourceMap<'a>,
        files: Option<&'a dyn super::FileSource>,
    ) -> Self {
        let mut d = Decoder::new(sm);
        d.ev.files = files;
        d
    }

    /// Records an error at `span`.
    pub(crate) fn err(&mut self, span: Option<Range<usize>>, msg: impl Into<String>) {
        let d = self.sm.diag(span, msg);
        self.diags.push(d);
    }

    /// Evaluates an expression, recording any error; `None` on failure.
    pub(crate) fn eval(&mut self, e: &Expression) -> Option<Value> {
        match self.ev.eval(e) {
            Ok(v) => Some(v),
            Err(err) => {
                let span = err.span.or_else(|| e.span());
                self.err(span, err.message);
                None
            }
        }
    }

    /// Evaluates and converts an attribute value; `None` if null or invalid.
    pub(crate) fn eval_as(
        &mut self,
        e: &Expression,
        kind: Kind,
        attr: &str,
        block: &str,
    ) -> Option<Value> {
        let v = self.eval(e)?;
        if v.is_null() {
            return None;
        }
        match convert(kind, &v) {
            Ok(v) => Some(v),
            Err(m) => {
                self.err(
                    e.span(),
                    format!("invalid value for attribute {attr:?} in block {block:?}: {m}"),
                );
                None
            }
        }
    }

    /// Checks a block has exactly `n` labels, reporting otherwise.
    pub(crate) fn expect_labels(&mut self, b: &Block, n: usize, what: &str) -> bool {
        let name = b.ident.value().as_str();
        if b.labels.len() == n {
            return true;
        }
        let span = b
            .labels
            .get(n)
            .and_then(|l| l.span())
            .or_else(|| block_span(b));
        let msg = match (n, b.labels.len()) {
            (0, _) => format!("block {name:?} does not take a label"),
            (1, 0) => {
                format!("missing label for block {name:?}: expected {name} \"<{what}>\" {{ ... }}")
            }
            _ => format!(
                "block {name:?} takes exactly {n} label(s) ({what}), got {}",
                b.labels.len()
            ),
        };
        self.err(span, msg);
        false
    }

    /// Decodes `body` against `schema` into a JSON object.
    pub(crate) fn decode_body(&mut self, body: &Body, schema: &Schema) -> Map<String, Value> {
        let mut out = Map::new();
        if self.depth >= MAX_BLOCK_DEPTH {
            let span = body.iter().next().and_then(|s| match s {
                Structure::Attribute(a) => a.key.span(),
                Structure::Block(b) => block_span(b),
            });
            self.err(span, "blocks nested too deeply");
            return out;
        }
        self.depth += 1;
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for st in body.iter() {
            match st {
                Structure::Attribute(a) => {
                    let key = a.key.value().as_str();
                    let Some(spec) = schema.attrs.iter().find(|s| s.hcl == key) else {
                        let msg = if schema.blocks.iter().any(|b| b.hcl == key) {
                            format!(
                                "{key:?} in block {:?} is a block, not an attribute; write `{key} {{ ... }}`",
                                schema.name
                            )
                        } else {
                            format!(
                                "unknown attribute {key:?} in block {:?}; expected one of: {}",
                                schema.name,
                                names(schema.attrs.iter().map(|a| a.hcl))
                            )
                        };
                        self.err(a.key.span(), msg);
                        continue;
                    };
                    if !seen.insert(spec.hcl) {
                        self.err(
                            a.key.span(),
                            format!("duplicate attribute {key:?} in block {:?}", schema.name),
                        );
                        continue;
                    }
                    if let Some(v) = self.eval_as(&a.value, spec.kind, key, schema.name) {
                        out.insert(spec.json.to_string(), v);
                    }
                }
                Structure::Block(b) => self.decode_nested(b, schema, &mut out, &mut seen),
            }
        }
        self.depth -= 1;
        out
    }

    fn decode_nested(
        &mut self,
        b: &Block,
        schema: &Schema,
        out: &mut Map<String, Value>,
        seen: &mut BTreeSet<&'static str>,
    ) {
        let key = b.ident.value().as_str();
        if key == "dynamic" {
            self.err(block_span(b), format!("\"dynamic\" blocks are not supported by orch (in block {:?}); write the blocks out explicitly", schema.name));
            return;
        }
        // Map-valued attributes (meta, env, ...) may also be written as blocks.
        if let Some(spec) = schema
            .attrs
            .iter()
            .find(|s| s.hcl == key && matches!(s.kind, Kind::StrMap | Kind::StrListMap))
        {
            if !self.expect_labels(b, 0, "") {
                return;
            }
            if !seen.insert(spec.hcl) {
                self.err(
                    block_span(b),
                    format!("duplicate {key:?} in block {:?}", schema.name),
                );
                return;
            }
            if let Some(v) = self.flat_map(&b.body, spec.kind, key) {
                out.insert(spec.json.to_string(), v);
            }
            return;
        }
        let Some(spec) = schema.blocks.iter().find(|s| s.hcl == key) else {
            let msg = if schema.attrs.iter().any(|a| a.hcl == key) {
                format!(
                    "{key:?} in block {:?} is an attribute, not a block; write `{key} = ...`",
                    schema.name
                )
            } else {
                format!(
                    "unknown block {key:?} in block {:?}; expected one of: {}",
                    schema.name,
                    names(schema.blocks.iter().map(|b| b.hcl))
                )
            };
            self.err(block_span(b), msg);
            return;
        };
        match spec.mode {
            Mode::Refused(why) => self.err(
                block_span(b),
                format!("block {key:?} is not supported by orch: {why}"),
            ),
            Mode::Custom(f) => f(self, b, out),
            Mode::Single | Mode::FreeForm => {
                if !self.expect_labels(b, 0, "") {
                    return;
                }
                if !seen.insert(spec.hcl) {
                    self.err(
                        block_span(b),
                        format!(
                            "duplicate block {key:?} in block {:?}; only one is allowed",
                            schema.name
                        ),
                    );
                    return;
                }
                let mut obj = if matches!(spec.mode, Mode::FreeForm) {
                    self.free_form(&b.body)
                } else {
                    self.decode_body(&b.body, spec.schema)
                };
                if let Some(p) = spec.post {
                    p(self, b, &mut obj);
                }
                out.insert(spec.json.to_string(), Value::Object(obj));
            }
            Mode::Repeated => {
                if !self.expect_labels(b, 0, "") {
                    return;
                }
                let mut obj = self.decode_body(&b.body, spec.schema);
                if let Some(p) = spec.post {
                    p(self, b, &mut obj);
                }
                push(out, spec.json, Value::Object(obj));
            }
            Mode::Labeled(field) | Mode::LabeledMap(field) => {
                if !self.expect_labels(b, 1, "name") {
                    return;
                }
                let label = b
                    .labels
                    .first()
                    .map(|l| l.as_str().to_string())
                    .unwrap_or_default();
                let mut obj = self.decode_body(&b.body, spec.schema);
                obj.insert(field.to_string(), Value::String(label.clone()));
                if let Some(p) = spec.post {
                    p(self, b, &mut obj);
                }
                if matches!(spec.mode, Mode::Labeled(_)) {
                    push(out, spec.json, Value::Object(obj));
                } else {
                    let entry = out
                        .entry(spec.json.to_string())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(m) = entry {
                        if m.contains_key(&label) {
                            let span = b.labels.first().and_then(|l| l.span());
                            self.err(span, format!("duplicate {key} {label:?}"));
                        } else {
                            m.insert(label, Value::Object(obj));
                        }
                    }
                }
            }
        }
    }

    /// Decodes a block body that may only contain attributes into a map
    /// of `kind` (`meta { ... }`, `env { ... }`, check `header { ... }`).
    pub(crate) fn flat_map(&mut self, body: &Body, kind: Kind, block: &str) -> Option<Value> {
        let mut raw = Map::new();
        let mut ok = true;
        for st in body.iter() {
            match st {
                Structure::Attribute(a) => {
                    if let Some(v) = self.eval(&a.value) {
                        raw.insert(a.key.value().to_string(), v);
                    } else {
                        ok = false;
                    }
                }
                Structure::Block(nb) => {
                    ok = false;
                    self.err(
                        block_span(nb),
                        format!(
                            "unexpected block {:?} in {block:?}: only attributes are allowed",
                            nb.ident.value().as_str()
                        ),
                    );
                }
            }
        }
        let span = body.iter().next().and_then(|s| match s {
            Structure::Attribute(a) => a.value.span(),
            Structure::Block(b) => block_span(b),
        });
        match convert(kind, &Value::Object(raw)) {
            Ok(v) if ok => Some(v),
            Ok(_) => None,
            Err(m) => {
                self.err(span, format!("invalid value in block {block:?}: {m}"));
                None
            }
        }
    }

    /// Decodes a schema-less body the way Nomad's `BlocksAsAttrs` does:
    /// attributes keep their values (a literal object is wrapped in a
    /// one-element list), nested blocks become lists of objects, and block
    /// labels become nested single-key maps.
    pub(crate) fn free_form(&mut self, body: &Body) -> Map<String, Value> {
        let mut out = Map::new();
        if self.depth >= MAX_BLOCK_DEPTH {
            self.err(None, "blocks nested too deeply");
            return out;
        }
        self.depth += 1;
        for st in body.iter() {
            match st {
                Structure::Attribute(a) => {
                    let key = a.key.value().to_string();
                    if out.contains_key(&key) {
                        self.err(a.key.span(), format!("duplicate attribute {key:?}"));
                        continue;
                    }
                    if let Some(v) = self.eval(&a.value) {
                        let v = if matches!(a.value, Expression::Object(_)) {
                            Value::Array(vec![v])
                        } else {
                            v
                        };
                        out.insert(key, v);
                    }
                }
                Structure::Block(b) => {
                    let key = b.ident.value().to_string();
                    let mut v = Value::Object(self.free_form(&b.body));
                    for l in b.labels.iter().rev() {
                        let mut m = Map::new();
                        m.insert(l.as_str().to_string(), Value::Array(vec![v]));
                        v = Value::Object(m);
                    }
                    match out.get_mut(&key) {
                        Some(Value::Array(list)) => list.push(v),
                        Some(_) => self.err(
                            block_span(b),
                            format!("{key:?} is defined both as an attribute and a block"),
                        ),
                        None => {
                            out.insert(key, Value::Array(vec![v]));
                        }
                    }
                }
            }
        }
        self.depth -= 1;
        out
    }
}

/// Appends `v` to the array field `key` of `out`, creating it if needed.
pub(crate) fn push(out: &mut Map<String, Value>, key: &str, v: Value) {
    match out.get_mut(key) {
        Some(Value::Array(a)) => a.push(v),
        _ => {
            out.insert(key.to_string(), Value::Array(vec![v]));
        }
    }
}
