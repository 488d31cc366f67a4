//! Block-specific decoding rules that do not fit the plain schema tables,
//! mirroring the special cases in Nomad's jobspec2 (`hcl_conversions.go`,
//! `parse_job.go`): constraint/affinity operand shortcuts, port
//! normalisation, scaling policy types, vault inheritance and the template
//! defaults Nomad fills in at parse time.

use hcl::edit::Span;
use hcl::edit::structure::Block;
use serde_json::{Map, Value};

use super::decode::{Decoder, block_span, push};
use super::schema_job::SCALING;
use super::schema_task::IDENTITY;

/// Five seconds in nanoseconds (Nomad's template splay / script timeout default).
const FIVE_SECONDS_NS: i64 = 5_000_000_000;

fn take_str(m: &mut Map<String, Value>, k: &str) -> Option<String> {
    match m.remove(k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// Maps raw `constraint` attributes to `LTarget`/`RTarget`/`Operand` the way
/// Nomad's `decodeConstraint` does (later shortcuts win).
pub(crate) fn constraint(_: &mut Decoder<'_>, _: &Block, m: &mut Map<String, Value>) {
    let mut l = take_str(m, "attribute").unwrap_or_default();
    let mut r = take_str(m, "value").unwrap_or_default();
    let mut op = take_str(m, "operator").unwrap_or_default();
    for key in [
        "version",
        "semver",
        "regexp",
        "set_contains",
        "set_contains_any",
        "set_contains_all",
    ] {
        if let Some(v) = take_str(m, key) {
            op = key.to_string();
            r = v;
        }
    }
    for key in ["is_set", "is_not_set"] {
        if let Some(v) = take_str(m, key) {
            op = key.to_string();
            l = v;
        }
    }
    if m.remove("distinct_hosts") == Some(Value::Bool(true)) {
        op = "distinct_hosts".into();
    }
    if let Some(p) = take_str(m, "distinct_property") {
        op = "distinct_property".into();
        l = p;
    }
    if op.is_empty() {
        op = "=".into();
    }
    m.clear();
    m.insert("LTarget".into(), Value::String(l));
    m.insert("RTarget".into(), Value::String(r));
    m.insert("Operand".into(), Value::String(op));
}

/// Maps raw `affinity` attributes like Nomad's `decodeAffinity`.
pub(crate) fn affinity(d: &mut Decoder<'_>, b: &Block, m: &mut Map<String, Value>) {
    let l = take_str(m, "attribute").unwrap_or_default();
    let mut r = take_str(m, "value").unwrap_or_default();
    let mut op = take_str(m, "operator").unwrap_or_default();
    let weight = m.remove("weight");
    for key in [
        "version",
        "semver",
        "regexp",
        "set_contains_any",
        "set_contains_all",
        "set_contains",
    ] {
        if let Some(v) = take_str(m, key) {
            op = key.to_string();
            r = v;
        }
    }
    if op.is_empty() {
        op = "=".into();
    }
    m.clear();
    m.insert("LTarget".into(), Value::String(l));
    m.insert("RTarget".into(), Value::String(r));
    m.insert("Operand".into(), Value::String(op));
    if let Some(w) = weight {
        if w.as_i64().is_some_and(|w| !(-100..=100).contains(&w)) {
            d.err(
                block_span(b),
                "affinity weight must be between -100 and 100",
            );
        }
        m.insert("Weight".into(), w);
    }
}

/// Splits `port` blocks into `ReservedPorts` (static > 0) and `DynamicPorts`
/// like Nomad's `normalizeNetworkPorts`.
pub(crate) fn network(_: &mut Decoder<'_>, _: &Block, m: &mut Map<String, Value>) {
    let Some(Value::Array(ports)) = m.remove("DynamicPorts") else {
        return;
    };
    let mut reserved = match m.remove("ReservedPorts") {
        Some(Value::Array(r)) => r,
        _ => Vec::new(),
    };
    let mut dynamic = Vec::new();
    for p in ports {
        if p.get("Value").and_then(Value::as_i64).unwrap_or(0) > 0 {
            reserved.push(p);
        } else {
            dynamic.push(p);
        }
    }
    if !reserved.is_empty() {
        m.insert("ReservedPorts".into(), Value::Array(reserved));
    }
    if !dynamic.is_empty() {
        m.insert("DynamicPorts".into(), Value::Array(dynamic));
    }
}

/// Group `scaling`: type defaults to `horizontal` and `max` is required.
pub(crate) fn group_scaling(d: &mut Decoder<'_>, b: &Block, m: &mut Map<String, Value>) {
    match m.get("Type").and_then(Value::as_str) {
        None => {
            m.insert("Type".into(), Value::from("horizontal"));
        }
        Some("horizontal") => {}
        Some(other) => {
            let msg = format!("invalid group scaling type {other:?}: must be \"horizontal\"");
            d.err(block_span(b), msg);
        }
    }
    if !m.contains_key("Max") {
        d.err(
            block_span(b),
            "missing required attribute \"max\" in block \"scaling\"",
        );
    }
}

/// Task `scaling "cpu"|"mem" { ... }` → `ScalingPolicies` entries of type
/// `vertical_cpu` / `vertical_mem`.
pub(crate) fn task_scaling(d: &mut Decoder<'_>, b: &Block, out: &mut Map<String, Value>) {
    if !d.expect_labels(b, 1, "cpu or mem") {
        return;
    }
    let label = b
        .labels
        .first()
        .map(|l| l.as_str().to_lowercase())
        .unwrap_or_default();
    let label_span = b.labels.first().and_then(|l| l.span());
    let ty = match label.as_str() {
        "cpu" => "vertical_cpu",
        "mem" => "vertical_mem",
        _ => {
            d.err(
                label_span,
                "invalid task scaling policy name: must be \"cpu\" or \"mem\"",
            );
            return;
        }
    };
    let dup = out
        .get("ScalingPolicies")
        .and_then(Value::as_array)
        .is_some_and(|l| {
            l.iter()
                .any(|p| p.get("Type").and_then(Value::as_str) == Some(ty))
        });
    if dup {
        d.err(
            label_span,
            format!("duplicate scaling {label:?} block; only one is allowed"),
        );
        return;
    }
    let mut m = d.decode_body(&b.body, &SCALING);
    match m.get("Type").and_then(Value::as_str) {
        None => {
            m.insert("Type".into(), Value::from(ty));
        }
        Some(t) if t == ty => {}
        Some(t) => {
            let msg = format!("invalid scaling policy type {t:?}: expected {ty:?}");
            d.err(block_span(b), msg);
        }
    }
    push(out, "ScalingPolicies", Value::Object(m));
}

/// Task `identity { ... }`: the block without a `name` (or named `default`) is the
/// default identity, the others are additional identities. orch also takes the name as
/// a label (`identity "vault" { ... }`).
pub(crate) fn task_identity(d: &mut Decoder<'_>, b: &Block, out: &mut Map<String, Value>) {
    if b.labels.len() > 1 {
        d.expect_labels(b, 1, "identity name");
        return;
    }
    let mut m = d.decode_body(&b.body, &IDENTITY);
    if let Some(label) = b.labels.first() {
        m.insert("Name".into(), Value::String(label.as_str().to_string()));
    }
    let is_default = match m.get("Name") {
        None => true,
        Some(Value::String(n)) => n.is_empty() || n == "default",
        Some(_) => false,
    };
    if !is_default {
        push(out, "Identities", Value::Object(m));
    } else if out.contains_key("Identity") {
        d.err(
            block_span(b),
            "duplicate default \"identity\" block in task: give the others a name",
        );
    } else {
        out.insert("Identity".into(), Value::Object(m));
    }
}

/// `vault` defaults Nomad fills at parse time (`normalizeVault`).
pub(crate) fn vault(_: &mut Decoder<'_>, _: &Block, m: &mut Map<String, Value>) {
    m.entry("Env").or_insert(Value::Bool(true));
    m.entry("ChangeMode")
        .or_insert_with(|| Value::from("restart"));
}

/// Sets `SpecType = "cron"` when a cron spec is given (`normalizeJob`).
pub(crate) fn periodic(_: &mut Decoder<'_>, _: &Block, m: &mut Map<String, Value>) {
    if m.contains_key("Spec") {
        m.insert("SpecType".into(), Value::from("cron"));
    }
}

/// Template defaults Nomad fills at parse time (`normalizeTemplates`).
pub(crate) fn template(_: &mut Decoder<'_>, _: &Block, m: &mut Map<String, Value>) {
    m.entry("ChangeMode")
        .or_insert_with(|| Value::from("restart"));
    m.entry("Perms").or_insert_with(|| Value::from("0644"));
    m.entry("Splay")
        .or_insert_with(|| Value::from(FIVE_SECONDS_NS));
    m.entry("ErrMissingKey").or_insert(Value::Bool(false));
    if let Some(Value::Object(cs)) = m.get_mut("ChangeScript") {
        cs.entry("Args").or_insert_with(|| Value::Array(Vec::new()));
        cs.entry("Timeout")
            .or_insert_with(|| Value::from(FIVE_SECONDS_NS));
        cs.entry("FailOnError").or_insert(Value::Bool(false));
    }
}

/// Gives every task without its own `vault` block the given one.
pub(crate) fn inherit_vault(group: &mut Map<String, Value>, vault: &Value) {
    if let Some(Value::Array(tasks)) = group.get_mut("Tasks") {
        for t in tasks.iter_mut().filter_map(Value::as_object_mut) {
            t.entry("Vault").or_insert_with(|| vault.clone());
        }
    }
}

/// Group post-processing: a group-level `vault` block is inherited by its
/// tasks (it is not a group field in Nomad's API).
pub(crate) fn group(_: &mut Decoder<'_>, _: &Block, m: &mut Map<String, Value>) {
    if let Some(v) = m.remove("Vault") {
        inherit_vault(m, &v);
    }
}
