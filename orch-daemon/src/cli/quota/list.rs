//! `orch quota list`: names and descriptions, over `/v1/quotas`.

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, parse_verb};
use crate::cli::output::print_json;
use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch quota list [options]

  List the quota specifications of the cluster.

Options:
  -json  Print the raw API JSON";

/// Runs `orch quota list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let v = ApiClient::from_flags(&p)?.get("/v1/quotas")?;
    if p.has("json") {
        return print_json(&v);
    }
    let mut rows = vec![vec!["Name".to_string(), "Description".to_string()]];
    for q in v.as_array().into_iter().flatten() {
        rows.push(vec![text(&q["Name"]), text(&q["Description"])]);
    }
    if rows.len() == 1 {
        println!("No quotas found");
    } else {
        println!("{}", columns(&rows));
    }
    Ok(ExitCode::SUCCESS)
}
