//! Error reporting and variable handling of the jobspec parser, on inline
//! sources and a few fixtures.

use std::collections::BTreeMap;
use std::path::Path;

use orch_core::jobspec::parse_hcl_to_json;
use serde_json::json;

fn fixture(dir: &str, prefix: &str) -> String {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/jobspecs")
        .join(dir);
    let entries = std::fs::read_dir(&base).unwrap_or_else(|e| panic!("{}: {e}", base.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        {
            return std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    panic!("fixture {prefix} missing")
}

#[test]
fn multiple_errors_are_all_reported() {
    let src = fixture("invalid", "multiple-errors");
    let err = parse_hcl_to_json(&src, "m.hcl", &BTreeMap::new())
        .err()
        .unwrap_or_else(|| panic!("should fail"));
    let text = err.to_string();
    assert_eq!(err.diagnostics.len(), 3, "{text}");
    assert!(
        text.contains("m.hcl:6:5: unknown attribute \"colour\" in block \"group\""),
        "{text}"
    );
    assert!(
        text.contains(
            "m.hcl:10:22: invalid value for attribute \"kill_timeout\" in block \"task\""
        ),
        "{text}"
    );
}

#[test]
fn variable_errors() {
    let src = "variable \"n\" {\n  type = number\n}\njob \"j\" {\n  priority = var.n\n}\n";
    let mut vars = BTreeMap::new();
    vars.insert("n".to_string(), json!("fifty"));
    let e = parse_hcl_to_json(src, "v.hcl", &vars)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("v.hcl:1:1: invalid value for variable \"n\""),
        "{e}"
    );

    vars.insert("n".to_string(), json!("50"));
    let j = parse_hcl_to_json(src, "v.hcl", &vars).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(j["Priority"], 50);

    vars.insert("undeclared".to_string(), json!("x"));
    let e = parse_hcl_to_json(src, "v.hcl", &vars)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("declares no variable \"undeclared\""), "{e}");

    let list_src =
        "variable \"dcs\" {\n  type = list(string)\n}\njob \"j\" {\n  datacenters = var.dcs\n}\n";
    let mut vars = BTreeMap::new();
    vars.insert("dcs".to_string(), json!("[\"a\", \"b\"]"));
    let j = parse_hcl_to_json(list_src, "l.hcl", &vars).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(j["Datacenters"], json!(["a", "b"]));
}

#[test]
fn validation_block_fails() {
    let src = fixture("valid", "27-");
    let mut vars = BTreeMap::new();
    vars.insert("region".to_string(), json!("mars"));
    let e = parse_hcl_to_json(&src, "c.hcl", &vars)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("Region must be eu or us."), "{e}");
}
