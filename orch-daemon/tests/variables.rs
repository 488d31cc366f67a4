//! Nomad Variables on the real binary: CRUD with check-and-set (409 carrying the
//! current variable), locks, prefix and paging, the keyring endpoints, the 64 KiB and
//! path limits, `variables` ACL rules, the `orch var` verbs, items that never reach the
//! Raft log, snapshots or the operator snapshot in plain text, and keys that servers
//! share: a restarted server and followers decrypt what another server sealed.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const SECRET: &str = "s3cr3t-plaintext-marker";

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn put(agent: &impl HasHttp, token: &str, path: &str, items: Value) -> (u16, Value) {
    let (code, body) = send_token(agent, "PUT", path, token, json!({ "Items": items }));
    (code, json_of(&body))
}

fn get_token(agent: &impl HasHttp, token: &str, path: &str) -> (u16, Value) {
    let (code, body) = send_token(agent, "GET", path, token, Value::Null);
    (code, json_of(&body))
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn server_with_snapshots(dir: &Path) -> Agent {
    let config = dir.join("snap.hcl");
    std::fs::write(&config, "server {\n  raft_snapshot_threshold = 3\n}\n").unwrap();
    let data = dir.join("s1");
    start_server_with(dir, &data, &["-config", config.to_str().unwrap()])
}

#[test]
fn variables_crud_cas_locks_paging_and_no_plaintext_at_rest() {
    let dir = temp_dir("vars-crud");
    let s = server_with_snapshots(&dir);
    // Create with cas=0, read back decrypted.
    let (code, v) = put(&s, "", "/v1/var/app/db?cas=0", json!({"password": SECRET}));
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["Items"]["password"], SECRET);
    let index = v["ModifyIndex"].as_u64().unwrap();
    let (code, v) = get(&s, "/v1/var/app/db");
    assert_eq!((code, v["Items"]["password"].as_str()), (200, Some(SECRET)));
    // A stale cas answers 409 with the current variable.
    let (code, v) = put(&s, "", "/v1/var/app/db?cas=1", json!({"password": "x"}));
    assert_eq!(code, 409, "{v}");
    assert_eq!(v["ModifyIndex"].as_u64(), Some(index));
    assert_eq!(v["Items"]["password"], SECRET);
    let (code, _) = put(
        &s,
        "",
        &format!("/v1/var/app/db?cas={index}"),
        json!({"password": SECRET, "user": "u"}),
    );
    assert_eq!(code, 200);
    // Prefix, namespace *, paging.
    for p in ["app/web", "app/zz", "other/x"] {
        assert_eq!(
            put(&s, "", &format!("/v1/var/{p}"), json!({"k": "v"})).0,
            200
        );
    }
    let (_, list) = get(&s, "/v1/vars?prefix=app/");
    let paths: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["app/db", "app/web", "app/zz"]);
    assert!(list[0].get("Items").is_none(), "lists carry metadata only");
    let (_, all) = get(&s, "/v1/vars?namespace=*");
    assert_eq!(all.as_array().unwrap().len(), 4);
    let (_, page) = get(&s, "/v1/vars?per_page=2");
    assert_eq!(page.as_array().unwrap().len(), 2);
    let (_, filtered) = get(&s, "/v1/vars?filter=Path%20%3D%3D%20%22other%2Fx%22");
    assert_eq!(filtered.as_array().unwrap().len(), 1);
    // `orch status`'s prefix search finds variables by path (metadata only).
    let (code, found) = send(
        &s,
        "PUT",
        "/v1/search",
        json!({"Prefix": "app/w", "Context": "variables"}),
    );
    assert_eq!(code, 200, "{found}");
    assert_eq!(json_of(&found)["Matches"]["variables"], json!(["app/web"]));
    // Bad input: path rules, size limit, wrong types.
    assert_eq!(
        put(&s, "", "/v1/var/nomad/secret", json!({"k": "v"})).0,
        400
    );
    assert_eq!(
        put(
            &s,
            "",
            "/v1/var/app/big",
            json!({"k": "x".repeat(70 * 1024)})
        )
        .0,
        400
    );
    assert_eq!(put(&s, "", "/v1/var/app/t", json!({"k": 1})).0, 400);
    assert_eq!(put(&s, "", "/v1/var/app/t", json!({})).0, 400);
    locks(&s);
    // Delete with a stale cas conflicts; without one it goes.
    assert_eq!(
        send(&s, "DELETE", "/v1/var/app/zz?cas=1", Value::Null).0,
        409
    );
    assert_eq!(send(&s, "DELETE", "/v1/var/app/zz", Value::Null).0, 200);
    assert_eq!(get(&s, "/v1/var/app/zz").0, 404);
    keyring(&s);
    // Nothing under the data dir holds the plaintext (log, snapshots, keystore).
    let mut checked = 0;
    for f in files_under(&dir.join("s1")) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !contains(&bytes, SECRET),
            "{} holds the plaintext",
            f.display()
        );
        checked += 1;
    }
    assert!(checked > 2);
    let snap = wait_for(Duration::from_secs(30), "a raft snapshot file", || {
        files_under(&dir.join("s1"))
            .into_iter()
            .find(|f| f.to_string_lossy().contains("snapshot"))
    });
    assert!(!contains(&std::fs::read(&snap).unwrap(), SECRET));
    let (code, archive) = get_bytes(&s, "/v1/operator/snapshot");
    assert_eq!(code, 200);
    assert!(
        !contains(&archive, SECRET),
        "the operator snapshot holds the plaintext"
    );
    // A restarted server decrypts with its keystore.
    drop(s);
    let s = server_with_snapshots(&dir);
    let v = wait_for(
        Duration::from_secs(30),
        "the variable after a restart",
        || {
            let (code, v) = get(&s, "/v1/var/app/db");
            (code == 200).then_some(v)
        },
    );
    assert_eq!(v["Items"]["password"], SECRET);
}

fn locks(s: &Agent) {
    let body = json!({"Items": {"leader": "a"}, "Lock": {"TTL": "15s", "LockDelay": "1s"}});
    let (code, text) = send(s, "PUT", "/v1/var/app/lock?lock-acquire", body.clone());
    assert_eq!(code, 200, "{text}");
    let v = json_of(&text);
    let id = v["Lock"]["ID"].as_str().unwrap().to_string();
    assert_eq!(v["Lock"]["TTL"], "15s");
    assert_eq!(send(s, "PUT", "/v1/var/app/lock?lock-acquire", body).0, 409);
    // Writes need the lock's ID while it is held.
    assert_eq!(
        put(s, "", "/v1/var/app/lock", json!({"leader": "b"})).0,
        409
    );
    let with_id = json!({"Items": {"leader": "b"}, "Lock": {"ID": id}});
    assert_eq!(send(s, "PUT", "/v1/var/app/lock", with_id).0, 200);
    let renew = json!({"Lock": {"ID": id}});
    let (code, text) = send(s, "PUT", "/v1/var/app/lock?lock-renew", renew.clone());
    assert_eq!(code, 200, "{text}");
    assert!(json_of(&text).get("Items").is_none());
    assert_eq!(
        send(
            s,
            "PUT",
            "/v1/var/app/lock?lock-renew",
            json!({"Lock": {"ID": "nope"}})
        )
        .0,
        409
    );
    assert_eq!(
        send(s, "PUT", "/v1/var/app/lock?lock-release", renew).0,
        200
    );
    let (_, v) = get(s, "/v1/var/app/lock");
    assert!(v.get("Lock").is_none(), "{v}");
    assert_eq!(v["Items"]["leader"], "b");
    let short = json!({"Lock": {"TTL": "1s"}});
    assert_eq!(
        send(s, "PUT", "/v1/var/app/lock?lock-acquire", short).0,
        400
    );
}

fn keyring(s: &Agent) {
    let (_, keys) = get(s, "/v1/operator/keyring/keys");
    let keys = keys.as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["State"], "active");
    let old = keys[0]["KeyID"].as_str().unwrap().to_string();
    // An active key cannot go; after a full rotation the old one is unused and can.
    assert_ne!(
        send(
            s,
            "DELETE",
            &format!("/v1/operator/keyring/key/{old}"),
            Value::Null
        )
        .0,
        200
    );
    let (code, text) = send(
        s,
        "PUT",
        "/v1/operator/keyring/rotate?full=true",
        Value::Null,
    );
    assert_eq!(code, 200, "{text}");
    let (_, keys) = get(s, "/v1/operator/keyring/keys");
    assert_eq!(keys.as_array().unwrap().len(), 2);
    let (code, text) = send(
        s,
        "DELETE",
        &format!("/v1/operator/keyring/key/{old}"),
        Value::Null,
    );
    assert_eq!(code, 200, "{text}");
    let (code, v) = get(s, "/v1/var/app/db");
    assert_eq!((code, v["Items"]["password"].as_str()), (200, Some(SECRET)));
}

#[test]
fn followers_decrypt_what_another_server_sealed() {
    let dir = temp_dir("vars-peers");
    let servers = three_servers(&dir, [&[], &[], &[]]);
    // Written through the third server (it makes the key), read on every server.
    let (code, v) = put(&servers[2], "", "/v1/var/shared", json!({"k": SECRET}));
    assert_eq!(code, 200, "{v}");
    for s in &servers {
        let v = wait_for(
            Duration::from_secs(30),
            "the variable on every server",
            || {
                let (code, v) = get(s, "/v1/var/shared");
                (code == 200).then_some(v)
            },
        );
        assert_eq!(v["Items"]["k"], SECRET);
    }
    for f in files_under(&dir) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !contains(&bytes, SECRET),
            "{} holds the plaintext",
            f.display()
        );
    }
}

#[test]
fn variables_acl_rules_are_enforced() {
    let dir = temp_dir("vars-acl");
    let config = dir.join("acl.hcl");
    std::fs::write(&config, "acl {\n  enabled = true\n}\n").unwrap();
    let s = start(&dir, &["-dev", "-config", config.to_str().unwrap()]);
    wait_leader(&s);
    let (_, boot) = send(&s, "POST", "/v1/acl/bootstrap", Value::Null);
    let mgmt = json_of(&boot)["SecretID"].as_str().unwrap().to_string();
    for p in ["app/web", "app/db/pw", "ops/x"] {
        assert_eq!(
            put(&s, &mgmt, &format!("/v1/var/{p}"), json!({"k": "v"})).0,
            200
        );
    }
    let rules = r#"namespace "default" {
  variables {
    path "app/*" { capabilities = ["read", "list"] }
    path "app/db/*" { capabilities = ["deny"] }
    path "ops/*" { capabilities = ["write", "destroy"] }
  }
}"#;
    let (code, text) = send_token(
        &s,
        "PUT",
        "/v1/acl/policy/vars",
        &mgmt,
        json!({"Name": "vars", "Rules": rules}),
    );
    assert_eq!(code, 200, "{text}");
    let (_, tok) = send_token(
        &s,
        "POST",
        "/v1/acl/token",
        &mgmt,
        json!({"Type": "client", "Policies": ["vars"]}),
    );
    let t = json_of(&tok)["SecretID"].as_str().unwrap().to_string();
    assert_eq!(get_token(&s, &t, "/v1/var/app/web").0, 200);
    assert_eq!(get_token(&s, &t, "/v1/var/app/db/pw").0, 403);
    assert_eq!(
        get_token(&s, &t, "/v1/var/ops/x").0,
        403,
        "write without read"
    );
    assert_eq!(put(&s, &t, "/v1/var/app/web", json!({"k": "w"})).0, 403);
    assert_eq!(put(&s, &t, "/v1/var/ops/y", json!({"k": "w"})).0, 200);
    assert_eq!(
        send_token(&s, "DELETE", "/v1/var/ops/y", &t, Value::Null).0,
        200
    );
    assert_eq!(
        send_token(&s, "DELETE", "/v1/var/app/web", &t, Value::Null).0,
        403
    );
    let (_, list) = get_token(&s, &t, "/v1/vars");
    let paths: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["app/web"]);
    assert_eq!(get_token(&s, "", "/v1/var/app/web").0, 403, "anonymous");
    assert_eq!(get_token(&s, &t, "/v1/operator/keyring/keys").0, 403);
    // A namespace read policy reads variables too.
    let (code, _) = send_token(
        &s,
        "PUT",
        "/v1/acl/policy/r",
        &mgmt,
        json!({"Name": "r", "Rules": "namespace \"default\" { policy = \"read\" }"}),
    );
    assert_eq!(code, 200);
    let (_, tok) = send_token(
        &s,
        "POST",
        "/v1/acl/token",
        &mgmt,
        json!({"Type": "client", "Policies": ["r"]}),
    );
    let r = json_of(&tok)["SecretID"].as_str().unwrap().to_string();
    assert_eq!(get_token(&s, &r, "/v1/var/app/db/pw").0, 200);
    assert_eq!(put(&s, &r, "/v1/var/app/db/pw", json!({"k": "w"})).0, 403);
}

fn cli(s: &Agent, args: &[&str]) -> (bool, String, String) {
    let o = orch_cli(s, args);
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn var_cli_verbs_follow_nomad() {
    let dir = temp_dir("vars-cli");
    let s = start(&dir, &["-dev"]);
    wait_leader(&s);
    let (ok, out, err) = cli(&s, &["var", "put", "app/cfg", "user=me", "pass=pw"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.starts_with("Created variable \"app/cfg\" with modify index"),
        "{out}"
    );
    let (ok, out, _) = cli(&s, &["var", "get", "app/cfg"]);
    assert!(ok);
    assert_eq!(json_of(&out)["Items"]["user"], "me");
    let (_, out, _) = cli(&s, &["var", "get", "-item", "pass", "app/cfg"]);
    assert_eq!(out.trim(), "pw");
    let (_, out, _) = cli(&s, &["var", "get", "-out", "hcl", "app/cfg"]);
    assert!(out.contains("user = \"me\""), "{out}");
    // A value from a file, and a whole specification in HCL.
    let f = dir.join("value.txt");
    std::fs::write(&f, "from-file").unwrap();
    let arg = format!("v=@{}", f.display());
    assert!(cli(&s, &["var", "put", "app/file", &arg]).0);
    let (_, out, _) = cli(&s, &["var", "get", "-item", "v", "app/file"]);
    assert_eq!(out.trim(), "from-file");
    let spec = dir.join("spec.nv.hcl");
    let (ok, _, err) = cli(&s, &["var", "init", spec.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        !cli(&s, &["var", "init", spec.to_str().unwrap()]).0,
        "no overwrite"
    );
    let at = format!("@{}", spec.display());
    let (ok, out, err) = cli(&s, &["var", "put", "-out", "json", "app/spec", &at]);
    assert!(ok, "{out}{err}");
    assert_eq!(json_of(&out)["Items"]["key1"], "value 1");
    // Check-and-set conflicts, -force overrides.
    let (ok, _, err) = cli(&s, &["var", "put", "-check-index", "0", "app/cfg", "a=b"]);
    assert!(!ok && err.contains("Check-and-Set conflict"), "{err}");
    assert!(
        cli(
            &s,
            &[
                "var",
                "put",
                "-check-index",
                "0",
                "-force",
                "app/cfg",
                "a=b"
            ]
        )
        .0
    );
    let (ok, out, _) = cli(&s, &["var", "list", "app/"]);
    assert!(ok);
    assert!(out.lines().next().unwrap().contains("Namespace"), "{out}");
    assert_eq!(out.lines().count(), 4, "{out}");
    let (_, out, _) = cli(&s, &["var", "list", "-per-page", "1", "-out", "json"]);
    let (page, token) = out.split_once("Next page token: ").expect("a next page");
    let first = json_of(page)[0]["Path"].clone();
    let (_, out, _) = cli(
        &s,
        &[
            "var",
            "list",
            "-per-page",
            "1",
            "-page-token",
            token.trim(),
            "-out",
            "json",
        ],
    );
    let second = json_of(out.split("Next page token").next().unwrap())[0]["Path"].clone();
    assert!(
        first.is_string() && second.is_string() && first != second,
        "{first} {second}"
    );
    let (ok, out, _) = cli(&s, &["var", "purge", "app/cfg"]);
    assert!(ok);
    assert_eq!(out.trim(), "Successfully purged variable \"app/cfg\"!");
    let (ok, _, err) = cli(&s, &["var", "get", "app/cfg"]);
    assert!(!ok && err.contains("Variable not found"), "{err}");
}

#[test]
fn var_lock_runs_its_child_under_the_lock_and_waits_for_a_holder() {
    let dir = temp_dir("vars-lock");
    let s = start(&dir, &["-dev"]);
    wait_leader(&s);
    // The child's exit code is the command's; the lock is released after it.
    let o = orch_cli(
        &s,
        &[
            "var",
            "lock",
            "-ttl",
            "10s",
            "app/lock",
            "echo held; exit 3",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "held");
    let (code, v) = get_token(&s, "", "/v1/var/app/lock");
    assert_eq!(code, 200, "{v}");
    assert!(v["Lock"].is_null(), "released: {v}");
    // A second locker waits for the first holder to finish.
    let (a_start, a_end) = (dir.join("a_start"), dir.join("a_end"));
    let first_child = format!(
        "touch {}; sleep 2; touch {}",
        a_start.display(),
        a_end.display()
    );
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(["var", "lock", "-ttl", "10s", "app/lock", &first_child])
        .env("ORCH_ADDR", s.http())
        .spawn()
        .unwrap();
    wait_for(Duration::from_secs(60), "the first holder's child", || {
        a_start.exists().then_some(())
    });
    let second_child = format!("test -e {} && echo after-first", a_end.display());
    let o = orch_cli(
        &s,
        &["var", "lock", "-ttl", "10s", "app/lock", &second_child],
    );
    assert!(o.status.success(), "{o:?}");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "after-first");
    assert!(first.wait().unwrap().success());
    // A missing child is a usage error, not a held lock.
    let o = orch_cli(&s, &["var", "lock", "app/lock"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("child command is required"));
}

#[test]
fn root_keyring_cli_lists_rotates_and_removes_keys() {
    let dir = temp_dir("keyring-cli");
    let s = start(&dir, &["-dev"]);
    wait_leader(&s);
    assert_eq!(put(&s, "", "/v1/var/app/k", json!({"a": "b"})).0, 200);
    let (ok, out, err) = cli(&s, &["operator", "root", "keyring", "list", "-verbose"]);
    assert!(ok, "{err}");
    let first_line = out.lines().next().unwrap_or_default();
    assert!(
        first_line.starts_with("Key") && first_line.contains("State"),
        "{out}"
    );
    let old_id = out
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(out.contains("active"), "{out}");
    let (ok, out, err) = cli(
        &s,
        &["operator", "root", "keyring", "rotate", "-full", "-verbose"],
    );
    assert!(ok, "{err}");
    assert!(!out.contains(&old_id) && out.contains("active"), "{out}");
    let (_, list, _) = cli(&s, &["operator", "root", "keyring", "list", "-json"]);
    let keys = json_of(&list);
    assert_eq!(keys.as_array().map(Vec::len), Some(2), "{keys}");
    // The variable was re-sealed with the new key: the old one can go.
    let (ok, out, err) = cli(&s, &["operator", "root", "keyring", "remove", &old_id]);
    assert!(ok, "{out}{err}");
    assert_eq!(out.trim(), format!("Removed encryption key {old_id}"));
    assert_eq!(get_token(&s, "", "/v1/var/app/k").1["Items"]["a"], "b");
    let (ok, _, err) = cli(
        &s,
        &["operator", "root", "keyring", "rotate", "-prepublish"],
    );
    assert!(!ok && err.contains("prepublish"), "{err}");
}
