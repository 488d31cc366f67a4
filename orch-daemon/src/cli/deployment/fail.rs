//! `orch deployment fail`: marks a deployment failed (auto-reverting groups roll back).

use std::process::ExitCode;

use serde_json::json;

use super::target;
use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};
use crate::cli::monitor::{Detached, follow};
use crate::cli::table::short;

const USAGE: &str = "Usage: orch deployment fail [options] <deployment id>

  Marks a deployment failed; groups with auto_revert roll back to the last stable version.

Fail Options:

  -detach
    Return right after failing, printing the evaluation ID";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("detach"), FlagSpec::switch("verbose")];

/// Runs `orch deployment fail`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = target(&client, &p, USAGE)?;
    let reply = client.put(
        &format!("/v1/deployment/fail/{}", encode(&id)),
        &json!({"DeploymentID": id}),
    )?;
    let mut msg = format!("Deployment {:?} failed", short(&id));
    if let Some(v) = reply["RevertedJobVersion"].as_u64() {
        msg.push_str(&format!(". Auto-reverted to job version {v}."));
    }
    println!("{msg}");
    follow(&client, &reply, p.has("detach"), Detached::Labelled)
}
