//! `orch operator root keyring rotate [-full]`: a new active root key; `-full` also
//! re-encrypts every variable with it.

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};

const USAGE: &str = "Usage: orch operator root keyring rotate [options]

  Generate a new root key and make it the active one: new variables are
  encrypted and new workload identities signed with it.

Rotate Options:

  -full
    Also re-encrypt every existing variable with the new key.

  -verbose
    Show the full key ID.

  -json
    Print the new key as JSON.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("full"),
    FlagSpec::switch("verbose"),
    FlagSpec::refused_switch(
        "prepublish",
        "orch activates a rotated key at once; publishing a key ahead of its activation is not supported",
    ),
];

/// Runs `orch operator root keyring rotate`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let api = ApiClient::from_flags(&p)?;
    let path = if p.has("full") {
        "/v1/operator/keyring/rotate?full=true"
    } else {
        "/v1/operator/keyring/rotate"
    };
    let reply = api
        .put(path, &serde_json::Value::Null)
        .map_err(|e| format!("error: {}", e.message))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &reply["Key"]);
    }
    let key = [reply["Key"].clone()];
    println!(
        "{}",
        super::root_keyring_list::key_table(&key, p.has("verbose"))
    );
    Ok(ExitCode::SUCCESS)
}
