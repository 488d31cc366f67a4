//! `orch acl role update`: changes a role's name, description or policies, merged into
//! the current role unless `-no-merge`.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::common::{policy_links, role_block};
use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};

const USAGE: &str = "Usage: orch acl role update [options] <acl_role_id>

  Updates the role with this ID. Each option given replaces that part of the role
  (-policy replaces its whole list); the rest is kept, unless -no-merge. Needs a
  management token.

Update Options:

  -name <name>
    A new name

  -description <text>
    A new description

  -policy <name>
    The policies it grants (repeatable)

  -no-merge
    Replace the whole role with what is given (-name and -policy
    are then required)

  -json
    Print the role as JSON";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("name"),
    FlagSpec::value("description"),
    FlagSpec::value("policy"),
    FlagSpec::switch("no-merge"),
];

/// Runs `orch acl role update`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let id = p.one_arg("role_id", USAGE)?;
    let given = |flag: &str| p.all(flag).last().cloned();
    let client = ApiClient::from_flags(&p)?;
    let path = format!("/v1/acl/role/{}", encode(id));
    let body = if p.has("no-merge") {
        let name = given("name").filter(|n| !n.is_empty());
        let name = name.ok_or("-name: with -no-merge the role needs its name given")?;
        if p.all("policy").is_empty() {
            return Err("-policy: with -no-merge the role needs at least one policy".to_string());
        }
        json!({
            "ID": id,
            "Name": name,
            "Description": given("description").unwrap_or_default(),
            "Policies": policy_links(p.all("policy")),
        })
    } else {
        let old = client.get(&path)?;
        let policies = match p.all("policy") {
            [] => old["Policies"].clone(),
            names => Value::Array(policy_links(names)),
        };
        json!({
            "ID": id,
            "Name": given("name").map_or_else(|| old["Name"].clone(), Value::String),
            "Description": given("description").map_or_else(|| old["Description"].clone(), Value::String),
            "Policies": policies,
        })
    };
    let role = client.put(&path, &body)?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &role);
    }
    println!("{}", role_block(&role));
    Ok(ExitCode::SUCCESS)
}
