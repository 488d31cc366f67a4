//! Finding where in an HCL jobspec a JSON field path came from, so problems found after
//! parsing (type checks, validation) still point at `file:line:column`.
//!
//! The walk follows the same schema tables the decoder used, mapping each JSON segment
//! (`TaskGroups[0]`, `Resources`, `MemoryMB`) back to its block or attribute. When a
//! field was produced by a merge (a group's reschedule policy inherited from the job)
//! there is no exact source; the deepest enclosing block is reported instead.

use std::ops::Range;

use hcl::edit::Span;
use hcl::edit::structure::{Block, Body, Structure};

use super::decode::{Mode, Schema, block_span};
use super::schema_job;

/// One path segment: a field name with an optional index or map key.
struct Segment<'p> {
    name: &'p str,
    index: Option<usize>,
    key: Option<&'p str>,
}

fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, rest) = part.split_once('[').unwrap_or((part, ""));
        let inner = rest.trim_end_matches(']');
        let index = inner.parse().ok();
        let key = (!inner.is_empty() && index.is_none()).then(|| inner.trim_matches('"'));
        out.push(Segment { name, index, key });
    }
    out
}

/// The source span best matching a JSON field path of the job, if the job block exists.
pub(crate) fn locate(body: &Body, path: &str) -> Option<Range<usize>> {
    let job = body.iter().find_map(|s| match s {
        Structure::Block(b) if b.ident.value().as_str() == "job" => Some(b),
        _ => None,
    })?;
    let mut span = block_span(job);
    let mut block: &Block = job;
    let mut schema: &Schema = &schema_job::JOB;
    let segs = segments(path);
    let mut i = 0;
    while i < segs.len() {
        let seg = &segs[i];
        if let Some(attr) = schema.attrs.iter().find(|a| a.json == seg.name) {
            return find_attr_or_block(&block.body, attr.hcl).or(span);
        }
        let Some(spec) = schema.blocks.iter().find(|b| b.json == seg.name) else {
            return span;
        };
        let mut candidates = block.body.iter().filter_map(|s| match s {
            Structure::Block(b) if b.ident.value().as_str() == spec.hcl => Some(b),
            _ => None,
        });
        let next = match spec.mode {
            Mode::Single | Mode::FreeForm => candidates.next(),
            Mode::Repeated | Mode::Labeled(_) => candidates.nth(seg.index.unwrap_or(0)),
            Mode::LabeledMap(_) => {
                // The key is either bracketed (`Volumes["x"]`) or the next segment.
                let key = match seg.key {
                    Some(k) => Some(k),
                    None => {
                        i += 1;
                        segs.get(i).map(|s| s.name)
                    }
                };
                candidates.find(|b| b.labels.first().is_some_and(|l| Some(l.as_str()) == key))
            }
            Mode::Custom(_) | Mode::Refused(_) => {
                return candidates.next().and_then(block_span).or(span);
            }
        };
        let Some(next) = next else { return span };
        span = block_span(next).or(span);
        if matches!(spec.mode, Mode::FreeForm) {
            return span;
        }
        block = next;
        schema = spec.schema;
        i += 1;
    }
    span
}

fn find_attr_or_block(body: &Body, hcl: &str) -> Option<Range<usize>> {
    body.iter().find_map(|s| match s {
        Structure::Attribute(a) if a.key.value().as_str() == hcl => a.key.span(),
        Structure::Block(b) if b.ident.value().as_str() == hcl => block_span(b),
        _ => None,
    })
}
