//! `orch acl token self`: the token this command runs with, to check who you are.

use std::process::ExitCode;

use super::common::token_block;
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};

const USAGE: &str = "Usage: orch acl token self

  Displays the token given by -token, ORCH_TOKEN or NOMAD_TOKEN (the anonymous
  token without one).

Self Options:

  -json
    Print the raw API JSON";

/// Runs `orch acl token self`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if !p.positional.is_empty() {
        return Err(format!("this command takes no arguments\n\n{USAGE}"));
    }
    let client = ApiClient::from_flags(&p)?;
    let token = client.get("/v1/acl/token/self")?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &token);
    }
    println!("{}", token_block(&token));
    Ok(ExitCode::SUCCESS)
}
