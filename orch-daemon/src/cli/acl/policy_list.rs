//! `orch acl policy list`: the policies the token may see (all, for management).

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch acl policy list

  Lists the ACL policies: every one for a management token, else those the token
  holds.

List Options:

  -json
    Print the raw API JSON";

/// Runs `orch acl policy list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if !p.positional.is_empty() {
        return Err(format!("this command takes no arguments\n\n{USAGE}"));
    }
    let client = ApiClient::from_flags(&p)?;
    let v = client.get("/v1/acl/policies")?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &v);
    }
    let policies = super::common::list(&v);
    if policies.is_empty() {
        println!("No policies found");
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![vec!["Name".to_string(), "Description".to_string()]];
    rows.extend(
        policies
            .iter()
            .map(|p| vec![text(&p["Name"]), text(&p["Description"])]),
    );
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}
