//! `orch node pool list`: names and descriptions over `/v1/node/pools`, with Nomad's
//! filter and paging flags.

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch node pool list [options]

  List is used to list existing node pools.

  If ACLs are enabled, this command requires a management token to view all
  node pools. A non-management token can be used to list node pools for which
  the token has the 'read' capability.

List Options:

  -filter
    Specifies an expression used to filter results.

  -json
    Output the node pools in JSON format.

  -page-token
    Where to start pagination.

  -per-page
    How many results to show per page. If not specified, or set to 0, all
    results are returned.

  -t
    Format and display node pools using a Go template.";

/// Runs `orch node pool list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, super::LIST_FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let query = super::list_query(&p, '?')?;
    let (pools, next) = ApiClient::from_flags(&p)?
        .get_page(&format!("/v1/node/pools{query}"))
        .map_err(|e| format!("Error retrieving node pools: {}", e.message))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &pools);
    }
    let mut rows = vec![vec!["Name".to_string(), "Description".to_string()]];
    for pool in pools.as_array().into_iter().flatten() {
        rows.push(vec![text(&pool["Name"]), text(&pool["Description"])]);
    }
    if rows.len() == 1 {
        println!("No node pools found");
    } else {
        println!("{}", columns(&rows));
    }
    super::print_next_page_hint("node pool list", &p, next.as_deref());
    Ok(ExitCode::SUCCESS)
}
