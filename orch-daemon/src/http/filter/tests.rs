use super::*;
use serde_json::json;

fn obj() -> Value {
    json!({
        "ID": "web", "Status": "running", "Priority": 50, "Stop": false,
        "Meta": {"team": "ops", "a.b": "x"}, "Datacenters": ["dc1", "dc2"],
        "NodePool": "default", "Empty": "", "TaskGroups": [{"Name": "g"}],
    })
}

fn check(expr: &str) -> bool {
    Expr::parse(expr)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .matches(&obj())
}

#[test]
fn operators_follow_go_bexpr() {
    for (e, want) in [
        (r#"Status == "running""#, true),
        ("Status == running", true),
        (r#"Status != "running""#, false),
        ("Priority == 50", true),
        ("Stop == false", true),
        (r#""dc1" in Datacenters"#, true),
        (r#""dc3" not in Datacenters"#, true),
        ("Datacenters contains dc2", true),
        ("Datacenters not contains dc2", false),
        (r#"ID contains "e""#, true),
        ("Meta contains team", true),
        ("Meta.team == ops", true),
        (r#"Meta["a.b"] == x"#, true),
        ("/Meta/team == ops", true),
        ("TaskGroups.0.Name == g", true),
        ("Empty is empty", true),
        ("Missing is empty", true),
        ("Meta is not empty", true),
        ("Missing == x", false),
        ("Missing != x", true),
        (r#"ID matches "^w.b$""#, true),
        (r#"ID not matches "^x""#, true),
        (r#"Status == running and NodePool == "default""#, true),
        ("Status == dead or Priority == 50", true),
        ("not Status == dead", true),
        ("not (Status == running or Stop == true)", false),
        ("(Status == dead or Priority == 50) and ID == web", true),
    ] {
        assert_eq!(check(e), want, "{e}");
    }
}

#[test]
fn malformed_expressions_name_the_problem() {
    for (e, col, what) in [
        ("Status = running", 8, "=="),
        ("Status ==", 10, "expected a value"),
        ("Status running", 8, "unknown operator"),
        ("(Status == a", 13, "')'"),
        (r#"Status == "open"#, 11, "unterminated"),
        ("Status == a b", 13, "and/or"),
        ("", 1, "empty"),
        (r#"ID matches "(""#, 4, "regular expression"),
        ("Meta. == a", 7, "field name"),
    ] {
        let got = Expr::parse(e).unwrap_err();
        assert_eq!(got.column, col, "{e}: {got}");
        assert!(got.to_string().contains(what), "{e}: {got}");
    }
}

#[test]
fn deep_long_or_huge_expressions_are_refused_not_overflowing_the_stack() {
    let deep = format!(
        "{}Status == \"x\"{}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let e = Expr::parse(&deep).unwrap_err();
    assert!(e.message.contains("longer than"), "{e}");
    let nested = format!("{}Status == \"x\"{}", "(".repeat(40), ")".repeat(40));
    let e = Expr::parse(&nested).unwrap_err();
    assert!(e.message.contains("nest more than 32 deep"), "{e}");
    let nots = format!("{}Status == \"x\"", "not ".repeat(40));
    assert!(
        Expr::parse(&nots)
            .unwrap_err()
            .message
            .contains("nest more than")
    );
    let ok = format!("{}Status == \"x\"{}", "(".repeat(32), ")".repeat(32));
    assert!(Expr::parse(&ok).is_ok());
    let chain = vec!["Status == \"x\""; 300].join(" or ");
    let e = Expr::parse(&chain).unwrap_err();
    assert!(e.message.contains("more than 256 conditions"), "{e}");
    let fine = vec!["Status == \"x\""; 256].join(" or ");
    assert!(Expr::parse(&fine).is_ok());
}
