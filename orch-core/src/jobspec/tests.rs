//! Unit tests for the jobspec parser as a whole.

use std::collections::BTreeMap;

use serde_json::{Value, json};

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
    assert!(
        e.starts_with("t.hcl:5:9: unknown attribute \"cpus\" in block \"resources\""),
        "{e}"
    );
}

#[test]
fn syntax_error_is_located() {
    let e = parse("job \"x\" {\n  group \"g\" {\n    count = \n  }\n")
        .err()
        .unwrap_or_default();
    assert!(e.starts_with("t.hcl:"), "{e}");
    assert!(e.contains("syntax error"), "{e}");
}

#[test]
fn garbage_never_panics() {
    for s in [
        "",
        "{",
        "job",
        "job {}",
        "job \"a\" \"b\" {}",
        "\u{0}",
        "job \"x\" { group { } }",
        "${",
        "x = [for",
        "job \"x\" { meta = 1 }",
    ] {
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
        format!(
            "job \"x\" {{ group \"g\" {{ task \"t\" {{ config {{ {}{} }} }} }} }}",
            "a {\n".repeat(2000),
            "}\n".repeat(2000)
        ),
        format!("job \"x\" {{ meta = {{ a = \"{}\" }} }}", "${".repeat(n)),
        format!("x = \"{}\"", "%{ if true }".repeat(n)),
    ];
    for c in &cases {
        let _ = parse(c);
    }
}

mod eval_tests {

    use super::super::error::SourceMap;
    use super::super::eval::*;
    use serde_json::Value;

    fn ev(src: &str) -> Result<Value, EvalError> {
        let full = format!("x = {src}\n");
        let body = hcl::edit::parser::parse_body(&full)
            .map_err(|e| EvalError::new(None, e.to_string()))?;
        let sm = SourceMap::new(&full, "t.hcl");
        let mut e = Evaluator::new(&sm);
        e.vars.insert("n".into(), Value::from(3));
        e.vars.insert("names".into(), serde_json::json!(["a", "b"]));
        let attr = body
            .get_attribute("x")
            .ok_or_else(|| EvalError::new(None, "no x"))?;
        e.eval(&attr.value)
    }

    #[test]
    fn runtime_refs_stay_literal() {
        assert_eq!(
            ev(r#""${attr.kernel.name}""#).ok(),
            Some(Value::from("${attr.kernel.name}"))
        );
        assert_eq!(
            ev(r#""a-${NOMAD_ALLOC_INDEX}""#).ok(),
            Some(Value::from("a-${NOMAD_ALLOC_INDEX}"))
        );
        assert_eq!(
            ev(r#""${env["HOME"]}""#).ok(),
            Some(Value::from("${env[\"HOME\"]}"))
        );
    }

    #[test]
    fn arithmetic_and_vars() {
        assert_eq!(ev("var.n * 2 + 1").ok(), Some(Value::from(7)));
        assert_eq!(ev("var.n / 2").ok(), Some(serde_json::json!(1.5)));
        assert_eq!(ev(r#""n=${var.n}""#).ok(), Some(Value::from("n=3")));
        assert_eq!(
            ev("var.n > 2 ? \"big\" : \"small\"").ok(),
            Some(Value::from("big"))
        );
        assert!(ev("var.nope").is_err());
    }

    #[test]
    fn for_and_splat() {
        assert_eq!(
            ev("[for s in var.names : upper(s)]").ok(),
            Some(serde_json::json!(["A", "B"]))
        );
        assert_eq!(
            ev("{for i, s in var.names : s => i}").ok(),
            Some(serde_json::json!({"a": 0, "b": 1}))
        );
        assert_eq!(
            ev(r#""%{ for s in var.names }${s};%{ endfor }""#).ok(),
            Some(Value::from("a;b;"))
        );
    }
}

mod function_tests {

    use super::super::functions::call;
    use serde_json::json;

    #[test]
    fn string_functions() {
        assert_eq!(call("upper", vec![json!("ab")]), Ok(json!("AB")));
        assert_eq!(
            call(
                "format",
                vec![json!("%s-%d-%.2f"), json!("x"), json!(3), json!(1.5)]
            ),
            Ok(json!("x-3-1.50"))
        );
        assert_eq!(
            call(
                "format",
                vec![json!("%03d|%-4s|%5s|%%"), json!(7), json!("ab"), json!("c")]
            ),
            Ok(json!("007|ab  |    c|%"))
        );
        assert_eq!(
            call("join", vec![json!(","), json!(["a", "b"])]),
            Ok(json!("a,b"))
        );
        assert_eq!(
            call("split", vec![json!(","), json!("a,b")]),
            Ok(json!(["a", "b"]))
        );
        assert_eq!(
            call("replace", vec![json!("a-b"), json!("-"), json!("_")]),
            Ok(json!("a_b"))
        );
    }

    #[test]
    fn collection_functions() {
        assert_eq!(call("range", vec![json!(3)]), Ok(json!([0, 1, 2])));
        assert_eq!(
            call("merge", vec![json!({"a":1}), json!({"b":2})]),
            Ok(json!({"a":1,"b":2}))
        );
        assert_eq!(
            call("lookup", vec![json!({"a":1}), json!("b"), json!(5)]),
            Ok(json!(5))
        );
        assert_eq!(
            call("element", vec![json!(["a", "b"]), json!(3)]),
            Ok(json!("b"))
        );
        assert_eq!(
            call("max", vec![json!(1), json!(7), json!(3)]),
            Ok(json!(7))
        );
    }

    #[test]
    fn refused_and_unknown() {
        assert!(call("file", vec![json!("x")]).is_err_and(|e| e.contains("not supported")));
        assert!(call("nope", vec![]).is_err_and(|e| e.contains("unknown function \"nope\"")));
        assert!(call("element", vec![json!([]), json!(0)]).is_err());
    }
}

mod behaviour {
    use super::parse;

    #[test]
    fn dynamic_blocks_are_refused() {
        let e = parse("job \"x\" {\n  dynamic \"group\" {\n  }\n}\n")
            .err()
            .unwrap_or_default();
        assert!(
            e.contains("t.hcl:2:3: \"dynamic\" blocks are not supported"),
            "{e}"
        );
    }

    #[test]
    fn block_vs_attribute_confusion_is_explained() {
        let e = parse("job \"x\" {\n  update = {}\n}\n")
            .err()
            .unwrap_or_default();
        assert!(
            e.contains("t.hcl:2:3: \"update\" in block \"job\" is a block, not an attribute"),
            "{e}"
        );
        let e = parse("job \"x\" {\n  priority {}\n}\n")
            .err()
            .unwrap_or_default();
        assert!(e.contains("is an attribute, not a block"), "{e}");
    }

    #[test]
    fn labels_are_checked() {
        let e = parse("job {\n}\n").err().unwrap_or_default();
        assert!(
            e.contains("t.hcl:1:1: missing label for block \"job\""),
            "{e}"
        );
        let e = parse("job \"x\" {\n  update \"r\" {}\n}\n")
            .err()
            .unwrap_or_default();
        assert!(e.contains("block \"update\" does not take a label"), "{e}");
    }

    #[test]
    fn group_scaling_requires_max() {
        let e =
            parse("job \"x\" {\n  group \"g\" {\n    scaling {\n      min = 1\n    }\n  }\n}\n")
                .err()
                .unwrap_or_default();
        assert!(
            e.contains("t.hcl:3:5: missing required attribute \"max\""),
            "{e}"
        );
    }

    #[test]
    fn template_directives_and_locals_order() {
        let src = "locals {\n  b = \"${local.a}-b\"\n  a = \"a\"\n}\njob \"x\" {\n  meta {\n    v = local.b\n    w = \"%{ for i in [1, 2] }${i}%{ endfor }\"\n  }\n}\n";
        let j = parse(src).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(j["Meta"]["v"], "a-b");
        assert_eq!(j["Meta"]["w"], "12");
    }

    #[test]
    fn cyclic_locals_error() {
        let e = parse("locals {\n  a = local.b\n  b = local.a\n}\njob \"x\" {}\n")
            .err()
            .unwrap_or_default();
        assert!(e.contains("undefined local value"), "{e}");
    }
}

#[test]
fn expressions_that_would_build_billions_of_values_are_refused() {
    let src = r#"
locals {
  huge = [for a in range(1024) : [for b in range(1024) : range(1024)]]
}
job "j" {
  meta { n = length(local.huge) }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
    }
  }
}
"#;
    let err = crate::jobspec::parse_jobspec("huge.nomad.hcl", src, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("steps of work"), "{err}");
}

/// A file system in memory: orch-core does no I/O, so the CLI's reader is stood in for
/// by a map (the real reader is tested through the `orch` binary in
/// `orch-daemon/tests/jobspec_files.rs`).
struct MemFiles(BTreeMap<String, String>);

impl super::FileSource for MemFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        self.0
            .get(path)
            .cloned()
            .ok_or_else(|| format!("no file {path}"))
    }
    fn exists(&self, path: &str) -> bool {
        self.0.contains_key(path)
    }
}

#[test]
fn file_reads_through_the_callers_source_and_is_refused_without_one() {
    let spec = r#"
locals {
  script = file("run.sh")
}
job "j" {
  meta {
    has_script = fileexists("run.sh")
    has_other  = fileexists("other.sh")
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", local.script]
      }
    }
  }
}"#;
    let files = MemFiles(BTreeMap::from([(
        "run.sh".to_string(),
        "echo hi\n".to_string(),
    )]));
    let job = super::parse_hcl_with_files(spec, "j.hcl", &BTreeMap::new(), Some(&files)).unwrap();
    let task = &job["TaskGroups"][0]["Tasks"][0];
    assert_eq!(task["Config"]["args"][1], "echo hi\n");
    assert_eq!(job["Meta"]["has_script"], "true");
    assert_eq!(job["Meta"]["has_other"], "false");
    let e = super::parse_hcl_to_json(spec, "j.hcl", &BTreeMap::new()).unwrap_err();
    assert!(e.to_string().contains("not supported"), "{e}");
    let missing = MemFiles(BTreeMap::new());
    let e =
        super::parse_hcl_with_files(spec, "j.hcl", &BTreeMap::new(), Some(&missing)).unwrap_err();
    assert!(e.to_string().contains("no file run.sh"), "{e}");
}
