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
    let mut out = Vec::new();
    out.push(format!(
        "{}Job: {:?}",
        marker(&text(&diff["Type"])),
        text(&diff["ID"])
    ));
    fields_and_objects(&mut out, diff, "", verbose);
    for g in list(&diff["TaskGroups"]) {
        out.push(format!(
            "{}Task Group: {:?}",
            marker(&text(&g["Type"])),
            text(&g["Name"])
        ));
        fields_and_objects(&mut out, g, "  ", verbose);
        for t in list(&g["Tasks"]) {
            out.push(format!(
                "  {}Task: {:?}",
                marker(&text(&t["Type"])),
                text(&t["Name"])
            ));
            fields_and_objects(&mut out, t, "    ", verbose);
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests;
