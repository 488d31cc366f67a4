//! `orch volume create <file>`: create a volume through its controller plugin, then
//! register it.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, parse_verb};

const USAGE: &str = "Usage: orch volume create [options] <input>

  Create a CSI volume from a specification file (HCL or JSON; - reads standard input)
  through its plugin's controller, and register it.";

/// Runs `orch volume create`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let vol = super::spec::read(p.one_arg("file", USAGE)?)?;
    let id = super::spec::id_of(&vol)?;
    let client = ApiClient::from_flags(&p)?;
    let reply = client.put(
        &format!("/v1/volume/csi/{}/create", encode(&id)),
        &json!({ "Volumes": [vol] }),
    )?;
    for v in reply["Volumes"].as_array().into_iter().flatten() {
        println!(
            "Created external volume {} with ID {}",
            v["ExternalID"].as_str().unwrap_or_default(),
            v["ID"].as_str().unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
