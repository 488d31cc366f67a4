//! `orch acl token list`: every token (management only), without secrets.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch acl token list

  Lists the ACL tokens (accessor IDs, never secrets). Needs a management token.

List Options:

  -json
    Print the raw API JSON";

/// Runs `orch acl token list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if !p.positional.is_empty() {
        return Err(format!("this command takes no arguments\n\n{USAGE}"));
    }
    let client = ApiClient::from_flags(&p)?;
    let v = client.get("/v1/acl/tokens")?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &v);
    }
    let tokens = super::common::list(&v);
    if tokens.is_empty() {
        println!("No tokens found");
        return Ok(ExitCode::SUCCESS);
    }
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
