//! `orch volume snapshot create <volume> [name]`: snapshots a registered volume through
//! its controller plugin (`PUT /v1/volumes/snapshot`).

use std::process::ExitCode;

use serde_json::json;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};
use crate::cli::table::text;

const USAGE: &str = "Usage: orch volume snapshot create <volume id> [snapshot_name]

  Create a snapshot of an external storage volume. The volume must still be
  registered in order to be snapshotted.

  If an optional snapshot name is provided, the argument will be passed to the
  CSI plugin to be used as the ID of the resulting snapshot. Not all plugins
  accept this name and it may be ignored.

  When ACLs are enabled, this command requires a token with the
  'csi-write-volume' capability for the volume's namespace.

Snapshot Create Options:

  -parameter
    Parameters to pass to the plugin to create a snapshot. Accepts multiple
    flags in the form -parameter key=value

  -secret
    Secrets to pass to the plugin to create a snapshot. Accepts multiple
    flags in the form -secret key=value

  -verbose
    Display full information for the resulting snapshot.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("parameter"),
    FlagSpec::value("secret"),
    FlagSpec::switch("verbose"),
];

/// Runs `orch volume snapshot create`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let (volume, name) = match p.positional.as_slice() {
        [volume] => (volume.clone(), String::new()),
        [volume, name] => (volume.clone(), name.clone()),
        _ => {
            return Err(format!(
                "This command takes one or two arguments: <volume id> [snapshot_name]\n\n{USAGE}"
            ));
        }
    };
    let body = json!({ "Snapshots": [{
        "SourceVolumeID": volume, "Name": name,
        "Secrets": super::pairs(&p, "secret")?, "Parameters": super::pairs(&p, "parameter")?,
    }] });
    let client = ApiClient::from_flags(&p)?;
    let v = client.put("/v1/volumes/snapshot", &body)?;
    for s in v["Snapshots"].as_array().into_iter().flatten() {
        println!(
            "Snapshot {} of volume {} created",
            text(&s["ID"]),
            text(&s["SourceVolumeID"])
        );
    }
    Ok(ExitCode::SUCCESS)
}
