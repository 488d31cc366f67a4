//! `orch volume snapshot create|list|delete`: volume snapshots through the volume's
//! controller plugin.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};
use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch volume snapshot <create|list|delete> [options] [args]

  create <volume> [name]     Snapshot a registered volume
  list -plugin <id>          List a plugin's snapshots
  delete <plugin> <snapshot> Delete a snapshot

Snapshot Options:

  -plugin <id>
    The plugin (list)

  -secret <key=value>
    A secret for the plugin (repeatable)

  -json
    Print the raw API JSON";

const FLAGS: &[FlagSpec] = &[FlagSpec::value("plugin"), FlagSpec::value("secret")];

/// Runs `orch volume snapshot <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some((verb, rest)) = args.split_first() else {
        return crate::cli::flags::usage_exit(USAGE);
    };
    let Some(p) = parse_verb(rest, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let secrets = p.all("secret").join(",");
    match (verb.as_str(), p.positional.as_slice()) {
        ("create", [volume, name @ ..]) if name.len() <= 1 => {
            let name = name.first().cloned().unwrap_or_default();
            let body = json!({ "Snapshots": [{ "SourceVolumeID": volume, "Name": name }] });
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
        ("list", []) => {
            let Some(plugin) = p.all("plugin").last() else {
                return Err(format!("-plugin is required\n\n{USAGE}"));
            };
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
        ("delete", [plugin, snapshot]) => {
            let path = format!(
                "/v1/volumes/snapshot?plugin_id={}&snapshot_id={}",
                encode(plugin),
                encode(snapshot)
            );
            client.delete_with_header(&path, "X-Nomad-CSI-Secrets", &secrets)?;
            println!("Deleted snapshot {snapshot}.");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(format!(
            "unknown or incomplete `volume snapshot {verb}`\n\n{USAGE}"
        )),
    }
}
