//! `orch service info`: every registered instance of a service, over
//! `/v1/service/:name`.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};
use crate::cli::table::{columns, short, text};

const USAGE: &str = "Usage: orch service info [options] <service_name>

  Every registered instance of a service: job, address, tags, node and allocation.

Info Options:

  -verbose
    Full IDs

  -json
    Print the raw API JSON";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("verbose")];

/// Runs `orch service info`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let name = p.one_arg("service", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let v = client.get(&format!("/v1/service/{}", encode(name)))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &v);
    }
    let instances = v.as_array().cloned().unwrap_or_default();
    if instances.is_empty() {
        return Err(format!(
            "No service {name:?} registered; list them with `orch service list`"
        ));
    }
    let id = |s: String| if p.has("verbose") { s } else { short(&s) };
    let mut rows = vec![
        ["Job ID", "Address", "Tags", "Node ID", "Alloc ID"]
            .map(String::from)
            .to_vec(),
    ];
    for r in &instances {
        rows.push(vec![
            text(&r["JobID"]),
            format!("{}:{}", text(&r["Address"]), text(&r["Port"])),
            super::tags(&r["Tags"]),
            id(text(&r["NodeID"])),
            id(text(&r["AllocID"])),
        ]);
    }
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}
