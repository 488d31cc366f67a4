//! `orch acl token list`: every token (management only), without secrets.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch acl token list

  Lists the ACL tokens (accessor IDs, never secrets). Needs a management token.

List Options:

  -json
    Print the raw API JSON";

/// Runs `orch acl token list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(tokens) = super::common::fetch_list(args, USAGE, "/v1/acl/tokens", "tokens")? else {
        return Ok(ExitCode::SUCCESS);
    };
    let header = ["Name", "Type", "Global", "Accessor ID", "Expired"];
    let mut rows = vec![header.map(String::from).to_vec()];
    let now = crate::clock::now_nanos();
    rows.extend(tokens.iter().map(|t| {
        vec![
            text(&t["Name"]),
            text(&t["Type"]),
            text(&t["Global"]),
            text(&t["AccessorID"]),
            expired(&t["ExpirationTime"], now).to_string(),
        ]
    }));
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}

/// Whether an `ExpirationTime` (RFC 3339, or none) lies before `now`.
fn expired(at: &Value, now: i64) -> bool {
    at.as_str()
        .and_then(crate::clock::parse_rfc3339_nanos)
        .is_some_and(|t| t > 0 && t <= now)
}
