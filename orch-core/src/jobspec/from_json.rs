//! JSON jobspecs: a body exactly as Nomad's `PUT /v1/jobs` takes it (or `nomad job run
//! -output` prints it) becomes a canonical [`Job`], or every problem with its field path.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::canonical::{canonicalize_job, merge::merge_partial_blocks};
use crate::model::Job;
use crate::model::wire::{is_empty_value, strip_nulls};
use crate::validate::{FieldError, ValidationErrors, validate_job};

/// Why a JSON job was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonJobError {
    /// The text is not JSON.
    #[error("job JSON is malformed at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// A field has the wrong type, or asks for something orch does not support.
    #[error("{0}")]
    Fields(ValidationErrors),
}

/// Fields Nomad's tools write that orch accepts and does not use, when they hold exactly
/// what Nomad fills in by default (so a `nomad job inspect` output can be re-submitted).
/// Anything else unknown and non-empty is refused: a feature orch lacks is never ignored.
fn is_harmless_unknown(key: &str, value: &Value) -> bool {
    let field = |name: &str| value.get(name).unwrap_or(&Value::Null);
    match key {
        // A service's identity (for Consul): only one that asks for nothing is harmless.
        "Identity" => is_empty_value(field("Env")) && is_empty_value(field("File")),
        "Consul" => value.as_object().is_some_and(|o| {
            o.iter()
                .all(|(k, v)| is_empty_value(v) || (k == "Cluster" && v == "default"))
        }),
        "Cluster" => value == "default",
        "NUMA" => field("Affinity") == "none" || is_empty_value(value),
        // Cosmetic metadata shown by Nomad's UI.
        "UI" | "VersionTag" => true,
        _ => false,
    }
}

/// Nomad features orch knows by name but does not implement, for refusal messages.
fn unsupported_feature(key: &str) -> Option<&'static str> {
    Some(match key {
        "Vault" | "VaultToken" | "VaultNamespace" => "Vault integrations (vault blocks and tokens)",
        "Consul" | "ConsulToken" | "ConsulNamespace" => {
            "Consul settings (consul blocks, namespaces and tokens)"
        }
        "Connect" => "Consul Connect service meshes (connect blocks)",
        "Identity" | "Identities" => {
            "service identities (identity blocks inside a service, for Consul)"
        }
        "Multiregion" => {
            "multi-region deployments (multiregion blocks, a Nomad Enterprise feature)"
        }
        "ScalingPolicies" => "task-level vertical scaling policies (a Nomad Enterprise feature)",
        "ChangeScript" => "template change scripts (change_mode = \"script\")",
        "Actions" => "task actions (action blocks)",
        "Schedule" => "task schedules (schedule blocks, a Nomad Enterprise feature)",
        _ => return None,
    })
}

/// Parses JSON text of a job (bare, or wrapped as `{"Job": {...}}`) into a canonical,
/// validated job.
pub fn parse_job_json(text: &str) -> Result<Job, JsonJobError> {
    let value: Value = serde_json::from_str(text).map_err(|e| JsonJobError::Syntax {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    job_from_json_value(value)
}

/// Turns a JSON value of a job (bare or wrapped in `{"Job": ...}`) into a canonical,
/// validated job.
pub fn job_from_json_value(value: Value) -> Result<Job, JsonJobError> {
    let mut job = decode_job_value(value)?;
    canonicalize_job(&mut job);
    validate_job(&job).map_err(JsonJobError::Fields)?;
    Ok(job)
}

/// Decodes without canonicalizing or validating: types checked, partial policy blocks
/// merged, unknown fields refused. The job may still be invalid.
pub fn decode_job_value(mut value: Value) -> Result<Job, JsonJobError> {
    if let Some(inner) = value.as_object_mut().and_then(|o| o.remove("Job")) {
        value = inner;
    }
    if !value.is_object() {
        return Err(single(
            "",
            "expected a JSON object with the job (or {\"Job\": {...}})",
        ));
    }
    strip_nulls(&mut value);
    merge_partial_blocks(&mut value);
    let mut ignored: Vec<String> = Vec::new();
    let result: Result<Job, _> = {
        let mut record = |path: serde_ignored::Path<'_>| ignored.push(path.to_string());
        let de = serde_ignored::Deserializer::new(&value, &mut record);
        serde_path_to_error::deserialize(de)
    };
    let job = result.map_err(|e| {
        let path = bracket_path(&e.path().to_string());
        single(&path, &e.inner().to_string())
    })?;
    let mut errors = Vec::new();
    for path in ignored {
        let Some((key, field)) = lookup(&value, &path) else {
            continue;
        };
        if !is_empty_value(field) && !is_harmless_unknown(key, field) {
            let message = match unsupported_feature(key) {
                Some(feature) => {
                    format!("{feature} are not supported by orch; remove {key:?} from the job")
                }
                None => format!(
                    "unknown field {key:?}; check its spelling against Nomad's job API, or remove it"
                ),
            };
            errors.push(FieldError {
                path: bracket_path(&path),
                message,
            });
        }
    }
    if errors.is_empty() {
        Ok(job)
    } else {
        Err(JsonJobError::Fields(ValidationErrors(errors)))
    }
}

fn single(path: &str, message: &str) -> JsonJobError {
    JsonJobError::Fields(ValidationErrors(vec![FieldError {
        path: path.into(),
        message: message.into(),
    }]))
}

/// `TaskGroups.0.Tasks.1.Foo` (serde's form) to `TaskGroups[0].Tasks[1].Foo`.
fn bracket_path(dotted: &str) -> String {
    if dotted == "." {
        return String::new();
    }
    let mut out = String::new();
    for part in dotted.split('.') {
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    out
}

/// Finds the value at a serde dotted path; returns the last key and the value.
fn lookup<'v>(root: &'v Value, dotted: &'v str) -> Option<(&'v str, &'v Value)> {
    let mut cur = root;
    let mut last = "";
    for part in dotted.split('.') {
        cur = match cur {
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            Value::Object(map) => map.get(part)?,
            _ => return None,
        };
        last = part;
    }
    Some((last, cur))
}

/// Variable values for HCL parsing, keyed by variable name.
pub type VariableValues = BTreeMap<String, Value>;

#[cfg(test)]
mod tests;
