//! `orch volume snapshot delete <plugin> <snapshot>`: deletes a snapshot through the
//! controller plugin (`DELETE /v1/volumes/snapshot`).

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch volume snapshot delete [options] <plugin id> <snapshot id>

  Delete a snapshot from an external storage provider.

  When ACLs are enabled, this command requires a token with the
  'csi-write-volume' and 'plugin:read' capabilities.

Snapshot Delete Options:

  -secret
    Secrets to pass to the plugin to delete the snapshot. Accepts multiple
    flags in the form -secret key=value";

const FLAGS: &[FlagSpec] = &[FlagSpec::value("secret")];

/// Runs `orch volume snapshot delete`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let [plugin, snapshot] = p.positional.as_slice() else {
        return Err(format!(
            "This command takes two arguments: <plugin id> <snapshot id>\n\n{USAGE}"
        ));
    };
    let secrets = super::secrets_header(&p)?;
    let client = ApiClient::from_flags(&p)?;
    let path = format!(
        "/v1/volumes/snapshot?plugin_id={}&snapshot_id={}",
        encode(plugin),
        encode(snapshot)
    );
    client.delete_with_header(&path, "X-Nomad-CSI-Secrets", &secrets)?;
    println!("Deleted snapshot {snapshot}.");
    Ok(ExitCode::SUCCESS)
}
