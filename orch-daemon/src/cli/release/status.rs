//! `orch release status <id>`: one release, its jobs and the versions it registered.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::{columns, kv, text};

const USAGE: &str = "Usage: orch release status [options] <release id>

  The status of a release (ID or unique prefix) and the job versions it registered.

Status Options:

  -json
    Print the raw API JSON";

/// Runs `orch release status`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = p.one_arg("release", USAGE)?;
    let id = client.resolve("/v1/releases", "release", id)?;
    let r = client.get(&format!("/v1/release/{}", encode(&id)))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &r);
    }
    let rollback = match r["RollbackTo"].as_u64() {
        Some(0) | None => "none".to_string(),
        Some(v) => format!("version {v}"),
    };
    println!(
        "{}",
        kv(&[
            ("ID", text(&r["ID"])),
            ("Name", text(&r["Name"])),
            ("Version", text(&r["Version"])),
            ("Status", text(&r["Status"])),
            ("Description", text(&r["StatusDescription"])),
            ("Rolls back to", rollback),
        ])
    );
    let mut rows = vec![
        ["Namespace", "Job ID", "Job Version"]
            .map(String::from)
            .to_vec(),
    ];
    for j in r["Jobs"].as_array().into_iter().flatten() {
        rows.push(vec![
            text(&j["Namespace"]),
            text(&j["JobID"]),
            text(&j["JobVersion"]),
        ]);
    }
    println!("\nJobs\n{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}
