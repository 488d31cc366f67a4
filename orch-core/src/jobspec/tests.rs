//! Unit tests for the jobspec parser as a whole.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::parse_hcl_to_json;

fn parse(src: &str) -> Result<Value, String> {
    parse_hcl_to_json(src, "t.hcl", &BTreeMap::new()).map_err(|e| e.to_string())
}

#[test]
fn minimal_job() {
    let j = parse(
        r#"job "web" {
  datacenters = ["dc1"]
  group "g" {
    count = 2
    task "t" {
      driver = "docker"
      config { image = "nginx" }
      resources {
        cpu    = 500
        memory = 256
      }
    }
  }
}"#,
    );
    let j = j.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(j["ID"], "web");
    assert_eq!(j["Name"], "web");
    assert_eq!(j["Datacenters"], json!(["dc1"]));
    assert_eq!(j["TaskGroups"][0]["Name"], "g");
    assert_eq!(j["TaskGroups"][0]["Count"], 2);
    let t = &j["TaskGroups"][0]["Tasks"][0];
    assert_eq!(t["Name"], "t");
    assert_eq!(t["Config"]["image"], "nginx");
    assert_eq!(t["Resources"]["CPU"], 500);
    assert_eq!(t["Resources"]["MemoryMB"], 256);
    assert!(j.get("Priority").is_none());
}

#[test]
fn unknown_attribute_is_located() {
    let e = parse("job \"x\" {\n  group \"g\" {\n    task \"t\" {\n      resources {\n        cpus = 1\n      }\n    }\n  }\n}\n")
        .err()
        .unwrap_or_default();
    assert!(e.starts_with("t.hcl:5:9: unknown attribute \"cpus\" in block \"resources\""), "{e}");
}

#[test]
fn syntax_error_is_located() {
    let e = parse("job \"x\" {\n  group \"g\" {\n    count = \n  }\n").err().unwrap_or_default();
    assert!(e.starts_with("t.hcl:"), "{e}");
    assert!(e.contains("syntax error"), "{e}");
}

#[test]
fn garbage_never_panics() {
    for s in ["", "{", "job", "job {}", "job \"a\" \"b\" {}", "\u{0}", "job \"x\" { group { } }", "${", "x = [for", "job \"x\" { meta = 1 }"] {
        let _ = parse(s);
    }
}

#[test]
fn deep_nesting_never_overflows() {
    let n = 50_000;
    let cases = [
        format!("x = {}", "[".repeat(n)),
        format!("x = {}1{}", "[".repeat(n), "]".repeat(n)),
        format!("x = {}1{}", "(".repeat(n), ")".repeat(n)),
        format!("x = {}true", "!".repeat(n)),
        format!("x = {}1", "-".repeat(n)),
        format!("x = 1{}", "+1".repeat(n)),
        format!("{}{}", "a {\n".repeat(n), "}\n".repeat(n)),
        format!("job \"x\" {{ group \"g\" {{ task \"t\" {{ config {{ {}{} }} }} }} }}", "a {\n".repeat(2000), "}\n".repeat(2000)),
        format!("job \"x\" {{ meta = {{ a = \"{}\" }} }}", "${".repeat(n)),
        format!("x = \"{}\"", "%{ if true }".repeat(n)),
    ];
    for c in &cases {
        let _ = parse(c);
    }
}
