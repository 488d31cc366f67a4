//! `orch quota status <name>`: the quota's settings and per-region usage (Nomad's
//! layout); `orch quota inspect <name>`: the specification and usage as JSON.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::{kv, text};

const USAGE: &str = "Usage: orch quota status [options] <quota>

  Display a quota's limits and what its namespaces use.

Status Options:

  -json
    Print the raw API JSON";

const INSPECT_USAGE: &str = "Usage: orch quota inspect [options] <quota>

  Print a quota specification and its usage as JSON.";

/// Runs `orch quota status`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let name = p.one_arg("quota", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let spec = client.get(&format!("/v1/quota/{}", encode(name)))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &spec);
    }
    let usage = client.get(&format!("/v1/quota/usage/{}", encode(name)))?;
    let limits = spec["Limits"].as_array().map_or(0, Vec::len);
    println!(
        "{}",
        kv(&[
            ("Name", text(&spec["Name"])),
            ("Description", text(&spec["Description"])),
            ("Limits", limits.to_string()),
        ])
    );
    println!("\nQuota Limits\n{}", super::limits_table(&spec, &usage));
    Ok(ExitCode::SUCCESS)
}

/// Runs `orch quota inspect`: `{"Spec": ..., "Usages": {...}}` as Nomad prints it.
pub fn inspect(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], INSPECT_USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let name = p.one_arg("quota", INSPECT_USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let spec = client.get(&format!("/v1/quota/{}", encode(name)))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &spec);
    }
    let usage = client.get(&format!("/v1/quota/usage/{}", encode(name)))?;
    crate::cli::output::print_json(&json!({ "Spec": spec, "Usages": { name: usage } }))
}
