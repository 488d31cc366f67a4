//! `orch acl token create`: a new token, printed once with its secret.

use std::process::ExitCode;

use serde_json::json;

use super::common::{ROLE_LINK_FLAGS, check_type, role_links, token_block};
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};

const USAGE: &str = "Usage: orch acl token create [options]

  Creates a token and prints it with its Secret ID: keep it, orch stores only its
  hash and never shows it again. Needs a management token.

Create Options:

  -name <name>
    A name for people

  -type <type>
    client (the default) or management

  -policy <name>
    A policy the token holds (repeatable; client tokens only)

  -role-id <id>
    A role the token links to, by ID (repeatable)

  -role-name <name>
    A role the token links to, by name (repeatable)

  -global
    Replicate the token to every region

  -ttl <duration>
    Expire the token after this long (5m, 1h); never without it

  -json
    Print the token as JSON";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("name"),
    FlagSpec::value("type"),
    FlagSpec::value("policy"),
    FlagSpec::switch("global"),
    FlagSpec::value("ttl"),
    FlagSpec::refused_value(
        "accessor",
        "tokens get their accessor and secret from the servers",
    ),
];

/// Runs `orch acl token create`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS, ROLE_LINK_FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if !p.positional.is_empty() {
        return Err(format!("this command takes no arguments\n\n{USAGE}"));
    }
    let kind = p.all("type").last().map_or("client", String::as_str);
    check_type(kind)?;
    let roles = role_links(&p);
    if kind == "management" && !(p.all("policy").is_empty() && roles.is_empty()) {
        return Err(
            "-policy, -role-id, -role-name: a management token holds every right; policies and roles are for client tokens"
                .to_string(),
        );
    }
    let ttl = p.all("ttl").last().cloned().unwrap_or_default();
    if !ttl.is_empty() {
        orch_core::duration::parse_go_duration(&ttl)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("-ttl: {ttl:?} is not a positive duration such as 5m or 1h"))?;
    }
    let body = json!({
        "Name": p.all("name").last().cloned().unwrap_or_default(),
        "Type": kind,
        "Policies": p.all("policy"),
        "Roles": roles,
        "Global": p.has("global"),
        "ExpirationTTL": ttl,
    });
    let client = ApiClient::from_flags(&p)?;
    let token = client.put("/v1/acl/token", &body)?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &token);
    }
    println!("{}", token_block(&token));
    Ok(ExitCode::SUCCESS)
}
