//! `orch volume deregister <id>`: forget a registered volume; the storage keeps it.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch volume deregister [options] <id>

  Deregister a CSI volume. Refused while allocations claim it.

Deregister Options:

  -force
    Accepted for Nomad compatibility; a claimed volume is still refused";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("force")];

/// Runs `orch volume deregister`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let id = p.one_arg("id", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let force = if p.has("force") { "?force=true" } else { "" };
    client.delete(&format!("/v1/volume/csi/{}{force}", encode(id)))?;
    println!("Successfully deregistered volume {id:?}!");
    Ok(ExitCode::SUCCESS)
}
