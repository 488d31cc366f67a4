//! `orch acl token info`: one token by accessor ID (its secret is not shown).

use std::process::ExitCode;

use super::common::token_block;
use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};

const USAGE: &str = "Usage: orch acl token info <token_accessor_id>

  Displays the token with this accessor ID. Needs a management token, or the token
  itself. orch keeps only a hash of each secret, so the Secret ID is not shown.

Info Options:

  -json
    Print the raw API JSON";

/// Runs `orch acl token info`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let accessor = p.one_arg("accessor_id", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let token = client.get(&format!("/v1/acl/token/{}", encode(accessor)))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &token);
    }
    println!("{}", token_block(&token));
    Ok(ExitCode::SUCCESS)
}
