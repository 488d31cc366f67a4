use serde_json::json;

use super::common::{check_type, role_block, token_block};
use super::run;

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_client_token_lists_policies_then_a_roles_table() {
    let t = json!({
        "AccessorID": "a-1", "SecretID": "", "Name": "ro", "Type": "client",
        "Policies": ["read", "ops"], "Roles": [{"ID": "r-1", "Name": "dev"}],
        "Global": false, "CreateTime": "2026-01-01T00:00:00Z", "ExpirationTime": null,
        "CreateIndex": 5, "ModifyIndex": 6,
    });
    let out = token_block(&t);
    assert!(out.contains("Accessor ID  = a-1"), "{out}");
    assert!(out.contains("Secret ID    = <hidden"), "{out}");
    assert!(out.contains("Expiry Time  = <none>"), "{out}");
    assert!(out.contains("Policies     = [read ops]"), "{out}");
    assert!(out.ends_with("Roles\nID   Name\nr-1  dev"), "{out}");
}

#[test]
fn a_management_token_shows_na_for_policies_and_roles() {
    let t = json!({"AccessorID": "a", "SecretID": "s3cr3t", "Type": "management", "Policies": [], "Roles": []});
    let out = token_block(&t);
    assert!(out.contains("Secret ID    = s3cr3t"), "{out}");
    assert!(out.contains("Policies     = n/a"), "{out}");
    assert!(out.contains("Roles        = n/a"), "{out}");
}

#[test]
fn a_role_joins_its_policies_and_marks_no_description() {
    let r = json!({"ID": "r", "Name": "dev", "Description": "", "Policies": [{"Name": "a"}, {"Name": "b"}], "CreateIndex": 1, "ModifyIndex": 2});
    let out = role_block(&r);
    assert!(out.contains("Description  = <none>"), "{out}");
    assert!(out.contains("Policies     = a,b"), "{out}");
}

#[test]
fn bad_flags_and_arguments_name_what_is_wrong() {
    assert!(check_type("admin").unwrap_err().contains("-type"));
    let err = |a: &[&str]| run(&strs(a)).unwrap_err();
    assert!(err(&["token", "create", "-type", "root"]).contains("-type"));
    assert!(err(&["token", "create", "-ttl", "soon"]).contains("-ttl"));
    assert!(err(&["token", "create", "-type", "management", "-policy", "p"]).contains("-policy"));
    assert!(err(&["token", "create", "-bogus"]).contains("unknown flag -bogus"));
    assert!(err(&["role", "create", "-policy", "p"]).contains("-name"));
    assert!(err(&["role", "create", "-name", "n"]).contains("-policy"));
    assert!(err(&["policy", "apply", "only-a-name"]).contains("<name> and <path>"));
    assert!(err(&["policy", "info"]).contains("<name>"));
    assert!(err(&["token", "frob"]).contains("orch acl token frob"));
    assert!(err(&["bootstrap", "a", "b"]).contains("at most one argument"));
}
