//! `orch namespace list`: names and descriptions, over `/v1/namespaces`.

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch namespace list [options]

  List the namespaces of the cluster.

List Options:

  -json
    Print the raw API JSON";

/// Runs `orch namespace list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let v = ApiClient::from_flags(&p)?.get("/v1/namespaces")?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &v);
    }
    let mut rows = vec![vec!["Name".to_string(), "Description".to_string()]];
    for n in v.as_array().into_iter().flatten() {
        rows.push(vec![text(&n["Name"]), text(&n["Description"])]);
    }
    if rows.len() == 1 {
        println!("No namespaces found");
    } else {
        println!("{}", columns(&rows));
    }
    Ok(ExitCode::SUCCESS)
}
