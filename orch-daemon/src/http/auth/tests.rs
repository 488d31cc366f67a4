use axum::http::Method;
use orch_core::acl::{Acl, Level, NsCap, parse_rules};

use super::Authz;
use super::rules::{Rule, check, rule_for};

/// Every route the API declares, read from the router's source, so a route added
/// without a rule is caught here rather than silently needing a management token.
fn declared_routes() -> Vec<String> {
    let sources = [
        include_str!("../mod.rs"),
        include_str!("../acl.rs"),
        include_str!("../client_fs.rs"),
        include_str!("../namespaces.rs"),
        include_str!("../csi_volumes.rs"),
        include_str!("../client_csi.rs"),
        include_str!("../ui.rs"),
        include_str!("../vars.rs"),
        include_str!("../keyring.rs"),
        include_str!("../identity.rs"),
    ];
    let mut out = Vec::new();
    for src in sources {
        let mut rest = src;
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + 7..];
            let Some(open) = rest.find('"') else { break };
            let tail = &rest[open + 1..];
            let Some(close) = tail.find('"') else { break };
            out.push(tail[..close].to_string());
        }
    }
    out
}

#[test]
fn every_declared_route_has_a_rule_and_only_system_routes_need_management() {
    let routes = declared_routes();
    assert!(routes.len() > 60, "found only {} routes", routes.len());
    let management_only = [
        "/v1/system/gc",
        "/v1/system/reconcile/summaries",
        "/v1/namespace",
        "/v1/quota",
        // Nomad requires management for snapshot save and restore.
        "/v1/operator/snapshot",
        // Nomad's keyring endpoints need a management token.
        "/v1/operator/keyring/keys",
        "/v1/operator/keyring/rotate",
        "/v1/operator/keyring/key/{id}",
    ];
    for path in &routes {
        let ruled = [Method::GET, Method::PUT, Method::POST, Method::DELETE]
            .iter()
            .any(|m| rule_for(m, path) != Rule::Management);
        assert!(
            ruled || management_only.contains(&path.as_str()),
            "{path} has no rule"
        );
    }
}

fn reader() -> Authz {
    let rules =
        parse_rules("namespace \"default\" { policy = \"read\" }\nagent { policy = \"read\" }")
            .unwrap();
    Authz::for_acl(Acl::from_policies([&rules]))
}

#[test]
fn namespace_rules_check_the_request_namespace_and_set_the_list_capability() {
    let list = rule_for(&Method::GET, "/v1/jobs");
    let ok = check(reader(), &list, "default").unwrap();
    assert!(ok.sees("default"));
    assert!(!ok.sees("other"));
    assert!(check(reader(), &list, "other").is_err());
    assert!(
        check(reader(), &list, "*").is_ok(),
        "some namespace is readable"
    );
    let register = rule_for(&Method::DELETE, "/v1/job/{id}");
    assert_eq!(
        check(reader(), &register, "default").unwrap_err().status,
        403
    );
}

#[test]
fn coarse_rules_follow_their_levels() {
    assert!(check(reader(), &Rule::Agent(Level::Read), "default").is_ok());
    assert!(check(reader(), &Rule::Agent(Level::Write), "default").is_err());
    assert!(check(reader(), &Rule::Node(Level::Read), "default").is_err());
    assert!(check(reader(), &Rule::Management, "default").is_err());
    assert!(check(Authz::open(), &Rule::Management, "default").is_ok());
    assert!(check(reader(), &Rule::Public, "default").is_ok());
}

#[test]
fn a_guardless_handler_gets_nobody_and_nobody_may_anything() {
    let nobody = Authz::nobody();
    assert!(!nobody.allows("default", NsCap::ReadJob));
    assert!(!nobody.sees("default"));
    assert!(!nobody.is_management());
}

#[test]
fn secrets_compare_in_constant_time_and_hash_to_hex() {
    assert!(super::constant_time_eq("abc", "abc"));
    assert!(!super::constant_time_eq("abc", "abd"));
    assert!(!super::constant_time_eq("abc", "ab"));
    let h = super::secret_hash("s3cret");
    assert_eq!(h.len(), 64);
    assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(h, super::secret_hash("s3cret2"));
}
