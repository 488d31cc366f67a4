//! `orch release list`: every release, by name, newest first.

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::{columns, short, text};

const USAGE: &str = "Usage: orch release list [options]

  Lists orch's releases, by name, newest first.

List Options:

  -json
    Print the raw API JSON";

/// Runs `orch release list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let list = client.get("/v1/releases")?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &list);
    }
    let list = list.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No releases found");
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![
        ["ID", "Name", "Version", "Jobs", "Status", "Description"]
            .map(String::from)
            .to_vec(),
    ];
    for r in &list {
        let jobs = r["Jobs"].as_array().map_or(0, Vec::len);
        rows.push(vec![
            short(&text(&r["ID"])),
            text(&r["Name"]),
            text(&r["Version"]),
            jobs.to_string(),
            text(&r["Status"]),
            text(&r["StatusDescription"]),
        ]);
    }
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}
