use std::collections::BTreeMap;

use super::*;

struct Ctx {
    env: BTreeMap<String, String>,
    services: Option<BTreeMap<String, Vec<ServiceEntry>>>,
}

impl TemplateContext for Ctx {
    fn env(&self, key: &str) -> Option<String> {
        self.env.get(key).cloned()
    }
    fn services(&self, name: &str) -> Option<Vec<ServiceEntry>> {
        self.services
            .as_ref()
            .map(|s| s.get(name).cloned().unwrap_or_default())
    }
}

fn ctx() -> Ctx {
    let env = [
        ("NOMAD_ALLOC_INDEX", "2"),
        ("NOMAD_TASK_NAME", "web"),
        ("attr.kernel.name", "linux"),
        ("meta.rack", "r1"),
        ("LIST", "a,b,c"),
        ("PADDED", "  x  "),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let svc = |id: &str, addr: &str, port: u16, tags: &[&str]| ServiceEntry {
        id: id.into(),
        name: "db".into(),
        address: addr.into(),
        port,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        ..ServiceEntry::default()
    };
    let mut services = BTreeMap::new();
    services.insert(
        "db".to_string(),
        vec![
            svc("db-1", "10.0.0.1", 5432, &["primary"]),
            svc("db-2", "10.0.0.2", 5433, &["replica", "ro"]),
        ],
    );
    Ctx {
        env,
        services: Some(services),
    }
}

fn r(t: &str) -> String {
    render(t, "", "", &ctx()).unwrap_or_else(|e| panic!("{t:?}: {e}"))
}

fn e(t: &str) -> TemplateError {
    render(t, "", "", &ctx()).unwrap_err()
}

#[test]
fn text_env_and_literals() {
    assert_eq!(r("plain text\n"), "plain text\n");
    assert_eq!(r("index={{ env \"NOMAD_ALLOC_INDEX\" }}"), "index=2");
    assert_eq!(
        r("{{ env `attr.kernel.name` }}/{{env \"meta.rack\"}}"),
        "linux/r1"
    );
    assert_eq!(r("[{{ env \"MISSING\" }}]"), "[]");
    assert_eq!(
        r("{{ \"a\\tb\" }} {{ 42 }} {{ true }} {{ -3 }}"),
        "a\tb 42 true -3"
    );
    assert_eq!(r("{{ \"}}\" }}"), "}}");
}

#[test]
fn trim_markers_and_comments() {
    assert_eq!(r("a  \n {{- \"b\" -}} \n  c"), "abc");
    assert_eq!(r("a {{- /* gone */ -}} b"), "ab");
    assert_eq!(r("a{{/* a comment with }} inside */}}b"), "ab");
    assert_eq!(r("x {{ \"y\" }} z"), "x y z");
    // `{{-3}}` is the number -3, not a trim marker.
    assert_eq!(r("a {{-3}}"), "a -3");
}

#[test]
fn pipelines_and_functions() {
    assert_eq!(r("{{ env \"NOMAD_TASK_NAME\" | toUpper }}"), "WEB");
    assert_eq!(r("{{ \"MiXed\" | toLower }}"), "mixed");
    assert_eq!(r("{{ env \"PADDED\" | trimSpace }}|"), "x|");
    assert_eq!(r("{{ \"a-b-c\" | replaceAll \"-\" \"_\" }}"), "a_b_c");
    assert_eq!(r("{{ env \"LIST\" | split \",\" | join \";\" }}"), "a;b;c");
    assert_eq!(
        r("{{ printf \"%s:%d %q %v%%\" \"h\" 80 \"q\" true }}"),
        "h:80 \"q\" true%"
    );
    assert_eq!(r("{{ printf \"%d\" }}"), "%!d(MISSING)");
    assert_eq!(r("{{ len (env \"LIST\" | split \",\") }}"), "3");
    assert_eq!(r("{{ \"hello world\" | toTitle }}"), "Hello World");
    assert_eq!(
        r("{{ env \"NOMAD_ALLOC_INDEX\" | parseInt | printf \"%d\" }}"),
        "2"
    );
    assert_eq!(r("{{ env \"NOPE\" | default \"fallback\" }}"), "fallback");
    assert_eq!(r("{{ contains \"b\" (env \"LIST\") }}"), "true");
}

#[test]
fn conditionals() {
    assert_eq!(
        r("{{ if eq (env \"NOMAD_ALLOC_INDEX\") \"2\" }}yes{{ else }}no{{ end }}"),
        "yes"
    );
    assert_eq!(
        r("{{ if ne (env \"NOMAD_ALLOC_INDEX\") \"2\" }}yes{{ else }}no{{ end }}"),
        "no"
    );
    assert_eq!(
        r("{{ if eq 1 2 }}a{{ else if eq 2 2 }}b{{ else }}c{{ end }}"),
        "b"
    );
    assert_eq!(
        r("{{ if and (env \"LIST\") (not (env \"NOPE\")) }}ok{{ end }}"),
        "ok"
    );
    assert_eq!(r("{{ if or \"\" 0 }}t{{ else }}f{{ end }}"), "f");
    assert_eq!(
        r("{{ if lt 1 2 }}lt{{ end }}{{ if ge \"b\" \"a\" }}ge{{ end }}"),
        "ltge"
    );
    assert_eq!(
        r("{{ with env \"NOMAD_TASK_NAME\" }}task={{ . }}{{ end }}"),
        "task=web"
    );
    assert_eq!(r("{{ with env \"NOPE\" }}x{{ else }}none{{ end }}"), "none");
}

#[test]
fn variables() {
    assert_eq!(
        r("{{ $x := env \"NOMAD_TASK_NAME\" }}{{ $x }}-{{ $x | toUpper }}"),
        "web-WEB"
    );
    assert_eq!(r("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}"), "2");
    assert!(matches!(e("{{ $y }}"), TemplateError::Exec { .. }));
}

#[test]
fn range_over_nomad_services() {
    let t = "upstream db {\n{{- range nomadService \"db\" }}\n  server {{ .Address }}:{{ .Port }}; # {{ .ID }} {{ join \",\" .Tags }}\n{{- end }}\n}\n";
    assert_eq!(
        r(t),
        "upstream db {\n  server 10.0.0.1:5432; # db-1 primary\n  server 10.0.0.2:5433; # db-2 replica,ro\n}\n"
    );
    assert_eq!(
        r(
            "{{ range $i, $s := nomadService \"db\" }}{{ $i }}={{ $s.Name }}@{{ $s.Port }} {{ end }}"
        ),
        "0=db@5432 1=db@5433 "
    );
    assert_eq!(
        r("{{ range nomadService \"none\" }}x{{ else }}no instances{{ end }}"),
        "no instances"
    );
    assert_eq!(
        r("{{ with nomadService \"db\" }}{{ len . }} instances{{ end }}"),
        "2 instances"
    );
    assert!(matches!(
        e("{{ range nomadService \"db\" }}{{ .Nope }}{{ end }}"),
        TemplateError::Exec { .. }
    ));
    // No catalog yet: an error naming the service.
    let no_catalog = Ctx {
        env: BTreeMap::new(),
        services: None,
    };
    let err = render(
        "{{ range nomadService \"db\" }}{{ end }}",
        "",
        "",
        &no_catalog,
    )
    .unwrap_err();
    assert!(err.to_string().contains("\"db\""), "{err}");
}

#[test]
fn custom_delimiters() {
    let out = render(
        "[[ env \"NOMAD_TASK_NAME\" ]] {{ untouched }}",
        "[[",
        "]]",
        &ctx(),
    )
    .unwrap();
    assert_eq!(out, "web {{ untouched }}");
}

#[test]
fn unsupported_and_unknown_functions() {
    // Without a variables source (the CLI's -t), nomadVar is an error saying so.
    let err = e("{{ nomadVar \"x\" }}").to_string();
    assert!(err.contains("no access to Nomad variables"), "{err}");
    for f in ["key", "secret", "service"] {
        let err = e(&format!("line1\n{{{{ {f} \"x\" }}}}"));
        assert_eq!(
            err,
            TemplateError::Unsupported {
                line: 2,
                function: f.into()
            }
        );
        let msg = err.to_string();
        assert!(msg.contains(f) && msg.contains("Nomad-native"), "{msg}");
    }
    // Refused even in a branch that would not run.
    assert!(matches!(
        e("{{ if false }}{{ key \"x\" }}{{ end }}"),
        TemplateError::Unsupported { .. }
    ));
    assert!(matches!(
        e("{{ frobnicate }}"),
        TemplateError::UnknownFunction { .. }
    ));
}

#[test]
fn parse_errors() {
    for bad in [
        "{{ if true }}x",
        "{{ end }}",
        "{{ \"unterminated }}",
        "{{ env \"X\"",
        "{{ template \"x\" }}",
        "{{ if true }}{{ else }}{{ else }}{{ end }}",
        "{{ }}",
        "{{ 1 | }}",
    ] {
        assert!(
            matches!(
                render(bad, "", "", &ctx()),
                Err(TemplateError::Parse { .. })
            ),
            "{bad:?} -> {:?}",
            render(bad, "", "", &ctx())
        );
    }
    assert!(matches!(e("{{ eq 1 \"1\" }}"), TemplateError::Exec { .. }));
}

#[test]
fn source_and_destination() {
    let dir = tempfile::tempdir().unwrap();
    let task = dir.path().join("web");
    std::fs::create_dir_all(task.join("local")).unwrap();
    std::fs::write(task.join("local/app.tpl"), "from file").unwrap();
    let t = Template {
        source_path: "local/app.tpl".into(),
        dest_path: "local/app.conf".into(),
        ..Template::default()
    };
    assert_eq!(template_source(&t, &task).unwrap(), "from file");
    let data = Template {
        embedded_tmpl: "inline".into(),
        ..Template::default()
    };
    assert_eq!(template_source(&data, &task).unwrap(), "inline");
    for bad in ["../../etc/passwd", "/etc/passwd"] {
        let t = Template {
            source_path: bad.into(),
            ..Template::default()
        };
        assert!(template_source(&t, &task).is_err(), "{bad}");
    }
    assert!(template_source(&Template::default(), &task).is_err());

    assert_eq!(
        template_destination(&t, &task, dir.path()).unwrap(),
        task.join("local/app.conf")
    );
    let shared = Template {
        dest_path: "../alloc/shared.conf".into(),
        ..Template::default()
    };
    assert_eq!(
        template_destination(&shared, &task, dir.path()).unwrap(),
        dir.path().join("alloc/shared.conf")
    );
    for bad in ["../../x", "/etc/x", "..", ""] {
        let t = Template {
            dest_path: bad.into(),
            ..Template::default()
        };
        assert!(
            template_destination(&t, &task, dir.path()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn hostile_templates_are_refused_not_crashing_the_client() {
    let r = |t: &str| render(t, "", "", &ctx());
    // A huge integer range would allocate every element first.
    let e = r("{{ range 1000000000000 }}x{{ end }}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("counts above 100000 are refused"), "{e}");
    // Nested ranges multiply: a billion steps.
    let e = r("{{ range 1000 }}{{ range 1000 }}{{ range 1000 }}x{{ end }}{{ end }}{{ end }}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("more than 1000000 steps"), "{e}");
    // Output beyond 16 MiB.
    let big = "y".repeat(1 << 20);
    let e = r(&format!("{{{{ range 20 }}}}{big}{{{{ end }}}}"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("larger than 16 MiB"), "{e}");
    // Deep nesting, and long else-if chains, would recurse without bound.
    let deep = format!("{}x{}", "{{ if 1 }}".repeat(200), "{{ end }}".repeat(200));
    let e = r(&deep).unwrap_err().to_string();
    assert!(e.contains("nest more than 100 deep"), "{e}");
    let chain = format!(
        "{{{{ if 0 }}}}{}{{{{ end }}}}",
        "{{ else if 0 }}".repeat(5000)
    );
    let e = r(&chain).unwrap_err().to_string();
    assert!(e.contains("nest more than 100 deep"), "{e}");
    // Within the limits all is as before.
    assert_eq!(r("{{ range 3 }}x{{ end }}").unwrap(), "xxx");
}

/// Fuzz-found: a multi-byte character right after `{` inside an action made the lexer
/// slice inside the character (a panic in the client).
#[test]
fn multibyte_text_inside_an_unclosed_action_is_an_error() {
    let input = String::from_utf8(vec![123, 123, 10, 59, 59, 123, 216, 174]).unwrap();
    assert!(render(&input, "", "", &ctx()).is_err());
    assert!(render("{{ \"é\" }}{é}}", "", "", &ctx()).is_ok());
}

#[test]
fn sprig_functions_under_both_names() {
    assert_eq!(
        r("{{ \"web\" | upper }} {{ sprig_upper \"db\" }}"),
        "WEB DB"
    );
    assert_eq!(
        r("{{ trimPrefix \"v\" \"v1.2\" }} {{ hasSuffix \".hcl\" \"a.hcl\" }}"),
        "1.2 true"
    );
    assert_eq!(
        r("{{ add 1 2 3 }} {{ sub 10 4 }} {{ mul 6 7 }} {{ div 9 2 }} {{ mod 9 2 }} {{ max 3 8 }}"),
        "6 6 42 4 1 8"
    );
    assert_eq!(r("{{ list 1 \"a\" true | toJson }}"), "[1,\"a\",true]");
    assert_eq!(r("{{ first (list 1 2) }}-{{ last (list 1 2) }}"), "1-2");
    assert_eq!(
        r("{{ substr 1 3 \"hello\" }} {{ repeat 3 \"ab\" }} {{ quote \"x\" }}"),
        "el ababab \"x\""
    );
    assert_eq!(r("{{ ternary \"yes\" \"no\" true }}"), "yes");
    assert!(e("{{ div 1 0 }}").to_string().contains("division by zero"));
    assert!(
        e("{{ repeat 100000000 \"ab\" }}")
            .to_string()
            .contains("exceed")
    );
    assert!(matches!(
        e("{{ sprig_nope 1 }}"),
        TemplateError::UnknownFunction { .. }
    ));
}
