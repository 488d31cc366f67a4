//! `orch volume create <file>`: create a volume through its controller plugin, then
//! register it.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch volume create [options] <input>

  Create a CSI volume from a specification file (HCL or JSON; - reads standard input)
  through its plugin's controller, and register it.

Create Options:

  -detach
    Accepted: the create answers once the volume exists

  -verbose
    Accepted: full IDs

  -policy-override
    Accepted: orch has no Sentinel policies

  -id
    Not supported: orch has no dynamic host volumes";

/// `-detach` and `-verbose`: a CSI create answers once the plugin has created the
/// volume, so there is nothing to monitor.
const FLAGS: &[FlagSpec] = &[FlagSpec::switch("detach"), FlagSpec::switch("verbose")];

/// Runs `orch volume create`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, super::SPEC_FLAGS, FLAGS], USAGE)? else {
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
