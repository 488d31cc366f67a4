//! `orch quota list`: names and descriptions, over `/v1/quotas`.

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch quota list [options]

  List the quota specifications of the cluster.

List Options:

  -json
    Print the raw API JSON";

/// Runs `orch quota list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let v = ApiClient::from_flags(&p)?.get("/v1/quotas")?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &v);
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
