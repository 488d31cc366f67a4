//! `orch deployment unblock`: unblocks a multiregion deployment waiting for its peer
//! regions. orch runs one region, so the servers refuse it with the reason.

use std::process::ExitCode;

use serde_json::json;

use super::target;
use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};
use crate::cli::monitor::{Detached, follow};
use crate::cli::table::short;

const USAGE: &str = "Usage: orch deployment unblock [options] <deployment id>

  Unblock is used to unblock a multiregion deployment that's waiting for peer
  region deployments to complete.

Unblock Options:

  -detach
    Return immediately instead of entering monitor mode. After deployment
    unblock, the evaluation ID will be printed to the screen, which can be used
    to examine the evaluation using the eval-status command.

  -verbose
    Display full information.";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("detach"), FlagSpec::switch("verbose")];

/// Runs `orch deployment unblock`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = target(&client, &p, USAGE)?;
    let reply = client.put(
        &format!("/v1/deployment/unblock/{}", encode(&id)),
        &json!({"DeploymentID": id}),
    )?;
    println!("Deployment {:?} unblocked", short(&id));
    follow(&client, &reply, p.has("detach"), Detached::Labelled)
}
