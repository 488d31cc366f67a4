//! `orch namespace list`: names and descriptions, over `/v1/namespaces`.

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, parse_verb};
use crate::cli::output::print_json;
use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch namespace list [options]

  List the namespaces of the cluster.

Options:
  -json  Print the raw API JSON";

/// Runs `orch namespace list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let v = ApiClient::from_flags(&p)?.get("/v1/namespaces")?;
    if p.has("json") {
        return print_json(&v);
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
