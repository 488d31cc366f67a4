//! `orch acl role list`: the roles the token may see (all, for management).

use std::process::ExitCode;

use super::common::role_policies;
use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch acl role list [options]

  Lists the ACL roles: every one for a management token, else those the token links
  to.

List Options:

  -json
    Print the raw API JSON";

/// Runs `orch acl role list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(roles) = super::common::fetch_list(args, USAGE, "/v1/acl/roles", "ACL roles")? else {
        return Ok(ExitCode::SUCCESS);
    };
    let mut rows = vec![
        ["ID", "Name", "Description", "Policies"]
            .map(String::from)
            .to_vec(),
    ];
    rows.extend(roles.iter().map(|r| {
        vec![
            text(&r["ID"]),
            text(&r["Name"]),
            text(&r["Description"]),
            role_policies(r),
        ]
    }));
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}
