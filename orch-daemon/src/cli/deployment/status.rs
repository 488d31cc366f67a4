//! `orch deployment status`: a deployment's status and its `Deployed` table, or with
//! `-monitor` the deployment followed until it finishes.

use std::process::ExitCode;

use serde_json::Value;

use super::target;
use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};
use crate::cli::table::{columns, kv, short, text, time_of, whole_seconds};

const USAGE: &str = "Usage: orch deployment status [options] <deployment id>

  The status of a deployment (ID or unique prefix).

Status Options:

  -json
    Print the raw API JSON

  -monitor
    Follow the deployment until it finishes

  -wait
    Poll interval of -monitor (accepted; orch follows with blocking queries)

  -ui
    Open the deployment's job page of the web UI

  -verbose
    Full IDs";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("verbose"),
    FlagSpec::switch("monitor"),
    FlagSpec::value("wait"),
    FlagSpec::switch("ui"),
];

/// Runs `orch deployment status`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = target(&client, &p, USAGE)?;
    // Nomad's poll interval for -monitor; orch's monitor waits on blocking queries
    // instead, so only its form is checked.
    if let Some(w) = p.last("wait") {
        orch_core::duration::parse_go_duration(w)
            .map_err(|_| format!("-wait {w:?}: expected a duration such as 2s"))?;
    }
    if p.has("monitor") {
        return Ok(ExitCode::from(crate::cli::monitor::monitor_deployment(
            &client, &id,
        )?));
    }
    let d = client.get(&format!("/v1/deployment/{}", encode(&id)))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &d);
    }
    println!("{}", format_deployment(&d, p.has("verbose")));
    if p.has("ui") {
        crate::cli::ui::open_for(&p, "jobs", &text(&d["JobID"]))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Nomad's `deployment status` block: key/values, then the `Deployed` table whose
/// `Auto Revert`, `Promoted` and `Canaries` columns appear only when some group uses them.
pub(crate) fn format_deployment(d: &Value, verbose: bool) -> String {
    let id = text(&d["ID"]);
    let mut out = kv(&[
        ("ID", if verbose { id.clone() } else { short(&id) }),
        ("Job ID", text(&d["JobID"])),
        ("Job Version", text(&d["JobVersion"])),
        ("Status", text(&d["Status"])),
        ("Description", text(&d["StatusDescription"])),
    ]);
    let Some(groups) = d["TaskGroups"].as_object().filter(|g| !g.is_empty()) else {
        return out;
    };
    let any = |k: &str| groups.values().any(|g| g[k].as_bool().unwrap_or(false));
    let revert = any("AutoRevert");
    let canaries = groups
        .values()
        .any(|g| g["DesiredCanaries"].as_u64().unwrap_or(0) > 0);
    let mut header = vec!["Task Group"];
    if revert {
        header.push("Auto Revert");
    }
    if canaries {
        header.push("Promoted");
    }
    header.push("Desired");
    if canaries {
        header.push("Canaries");
    }
    header.extend(["Placed", "Healthy", "Unhealthy", "Progress Deadline"]);
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    for (name, g) in groups {
        let mut row = vec![name.clone()];
        if revert {
            row.push(text(&g["AutoRevert"]));
        }
        let wants = g["DesiredCanaries"].as_u64().unwrap_or(0);
        if canaries {
            row.push(if wants > 0 {
                text(&g["Promoted"])
            } else {
                "N/A".into()
            });
        }
        row.push(text(&g["DesiredTotal"]));
        if canaries {
            row.push(wants.to_string());
        }
        row.push(text(&g["PlacedAllocs"]));
        row.push(text(&g["HealthyAllocs"]));
        row.push(text(&g["UnhealthyAllocs"]));
        let deadline = whole_seconds(&time_of(&g["RequireProgressBy"]));
        row.push(if deadline.is_empty() {
            "N/A".into()
        } else {
            deadline
        });
        rows.push(row);
    }
    out.push_str("\n\nDeployed\n");
    out.push_str(&columns(&rows));
    out
}
