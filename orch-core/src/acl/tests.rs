use super::caps::{Level, NsCap};
use super::compiled::{Acl, glob_matches};
use super::policy::parse_rules;

#[test]
fn hcl_rules_expand_shorthands_and_add_capabilities() {
    let rules = parse_rules(
        r#"
        namespace "default" {
          policy       = "read"
          capabilities = ["submit-job"]
        }
        namespace "ops-*" { policy = "write" }
        node { policy = "read" }
        agent { policy = "write" }
        plugin { policy = "list" }
        host_volume "shared" { policy = "read" }
        "#,
    )
    .unwrap();
    let acl = Acl::from_policies([&rules]);
    assert!(acl.allows_namespace("default", NsCap::ListJobs));
    assert!(acl.allows_namespace("default", NsCap::ReadJob));
    assert!(acl.allows_namespace("default", NsCap::SubmitJob));
    assert!(!acl.allows_namespace("default", NsCap::DispatchJob));
    assert!(acl.allows_namespace("ops-east", NsCap::AllocExec));
    assert!(!acl.allows_namespace("other", NsCap::ReadJob));
    assert_eq!(acl.node(), Level::Read);
    assert_eq!(acl.agent(), Level::Write);
    assert_eq!(acl.operator(), Level::None);
    assert!(acl.plugin().allows_read());
    assert!(acl.allows_host_volume("shared", false));
    assert!(!acl.allows_host_volume("shared", true));
}

#[test]
fn json_rules_in_object_and_list_forms_are_the_same() {
    let object = parse_rules(
        r#"{"namespace": {"default": {"policy": "read"}}, "node": {"policy": "write"}}"#,
    )
    .unwrap();
    let list = parse_rules(
        r#"{"namespace": [{"default": [{"policy": "read"}]}], "node": [{"policy": "write"}]}"#,
    )
    .unwrap();
    assert_eq!(object, list);
    let hcl =
        parse_rules("namespace \"default\" { policy = \"read\" }\nnode { policy = \"write\" }")
            .unwrap();
    assert_eq!(object, hcl);
}

#[test]
fn bad_rules_are_refused_naming_the_rule() {
    for (rules, expected) in [
        (
            "namespace \"default\" { policy = \"admin\" }",
            "invalid policy \"admin\"",
        ),
        (
            "namespace \"default\" { capabilities = [\"fly\"] }",
            "invalid capability \"fly\"",
        ),
        (
            "namespace \"a b\" { policy = \"read\" }",
            "invalid namespace name",
        ),
        ("node { policy = \"scale\" }", "node: invalid policy"),
        ("plugin { policy = \"write\" }", "plugin: invalid policy"),
        ("nodes { policy = \"read\" }", "unknown rule \"nodes\""),
        (
            "namespace \"x\" { polcy = \"read\" }",
            "unknown key \"polcy\"",
        ),
        ("", "no rules"),
        ("namespace \"x\" {", "not valid HCL"),
        ("{", "not valid JSON"),
    ] {
        let err = parse_rules(rules).unwrap_err().to_string();
        assert!(err.contains(expected), "{rules:?}: {err}");
    }
    let huge = "#".repeat(super::policy::MAX_RULES_BYTES + 1);
    assert!(
        parse_rules(&huge)
            .unwrap_err()
            .to_string()
            .contains("at most")
    );
}

#[test]
fn deny_wins_over_every_other_policy() {
    let write =
        parse_rules("namespace \"default\" { policy = \"write\" }\nnode { policy = \"write\" }")
            .unwrap();
    let deny =
        parse_rules("namespace \"default\" { policy = \"deny\" }\nnode { policy = \"deny\" }")
            .unwrap();
    let acl = Acl::from_policies([&write, &deny]);
    assert!(!acl.allows_namespace("default", NsCap::ReadJob));
    assert!(!acl.allows_any_in_namespace("default"));
    assert_eq!(acl.node(), Level::Deny);
    assert!(!acl.node().allows_read());
}

#[test]
fn exact_rules_shadow_globs_and_the_closest_glob_wins() {
    let rules = parse_rules(
        r#"
        namespace "*" { policy = "read" }
        namespace "prod-*" { policy = "deny" }
        namespace "prod-web" { policy = "write" }
        "#,
    )
    .unwrap();
    let acl = Acl::from_policies([&rules]);
    assert!(acl.allows_namespace("dev", NsCap::ReadJob));
    assert!(!acl.allows_namespace("dev", NsCap::SubmitJob));
    assert!(
        !acl.allows_namespace("prod-db", NsCap::ReadJob),
        "prod-* is closer than *"
    );
    assert!(
        acl.allows_namespace("prod-web", NsCap::SubmitJob),
        "the exact rule wins"
    );
    assert!(acl.allows_in_some_namespace(NsCap::SubmitJob));
}

#[test]
fn globs_match_any_run_of_characters() {
    assert!(glob_matches("*", ""));
    assert!(glob_matches("a*c", "abbbc"));
    assert!(glob_matches("a*b*c", "a-b-c"));
    assert!(!glob_matches("a*b*c", "a-c"));
    assert!(!glob_matches("ab*", "a"));
    assert!(glob_matches("*-east", "web-east"));
    assert!(!glob_matches("exact", "exactly"));
}

#[test]
fn management_allows_everything_and_nothing_allows_nothing() {
    let m = Acl::management();
    assert!(m.allows_namespace("anything", NsCap::AllocExec));
    assert_eq!(m.operator(), Level::Write);
    let none = Acl::from_policies([]);
    assert!(!none.allows_namespace("default", NsCap::ListJobs));
    assert!(!none.allows_in_some_namespace(NsCap::ListJobs));
    assert_eq!(none.agent(), Level::None);
}

#[test]
fn every_capability_name_round_trips() {
    for name in super::caps::NAMESPACE_CAPABILITIES {
        assert_eq!(NsCap::from_name(name).map(NsCap::name), Some(*name));
    }
    assert_eq!(NsCap::from_name("fly"), None);
}

#[test]
fn node_pool_rules_match_exactly_then_by_closest_glob() {
    let rules = parse_rules(
        r#"
        node_pool "*" { policy = "read" }
        node_pool "prod-*" { policy = "write" }
        node_pool "prod-secret" { policy = "deny" }
        node_pool "ops" { capabilities = ["read", "delete"] }
        "#,
    )
    .unwrap();
    let acl = Acl::from_policies([&rules]);
    assert_eq!(acl.node_pool("dev"), Level::Read);
    assert_eq!(acl.node_pool("prod-web"), Level::Write);
    assert_eq!(acl.node_pool("prod-secret"), Level::Deny);
    assert_eq!(acl.node_pool("ops"), Level::Write, "delete needs write");
    assert!(acl.any_node_pool());
    let none = Acl::from_policies([&parse_rules(r#"node { policy = "read" }"#).unwrap()]);
    assert_eq!(none.node_pool("default"), Level::None);
    assert!(!none.any_node_pool());
    assert_eq!(Acl::management().node_pool("x"), Level::Write);
}
