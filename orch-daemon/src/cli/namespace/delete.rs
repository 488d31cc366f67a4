//! `orch namespace delete <name>`: refused by the servers for `default` and while the
//! namespace holds jobs.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, parse_verb};

const USAGE: &str = "Usage: orch namespace delete [options] <namespace>

  Delete a namespace. It must hold no jobs; default cannot be deleted.";

/// Runs `orch namespace delete`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let name = p.one_arg("namespace", USAGE)?;
    ApiClient::from_flags(&p)?.delete(&format!("/v1/namespace/{}", encode(name)))?;
    println!("Successfully deleted namespace {name:?}!");
    Ok(ExitCode::SUCCESS)
}
