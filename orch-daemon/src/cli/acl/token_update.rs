//! `orch acl token update`: changes a token's name, type, policies or roles; what is
//! not given stays as it is.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::common::{ROLE_LINK_FLAGS, check_type, role_links, token_block};
use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};
use crate::cli::table::text;

const USAGE: &str = "Usage: orch acl token update <token_accessor_id>

  Updates the token with this accessor ID. Each option given replaces that part of
  the token (-policy, -role-id and -role-name together replace its lists); the rest
  is kept. Needs a management token.

Update Options:

  -name <name>
    A new name

  -type <type>
    client or management

  -policy <name>
    The policies it holds (repeatable; client tokens only)

  -role-id <id>
    The roles it links to, by ID (repeatable)

  -role-name <name>
    The roles it links to, by name (repeatable)

  -json
    Print the token as JSON";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("name"),
    FlagSpec::value("type"),
    FlagSpec::value("policy"),
];

/// Runs `orch acl token update`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS, ROLE_LINK_FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let accessor = p.one_arg("accessor_id", USAGE)?;
    if let Some(t) = p.all("type").last() {
        check_type(t)?;
    }
    let client = ApiClient::from_flags(&p)?;
    let path = format!("/v1/acl/token/{}", encode(accessor));
    let old = client.get(&path)?;
    let kind = p
        .all("type")
        .last()
        .cloned()
        .unwrap_or_else(|| text(&old["Type"]));
    let policies = match p.all("policy") {
        [] if kind == "management" => Value::Array(Vec::new()),
        [] => old["Policies"].clone(),
        given => json!(given),
    };
    let roles = match role_links(&p) {
        given if !given.is_empty() => Value::Array(given),
        _ if kind == "management" => Value::Array(Vec::new()),
        _ => old["Roles"].clone(),
    };
    let has_links = policies.as_array().is_some_and(|a| !a.is_empty())
        || roles.as_array().is_some_and(|a| !a.is_empty());
    if kind == "management" && has_links {
        return Err(
            "-policy, -role-id, -role-name: a management token holds every right; policies and roles are for client tokens"
                .to_string(),
        );
    }
    let body = json!({
        "AccessorID": accessor,
        "Name": p.all("name").last().cloned().unwrap_or_else(|| text(&old["Name"])),
        "Type": kind,
        "Policies": policies,
        "Roles": roles,
        "Global": old["Global"].as_bool().unwrap_or(false),
    });
    let token = client.put(&path, &body)?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &token);
    }
    println!("{}", token_block(&token));
    Ok(ExitCode::SUCCESS)
}
