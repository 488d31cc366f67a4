//! `orch acl policy apply`: creates or replaces a policy from a file of rules.

use std::process::ExitCode;

use serde_json::json;

use super::common::read_source;
use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch acl policy apply [options] <name> <path>

  Creates the policy <name>, or replaces it, with the rules (HCL or JSON, Nomad's
  policy language) in the file at <path> (`-` reads stdin). Needs a management token.

Apply Options:

  -description <text>
    The policy's description";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("description"),
    FlagSpec::refused_value("job", "policies cannot be attached to workloads yet"),
    FlagSpec::refused_value("group", "policies cannot be attached to workloads yet"),
    FlagSpec::refused_value("task", "policies cannot be attached to workloads yet"),
];

/// Runs `orch acl policy apply`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let [name, path] = p.positional.as_slice() else {
        return Err(format!(
            "this command takes two arguments: <name> and <path> to the rules\n\n{USAGE}"
        ));
    };
    let rules = read_source(path, "policy rules")?;
    let description = p.all("description").last().cloned().unwrap_or_default();
    let body = json!({ "Name": name, "Description": description, "Rules": rules });
    let client = ApiClient::from_flags(&p)?;
    client.put(&format!("/v1/acl/policy/{}", encode(name)), &body)?;
    println!("Successfully wrote {name:?} ACL policy!");
    Ok(ExitCode::SUCCESS)
}
