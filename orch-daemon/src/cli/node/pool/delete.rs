//! `orch node pool delete <pool>`: deletes a pool that holds no node and no live job.

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, parse_verb};

const USAGE: &str = "Usage: orch node pool delete [options] <node-pool>

  Delete is used to remove a node pool.

  If ACLs are enabled, this command requires a token with the 'delete'
  capability in a 'node_pool' policy that matches the node pool being targeted.

  You cannot delete a node pool that has nodes or non-terminal jobs. In
  federated clusters, you cannot delete a node pool that has nodes or
  non-terminal jobs in any of the federated regions.";

/// Runs `orch node pool delete`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let name = p.one_arg("node-pool", USAGE)?;
    ApiClient::from_flags(&p)?
        .delete(&super::pool_path(name))
        .map_err(|e| format!("Error deleting node pool: {}", e.message))?;
    println!("Successfully deleted node pool {name:?}!");
    Ok(ExitCode::SUCCESS)
}
