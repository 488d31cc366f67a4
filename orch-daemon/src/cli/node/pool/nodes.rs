//! `orch node pool nodes <pool>`: the nodes of a pool, as `node status` lists them.

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};

const USAGE: &str = "Usage: orch node pool nodes [options] <node-pool>

  Node pool nodes is used to list nodes in a node pool.

  If ACLs are enabled, this command requires a token with the 'node:read'
  capability and the 'read' capability in a 'node_pool' policy that matches the
  node pool being targeted.

Node Pool Nodes Options:

  -filter
    Specifies an expression used to filter results.

  -json
    Output the nodes in JSON format.

  -os
    Include the node's operating system name in the JSON output.

  -page-token
    Where to start pagination.

  -per-page
    How many results to show per page. If not specified, or set to 0, all
    results are returned.

  -t
    Format and display nodes using a Go template.

  -verbose
    Display full information.";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("os"), FlagSpec::switch("verbose")];

/// Runs `orch node pool nodes`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, super::LIST_FLAGS, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let name = p.one_arg("node-pool", USAGE)?;
    let mut query = super::list_query(&p, '?')?;
    if p.has("os") {
        query.push(if query.is_empty() { '?' } else { '&' });
        query.push_str("os=true");
    }
    let (nodes, next) = ApiClient::from_flags(&p)?
        .get_page(&format!("{}/nodes{query}", super::pool_path(name)))
        .map_err(|e| format!("Error querying node pool: {}", e.message))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &nodes);
    }
    if nodes.as_array().is_some_and(|a| a.is_empty()) {
        println!("No nodes in node pool {name:?}");
    } else {
        super::super::status::print_nodes(&nodes, &p, None);
    }
    super::print_next_page_hint(&format!("node pool nodes {name}"), &p, next.as_deref());
    Ok(ExitCode::SUCCESS)
}
