//! `orch acl token delete`: revokes a token; its secret stops working at once.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, parse_verb};

const USAGE: &str = "Usage: orch acl token delete <token_accessor_id>

  Deletes the token with this accessor ID. Needs a management token.";

/// Runs `orch acl token delete`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let accessor = p.one_arg("accessor_id", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    client.delete(&format!("/v1/acl/token/{}", encode(accessor)))?;
    println!("Token {accessor} successfully deleted");
    Ok(ExitCode::SUCCESS)
}
