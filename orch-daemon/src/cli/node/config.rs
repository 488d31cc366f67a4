//! `orch node config`: a client agent's settings at run time: the servers it calls.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};
use crate::cli::table::text;

const USAGE: &str = "Usage: orch node config [options]

  View or modify a client node's configuration details. This command only works on
  client nodes, and can be used to update the running client configurations it
  supports.

  The arguments behave differently depending on the flags given. See each flag's
  description for its specific requirements.

Client Config Options:

  -servers
    List the known server addresses of the client node. Client nodes do not
    participate in the gossip pool, and instead register with these servers
    periodically over the network.

  -update-servers
    Updates the client's server list using the provided arguments. Multiple
    server addresses may be passed using multiple arguments. IMPORTANT: When
    updating the servers list, you must specify ALL of the server nodes you wish
    to configure. The set is updated atomically.

    Example:
      $ nomad node config -update-servers foo:4647 bar:4647";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("servers"),
    FlagSpec::switch("update-servers"),
];

/// Runs `orch node config`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    match (p.has("servers"), p.has("update-servers")) {
        (true, false) if p.positional.is_empty() => {
            let servers = client.get("/v1/agent/servers")?;
            for s in servers.as_array().into_iter().flatten() {
                println!("{}", text(s));
            }
            Ok(ExitCode::SUCCESS)
        }
        (false, true) if !p.positional.is_empty() => {
            let query: Vec<String> = p
                .positional
                .iter()
                .map(|a| format!("address={}", encode(a)))
                .collect();
            client.put(
                &format!("/v1/agent/servers?{}", query.join("&")),
                &serde_json::json!({}),
            )?;
            println!("Updated server list");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(format!(
            "Use -servers alone to list, or -update-servers with at least one address\n\n{USAGE}"
        )),
    }
}
