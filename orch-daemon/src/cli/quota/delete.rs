//! `orch quota delete <name>`: refused by the servers while a namespace uses it.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, parse_verb};

const USAGE: &str = "Usage: orch quota delete [options] <quota>

  Delete a quota specification. No namespace may be using it.";

/// Runs `orch quota delete`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let name = p.one_arg("quota", USAGE)?;
    ApiClient::from_flags(&p)?.delete(&format!("/v1/quota/{}", encode(name)))?;
    println!("Successfully deleted quota {name:?}!");
    Ok(ExitCode::SUCCESS)
}
