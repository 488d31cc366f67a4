//! `orch alloc checks`: the latest result of every Nomad service check of an
//! allocation, from its client.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};
use crate::cli::table::{kv, text, time};

const USAGE: &str = "Usage: orch alloc checks [options] <allocation>

  Outputs the latest health check status information for services in the
  allocation using the Nomad service discovery provider.

Checks Specific Options:

  -verbose
    Show full information.

  -json
    Output the latest health check status information in a JSON format.";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("verbose")];

/// Runs `orch alloc checks`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let id = p.one_arg("allocation", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/allocations", "allocation", id)?;
    let checks = client.get(&format!("/v1/client/allocation/{}/checks", encode(&id)))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &checks);
    }
    let results: Vec<&serde_json::Value> = checks
        .as_object()
        .map(|m| m.values().collect())
        .unwrap_or_default();
    println!("Status of {} Nomad Service Checks", results.len());
    for c in results {
        println!();
        let when = c["Timestamp"]
            .as_i64()
            .unwrap_or(0)
            .saturating_mul(1_000_000_000);
        println!(
            "{}",
            kv(&[
                ("ID", text(&c["ID"])),
                ("Name", text(&c["Check"])),
                ("Group", text(&c["Group"])),
                ("Mode", text(&c["Mode"])),
                ("Output", text(&c["Output"])),
                ("Service", text(&c["Service"])),
                ("Status", text(&c["Status"])),
                ("StatusCode", text(&c["StatusCode"])),
                ("Task", text(&c["Task"])),
                ("Timestamp", time(when)),
            ])
        );
    }
    Ok(ExitCode::SUCCESS)
}
