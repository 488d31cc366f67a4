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
