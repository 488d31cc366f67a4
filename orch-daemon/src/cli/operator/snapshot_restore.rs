//! `orch operator snapshot restore <file>`: replaces the servers' whole state with a
//! saved snapshot (`PUT /v1/operator/snapshot`), for disaster recovery.

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, parse_verb};

const USAGE: &str = "Usage: orch operator snapshot restore [options] <file>

  Restores an atomic, point-in-time snapshot of the state of the orch servers
  which includes jobs, nodes, allocations, periodic jobs, and ACLs.

  Restores replace the whole state through Raft, so every server converges on
  it. This command is primarily intended to be used when recovering from a
  disaster, restoring into a fresh cluster of orch servers.

  If ACLs are enabled, a management token must be supplied in order to perform
  snapshot operations.

  To restore a snapshot from the file \"backup.snap\":

    $ orch operator snapshot restore backup.snap";

/// Runs `orch operator snapshot restore`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let file = p.one_arg("file", USAGE)?;
    let bytes = super::snapshot_inspect::read_archive_file(file)?;
    let client = ApiClient::from_flags(&p)?;
    client.put_bytes("/v1/operator/snapshot", bytes)?;
    println!("Snapshot Restored");
    Ok(ExitCode::SUCCESS)
}
