//! `orch operator raft remove-peer`: removes a server, by Raft ID or address, from the
//! Raft configuration.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch operator raft remove-peer [options]

  Removes a server from the Raft configuration, e.g. one that failed for good. The
  leader makes the change; the last voter cannot be removed.

Remove Peer Options:

  -peer-id=<id>
    The Raft ID (the ID column of `operator raft list-peers`)

  -peer-address=<addr>
    The Raft RPC address (host:port)";

const FLAGS: &[FlagSpec] = &[FlagSpec::value("peer-id"), FlagSpec::value("peer-address")];

/// Runs `orch operator raft remove-peer`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let (query, said) = peer_query(&p, USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    client.delete(&format!("/v1/operator/raft/peer?{query}"))?;
    println!("Removed peer with {said}");
    Ok(ExitCode::SUCCESS)
}

/// The `id=`/`address=` query of `-peer-id` or `-peer-address` (exactly one), and how
/// to name the peer in the output.
pub(super) fn peer_query(
    p: &crate::cli::flags::Parsed,
    usage: &str,
) -> Result<(String, String), String> {
    let one = |name: &str| p.all(name).last().cloned();
    match (one("peer-id"), one("peer-address")) {
        (Some(id), None) => Ok((format!("id={}", encode(&id)), format!("id {id}"))),
        (None, Some(addr)) => Ok((
            format!("address={}", encode(&addr)),
            format!("address {addr}"),
        )),
        _ => Err(format!(
            "give exactly one of -peer-id or -peer-address\n\n{usage}"
        )),
    }
}
