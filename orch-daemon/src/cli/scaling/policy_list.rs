//! `orch scaling policy list`: the scaling policies, optionally of one job or type.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};
use crate::cli::table::{columns, short, text};

const USAGE: &str = "Usage: orch scaling policy list [options]

List Options:

  -job=<id>
    Only the policies of this job

  -type=<t>
    Only policies whose type starts with this (horizontal)

  -json
    Print the raw API JSON

  -verbose
    Display full IDs";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("job"),
    FlagSpec::value("type"),
    FlagSpec::switch("verbose"),
];

/// Runs `orch scaling policy list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let mut query = Vec::new();
    for key in ["job", "type"] {
        if let Some(v) = p.all(key).last() {
            query.push(format!("{key}={}", encode(v)));
        }
    }
    let path = format!("/v1/scaling/policies?{}", query.join("&"));
    let list = client.get(&path)?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &list);
    }
    let list = list.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No policies found");
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![
        ["ID", "Enabled", "Type", "Target"]
            .map(String::from)
            .to_vec(),
    ];
    for s in &list {
        let t = &s["Target"];
        rows.push(vec![
            short(&text(&s["ID"])),
            text(&s["Enabled"]),
            text(&s["Type"]),
            format!(
                "Namespace:{},Job:{},Group:{}",
                text(&t["Namespace"]),
                text(&t["Job"]),
                text(&t["Group"])
            ),
        ]);
    }
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}
