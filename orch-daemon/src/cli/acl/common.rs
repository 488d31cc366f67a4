//! What the ACL verbs share: Nomad's layouts of a token and of a role, reading rules or
//! a secret from a file or stdin, and the flags that link a token to roles.

use serde_json::{Value, json};

use crate::cli::flags::{FlagSpec, Parsed};
use crate::cli::table::{columns, kv, text, time_of};

/// The flags that link a token to roles, shared by `token create` and `token update`.
pub const ROLE_LINK_FLAGS: &[FlagSpec] =
    &[FlagSpec::value("role-id"), FlagSpec::value("role-name")];

/// What `Secret ID` shows when the API hands out no secret: orch keeps only a hash of
/// each secret, so it is shown once, at creation (and by `token self`).
const HIDDEN_SECRET: &str = "<hidden: shown only when the token is created>";

/// Reads `path`, or stdin for `-`; `what` names the content in errors.
pub fn read_source(path: &str, what: &str) -> Result<String, String> {
    if path == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| format!("cannot read the {what} from stdin: {e}"))?;
        return Ok(s);
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read the {what} from {path}: {e}"))
}

/// Free text, or Nomad's `<none>` when empty.
pub fn or_none(v: &Value) -> String {
    match text(v) {
        s if s.is_empty() => "<none>".to_string(),
        s => s,
    }
}

/// Checks a `-type` value: `client` or `management`.
pub fn check_type(t: &str) -> Result<(), String> {
    match t {
        "client" | "management" => Ok(()),
        other => Err(format!(
            "-type: {other:?} is not a token type; use client or management"
        )),
    }
}

/// The `Roles` of a token body from `-role-id` and `-role-name` (IDs first).
pub fn role_links(p: &Parsed) -> Vec<Value> {
    let ids = p.all("role-id").iter().map(|id| json!({ "ID": id }));
    let names = p.all("role-name").iter().map(|n| json!({ "Name": n }));
    ids.chain(names).collect()
}

/// The `Policies` of a role body: `[{Name}]` per `-policy`.
pub fn policy_links(names: &[String]) -> Vec<Value> {
    names.iter().map(|n| json!({ "Name": n })).collect()
}

/// A token in Nomad's layout: a `Key = Value` block, then the roles (a table, or
/// `<none>`) for client tokens; management tokens show `n/a` for both lists.
pub fn token_block(t: &Value) -> String {
    let management = t["Type"].as_str() == Some("management");
    let policies = if management {
        "n/a".to_string()
    } else {
        let names: Vec<String> = list(&t["Policies"]).iter().map(text).collect();
        format!("[{}]", names.join(" "))
    };
    let secret = match text(&t["SecretID"]) {
        s if s.is_empty() => HIDDEN_SECRET.to_string(),
        s => s,
    };
    let expiry = match time_of(&t["ExpirationTime"]) {
        s if s.is_empty() => "<none>".to_string(),
        s => s,
    };
    let mut pairs = vec![
        ("Accessor ID", text(&t["AccessorID"])),
        ("Secret ID", secret),
        ("Name", text(&t["Name"])),
        ("Type", text(&t["Type"])),
        ("Global", text(&t["Global"])),
        ("Create Time", time_of(&t["CreateTime"])),
        ("Expiry Time", expiry),
        ("Create Index", text(&t["CreateIndex"])),
        ("Modify Index", text(&t["ModifyIndex"])),
        ("Policies", policies),
    ];
    if management {
        pairs.push(("Roles", "n/a".to_string()));
        return kv(&pairs);
    }
    let roles = list(&t["Roles"]);
    let table = if roles.is_empty() {
        "<none>".to_string()
    } else {
        let mut rows = vec![vec!["ID".to_string(), "Name".to_string()]];
        rows.extend(roles.iter().map(|r| vec![text(&r["ID"]), text(&r["Name"])]));
        columns(&rows)
    };
    format!("{}\n\nRoles\n{table}", kv(&pairs))
}

/// A role in Nomad's layout: ID, name, description, its policies comma-separated,
/// indexes.
pub fn role_block(r: &Value) -> String {
    kv(&[
        ("ID", text(&r["ID"])),
        ("Name", text(&r["Name"])),
        ("Description", or_none(&r["Description"])),
        ("Policies", role_policies(r)),
        ("Create Index", text(&r["CreateIndex"])),
        ("Modify Index", text(&r["ModifyIndex"])),
    ])
}

/// A role's policy names, comma-separated, as Nomad lists them.
pub fn role_policies(r: &Value) -> String {
    let names: Vec<String> = list(&r["Policies"])
        .iter()
        .map(|p| text(&p["Name"]))
        .collect();
    names.join(",")
}

/// What the list verbs share: parse the verb (no arguments), GET `path`, and print it
/// under `-json`/`-t`, or `No <what> found` when empty. `None`: nothing is left to
/// print; otherwise the items, for the verb's own table.
pub fn fetch_list(
    args: &[String],
    usage: &str,
    path: &str,
    what: &str,
) -> Result<Option<Vec<Value>>, String> {
    use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], usage)? else {
        return Ok(None);
    };
    if !p.positional.is_empty() {
        return Err(format!("this command takes no arguments\n\n{usage}"));
    }
    let v = crate::cli::api::ApiClient::from_flags(&p)?.get(path)?;
    if crate::cli::output::asked(&p) {
        crate::cli::output::print(&p, &v)?;
        return Ok(None);
    }
    let items = list(&v).to_vec();
    if items.is_empty() {
        println!("No {what} found");
        return Ok(None);
    }
    Ok(Some(items))
}

/// The items of a JSON array (none for anything else).
pub fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}
