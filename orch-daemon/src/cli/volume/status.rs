//! `orch volume status [id]`: every CSI volume, or one with its allocations.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, Parsed, parse_verb};
use crate::cli::table::{columns, kv, short, text};

const USAGE: &str = "Usage: orch volume status [options] [id]

  Without an ID, list the CSI volumes; with one, show it and its allocations.

Status Options:

  -type <csi>
    The kind of volume: csi (orch has no host volumes)

  -short
    With an ID: leave out the allocations

  -verbose
    Full IDs

  -json
    Print the raw API JSON";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("type"),
    FlagSpec::switch("short"),
    FlagSpec::switch("verbose"),
    FlagSpec::refused_value(
        "node",
        "it lists CSI volumes only; -node filters host volumes",
    ),
    FlagSpec::refused_value(
        "node-pool",
        "it lists CSI volumes only; -node-pool filters host volumes",
    ),
];

/// Runs `orch volume status`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    super::csi_only(&p)?;
    let client = ApiClient::from_flags(&p)?;
    match p.positional.as_slice() {
        [] => list(&client, &p),
        [id] => one(&client, id, &p),
        _ => Err(format!("expected at most one volume ID\n\n{USAGE}")),
    }
}

fn list(client: &ApiClient, p: &Parsed) -> Result<ExitCode, String> {
    let v = client.get("/v1/volumes?type=csi")?;
    if crate::cli::output::asked(p) {
        return crate::cli::output::print(p, &v);
    }
    let mut rows = vec![
        [
            "ID",
            "Name",
            "Namespace",
            "Plugin ID",
            "Schedulable",
            "Access Mode",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for vol in v.as_array().into_iter().flatten() {
        rows.push(vec![
            text(&vol["ID"]),
            text(&vol["Name"]),
            text(&vol["Namespace"]),
            text(&vol["PluginID"]),
            text(&vol["Schedulable"]),
            or_none(&vol["AccessMode"]),
        ]);
    }
    if rows.len() == 1 {
        println!("No CSI volumes");
    } else {
        println!("Container Storage Interface\n{}", columns(&rows));
    }
    Ok(ExitCode::SUCCESS)
}

fn or_none(v: &Value) -> String {
    let s = text(v);
    if s.is_empty() { "<none>".into() } else { s }
}

fn one(client: &ApiClient, id: &str, p: &Parsed) -> Result<ExitCode, String> {
    let v = client.get(&format!("/v1/volume/csi/{}", encode(id)))?;
    if crate::cli::output::asked(p) {
        return crate::cli::output::print(p, &v);
    }
    let mount = &v["MountOptions"];
    let mount_text = if mount.is_null() {
        "<none>".to_string()
    } else {
        format!("fs_type: {}", text(&mount["FSType"]))
    };
    println!(
        "{}",
        kv(&[
            ("ID", text(&v["ID"])),
            ("Name", text(&v["Name"])),
            ("Namespace", text(&v["Namespace"])),
            ("External ID", text(&v["ExternalID"])),
            ("Plugin ID", text(&v["PluginID"])),
            ("Provider", text(&v["Provider"])),
            ("Version", text(&v["ProviderVersion"])),
            ("Capacity", text(&v["Capacity"])),
            ("Schedulable", text(&v["Schedulable"])),
            ("Controllers Healthy", text(&v["ControllersHealthy"])),
            ("Controllers Expected", text(&v["ControllersExpected"])),
            ("Nodes Healthy", text(&v["NodesHealthy"])),
            ("Nodes Expected", text(&v["NodesExpected"])),
            ("Access Mode", or_none(&v["AccessMode"])),
            ("Attachment Mode", or_none(&v["AttachmentMode"])),
            ("Mount Options", mount_text),
        ])
    );
    let mut topo = vec![vec!["Topology".to_string(), "Segments".to_string()]];
    for (i, t) in v["Topologies"].as_array().into_iter().flatten().enumerate() {
        let segs: Vec<String> = t["Segments"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={}", text(v)))
            .collect();
        topo.push(vec![format!("{i:02}"), segs.join(", ")]);
    }
    if topo.len() > 1 {
        println!("\nTopologies\n{}", columns(&topo));
    }
    if p.has("short") {
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![
        [
            "ID",
            "Node ID",
            "Task Group",
            "Version",
            "Desired",
            "Status",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for a in v["Allocations"].as_array().into_iter().flatten() {
        rows.push(vec![
            short(&text(&a["ID"])),
            short(&text(&a["NodeID"])),
            text(&a["TaskGroup"]),
            text(&a["JobVersion"]),
            text(&a["DesiredStatus"]),
            text(&a["ClientStatus"]),
        ]);
    }
    println!("\nAllocations");
    if rows.len() == 1 {
        println!("No allocations placed");
    } else {
        println!("{}", columns(&rows));
    }
    Ok(ExitCode::SUCCESS)
}
