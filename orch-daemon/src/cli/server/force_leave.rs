//! `orch server force-leave`: removes a server, by name, from the Raft configuration.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch server force-leave [options] <node>

  Removes the server <node> (its name, or name.region as `server members` prints it)
  from the Raft configuration, e.g. one that died and will not return. orch has no
  gossip layer, so this is the same change as `operator raft remove-peer`.";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("prune")];

/// Runs `orch server force-leave`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let node = p.one_arg("node", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let prune = if p.has("prune") { "&prune=true" } else { "" };
    client.put(
        &format!("/v1/agent/force-leave?node={}{prune}", encode(node)),
        &serde_json::Value::Null,
    )?;
    Ok(ExitCode::SUCCESS)
}
