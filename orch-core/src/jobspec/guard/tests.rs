use super::*;

#[test]
fn real_jobspecs_pass_and_pathological_nesting_is_caught() {
    let ok = r#"job "x" { group "g" { task "t" { config { args = ["a", "${NOMAD_PORT_http}"]
          mounts = [{ a = { b = { c = [1, (2 + 3)] } } }] }
          template { data = <<EOF
{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{
EOF
          } } } }
          # {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{
          locals { s = "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{" }"#;
    assert_eq!(too_deep(ok), None);
    let blocks = format!("{}{}", "a {\n".repeat(40), "}\n".repeat(40));
    assert_eq!(too_deep(&blocks), None);
    assert!(too_deep(&format!("on = {}", "{b/l /".repeat(20))).is_some());
    assert!(too_deep(&format!("on = {}", "[(".repeat(9))).is_some());
    assert!(too_deep(&format!("on = \"{}\"", "${[".repeat(9))).is_some());
}
