//! `orch service list`: the service names in the catalog and their tags, over
//! `/v1/services`.

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch service list [options]

  Service names and their tags, per namespace.

List Options:

  -json
    Print the raw API JSON";

/// Runs `orch service list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let v = client.get("/v1/services")?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &v);
    }
    let mut rows = vec![vec!["Service Name".to_string(), "Tags".to_string()]];
    for ns in v.as_array().into_iter().flatten() {
        for s in ns["Services"].as_array().into_iter().flatten() {
            rows.push(vec![text(&s["ServiceName"]), super::tags(&s["Tags"])]);
        }
    }
    if rows.len() == 1 {
        println!("No services found");
    } else {
        println!("{}", columns(&rows));
    }
    Ok(ExitCode::SUCCESS)
}
