use super::*;
use serde_json::json;

#[test]
fn builds_the_command_line() {
    let cfg = JavaConfig::parse(&json!({
        "class": "Hello", "class_path": "local", "jvm_options": ["-Xms16m"], "args": ["a"]
    }));
    let args = cfg.map(|c| c.jvm_args(256)).unwrap_or_default();
    assert_eq!(args, ["-Xms16m", "-Xmx256m", "-cp", "local", "Hello", "a"]);
    let cfg = JavaConfig::parse(&json!({"jar_path": "local/x.jar", "jvm_options": ["-Xmx1g"]}));
    let args = cfg.map(|c| c.jvm_args(256)).unwrap_or_default();
    assert_eq!(args, ["-Xmx1g", "-jar", "local/x.jar"]);
    assert!(JavaConfig::parse(&json!({"args": []})).is_err());
    assert!(JavaConfig::parse(&json!({"jar_path": "a", "class": "b"})).is_err());
}

#[test]
fn parses_version_output() {
    let out = "openjdk version \"17.0.15\" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6)\nOpenJDK 64-Bit Server VM (build 17.0.15+6, mixed mode)\n";
    let (v, rt, vm) = parse_java_version(out).unwrap_or_default();
    assert_eq!(v, "17.0.15");
    assert!(rt.starts_with("OpenJDK Runtime"));
    assert!(vm.contains("Server VM"));
}
