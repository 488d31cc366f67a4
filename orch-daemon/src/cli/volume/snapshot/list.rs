//! `orch volume snapshot list -plugin <id>`: the snapshots a controller plugin knows
//! (`GET /v1/volumes/snapshot`).

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};
use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch volume snapshot list [-plugin plugin_id]

  Display a list of CSI volume snapshots for a plugin along with their source
  volume ID as known to the external storage provider.

  When ACLs are enabled, this command requires a token with the
  'csi-list-volumes' capability for the plugin's namespace.

List Options:

  -plugin
    Display only snapshots managed by a particular plugin (required).

  -secret
    Secrets to pass to the plugin to list snapshots. Accepts multiple
    flags in the form -secret key=value

  -json
    Output the snapshots in JSON format.

  -t
    Format and display the snapshots using a Go template.

  -verbose
    Display full information.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("plugin"),
    FlagSpec::value("secret"),
    FlagSpec::switch("verbose"),
];

/// Runs `orch volume snapshot list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if !p.positional.is_empty() {
        return Err(format!("This command takes no arguments\n\n{USAGE}"));
    }
    let Some(plugin) = p.all("plugin").last() else {
        return Err(format!("-plugin is required\n\n{USAGE}"));
    };
    let secrets = super::secrets_header(&p)?;
    let client = ApiClient::from_flags(&p)?;
    let path = format!("/v1/volumes/snapshot?plugin_id={}", encode(plugin));
    let v = client.get_with_header(&path, "X-Nomad-CSI-Secrets", &secrets)?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &v);
    }
    let mut rows = vec![
        ["Snapshot ID", "Volume ID", "Size", "Create Time", "Ready?"]
            .map(String::from)
            .to_vec(),
    ];
    for s in v["Snapshots"].as_array().into_iter().flatten() {
        rows.push(vec![
            text(&s["ID"]),
            text(&s["SourceVolumeID"]),
            text(&s["SizeBytes"]),
            text(&s["CreateTime"]),
            text(&s["IsReady"]),
        ]);
    }
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}
