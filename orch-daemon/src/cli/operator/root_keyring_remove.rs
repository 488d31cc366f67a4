//! `orch operator root keyring remove <key ID>`: deletes an inactive root key that no
//! variable is encrypted with.

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, parse_verb};

const USAGE: &str = "Usage: orch operator root keyring remove [options] <key ID>

  Remove an inactive root key from the keyring. A key that still encrypts a
  variable is refused: rotate with -full first.";

/// Runs `orch operator root keyring remove`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let id = p.one_arg("key ID", USAGE)?;
    let api = ApiClient::from_flags(&p)?;
    let path = format!("/v1/operator/keyring/key/{}", crate::cli::api::encode(id));
    api.delete(&path)
        .map_err(|e| format!("error: {}", e.message))?;
    println!("Removed encryption key {id}");
    Ok(ExitCode::SUCCESS)
}
