//! `orch var purge [options] <path>`: deletes a variable; `-check-index` makes it a
//! check-and-set delete.

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch var purge [options] <path>

  Permanently delete the variable at <path>.

Purge Options:

  -check-index <index>
    Delete only if the variable's modify index is this (check-and-set).";

const FLAGS: &[FlagSpec] = &[FlagSpec::value("check-index")];

/// Runs `orch var purge`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let path = p.one_arg("path", USAGE)?;
    let mut url = super::var_path(path);
    if let Some(ci) = p.last("check-index") {
        let n: u64 = ci
            .parse()
            .map_err(|_| format!("-check-index {ci:?}: expected a number"))?;
        url.push_str(&format!("?cas={n}"));
    }
    let api = ApiClient::from_flags(&p)?;
    match api.delete(&url) {
        Ok(_) => {
            println!("Successfully purged variable \"{path}\"!");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.status == 409 => Err(format!(
            "Error purging variable: Check-and-Set conflict\n\n    Your provided check-index ({}) does not match the server-side index.",
            p.last("check-index").unwrap_or_default()
        )),
        Err(e) => Err(format!("Error purging variable: {}", e.message)),
    }
}
