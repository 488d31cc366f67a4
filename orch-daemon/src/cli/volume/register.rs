//! `orch volume register <file>`: register a volume that already exists in the
//! storage system (its `external_id` names it there).

use std::process::ExitCode;

use serde_json::json;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch volume register [options] <input>

  Register a CSI volume from a specification file (HCL or JSON; - reads standard
  input). The volume must exist in the storage system; its external_id names it.

Register Options:

  -policy-override
    Accepted: orch has no Sentinel policies

  -id
    Not supported: orch has no dynamic host volumes";

const FLAGS: &[FlagSpec] = &[];

/// Runs `orch volume register`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, super::SPEC_FLAGS, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let vol = super::spec::read(p.one_arg("file", USAGE)?)?;
    let id = super::spec::id_of(&vol)?;
    let client = ApiClient::from_flags(&p)?;
    client.put(
        &format!("/v1/volume/csi/{}", encode(&id)),
        &json!({ "Volumes": [vol] }),
    )?;
    println!("Volume {id:?} registered");
    Ok(ExitCode::SUCCESS)
}
