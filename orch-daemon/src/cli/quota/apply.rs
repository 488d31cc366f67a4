//! `orch quota apply <file>`: create or update a quota specification from Nomad's
//! quota file (HCL: `name`, `description`, `limit { region, region_limit { cpu, memory,
//! memory_max, cores }, variables_limit }`) or the API's JSON (`quota init -json`).

use std::process::ExitCode;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, JSON_INPUT, parse_verb};

const USAGE: &str = "Usage: orch quota apply [options] <input>

  Create or update a quota specification from an HCL or JSON file (see quota init).

Apply Options:

  -json
    Parse the input as a JSON quota specification (also a file ending in .json).";

/// Largest specification file read.
const MAX_SPEC_BYTES: u64 = 64 * 1024;

/// Runs `orch quota apply`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, JSON_INPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let file = std::path::Path::new(p.one_arg("file", USAGE)?);
    let text = super::read_spec(file, MAX_SPEC_BYTES)?;
    let body = if p.has("json") || file.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| format!("{}: invalid JSON: {e}", file.display()))?
    } else {
        parse_hcl(&text).map_err(|e| format!("{}: {e}", file.display()))?
    };
    let name = body["Name"].as_str().unwrap_or_default().to_string();
    if name.is_empty() {
        return Err(format!(
            "{}: the quota has no name; set `name = \"...\"`",
            file.display()
        ));
    }
    ApiClient::from_flags(&p)?.put(&format!("/v1/quota/{}", encode(&name)), &body)?;
    println!("Successfully applied quota specification {name:?}!");
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuotaFile {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    limit: OneOrMany<LimitBlock>,
}

/// One `limit` block or several: how hcl-rs hands over repeated blocks.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitBlock {
    region: String,
    #[serde(default)]
    region_limit: Option<RegionLimitBlock>,
    #[serde(default)]
    variables_limit: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionLimitBlock {
    #[serde(default)]
    cpu: i64,
    #[serde(default)]
    memory: i64,
    #[serde(default)]
    memory_max: i64,
    #[serde(default)]
    cores: i64,
}

/// Nomad's quota HCL to the API's `QuotaSpec` JSON (the servers validate it).
fn parse_hcl(text: &str) -> Result<Value, String> {
    let f: QuotaFile = hcl::from_str(text).map_err(|e| {
        format!(
            "{e}; a quota file has name, description and limit {{ region, region_limit {{ cpu, memory, memory_max, cores }}, variables_limit }}"
        )
    })?;
    let limits = match f.limit {
        OneOrMany::Many(v) => v,
        OneOrMany::One(l) => vec![l],
    };
    let limits: Vec<Value> = limits
        .into_iter()
        .map(|l| {
            let r = l.region_limit.unwrap_or_default();
            json!({
                "Region": l.region,
                "RegionLimit": {
                    "CPU": r.cpu, "MemoryMB": r.memory, "MemoryMaxMB": r.memory_max,
                    "Cores": r.cores,
                },
                "VariablesLimit": l.variables_limit,
            })
        })
        .collect();
    Ok(json!({ "Name": f.name, "Description": f.description, "Limits": limits }))
}

#[cfg(test)]
mod tests;
