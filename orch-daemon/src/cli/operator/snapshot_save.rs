//! `orch operator snapshot save [-stale] <file>`: saves the servers' whole state
//! (`GET /v1/operator/snapshot`) to a file, for backups.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch operator snapshot save [options] <file>

  Retrieves an atomic, point-in-time snapshot of the state of the orch servers
  which includes jobs, nodes, allocations, periodic jobs, and ACLs.

  If ACLs are enabled, a management token must be supplied in order to perform
  snapshot operations.

  To create a snapshot from the leader server and save it to \"backup.snap\":

      $ orch operator snapshot save backup.snap

  To create a potentially stale snapshot from any available server (useful if no
  leader is available):

      $ orch operator snapshot save -stale backup.snap

Snapshot Save Options:

  -stale
    By default the leader provides the snapshot. If the cluster is in an outage
    state without a leader, you may need to set -stale to get the state from a
    non-leader server.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("stale"),
    FlagSpec::refused_switch(
        "redact",
        "the snapshot endpoint cannot leave out secrets yet; keep the file as secret as the cluster",
    ),
];

/// Runs `orch operator snapshot save`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let file = p.one_arg("file", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let path = if p.has("stale") {
        "/v1/operator/snapshot?stale=true"
    } else {
        "/v1/operator/snapshot"
    };
    // Written next to the target, then renamed: a failed save never leaves a partial
    // file under the name given.
    let tmp = format!("{file}.tmp-{}", std::process::id());
    let result = save_to(&client, path, &tmp).and_then(|()| {
        std::fs::rename(&tmp, file).map_err(|e| format!("cannot rename {tmp} to {file}: {e}"))
    });
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    println!("State file written to {file}");
    Ok(ExitCode::SUCCESS)
}

fn save_to(client: &ApiClient, path: &str, tmp: &str) -> Result<(), String> {
    let mut f = std::fs::File::create(tmp).map_err(|e| format!("cannot create {tmp}: {e}"))?;
    client.stream(path, &mut f)?;
    f.flush()
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("cannot write {tmp}: {e}"))?;
    // The stream stops quietly when writing fails; check the archive made it whole.
    let bytes = std::fs::read(tmp).map_err(|e| format!("cannot read back {tmp}: {e}"))?;
    orch_core::state::archive::decode(&bytes)
        .map(|_| ())
        .map_err(|e| format!("the saved snapshot does not check out ({e}); retry the save"))
}
