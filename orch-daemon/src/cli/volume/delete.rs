//! `orch volume delete <id>`: delete a volume in the storage system through its
//! controller plugin, then deregister it.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch volume delete [options] <vol id>

  Delete a CSI volume through its plugin's controller and deregister it. Refused while
  allocations claim it.

Delete Options:

  -secret <key=value>
    A secret for the plugin (repeatable)

  -type <csi>
    The kind of volume: csi (orch has no host volumes)";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("secret"),
    FlagSpec::value("type"),
    FlagSpec::refused_switch(
        "force",
        "it has CSI volumes only; -force deletes host volumes",
    ),
];

/// Runs `orch volume delete`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    super::csi_only(&p)?;
    let id = p.one_arg("id", USAGE)?;
    for s in p.all("secret") {
        if !s.contains('=') {
            return Err(format!("-secret {s:?}: expected key=value\n\n{USAGE}"));
        }
    }
    let client = ApiClient::from_flags(&p)?;
    client.delete_with_header(
        &format!("/v1/volume/csi/{}/delete", encode(id)),
        "X-Nomad-CSI-Secrets",
        &p.all("secret").join(","),
    )?;
    println!("Successfully deleted volume {id:?}!");
    Ok(ExitCode::SUCCESS)
}
