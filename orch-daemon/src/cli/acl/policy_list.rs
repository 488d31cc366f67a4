//! `orch acl policy list`: the policies the token may see (all, for management).

use std::process::ExitCode;

use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch acl policy list

  Lists the ACL policies: every one for a management token, else those the token
  holds.

List Options:

  -json
    Print the raw API JSON";

/// Runs `orch acl policy list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(policies) = super::common::fetch_list(args, USAGE, "/v1/acl/policies", "policies")?
    else {
        return Ok(ExitCode::SUCCESS);
    };
    let mut rows = vec![vec!["Name".to_string(), "Description".to_string()]];
    rows.extend(
        policies
            .iter()
            .map(|p| vec![text(&p["Name"]), text(&p["Description"])]),
    );
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}
