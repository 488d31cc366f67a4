//! `orch acl ...` against a real agent with ACLs on: bootstrap, policies, tokens and
//! roles through the CLI, as a Nomad operator would run them.

mod common;

use std::process::Output;

use common::{cli_kv, orch_cli, orch_cli_token, start, temp_dir, wait_leader};
use serde_json::Value;

/// The rules of the read-only policy the tests apply.
const READ_ONLY: &str = "namespace \"default\" {\n  policy = \"read\"\n}\n";

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs the CLI with `secret`; panics unless it succeeds, returns its stdout.
fn ok(agent: &common::Agent, secret: &str, args: &[&str]) -> String {
    let o = orch_cli_token(agent, secret, args);
    assert!(
        o.status.success(),
        "orch {args:?} failed: {}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(&o)
}

/// Runs the CLI with `secret` and `-json` (after the three command words, before the
/// verb's other flags and arguments); panics unless it succeeds with JSON.
fn json(agent: &common::Agent, secret: &str, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.insert(3, "-json");
    let out = ok(agent, secret, &args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("orch {args:?}: not JSON ({e}): {out}"))
}

/// The value of `key` in a `Key = Value` block.
fn field(out: &str, key: &str) -> String {
    cli_kv(out)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {key:?} in:\n{out}"))
}

/// A single server with ACLs on and its leader elected.
fn acl_server(name: &str) -> (std::path::PathBuf, common::Agent) {
    let dir = temp_dir(name);
    let data = dir.join("data");
    let agent = start(
        &dir,
        &[
            "-server",
            "-bootstrap-expect",
            "1",
            "-data-dir",
            data.to_str().unwrap(),
            "-acl-enabled",
        ],
    );
    wait_leader(&agent);
    (dir, agent)
}

#[test]
fn acl_cli_manages_policies_tokens_and_roles() {
    let (dir, agent) = acl_server("acl-cli");
    let boot = orch_cli(&agent, &["acl", "bootstrap"]);
    assert!(
        boot.status.success(),
        "bootstrap: {}",
        String::from_utf8_lossy(&boot.stderr)
    );
    let boot = stdout(&boot);
    let root = field(&boot, "Secret ID");
    assert_eq!(root.len(), 36, "a UUID secret: {boot}");
    assert_eq!(field(&boot, "Type"), "management");
    assert_eq!(field(&boot, "Policies"), "n/a");

    let rules = dir.join("readonly.hcl");
    std::fs::write(&rules, READ_ONLY).unwrap();
    let applied = ok(
        &agent,
        &root,
        &[
            "acl",
            "policy",
            "apply",
            "-description",
            "Read only",
            "readonly",
            rules.to_str().unwrap(),
        ],
    );
    assert!(
        applied.contains("Successfully wrote \"readonly\" ACL policy!"),
        "{applied}"
    );
    policies_show(&agent, &root);

    let (accessor, secret) = client_token(&agent, &root);
    tokens_show(&agent, &root, &accessor, &secret);
    roles_round_trip(&agent, &root);

    let deleted = ok(&agent, &root, &["acl", "token", "delete", &accessor]);
    assert!(
        deleted.contains(&format!("Token {accessor} successfully deleted")),
        "{deleted}"
    );
    let tokens = json(&agent, &root, &["acl", "token", "list"]);
    assert_eq!(
        tokens.as_array().map(Vec::len),
        Some(1),
        "only the bootstrap token: {tokens}"
    );
    let gone = orch_cli_token(&agent, &secret, &["acl", "token", "self"]);
    assert!(
        !gone.status.success(),
        "a deleted token's secret no longer works"
    );

    let deleted = ok(&agent, &root, &["acl", "policy", "delete", "readonly"]);
    assert!(
        deleted.contains("Successfully deleted \"readonly\" ACL policy!"),
        "{deleted}"
    );
    assert_eq!(
        ok(&agent, &root, &["acl", "policy", "list"]).trim(),
        "No policies found"
    );
}

/// `policy list` and `policy info`, human and JSON.
fn policies_show(agent: &common::Agent, root: &str) {
    let list = ok(agent, root, &["acl", "policy", "list"]);
    let mut lines = list.lines();
    assert_eq!(
        lines
            .next()
            .map(str::split_whitespace)
            .map(Iterator::collect::<Vec<_>>),
        Some(vec!["Name", "Description"])
    );
    assert!(
        lines.any(|l| l.starts_with("readonly") && l.ends_with("Read only")),
        "{list}"
    );
    let info = ok(agent, root, &["acl", "policy", "info", "readonly"]);
    assert_eq!(field(&info, "Name"), "readonly");
    assert_eq!(field(&info, "Description"), "Read only");
    assert!(
        field(&info, "CreateIndex").parse::<u64>().unwrap() > 0,
        "{info}"
    );
    assert!(
        info.contains("\nRules\n\nnamespace \"default\" {"),
        "{info}"
    );
    let v = json(agent, root, &["acl", "policy", "info", "readonly"]);
    assert_eq!(v["Rules"], READ_ONLY);
    let v = json(agent, root, &["acl", "policy", "list"]);
    assert_eq!(v[0]["Name"], "readonly", "{v}");
}

/// Creates a client token holding the read-only policy; returns accessor and secret.
fn client_token(agent: &common::Agent, root: &str) -> (String, String) {
    let out = ok(
        agent,
        root,
        &[
            "acl", "token", "create", "-name", "reader", "-policy", "readonly", "-ttl", "1h",
        ],
    );
    let secret = field(&out, "Secret ID");
    assert_eq!(secret.len(), 36, "the secret is printed at creation: {out}");
    assert_eq!(field(&out, "Type"), "client");
    assert_eq!(field(&out, "Policies"), "[readonly]");
    assert_ne!(
        field(&out, "Expiry Time"),
        "<none>",
        "-ttl sets an expiry: {out}"
    );
    assert!(out.trim_end().ends_with("Roles\n<none>"), "{out}");
    (field(&out, "Accessor ID"), secret)
}

/// `token self`, `token list` (and its refusal to a client token), `token info`,
/// `token update`.
fn tokens_show(agent: &common::Agent, root: &str, accessor: &str, secret: &str) {
    let me = ok(agent, secret, &["acl", "token", "self"]);
    assert_eq!(field(&me, "Accessor ID"), accessor);
    assert_eq!(field(&me, "Secret ID"), secret);
    assert_eq!(field(&me, "Policies"), "[readonly]");
    let me = json(agent, secret, &["acl", "token", "self"]);
    assert_eq!(me["Policies"], serde_json::json!(["readonly"]));

    let list = ok(agent, root, &["acl", "token", "list"]);
    assert!(list.starts_with("Name"), "{list}");
    assert!(
        list.lines()
            .any(|l| l.starts_with("Bootstrap Token") && l.contains("management")),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("reader") && l.contains(accessor)),
        "{list}"
    );
    let all = json(agent, root, &["acl", "token", "list"]);
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    assert!(
        all.as_array().unwrap().iter().all(|t| t["SecretID"] == ""),
        "no secrets listed: {all}"
    );

    let denied = orch_cli_token(agent, secret, &["acl", "token", "list"]);
    assert!(
        !denied.status.success(),
        "a client token cannot list tokens"
    );
    let err = String::from_utf8_lossy(&denied.stderr);
    assert!(err.contains("Permission denied"), "{err}");

    let info = ok(agent, root, &["acl", "token", "info", accessor]);
    assert_eq!(field(&info, "Name"), "reader");
    assert!(field(&info, "Secret ID").starts_with("<hidden"), "{info}");
    let updated = ok(
        agent,
        root,
        &["acl", "token", "update", "-name", "reader2", accessor],
    );
    assert_eq!(field(&updated, "Name"), "reader2");
    assert_eq!(
        field(&updated, "Policies"),
        "[readonly]",
        "policies kept: {updated}"
    );
}

/// `role create`, `list`, `info` (by ID and by name), `update`, `delete`.
fn roles_round_trip(agent: &common::Agent, root: &str) {
    let out = ok(
        agent,
        root,
        &[
            "acl",
            "role",
            "create",
            "-name",
            "devs",
            "-description",
            "Developers",
            "-policy",
            "readonly",
        ],
    );
    let id = field(&out, "ID");
    assert_eq!(field(&out, "Policies"), "readonly");
    let list = ok(agent, root, &["acl", "role", "list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with(&id) && l.contains("devs") && l.ends_with("readonly")),
        "{list}"
    );
    let info = ok(agent, root, &["acl", "role", "info", &id]);
    assert_eq!(field(&info, "Name"), "devs");
    assert_eq!(field(&info, "Description"), "Developers");
    let by_name = json(agent, root, &["acl", "role", "info", "-by-name", "devs"]);
    assert_eq!(by_name["ID"], id.as_str());
    let updated = ok(
        agent,
        root,
        &["acl", "role", "update", "-description", "Devs", &id],
    );
    assert_eq!(field(&updated, "Description"), "Devs");
    assert_eq!(field(&updated, "Name"), "devs", "name kept: {updated}");
    assert_eq!(
        field(&updated, "Policies"),
        "readonly",
        "policies kept: {updated}"
    );
    let roles = json(agent, root, &["acl", "role", "list"]);
    assert_eq!(roles.as_array().map(Vec::len), Some(1), "{roles}");
    let deleted = ok(agent, root, &["acl", "role", "delete", &id]);
    assert!(
        deleted.contains(&format!("ACL role {id} successfully deleted")),
        "{deleted}"
    );
    assert_eq!(
        ok(agent, root, &["acl", "role", "list"]).trim(),
        "No ACL roles found"
    );
}

#[test]
fn acl_bootstrap_takes_the_secret_from_a_file_once() {
    let (dir, agent) = acl_server("acl-boot");
    let secret = "0d2b7a4e-5c1f-4b8e-9a3d-7f6e5d4c3b2a";
    let file = dir.join("secret.txt");
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    let boot = orch_cli(
        &agent,
        &["acl", "bootstrap", "-json", file.to_str().unwrap()],
    );
    assert!(
        boot.status.success(),
        "bootstrap: {}",
        String::from_utf8_lossy(&boot.stderr)
    );
    let v: Value = serde_json::from_slice(&boot.stdout).unwrap();
    assert_eq!(v["SecretID"], secret, "{v}");

    // A global flag before the command words, as Nomad users type it.
    let me = orch_cli(&agent, &["-token", secret, "acl", "token", "self"]);
    assert!(
        me.status.success(),
        "{}",
        String::from_utf8_lossy(&me.stderr)
    );
    assert_eq!(field(&stdout(&me), "Name"), "Bootstrap Token");

    let again = orch_cli(&agent, &["acl", "bootstrap"]);
    assert!(!again.status.success(), "bootstrap works once");
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already"), "{err}");
}
