//! `orch namespace status <name>` (Nomad's layout: settings, metadata, and the usage of
//! its quota per region) and `orch namespace inspect <name>` (the JSON).

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::{kv, text};

const USAGE: &str = "Usage: orch namespace status [options] <namespace>

  Display a namespace's settings and, when it has a quota, the quota's usage.

Status Options:

  -json
    Print the raw API JSON";

const INSPECT_USAGE: &str = "Usage: orch namespace inspect [options] <namespace>

  Print a namespace as JSON.";

/// Runs `orch namespace status`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let name = p.one_arg("namespace", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let ns = client.get(&format!("/v1/namespace/{}", encode(name)))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &ns);
    }
    let mut pairs = vec![
        ("Name", text(&ns["Name"])),
        ("Description", text(&ns["Description"])),
        ("Quota", text(&ns["Quota"])),
        ("Weight", text(&ns["Weight"])),
    ];
    let caps = &ns["Capabilities"];
    if caps.is_object() {
        pairs.push(("EnabledDrivers", joined(&caps["EnabledTaskDrivers"])));
        pairs.push(("DisabledDrivers", joined(&caps["DisabledTaskDrivers"])));
    }
    println!("{}", kv(&pairs));
    if let Some(meta) = ns["Meta"].as_object().filter(|m| !m.is_empty()) {
        let pairs: Vec<(&str, String)> = meta.iter().map(|(k, v)| (k.as_str(), text(v))).collect();
        println!("\nMetadata\n{}", kv(&pairs));
    }
    let quota = text(&ns["Quota"]);
    if !quota.is_empty() {
        let spec = client.get(&format!("/v1/quota/{}", encode(&quota)))?;
        let usage = client.get(&format!("/v1/quota/usage/{}", encode(&quota)))?;
        println!(
            "\nQuota Limits\n{}",
            crate::cli::quota::limits_table(&spec, &usage)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `orch namespace inspect`.
pub fn inspect(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], INSPECT_USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let name = p.one_arg("namespace", INSPECT_USAGE)?;
    crate::cli::output::print(
        &p,
        &ApiClient::from_flags(&p)?.get(&format!("/v1/namespace/{}", encode(name)))?,
    )
}

fn joined(v: &Value) -> String {
    let items: Vec<String> = v.as_array().into_iter().flatten().map(text).collect();
    items.join(",")
}
