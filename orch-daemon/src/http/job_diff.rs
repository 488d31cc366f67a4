//! Nomad's `JobDiff`: what changed between two versions of a job, for `job plan -diff`
//! (`POST /v1/job/:id/plan` with `Diff`) and `job history -p`
//! (`GET /v1/job/:id/versions?diffs=true`). One implementation serves both.
//!
//! The diff walks the jobs' Nomad JSON: scalar fields become `FieldDiff`s (values as
//! strings, as Nomad's flatmap prints them), `Meta`/`Env` maps become `Meta[key]`
//! fields, nested objects become `ObjectDiff`s, lists of scalars are set diffs, and lists
//! of objects are compared by position. Task groups and tasks are matched by name. The
//! diff is contextual, as Nomad's version history is: an edited object also lists its
//! unchanged fields (type `None`), so a reader sees the change in place.

use std::collections::{BTreeMap, BTreeSet};

use orch_core::model::Job;
use serde::Serialize;
use serde_json::{Map, Value};

/// Fields that change with every registration (bookkeeping, not the spec), as
/// `orch_core::state::spec_changed` ignores them.
const JOB_IGNORED: &[&str] = &[
    "ID",
    "Status",
    "StatusDescription",
    "Stable",
    "Version",
    "CreateIndex",
    "ModifyIndex",
    "JobModifyIndex",
    "SubmitTime",
    "TaskGroups",
];

/// Maps whose entries Nomad flattens into `Name[key]` fields of their parent.
const FLAT_MAPS: &[&str] = &["Meta", "Env"];

/// How an element changed: Nomad's `DiffType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DiffType {
    /// Only in the newer version.
    Added,
    /// Only in the older version.
    Deleted,
    /// In both, different.
    Edited,
    /// In both, equal (listed for context).
    None,
}

impl DiffType {
    /// The marker Nomad's CLI prints before a changed line.
    pub fn marker(self) -> &'static str {
        match self {
            DiffType::Added => "+",
            DiffType::Deleted => "-",
            DiffType::Edited => "+/-",
            DiffType::None => "",
        }
    }
}

/// Nomad's `FieldDiff`: one scalar value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FieldDiff {
    /// How it changed.
    #[serde(rename = "Type")]
    pub kind: DiffType,
    /// Field name (`Count`, `Meta[owner]`).
    pub name: String,
    /// Value in the older version (`""` when absent).
    pub old: String,
    /// Value in the newer version (`""` when absent).
    pub new: String,
    /// Scheduler annotations (`forces create/destroy update`); orch sets none.
    pub annotations: Option<Vec<String>>,
}

/// Nomad's `ObjectDiff`: a nested block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ObjectDiff {
    /// How it changed.
    #[serde(rename = "Type")]
    pub kind: DiffType,
    /// Block name (`Resources`, `Constraint`).
    pub name: String,
    /// Its scalar fields.
    pub fields: Vec<FieldDiff>,
    /// Its nested blocks.
    pub objects: Vec<ObjectDiff>,
}

/// Nomad's `TaskDiff`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskDiff {
    /// How it changed.
    #[serde(rename = "Type")]
    pub kind: DiffType,
    /// Task name.
    pub name: String,
    /// Its scalar fields.
    pub fields: Vec<FieldDiff>,
    /// Its nested blocks.
    pub objects: Vec<ObjectDiff>,
    /// Scheduler annotations; orch sets none.
    pub annotations: Option<Vec<String>>,
}

/// Nomad's `TaskGroupDiff`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskGroupDiff {
    /// How it changed.
    #[serde(rename = "Type")]
    pub kind: DiffType,
    /// Group name.
    pub name: String,
    /// Its scalar fields.
    pub fields: Vec<FieldDiff>,
    /// Its nested blocks.
    pub objects: Vec<ObjectDiff>,
    /// Its tasks.
    pub tasks: Vec<TaskDiff>,
    /// Planned updates per kind (`place`, `stop`, ...) when a plan fills them.
    pub updates: Option<BTreeMap<String, u64>>,
}

/// Nomad's `JobDiff`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobDiff {
    /// How the job changed.
    #[serde(rename = "Type")]
    pub kind: DiffType,
    /// Job ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Its scalar fields.
    pub fields: Vec<FieldDiff>,
    /// Its nested blocks.
    pub objects: Vec<ObjectDiff>,
    /// Its task groups.
    pub task_groups: Vec<TaskGroupDiff>,
}

/// The diff from `old` to `new` (either may be absent: a new or a removed job).
pub fn diff_jobs(old: Option<&Job>, new: Option<&Job>) -> JobDiff {
    let to_json = |j: Option<&Job>| {
        j.and_then(|j| serde_json::to_value(j).ok())
            .and_then(|v| match v {
                Value::Object(m) => Some(m),
                _ => None,
            })
    };
    let (o, n) = (to_json(old), to_json(new));
    let id = new.or(old).map(|j| j.id.clone()).unwrap_or_default();
    let body = diff_body(o.as_ref(), n.as_ref(), JOB_IGNORED);
    let og = named(o.as_ref().and_then(|m| m.get("TaskGroups")));
    let ng = named(n.as_ref().and_then(|m| m.get("TaskGroups")));
    let mut task_groups = Vec::new();
    for name in og.keys().chain(ng.keys()).collect::<BTreeSet<_>>() {
        let (a, b) = (og.get(name).copied(), ng.get(name).copied());
        let (kind, fields, objects) = diff_body(a, b, &["Name", "Tasks"]);
        let (at, bt) = (
            named(a.and_then(|m| m.get("Tasks"))),
            named(b.and_then(|m| m.get("Tasks"))),
        );
        let tasks: Vec<TaskDiff> = at
            .keys()
            .chain(bt.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|t| {
                let (kind, fields, objects) =
                    diff_body(at.get(t).copied(), bt.get(t).copied(), &["Name"]);
                TaskDiff {
                    kind,
                    name: t.clone(),
                    fields,
                    objects,
                    annotations: None,
                }
            })
            .collect();
        let kind = if kind == DiffType::None && tasks.iter().any(|t| t.kind != DiffType::None) {
            DiffType::Edited
        } else {
            kind
        };
        task_groups.push(TaskGroupDiff {
            kind,
            name: name.clone(),
            fields,
            objects,
            tasks,
            updates: None,
        });
    }
    let (mut kind, fields, objects) = body;
    if kind == DiffType::None && task_groups.iter().any(|g| g.kind != DiffType::None) {
        kind = DiffType::Edited;
    }
    JobDiff {
        kind,
        id,
        fields,
        objects,
        task_groups,
    }
}

/// Elements of a list of objects keyed by their `Name`.
fn named(list: Option<&Value>) -> BTreeMap<String, &Map<String, Value>> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|m| {
            let name = m.get("Name").and_then(Value::as_str).unwrap_or_default();
            (name.to_string(), m)
        })
        .collect()
}

/// The kind, fields and objects of one object's diff, skipping `ignored` keys.
fn diff_body(
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
    ignored: &[&str],
) -> (DiffType, Vec<FieldDiff>, Vec<ObjectDiff>) {
    let kind_of_whole = match (old, new) {
        (None, None) => return (DiffType::None, Vec::new(), Vec::new()),
        (None, Some(_)) => DiffType::Added,
        (Some(_), None) => DiffType::Deleted,
        (Some(_), Some(_)) => DiffType::None,
    };
    let empty = Map::new();
    let (o, n) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
    let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
    let mut fields = Vec::new();
    let mut objects = Vec::new();
    for key in keys {
        if ignored.contains(&key.as_str()) {
            continue;
        }
        let (a, b) = (present(o.get(key)), present(n.get(key)));
        if FLAT_MAPS.contains(&key.as_str()) {
            let (am, bm) = (a.and_then(Value::as_object), b.and_then(Value::as_object));
            let sub: BTreeSet<&String> = am
                .into_iter()
                .flat_map(|m| m.keys())
                .chain(bm.into_iter().flat_map(|m| m.keys()))
                .collect();
            for k in sub {
                let (x, y) = (am.and_then(|m| m.get(k)), bm.and_then(|m| m.get(k)));
                fields.push(field(format!("{key}[{k}]"), x, y));
            }
            continue;
        }
        match (a, b) {
            (Some(Value::Object(_)), _) | (_, Some(Value::Object(_))) => {
                let d = object(
                    key,
                    a.and_then(Value::as_object),
                    b.and_then(Value::as_object),
                );
                objects.extend(d);
            }
            (Some(Value::Array(_)), _) | (_, Some(Value::Array(_))) => {
                objects.extend(list(key, a, b));
            }
            _ => fields.push(field(key.clone(), a, b)),
        }
    }
    let kind = match kind_of_whole {
        DiffType::None
            if fields.iter().any(|f| f.kind != DiffType::None) || !objects.is_empty() =>
        {
            DiffType::Edited
        }
        k => k,
    };
    (kind, fields, objects)
}

/// `null`, empty lists and empty objects count as absent (Nomad's nil slices and maps).
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        _ => true,
    })
}

/// A nested object's diff, or nothing when it is unchanged.
fn object(
    name: &str,
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
) -> Option<ObjectDiff> {
    let (kind, fields, objects) = diff_body(old, new, &[]);
    (kind != DiffType::None).then(|| ObjectDiff {
        kind,
        name: name.to_string(),
        fields,
        objects,
    })
}

/// A list: scalars as a set (one field per element, named like the list), objects by
/// position (each named like the list in the singular).
fn list(name: &str, old: Option<&Value>, new: Option<&Value>) -> Vec<ObjectDiff> {
    let items = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
    let (a, b) = (items(old), items(new));
    let scalars = a.iter().chain(&b).all(|v| !v.is_object() && !v.is_array());
    if scalars {
        let sa: BTreeSet<String> = a.iter().map(scalar).collect();
        let sb: BTreeSet<String> = b.iter().map(scalar).collect();
        if sa == sb {
            return Vec::new();
        }
        let fields = sa
            .union(&sb)
            .map(|v| {
                let kind = match (sa.contains(v), sb.contains(v)) {
                    (true, false) => DiffType::Deleted,
                    (false, true) => DiffType::Added,
                    _ => DiffType::None,
                };
                let (old, new) = match kind {
                    DiffType::Added => (String::new(), v.clone()),
                    DiffType::Deleted => (v.clone(), String::new()),
                    _ => (v.clone(), v.clone()),
                };
                FieldDiff {
                    kind,
                    name: name.to_string(),
                    old,
                    new,
                    annotations: None,
                }
            })
            .collect();
        let kind = match (a.is_empty(), b.is_empty()) {
            (true, _) => DiffType::Added,
            (_, true) => DiffType::Deleted,
            _ => DiffType::Edited,
        };
        return vec![ObjectDiff {
            kind,
            name: name.to_string(),
            fields,
            objects: Vec::new(),
        }];
    }
    let singular = singular(name);
    (0..a.len().max(b.len()))
        .filter_map(|i| {
            let wrap = |v: Option<&Value>| -> Option<Map<String, Value>> {
                match v? {
                    Value::Object(m) => Some(m.clone()),
                    other => Some(Map::from_iter([("Value".to_string(), other.clone())])),
                }
            };
            let (x, y) = (wrap(a.get(i)), wrap(b.get(i)));
            object(&singular, x.as_ref(), y.as_ref())
        })
        .collect()
}

/// `Constraints` → `Constraint`, `Affinities` → `Affinity`, as Nomad names list items.
fn singular(name: &str) -> String {
    if let Some(stem) = name.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = name.strip_suffix('s').filter(|s| !s.ends_with('s')) {
        stem.to_string()
    } else {
        name.to_string()
    }
}

/// A scalar as Nomad's flatmap prints it.
fn scalar(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn field(name: String, old: Option<&Value>, new: Option<&Value>) -> FieldDiff {
    let (o, n) = (old.map(scalar), new.map(scalar));
    let kind = match (&o, &n) {
        (None, Some(_)) => DiffType::Added,
        (Some(_), None) => DiffType::Deleted,
        (Some(a), Some(b)) if a != b => DiffType::Edited,
        _ => DiffType::None,
    };
    FieldDiff {
        kind,
        name,
        old: o.unwrap_or_default(),
        new: n.unwrap_or_default(),
        annotations: None,
    }
}

#[cfg(test)]
mod tests;
