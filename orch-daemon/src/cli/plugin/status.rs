//! `orch plugin status [id]`: CSI plugins and their health, as clients report them.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, Parsed, parse_verb};
use crate::cli::table::{columns, kv, short, text};

const USAGE: &str = "Usage: orch plugin status [options] [id]

  Without an ID, list the CSI plugins; with one, show its health and allocations.

Status Options:

  -type <csi>
    Plugin type (only csi)

  -json
    Print the raw API JSON";

const FLAGS: &[FlagSpec] = &[FlagSpec::value("type")];

/// Runs `orch plugin status`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if let Some(t) = p.all("type").last().filter(|t| t.as_str() != "csi") {
        return Err(format!("-type {t:?}: orch has CSI plugins only\n\n{USAGE}"));
    }
    let client = ApiClient::from_flags(&p)?;
    match p.positional.as_slice() {
        [] => list(&client, &p),
        [id] => one(&client, id, &p),
        _ => Err(format!("expected at most one plugin ID\n\n{USAGE}")),
    }
}

fn list(client: &ApiClient, p: &Parsed) -> Result<ExitCode, String> {
    let v = client.get("/v1/plugins?type=csi")?;
    if crate::cli::output::asked(p) {
        return crate::cli::output::print(p, &v);
    }
    let mut rows = vec![
        [
            "ID",
            "Provider",
            "Controllers Healthy/Expected",
            "Nodes Healthy/Expected",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for pl in v.as_array().into_iter().flatten() {
        let pair = |h: &str, e: &str| format!("{}/{}", text(&pl[h]), text(&pl[e]));
        rows.push(vec![
            text(&pl["ID"]),
            text(&pl["Provider"]),
            pair("ControllersHealthy", "ControllersExpected"),
            pair("NodesHealthy", "NodesExpected"),
        ]);
    }
    if rows.len() == 1 {
        println!("No CSI plugins");
    } else {
        println!("Container Storage Interface\n{}", columns(&rows));
    }
    Ok(ExitCode::SUCCESS)
}

fn one(client: &ApiClient, id: &str, p: &Parsed) -> Result<ExitCode, String> {
    let v = client.get(&format!("/v1/plugin/csi/{}", encode(id)))?;
    if crate::cli::output::asked(p) {
        return crate::cli::output::print(p, &v);
    }
    println!(
        "{}",
        kv(&[
            ("ID", text(&v["ID"])),
            ("Provider", text(&v["Provider"])),
            ("Version", text(&v["Version"])),
            ("Controllers Healthy", text(&v["ControllersHealthy"])),
            ("Controllers Expected", text(&v["ControllersExpected"])),
            ("Nodes Healthy", text(&v["NodesHealthy"])),
            ("Nodes Expected", text(&v["NodesExpected"])),
        ])
    );
    let mut rows = vec![
        ["ID", "Node ID", "Task Group", "Desired", "Status"]
            .map(String::from)
            .to_vec(),
    ];
    for a in v["Allocations"].as_array().into_iter().flatten() {
        rows.push(vec![
            short(&text(&a["ID"])),
            short(&text(&a["NodeID"])),
            text(&a["TaskGroup"]),
            text(&a["DesiredStatus"]),
            text(&a["ClientStatus"]),
        ]);
    }
    println!("\nAllocations\n{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}
