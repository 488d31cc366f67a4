//! `orch node pool jobs <pool>`: the jobs of a pool, as `job status` lists them (with
//! a namespace column for `-namespace '*'`).

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};

const USAGE: &str = "Usage: orch node pool jobs [options] <node-pool>

  Node pool jobs is used to list jobs in a given node pool.

  If ACLs are enabled, this command requires a token with the 'read' capability
  in a 'node_pool' policy that matches the node pool being targeted. The
  results will be filtered by the namespaces where the token has 'read-job'
  capability.

Node Pool Jobs Options:

  -filter
    Specifies an expression used to filter results.

  -json
    Output the jobs in JSON format.

  -page-token
    Where to start pagination.

  -per-page
    How many results to show per page. If not specified, or set to 0, all
    results are returned.

  -t
    Format and display jobs using a Go template.";

/// Runs `orch node pool jobs`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, super::LIST_FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let name = p.one_arg("node-pool", USAGE)?;
    let query = super::list_query(&p, '?')?;
    let client = ApiClient::from_flags(&p)?;
    let (jobs, next) = client
        .get_page(&format!("{}/jobs{query}", super::pool_path(name)))
        .map_err(|e| format!("Error querying node pool: {}", e.message))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &jobs);
    }
    let list = jobs.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No jobs in node pool {name:?}");
    } else {
        let all_namespaces = client.namespace() == Some("*");
        println!(
            "{}",
            crate::cli::job::status::jobs_table(&list, all_namespaces)
        );
    }
    super::print_next_page_hint(&format!("node pool jobs {name}"), &p, next.as_deref());
    Ok(ExitCode::SUCCESS)
}
