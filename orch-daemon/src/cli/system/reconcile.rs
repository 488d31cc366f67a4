//! `orch system reconcile summaries`: asks the leader to recompute every job summary
//! from the allocations.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, parse_verb};

const NOUN_USAGE: &str = "Usage: orch system reconcile <subcommand> [options]

  This command groups subcommands for interacting with the system reconcile API.

  Reconcile the summaries of all registered jobs:

      $ orch system reconcile summaries

  Please see the individual subcommand help for detailed usage information.

Subcommands:
    summaries    Reconciles the summaries of all registered jobs";

const USAGE: &str = "Usage: orch system reconcile summaries [options]

  Reconciles the summaries of all registered jobs.

  If ACLs are enabled, this option requires a management token.";

/// Dispatches `orch system reconcile <verb>` (`summaries`, the one verb).
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[crate::cli::Verb] = &[("summaries", summaries)];
    crate::cli::dispatch("system reconcile", args, verbs, NOUN_USAGE)
}

/// Runs `orch system reconcile summaries`.
fn summaries(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if !p.positional.is_empty() {
        return Err(format!("This command takes no arguments\n\n{USAGE}"));
    }
    ApiClient::from_flags(&p)?.put("/v1/system/reconcile/summaries", &json!({}))?;
    Ok(ExitCode::SUCCESS)
}
