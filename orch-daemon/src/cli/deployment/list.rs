//! `orch deployment list`: every deployment, newest first.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::api::{ApiClient, encode, with_query};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};
use crate::cli::table::{columns, short, text};

const USAGE: &str = "Usage: orch deployment list [options]

  List is used to list the set of deployments tracked by orch.

List Options:

  -filter
    Only deployments matching this filter expression

  -json
    Print the raw API JSON

  -verbose
    Full IDs";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("verbose"), FlagSpec::value("filter")];

/// Runs `orch deployment list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let filter = p.last("filter").map(|f| format!("filter={}", encode(f)));
    let list = client.get(&with_query("/v1/deployments", filter.as_slice()))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &list);
    }
    let mut list = list.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No deployments found");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", table(&mut list, p.has("verbose")));
    Ok(ExitCode::SUCCESS)
}

/// Nomad's deployment table, newest first (`deployment list`, `job deployments`).
pub(crate) fn table(list: &mut [Value], verbose: bool) -> String {
    list.sort_by_key(|d| std::cmp::Reverse(d["CreateIndex"].as_u64().unwrap_or(0)));
    let id = |d: &Value| {
        let id = text(&d["ID"]);
        if verbose { id } else { short(&id) }
    };
    let mut rows = vec![
        ["ID", "Job ID", "Job Version", "Status", "Description"]
            .map(String::from)
            .to_vec(),
    ];
    for d in list.iter() {
        rows.push(vec![
            id(d),
            text(&d["JobID"]),
            text(&d["JobVersion"]),
            text(&d["Status"]),
            text(&d["StatusDescription"]),
        ]);
    }
    columns(&rows)
}
