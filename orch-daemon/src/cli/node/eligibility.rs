//! `orch node eligibility`: marks a node eligible or ineligible for new allocations.

use std::process::ExitCode;

use serde_json::json;

use super::{enable_disable, node_path, one_node};
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch node eligibility [options] <node>

  Marks a node eligible (-enable) or ineligible (-disable) for new allocations.

Eligibility Options:

  -enable
    Mark eligible

  -disable
    Mark ineligible";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("enable"),
    FlagSpec::switch("disable"),
    FlagSpec::switch("self"),
];

/// Runs `orch node eligibility`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let enable = enable_disable(&p, USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let id = one_node(&client, &p, USAGE)?;
    let value = if enable { "eligible" } else { "ineligible" };
    client.put(
        &format!("{}/eligibility", node_path(&id)),
        &json!({"NodeID": id, "Eligibility": value}),
    )?;
    println!("Node {id:?} scheduling eligibility set: {value} for scheduling");
    Ok(ExitCode::SUCCESS)
}
