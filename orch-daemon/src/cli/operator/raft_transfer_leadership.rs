//! `orch operator raft transfer-leadership`: makes another server the Raft leader.

use std::process::ExitCode;

use super::raft_remove_peer::peer_query;
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch operator raft transfer-leadership [options]

  Transfer leadership to the Nomad server with given -peer-address or
  -peer-id in the Raft configuration. All server nodes in the cluster
  must be running at least Raft protocol v3 in order to use this command.

  There are cases where you might desire transferring leadership from one
  cluster member to another, for example, during a rolling upgrade. This
  command allows you to designate a new server to be cluster leader.

  If ACLs are enabled, this command requires a management token.

Transfer Leadership Options:

  -peer-address=\"IP:port\"
    Transfer leadership to the Nomad server with given Raft address.

  -peer-id=\"id\"
    Transfer leadership to the Nomad server with given Raft ID.";

const FLAGS: &[FlagSpec] = &[FlagSpec::value("peer-id"), FlagSpec::value("peer-address")];

/// Runs `orch operator raft transfer-leadership`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let (query, said) = peer_query(&p, USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    client.put(
        &format!("/v1/operator/raft/transfer-leadership?{query}"),
        &serde_json::Value::Null,
    )?;
    println!("Transferred leadership to peer with {said}");
    Ok(ExitCode::SUCCESS)
}
