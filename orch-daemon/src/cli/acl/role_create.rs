//! `orch acl role create`: a named group of policies that tokens link to.

use std::process::ExitCode;

use serde_json::json;

use super::common::{policy_links, role_block};
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};

const USAGE: &str = "Usage: orch acl role create [options]

  Creates a role granting the given policies. Needs a management token.

Create Options:

  -name <name>
    The role's name (required, unique)

  -description <text>
    A description

  -policy <name>
    A policy the role grants (required; repeatable)

  -json
    Print the role as JSON";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("name"),
    FlagSpec::value("description"),
    FlagSpec::value("policy"),
];

/// Runs `orch acl role create`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if !p.positional.is_empty() {
        return Err(format!("this command takes no arguments\n\n{USAGE}"));
    }
    let name = p.all("name").last().cloned().unwrap_or_default();
    if name.is_empty() {
        return Err(format!("-name: an ACL role needs a name\n\n{USAGE}"));
    }
    if p.all("policy").is_empty() {
        return Err(format!(
            "-policy: an ACL role needs at least one policy\n\n{USAGE}"
        ));
    }
    let body = json!({
        "Name": name,
        "Description": p.all("description").last().cloned().unwrap_or_default(),
        "Policies": policy_links(p.all("policy")),
    });
    let client = ApiClient::from_flags(&p)?;
    let role = client.put("/v1/acl/role", &body)?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &role);
    }
    println!("{}", role_block(&role));
    Ok(ExitCode::SUCCESS)
}
