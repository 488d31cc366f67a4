//! `orch eval list`: the evaluations, newest first, optionally of one job or status.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode, list_query, with_query};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, PAGING, parse_verb};
use crate::cli::table::{columns, short, text};

const USAGE: &str = "Usage: orch eval list [options]

List Options:

  -job=<id>
    Only evaluations of this job

  -status=<s>
    Only evaluations with this status (pending, blocked, complete, ...)

  -filter=<expr>
    Only evaluations matching this filter expression

  -per-page=<n>
    How many results to show per page

  -page-token=<t>
    Where to start pagination

  -verbose
    Show full IDs

  -json
    Print the raw API JSON

  -ui
    Not supported: orch's web UI has no evaluations page";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("job"),
    FlagSpec::value("status"),
    FlagSpec::switch("verbose"),
    FlagSpec::refused_switch("ui", "orch's web UI has no evaluations page"),
];

/// Runs `orch eval list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, PAGING, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let mut query = list_query(&p)?;
    if let Some(j) = p.all("job").last() {
        query.push(format!("job={}", encode(j)));
    }
    if let Some(s) = p.all("status").last() {
        query.push(format!("status={}", encode(s)));
    }
    let evals = client.get(&with_query("/v1/evaluations", &query))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &evals);
    }
    let mut list = evals.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No evals found");
        return Ok(ExitCode::SUCCESS);
    }
    list.sort_by_key(|e| std::cmp::Reverse(e["CreateIndex"].as_u64().unwrap_or(0)));
    let mut rows = vec![
        [
            "ID",
            "Priority",
            "Triggered By",
            "Job ID",
            "Namespace",
            "Node ID",
            "Status",
            "Placement Failures",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for e in &list {
        let failures = e["FailedTGAllocs"]
            .as_object()
            .is_some_and(|o| !o.is_empty());
        rows.push(vec![
            short(&text(&e["ID"])),
            text(&e["Priority"]),
            text(&e["TriggeredBy"]),
            text(&e["JobID"]),
            text(&e["Namespace"]),
            short(&text(&e["NodeID"])),
            text(&e["Status"]),
            failures.to_string(),
        ]);
    }
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}
