//! `orch acl role delete`: removes a role; tokens linking to it lose its policies.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, parse_verb};

const USAGE: &str = "Usage: orch acl role delete <acl_role_id>

  Deletes the role with this ID. Needs a management token.";

/// Runs `orch acl role delete`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let id = p.one_arg("role_id", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    client.delete(&format!("/v1/acl/role/{}", encode(id)))?;
    println!("ACL role {id} successfully deleted");
    Ok(ExitCode::SUCCESS)
}
