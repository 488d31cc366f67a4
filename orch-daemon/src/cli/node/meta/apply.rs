//! `orch node meta apply`: sets and removes dynamic metadata keys of a node.

use std::process::ExitCode;

use serde_json::{Map, Value, json};

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch node meta apply [-node-id ...] [-unset ...] key1=value1 ... kN=vN

  Modify a node's metadata. This command only applies to client agents, and can
  be used to update the scheduling metadata the node registers.

  Changes are batched and may take a few seconds to propagate to the servers and
  affect scheduling.

Node Meta Apply Options:

  -node-id
    Updates metadata on the specified node. If not specified the node receiving
    the request will be used by default.

  -unset key1,...,keyN
    Unset the command separated list of keys.

  Example:
    $ nomad node meta apply -unset testing,tempvar ready=1 role=preinit-db";

const FLAGS: &[FlagSpec] = &[FlagSpec::value("node-id"), FlagSpec::value("unset")];

/// Runs `orch node meta apply`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let mut meta = Map::new();
    for pair in &p.positional {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(format!("{pair:?}: expected key=value\n\n{USAGE}"));
        };
        meta.insert(k.to_string(), Value::String(v.to_string()));
    }
    for k in p.all("unset").iter().flat_map(|u| u.split(',')) {
        if !k.is_empty() {
            meta.insert(k.to_string(), Value::Null);
        }
    }
    if meta.is_empty() {
        return Err(format!(
            "Must specify at least one key=value pair or -unset\n\n{USAGE}"
        ));
    }
    let client = ApiClient::from_flags(&p)?;
    let node_id = super::node_query(&client, &p)?;
    let body = json!({"NodeID": node_id, "Meta": meta});
    client.put("/v1/client/metadata", &body)?;
    Ok(ExitCode::SUCCESS)
}
