//! `orch acl role list`: the roles the token may see (all, for management).

use std::process::ExitCode;

use super::common::{list, role_policies};
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch acl role list [options]

  Lists the ACL roles: every one for a management token, else those the token links
  to.

List Options:

  -json
    Print the raw API JSON";

/// Runs `orch acl role list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if !p.positional.is_empty() {
        return Err(format!("this command takes no arguments\n\n{USAGE}"));
    }
    let client = ApiClient::from_flags(&p)?;
    let v = client.get("/v1/acl/roles")?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &v);
    }
    let roles = list(&v);
    if roles.is_empty() {
        println!("No ACL roles found");
        return Ok(ExitCode::SUCCESS);
    }
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
