//! `orch volume detach <volume> <node>`: have a node unmount what is left of a
//! volume (after its allocations there ended without cleaning up).

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, parse_verb};

const USAGE: &str = "Usage: orch volume detach [options] <vol id> <node id>

  Unpublish and unstage a CSI volume on a node. Refused while an allocation there
  still uses it.";

/// Runs `orch volume detach`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let [volume, node] = p.positional.as_slice() else {
        return Err(format!("expected a volume and a node ID\n\n{USAGE}"));
    };
    let client = ApiClient::from_flags(&p)?;
    let node = client.resolve("/v1/nodes", "node", node)?;
    client.delete(&format!(
        "/v1/volume/csi/{}/detach?node={}",
        encode(volume),
        encode(&node)
    ))?;
    println!("Successfully detached volume {volume:?} from node {node:?}");
    Ok(ExitCode::SUCCESS)
}
