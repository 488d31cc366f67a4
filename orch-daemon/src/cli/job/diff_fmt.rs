//! Prints Nomad's `JobDiff` JSON the way `nomad job history -p` and `nomad job plan` do:
//! a marker column (`+`, `-`, `+/-`), `Name: "old" => "new"` fields, nested blocks in
//! braces, task groups and tasks as headers.

use serde_json::Value;

use crate::cli::table::text;

/// The marker column: four characters wide so names line up whatever the change.
fn marker(kind: &str) -> &'static str {
    match kind {
        "Added" => "+   ",
        "Deleted" => "-   ",
        "Edited" => "+/- ",
        _ => "    ",
    }
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// One field line; `None` fields only when `context` (inside blocks, or `-verbose`).
fn field(out: &mut Vec<String>, f: &Value, indent: &str, context: bool) {
    let kind = text(&f["Type"]);
    let (old, new) = (text(&f["Old"]), text(&f["New"]));
    let value = match kind.as_str() {
        "Edited" => format!("{old:?} => {new:?}"),
        "Deleted" => format!("{old:?}"),
        "None" if !context => return,
        _ => format!("{new:?}"),
    };
    out.push(format!(
        "{indent}{}{}: {value}",
        marker(&kind),
        text(&f["Name"])
    ));
}

/// A block: header, every field (contextual), nested blocks, closing brace.
fn object(out: &mut Vec<String>, o: &Value, indent: &str) {
    out.push(format!(
        "{indent}{}{} {{",
        marker(&text(&o["Type"])),
        text(&o["Name"])
    ));
    let inner = format!("{indent}  ");
    for f in list(&o["Fields"]) {
        field(out, f, &inner, true);
    }
    for nested in list(&o["Objects"]) {
        object(out, nested, &inner);
    }
    out.push(format!("{indent}    }}"));
}

fn fields_and_objects(out: &mut Vec<String>, d: &Value, indent: &str, verbose: bool) {
    for f in list(&d["Fields"]) {
        field(out, f, indent, verbose);
    }
    for o in list(&d["Objects"]) {
        object(out, o, indent);
    }
}

/// The whole diff; `verbose` also lists unchanged job, group and task fields.
pub fn format_job_diff(diff: &Value, verbose: bool) -> String {
    format_job_diff_noted(diff, verbose, &|_| String::new())
}

/// A header's marker (`Job:`, `Task Group:`, `Task:`), as Nomad's `getDiffString`:
/// `+ `, `- `, `+/- `, nothing when unchanged.
fn header_marker(kind: &str) -> &'static str {
    match kind {
        "Added" => "+ ",
        "Deleted" => "- ",
        "Edited" => "+/- ",
        _ => "",
    }
}

/// Fields and blocks of a job, group or task: shown, as in Nomad, when it was edited
/// or under `verbose` (an added or removed whole is its header alone).
fn body(out: &mut Vec<String>, d: &Value, indent: &str, verbose: bool) {
    if text(&d["Type"]) == "Edited" || verbose {
        fields_and_objects(out, d, indent, verbose);
    }
}

/// [`format_job_diff`] with `note(group)` after each task group's name: `job plan`'s
/// ` (1 create, 2 ignore)`. Group headers are aligned on the longest marker, as Nomad
/// aligns them.
pub fn format_job_diff_noted(diff: &Value, verbose: bool, note: &dyn Fn(&str) -> String) -> String {
    let mut out = Vec::new();
    out.push(format!(
        "{}Job: {:?}",
        header_marker(&text(&diff["Type"])),
        text(&diff["ID"])
    ));
    body(&mut out, diff, "", verbose);
    let groups = list(&diff["TaskGroups"]);
    let widest = groups
        .iter()
        .map(|g| header_marker(&text(&g["Type"])).len())
        .max()
        .unwrap_or(0);
    for g in groups {
        let name = text(&g["Name"]);
        let mark = header_marker(&text(&g["Type"]));
        let pad = " ".repeat(widest - mark.len());
        out.push(format!("{mark}{pad}Task Group: {name:?}{}", note(&name)));
        body(&mut out, g, "  ", verbose);
        for t in list(&g["Tasks"]) {
            out.push(format!(
                "  {}Task: {:?}",
                header_marker(&text(&t["Type"])),
                text(&t["Name"])
            ));
            body(&mut out, t, "    ", verbose);
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests;
