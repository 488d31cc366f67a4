//! `orch node meta read`: a node's metadata, the dynamic and the configured keys.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};
use crate::cli::table::{kv, text};

const USAGE: &str = "Usage: orch node meta read [-json] [-node-id ...]

  Read a node's metadata. This command only works on client agents. The node
  status command can be used to retrieve node metadata from any agent.

Read Options:

  -node-id
    Reads metadata from the specified node. If not specified the node receiving
    the request will be used by default.

  -json
    Output the node metadata in its JSON format.";

const FLAGS: &[FlagSpec] = &[FlagSpec::value("node-id")];

/// Runs `orch node meta read`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if !p.positional.is_empty() {
        return Err(format!("This command takes no arguments\n\n{USAGE}"));
    }
    let client = ApiClient::from_flags(&p)?;
    let path = match super::node_query(&client, &p)? {
        Some(id) => format!("/v1/client/metadata?node_id={}", encode(&id)),
        None => "/v1/client/metadata".to_string(),
    };
    let meta = client.get(&path)?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &meta);
    }
    for (title, key) in [
        ("All Meta", "Meta"),
        ("Dynamic Meta", "Dynamic"),
        ("Static Meta", "Static"),
    ] {
        println!("{title}");
        println!("{}\n", kv_of(&meta[key]));
    }
    Ok(ExitCode::SUCCESS)
}

/// `key = value` lines of one map (`null` for a removed dynamic key).
fn kv_of(map: &Value) -> String {
    let pairs: Vec<(&str, String)> = map
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            (
                k.as_str(),
                if v.is_null() {
                    "<unset>".into()
                } else {
                    text(v)
                },
            )
        })
        .collect();
    kv(&pairs)
}
