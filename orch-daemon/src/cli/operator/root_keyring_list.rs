//! `orch operator root keyring list`: the keyring's root keys (Nomad's verb), and the
//! key table the other keyring verbs print.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};
use crate::cli::table::{columns, short, text, time_of};

const USAGE: &str = "Usage: orch operator root keyring list [options]

  List the root keys that encrypt variables and sign workload identities.

List Options:

  -verbose
    Show full key IDs.

  -json
    Print the keys as JSON.";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("verbose")];

/// Runs `orch operator root keyring list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let api = ApiClient::from_flags(&p)?;
    let keys = api
        .get("/v1/operator/keyring/keys")
        .map_err(|e| format!("error: {}", e.message))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &keys);
    }
    let list: Vec<Value> = keys.as_array().cloned().unwrap_or_default();
    println!("{}", key_table(&list, p.has("verbose")));
    Ok(ExitCode::SUCCESS)
}

/// Nomad's key table: key ID (short unless verbose), state, creation time.
pub fn key_table(keys: &[Value], verbose: bool) -> String {
    let mut rows = vec![vec!["Key".into(), "State".into(), "Create Time".into()]];
    for k in keys {
        let id = text(&k["KeyID"]);
        rows.push(vec![
            if verbose { id } else { short(&id) },
            text(&k["State"]),
            time_of(&k["CreateTime"]),
        ]);
    }
    columns(&rows)
}
