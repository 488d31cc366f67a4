//! `orch acl policy delete`: removes a policy; tokens and roles naming it lose its rights.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, parse_verb};

const USAGE: &str = "Usage: orch acl policy delete <name>

  Deletes the policy <name>. Needs a management token.";

/// Runs `orch acl policy delete`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let name = p.one_arg("name", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    client.delete(&format!("/v1/acl/policy/{}", encode(name)))?;
    println!("Successfully deleted {name:?} ACL policy!");
    Ok(ExitCode::SUCCESS)
}
